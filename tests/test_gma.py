"""GMA: the system-default delay-based split (design.md §6) and fixed splits in integer burst units.

Asymmetric layout: one static user 80 m from its AP (802.11ax 20 MHz, 17.2 Mbps PHY: the slow link, ~16 Mbps
of goodput) and 50 m from the eNB (LTE 50 RBs, 36.6 Mbps: the fast link), offered 20 Mbps of UDP: more than the
slow link carries, less than both together. GMA starts with everything on Wi-Fi, so the Wi-Fi queue grows, its
owd climbs far above LTE's, and the system default must move burst units to LTE with a growing step
(``step = max(c − 4, 1)``) until the two delays are within ``delay_threshold_ms``.
"""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest

from netgym_lite.config_types import LINK_LTE, LINK_WIFI, Position, ScenarioConfig
from netgym_lite.models.wifi_phy import MPDU_OVERHEAD_BYTES, txop_overhead_us
from netgym_lite.sim import IntervalStats, Simulation

BASE = ScenarioConfig()
STATIC = dc.replace(BASE.user_random_walk, min_speed_mps=0.0, max_speed_mps=0.0)
LTE_BASE_DELAY_MS = 3.5  # docs/models.md: an idle LTE link's probe delay (0.5 TTI wait + 1 TTI + 2 ms)


def asymmetric_cfg(*, rate_mbps: float = 20.0, wifi_distance_m: float = 80.0, lte_distance_m: float = 50.0,
                   gma: dict | None = None, lte: dict | None = None, transport: str = "udp",
                   poisson: bool = True) -> ScenarioConfig:
    """One static user at the origin, the AP and the eNB on the x axis at the given distances."""
    return dc.replace(
        BASE,
        num_users=1,
        user_locations=(Position(0.0, 0.0, 1.5),),
        wifi_ap_locations=(Position(wifi_distance_m, 0.0, 3.0),),
        lte_enb_locations=(Position(lte_distance_m, 0.0, 3.0),),
        user_random_walk=STATIC,
        traffic=dc.replace(BASE.traffic, transport=transport, udp_poisson_arrival=poisson,
                           min_udp_rate_per_user_mbps=rate_mbps, max_udp_rate_per_user_mbps=rate_mbps),
        gma=dc.replace(BASE.gma, **(gma or {})),
        lte=dc.replace(BASE.lte, **(lte or {})),
    )


def seen_delay_ms(snap: IntervalStats, cfg: ScenarioConfig, link: int) -> float:
    """The owd the system default sees on a link (docs/models.md, GMA): measured mean; for an idle link its probe
    delay; infinite for a link that carried packets but delivered none."""
    st = snap.st
    if st.link_rx_pkts[0, link] > 0:
        return float(st.link_owd_sum[0, link] / st.link_rx_pkts[0, link])
    if st.tx_pkts[0, link] > 0:
        return np.inf
    if link == LINK_WIFI:
        air_us = (cfg.traffic.packet_size_bytes + MPDU_OVERHEAD_BYTES) * 8.0 / snap.wifi_rate_mbps[0]
        return cfg.wifi.backhaul_delay_ms + (txop_overhead_us(cfg.wifi.standard) + air_us) / 1000.0
    return cfg.lte.backhaul_delay_ms + LTE_BASE_DELAY_MS


def run_default(cfg: ScenarioConfig, intervals: int, seed: int, first_shares=None) -> list[IntervalStats]:
    """Run under the system default (NaN shares); optionally force ``first_shares`` for the first intervals."""
    sim = Simulation(cfg, seed)
    snaps = []
    for i in range(intervals):
        if first_shares is not None and i < len(first_shares):
            sim.set_wifi_split(np.array([first_shares[i]]))
        else:
            sim.set_wifi_split(np.array([np.nan]))
        snaps.append(sim.advance_stats())
    return snaps


