"""netgym-lite against the committed ns-3 results (benchmarks/ns3/results/, produced by benchmarks/vs_ns3.py with
real ns-3.44): the same layouts, positions and loads, checked within issue 6's tolerances. No ns-3 needed.

Targets (issue 6): unloaded, per-user throughput within 5 % and one-way delay within 30 % or 1 ms; saturated,
per-user throughput within 15 % (the pattern: LTE's proportional fair gives the edge user about half, Wi-Fi users
share about equally whatever their distance, Wi-Fi capacity falls as users are added); delay under overload
within 30 %. Everything is compared over the late window (the last half of each case's traffic window, both sides
over the same intervals): ns-3's saturated Wi-Fi cell is still ramping up before (MinstrelHt converging, FqCoDel
filling). Both sides' counters are summed over seeds 1-3 (netgym-lite's seed draws its CBR phases and, with
Minstrel-HT, every station's sample table). Light-load throughput is compared over the whole window (a 0.1 Mbps
flow sends ~9 packets a second: half a window is too coarse for 5 %). Rows that do not meet a target yet are
xfail (not strict) with the measured gap as the reason: the model owner calibrates them (docs/fidelity.md lists
the causes).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("vs_ns3", ROOT / "benchmarks" / "vs_ns3.py")
vs_ns3 = importlib.util.module_from_spec(_spec)
sys.modules["vs_ns3"] = vs_ns3
_spec.loader.exec_module(vs_ns3)

# the downlink cases and their uplink twins (``<case>-ul``: every flow from the user to the network)
CASES = {c.name: c for c in vs_ns3.CASES + vs_ns3.UL_CASES}
NS3_SEEDS = (1, 2, 3)
LITE_SEEDS = (1, 2, 3)  # as ns-3's: with Minstrel-HT each seed draws every station's own sample table


@cache
def sides(name: str, late: bool = True) -> tuple:
    """(ns-3 Side, netgym-lite Side), each over its seeds, for a case, over its whole traffic window or
    (``late``) its last half."""
    case = CASES[name]
    positions = vs_ns3.user_positions(case)
    ns3_runs = []
    for seed in NS3_SEEDS:
        raw = vs_ns3.load_committed(case, seed)
        got = np.array([[u["x"], u["y"]] for u in raw["user_list"]])
        assert np.allclose(got, positions[:, :2], atol=0.01), f"{name}: committed positions differ"
        ns3_runs.append((vs_ns3.ns3_series(raw, case), raw["traffic_wall_s"]))
    lite_runs = [lite_run(name, seed) for seed in LITE_SEEDS]
    return vs_ns3.combine(ns3_runs, case, late), vs_ns3.combine(lite_runs, case, late)


@cache
def lite_run(name: str, seed: int) -> tuple:
    case = CASES[name]
    series, wall, _ = vs_ns3.run_lite(case, seed, vs_ns3.user_positions(case))
    return series, wall


def fmt(x: np.ndarray) -> str:
    return np.array2string(np.asarray(x), precision=2, max_line_width=10**6, threshold=10**6)


def used(ns3) -> np.ndarray:
    """Mask of the (user, link) flows that carry traffic."""
    return ns3.flows["tx"] > 0


MINSTREL_DRAWS = (
    "with 64 saturated stations each learns its rate from a handful of samples drawn from its own random table, "
    "so which station ends slow is a draw on either side (the aggregate agrees; the spread is alike, the stations "
    "differ)"
)
LTE_AMC = (
    "ns-3's LTE at low MCS: ns-3's far users span fewer TTIs per packet; netgym-lite's AMC approximates ns-3's "
    "MiErrorModel BLER-10 % MCS by a Shannon gap and has no HARQ (docs/fidelity.md)"
)
LTE_PF_RBG = (
    "ns-3's LTE at 50-70 % load: 13 ms (16 users) and 42 ms (64 users) one-way vs netgym-lite's 5-19 ms; likely "
    "ns-3's PF handing whole RBGs to a user whatever its buffer, plus its scheduling and HARQ latency"
)
UL_DCF_ACCESS = (
    "on both sides a station that fails more backs off more, so the near, fast stations win more accesses; but "
    "ns-3's far stations fail more often than netgym-lite's (17-27 % retries: MinstrelHt probing rates that fail, "
    "no Block Ack for a lost A-MPDU), so ns-3's shares spread wider (642 PSDUs at 20 m vs 352 at 50 m per seed)"
)
UL_STATION_QUEUE = (
    "on both sides each station queues in FqCoDel (10,240 packets) before its 500-packet MAC queue; offered "
    "2.5-10x its share, CoDel cannot keep up and the delay grows through the run (no steady state), so the "
    "figure follows each station's drain rate, which differs between the sides (see the throughput rows)"
)
# (test, case) -> why netgym-lite misses the target today (measured gaps; docs/fidelity.md has the analysis)
XFAIL = {
    ("light_delay", "both-4-light-ul"): "the LTE flows, 8.3-8.9 ms (ns-3) vs 15.0-15.8: ns-3's eNB over-grants "
    + "on quantised buffer reports (~2.6 grants per packet), so light flows often find a grant under way; "
    + "netgym-lite charges each packet the full 11.8 ms BSR/grant pipeline",
    ("sat_thr", "wifi-4-sat-ul"): "per station 4.1-29.4 Mbps (ns-3) vs 7.5-21.5: " + UL_DCF_ACCESS,
    ("sat_thr", "both-4-sat-ul"): "the Wi-Fi flows, 3.2-29.1 Mbps (ns-3) vs 7.6-19.9: " + UL_DCF_ACCESS,
    ("sat_thr", "wifi-16-sat-ul"): "0.07-5.1 Mbps per station (ns-3) vs 0.26-3.0: in ns-3 2-5 stations per seed "
    + "at 31-50 m send almost nothing for seconds (7-40 single-MPDU PSDUs in 9 s: no Block Ack agreement, "
    + "MinstrelHt at MCS 0.7-2.5); " + UL_DCF_ACCESS,
    ("sat_agg", "wifi-16-sat-ul"): "33.9 Mbps (ns-3) vs 26.3: ns-3's 2-5 silent stations per seed (see the "
    + "per-station row) leave fewer contenders to collide; " + UL_DCF_ACCESS,
    ("sat_delay", "wifi-4-sat-ul"): "4803 ms (ns-3) vs 1443: " + UL_STATION_QUEUE,
    ("sat_delay", "wifi-16-sat-ul"): "193 ms (ns-3) vs 319: the stations' MAC queues drop packets older than "
    + "500 ms on both sides, so each station's delay follows how fast it drains (45-498 ms per station in ns-3, "
    + "209-487 in netgym-lite); " + UL_DCF_ACCESS,
    ("light_thr", "wifi-64-light"): "ns-3 start-up: 4 of 64 users lose 6-14 % in MinstrelHt's first second",
    (
        "light_thr",
        "both-64-light",
    ): "ns-3 start-up: 2 of 64 Wi-Fi flows lose 8-10 % in MinstrelHt's first second",
    (
        "light_delay",
        "wifi-64-light",
    ): "64 users at 0.25 Mbps: ns-3 3.2-6.3 ms one-way, netgym-lite 1.4-3.0 ms; both sides now serve one "
    + "shared MAC queue first come first served, the rest of the gap is not explained yet (candidates: "
    + "ns-3's backoff drawn per access where netgym-lite charges its mean, Minstrel-HT's sampling at slow rates)",
    ("light_delay", "lte-64-light"): "15-16 of 64 LTE users 1-6 ms slower in netgym-lite: " + LTE_AMC,
    ("light_delay", "both-16-light"): LTE_PF_RBG,
    ("light_delay", "both-64-light"): LTE_PF_RBG,
    ("sat_thr", "wifi-64-sat"): "aggregate +1 %, 12 of 64 users more than 15 % apart (0.33-0.40 Mbps in ns-3 "
    + "vs 0.43-0.48): " + MINSTREL_DRAWS,
    ("sat_thr", "wifi-64-sat-ideal"): "aggregate -4 %, but 2 of 64 users get 0.81-0.83 Mbps in ns-3 vs 0.96: "
    + "ns-3's byte fairness is looser than netgym-lite's (not traced yet)",
    ("sat_thr", "both-64-sat"): "aggregate +7 %, 14 of 128 flows more than 15 % apart (0.34-0.41 Mbps in "
    + "ns-3 vs 0.44-0.49): " + MINSTREL_DRAWS,
}


def cases(test: str, names: list[str]) -> list:
    """The case names, those that miss the target today marked xfail (not strict) with the measured reason."""
    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=False, reason=XFAIL[test, n]))
        if (test, n) in XFAIL
        else n
        for n in names
    ]


LIGHT = [c.name for c in CASES.values() if c.load == "light"]
SATURATED = [c.name for c in CASES.values() if c.load == "saturated"]


@pytest.mark.parametrize("name", cases("light_thr", LIGHT))
def test_unloaded_offered_load_is_delivered_per_user(name):
    # the whole window: a light flow carries few packets per interval, the late half alone is too coarse
    ns3, lite = sides(name, late=False)
    m = used(ns3)
    np.testing.assert_allclose(lite.thr_mbps()[m], ns3.thr_mbps()[m], rtol=0.05)


@pytest.mark.parametrize("name", cases("light_delay", LIGHT))
def test_unloaded_delay_per_user_within_30_percent_or_1_ms(name):
    ns3, lite = sides(name)
    m = used(ns3)
    a, b = ns3.delay_ms()[m], lite.delay_ms()[m]
    ok = np.abs(b - a) <= np.maximum(0.3 * a, 1.0)
    assert ok.all(), f"{(~ok).sum()} of {ok.size} flows: ns-3 {fmt(a[~ok])} vs netgym-lite {fmt(b[~ok])} ms"


def test_lte_unloaded_edge_user_is_slowest_on_both_sides():
    ns3, lite = sides("lte-4-light")
    for side in (ns3, lite):
        d = side.delay_ms()[:, 1]
        assert d[3] > d[:3].max(), d  # the 300 m user needs two TTIs per packet


@pytest.mark.parametrize("name", cases("sat_thr", SATURATED))
def test_saturated_throughput_per_user_within_15_percent(name):
    ns3, lite = sides(name)
    m = used(ns3)
    a, b = ns3.thr_mbps()[m], lite.thr_mbps()[m]
    ok = np.abs(b - a) <= 0.15 * a
    assert ok.all(), f"{(~ok).sum()} of {ok.size} flows: ns-3 {fmt(a[~ok])} vs netgym-lite {fmt(b[~ok])} Mbps"


@pytest.mark.parametrize("name", cases("sat_agg", SATURATED))
def test_saturated_aggregate_within_15_percent(name):
    ns3, lite = sides(name)
    a, b = ns3.summary()["aggregate"], lite.summary()["aggregate"]
    assert abs(b - a) <= 0.15 * a, (a, b)


def test_lte_pf_gives_the_edge_user_about_half():
    ns3, lite = sides("lte-4-sat")
    ratio = [s.thr_mbps()[3, 1] / s.thr_mbps()[:3, 1].mean() for s in (ns3, lite)]
    assert abs(ratio[1] - ratio[0]) <= 0.15 * ratio[0], ratio


def test_lte_uplink_equal_shares_give_the_edge_user_its_mcs_ratio():
    """ns-3's uplink scheduler gives every UE with data the same RBs, so the 300 m user gets what its lower MCS
    carries on them: about a third of the near users' rate, on both sides."""
    ns3, lite = sides("lte-4-sat-ul")
    ratio = [s.thr_mbps()[3, 1] / s.thr_mbps()[:3, 1].mean() for s in (ns3, lite)]
    assert abs(ratio[1] - ratio[0]) <= 0.15 * ratio[0], ratio