def expected_steps(n: int, start_units: int) -> list[int]:
    """design.md §6: the c-th consecutive move of the same link is max(c − 4, 1) units, capped at its share."""
    steps, left = [], start_units
    for c in range(1, n + 1):
        step = min(max(c - 4, 1), left)
        steps.append(step)
        left -= step
    return steps


@pytest.mark.parametrize("seed", [1, 2])
def test_system_default_balances_the_owd_of_a_fast_and_a_slow_link(seed: int) -> None:
    cfg = asymmetric_cfg()
    snaps = run_default(cfg, 60, seed)
    first = snaps[0]
    assert first.wifi_rate_mbps[0] == pytest.approx(17.2, abs=0.5)  # the layout is what the docstring says
    assert first.lte_bits_per_rb[0] * cfg.lte.resource_block_num / 1000 > 30.0
    # the imbalance really happened: everything started on Wi-Fi and its queue pushed owd far above LTE's
    assert first.wifi_units[0] == cfg.gma.split_burst
    peak_gap = max(seen_delay_ms(s, cfg, LINK_WIFI) - seen_delay_ms(s, cfg, LINK_LTE) for s in snaps[:15])
    assert peak_gap > 10 * cfg.gma.delay_threshold_ms
    # ... and the system default removed it
    gaps = [abs(seen_delay_ms(s, cfg, LINK_WIFI) - seen_delay_ms(s, cfg, LINK_LTE)) for s in snaps[-20:]]
    assert np.median(gaps) <= cfg.gma.delay_threshold_ms, gaps
    # the load is below the combined capacity: after convergence (nearly) everything offered is delivered
    tx = sum(s.st.tx_pkts.sum() for s in snaps[-20:])
    rx = sum(s.st.rx_pkts.sum() for s in snaps[-20:])
    assert rx >= 0.98 * tx
    # and Wi-Fi alone could not have carried it: some traffic had to move to LTE
    assert snaps[-1].wifi_units[0] < cfg.gma.split_burst
    assert sum(s.st.link_rx_pkts[0, LINK_LTE] for s in snaps[-20:]) > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_system_default_step_grows_while_the_imbalance_persists(seed: int) -> None:
    cfg = asymmetric_cfg()
    snaps = run_default(cfg, 40, seed)
    units = np.array([s.wifi_units[0] for s in snaps])
    moves = np.diff(units)
    assert np.all(moves <= 0), f"units only ever leave the slow link (Wi-Fi) here: {units.tolist()}"
    taken = [int(-m) for m in moves if m != 0]
    assert len(taken) >= 7, units.tolist()
    # 1, 1, 1, 1, 1, 2, 3, 4, ... : exactly design.md §6's step, the counter never reset in between
    assert taken == expected_steps(len(taken), cfg.gma.split_burst), units.tolist()
    assert max(taken) >= 3


def test_system_default_moves_share_back_to_wifi_when_lte_is_the_slow_link() -> None:
    # Reverse asymmetry: AP 20 m away (86 Mbps), eNB 300 m away (12.6 Mbps) with a deep RLC buffer so that an
    # overloaded LTE link shows up as delay (not only as tail drops). Force everything onto LTE for three
    # intervals, then hand over to the system default: it must move units to Wi-Fi with the same growing step.
    cfg = asymmetric_cfg(wifi_distance_m=20.0, lte_distance_m=300.0, rate_mbps=20.0,
                         lte={"rlc_buffer_bytes": 400_000})
    snaps = run_default(cfg, 40, seed=1, first_shares=[0.0, 0.0, 0.0])
    assert snaps[3].wifi_units[0] == 0  # the forced split was in force (the first interval precedes any action)
    lte_gap = seen_delay_ms(snaps[3], cfg, LINK_LTE) - seen_delay_ms(snaps[3], cfg, LINK_WIFI)
    assert lte_gap > cfg.gma.delay_threshold_ms
    units = np.array([s.wifi_units[0] for s in snaps[3:]])
    moves = np.diff(units)
    assert np.all(moves >= 0), units.tolist()
    given = [int(m) for m in moves if m != 0]
    assert given[:6] == [1, 1, 1, 1, 1, 2], units.tolist()
    gaps = [abs(seen_delay_ms(s, cfg, LINK_WIFI) - seen_delay_ms(s, cfg, LINK_LTE)) for s in snaps[-20:]]
    assert np.median(gaps) <= cfg.gma.delay_threshold_ms


def test_system_default_honours_a_smaller_delay_threshold() -> None:
    cfg = asymmetric_cfg(gma={"delay_threshold_ms": 2.0})
    snaps = run_default(cfg, 60, seed=1)
    gaps = [abs(seen_delay_ms(s, cfg, LINK_WIFI) - seen_delay_ms(s, cfg, LINK_LTE)) for s in snaps[-20:]]
    assert np.median(gaps) <= 2.0, gaps


def test_system_default_leaves_a_balanced_user_alone() -> None:
    # 2 Mbps fits easily on the 17 Mbps Wi-Fi link: Wi-Fi's owd stays within the threshold of LTE's probe delay
    cfg = asymmetric_cfg(rate_mbps=2.0)
    snaps = run_default(cfg, 15, seed=1)
    assert all(s.wifi_units[0] == cfg.gma.split_burst for s in snaps)
    assert all(s.st.tx_pkts[0, LINK_LTE] == 0 for s in snaps)


@pytest.mark.parametrize("threshold_ms, moves", [(10.0, True), (15.0, False)])
def test_system_default_moves_only_when_the_gap_exceeds_the_threshold(threshold_ms: float, moves: bool) -> None:
    # A constant, load-independent gap: a 16 ms Wi-Fi backhaul makes Wi-Fi's owd ≈ 16.3 ms against LTE's
    # ≈ 3.5–4 ms, a gap of ≈ 12.5 ms whatever the split (2 Mbps is a light load for both links).
    cfg = asymmetric_cfg(rate_mbps=2.0, wifi_distance_m=20.0, gma={"delay_threshold_ms": threshold_ms})
    cfg = dc.replace(cfg, wifi=dc.replace(cfg.wifi, backhaul_delay_ms=16.0))
    snaps = run_default(cfg, 30, seed=1)
    gap = seen_delay_ms(snaps[1], cfg, LINK_WIFI) - seen_delay_ms(snaps[1], cfg, LINK_LTE)
    assert 11.0 < gap < 14.0, gap
    units = [int(s.wifi_units[0]) for s in snaps]
    if moves:  # the gap never closes, so the units keep moving to LTE, faster and faster, until none is left
        assert units[-1] == 0, units
    else:
        assert units == [cfg.gma.split_burst] * len(units), units


# ---------------------------------------------------------------------------------------------- fixed splits
def split_cfg(num_users: int, transport: str = "udp", rate_mbps: float = 8.0) -> ScenarioConfig:
    return dc.replace(
        BASE,
        num_users=num_users,
        user_locations=tuple(Position(5.0 + 4.0 * u, 1.0, 1.5) for u in range(num_users)),
        wifi_ap_locations=(Position(10.0, 0.0, 3.0),),
        lte_enb_locations=(Position(0.0, 0.0, 3.0),),
        user_random_walk=STATIC,
        traffic=dc.replace(BASE.traffic, transport=transport, min_udp_rate_per_user_mbps=rate_mbps,
                           max_udp_rate_per_user_mbps=rate_mbps),
    )


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_fixed_split_is_honoured_within_one_packet_per_interval_and_over_time(transport: str) -> None:
    shares = np.array([0.0, 1 / 32, 0.3, 0.5, 0.77, 31 / 32, 1.0])
    cfg = split_cfg(len(shares), transport)
    burst = cfg.gma.split_burst
    k = np.rint(shares * burst)
    sim = Simulation(cfg, 3)
    sim.advance_stats()  # the first interval precedes any action: all on Wi-Fi
    total = np.zeros((len(shares), 2))
    for _ in range(8):
        sim.set_wifi_split(shares)
        snap = sim.advance_stats()
        assert np.array_equal(snap.wifi_units, k)
        sent = snap.st.tx_pkts.sum(axis=1)
        # k of every B consecutive packets go to Wi-Fi: in any run of n packets, n·k/B rounded either way
        assert np.all(np.abs(snap.st.tx_pkts[:, LINK_WIFI] - sent * k / burst) < 1.0), (snap.st.tx_pkts, k)
        total += snap.st.tx_pkts
    assert np.all(total.sum(axis=1) >= 100)
    assert np.all(np.abs(total[:, LINK_WIFI] - total.sum(axis=1) * k / burst) < 1.0)