def test_wifi_saturated_users_share_equally_whatever_their_distance():
    for name in ("wifi-4-sat", "wifi-16-sat"):
        ns3, lite = sides(name)
        a, b = ns3.thr_mbps()[:, 0], lite.thr_mbps()[:, 0]
        assert b.max() / b.min() <= max(1.15, 1.15 * a.max() / a.min()), (name, a, b)


def test_wifi_capacity_falls_as_users_are_added():
    names = ("wifi-4-sat", "wifi-16-sat", "wifi-64-sat")
    agg = {
        side: [sides(n)[i].summary()["aggregate"] for n in names] for i, side in enumerate(("ns3", "lite"))
    }
    assert agg["ns3"][0] > agg["ns3"][1] > agg["ns3"][2], agg
    assert agg["lite"][0] > agg["lite"][1] > agg["lite"][2], agg
    # and by as much (Minstrel-HT: each of many stations learns its rate slowly): 64 users keep ~45 % of 4's
    for i in (1, 2):
        fall = [agg[side][i] / agg[side][0] for side in ("ns3", "lite")]
        assert abs(fall[1] - fall[0]) <= 0.15 * fall[0], (names[i], fall)


@pytest.mark.parametrize("name", cases("sat_delay", SATURATED))
def test_delay_under_overload_within_30_percent(name):
    ns3, lite = sides(name)
    a, b = ns3.summary()["delay"], lite.summary()["delay"]
    assert abs(b - a) <= 0.3 * a, (a, b)


def test_driver_says_what_to_install_when_ns3_is_absent(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(vs_ns3.importlib.metadata, "version", missing)
    with pytest.raises(SystemExit, match=r"pip install ns3==3\.44\.post0"):
        vs_ns3.main(["--quick"])


def test_driver_prints_the_table_from_the_committed_results(tmp_path, capsys):
    out = tmp_path / "vs.md"
    vs_ns3.main(["--use-committed", "--quick", "--out", str(out)])
    text = out.read_text()
    for name in vs_ns3.QUICK:
        assert f"| {name} | 4 |" in text
    assert "faster" in text and text in capsys.readouterr().out
    rows = (tmp_path / "vs_per_user.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * 4 + 8  # header, 4 single-link cases x 4 users, both-links 4 users x 2 links