def test_split_ratio_records_equal_the_burst_units_in_force() -> None:
    rng = np.random.default_rng(5)
    cfg = split_cfg(5)
    burst = cfg.gma.split_burst
    sim = Simulation(cfg, 1)
    records = sim.advance()
    values = {r["name"]: r["value"] for r in records if r["source"] == "gma"}
    assert values["wifi::dl::split_ratio"] == [100.0] * 5  # GMA starts with everything on Wi-Fi
    for _ in range(6):
        shares = rng.uniform(0, 1, 5)
        shares[0] = 0.5 / burst + 1e-9  # just above a rounding boundary: one unit
        sim.set_wifi_split(shares)
        values = {r["name"]: r["value"] for r in sim.advance() if r["source"] == "gma"}
        k = np.rint(shares * burst)
        np.testing.assert_allclose(values["wifi::dl::split_ratio"], 100.0 * k / burst, atol=1e-6)
        np.testing.assert_allclose(values["lte::dl::split_ratio"], 100.0 * (burst - k) / burst, atol=1e-6)
        # what was actually sent follows the split to within one packet
        tr = np.array(values["wifi::dl::traffic_ratio"])
        assert np.all(np.abs(tr - 100.0 * k / burst) <= 100.0 / 50), (tr, k)


def test_an_action_holds_for_one_interval_then_the_system_default_resumes() -> None:
    # An action holds for one interval; a user the agent leaves alone (NaN) is under the system default again,
    # which starts from the units the agent set (here: a balanced light load, so nothing moves).
    cfg = split_cfg(2, rate_mbps=2.0)
    sim = Simulation(cfg, 1)
    sim.advance_stats()
    sim.set_wifi_split(np.array([0.25, np.nan]))
    snap = sim.advance_stats()
    assert snap.wifi_units.tolist() == [8, 32]
    snap = sim.advance_stats()  # no action at all
    assert snap.wifi_units.tolist() == [8, 32]
    assert snap.missed_action.tolist() == [1, 2]


def test_split_follows_the_accumulator_exactly() -> None:
    """docs/models.md: per packet ``acc += k; if acc ≥ B: acc −= B → Wi-Fi else LTE`` — after n packets from
    acc = 0, exactly floor(n·k/B) went to Wi-Fi. GMA starts with k = B (all on Wi-Fi, acc stays 0)."""
    units = np.array([1, 5, 16, 20, 31])
    cfg = split_cfg(len(units))
    burst = cfg.gma.split_burst
    sim = Simulation(cfg, 2)
    first = sim.advance_stats()
    assert np.all(first.st.tx_pkts[:, LINK_LTE] == 0) and np.all(first.st.tx_pkts[:, LINK_WIFI] > 0)
    sent = np.zeros(len(units), np.int64)
    wifi = np.zeros(len(units), np.int64)
    for _ in range(5):
        sim.set_wifi_split(units / burst)
        snap = sim.advance_stats()
        sent += snap.st.tx_pkts.sum(axis=1)
        wifi += snap.st.tx_pkts[:, LINK_WIFI]
        np.testing.assert_array_equal(wifi, (sent * units) // burst)
