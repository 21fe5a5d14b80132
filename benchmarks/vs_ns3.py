"""netgym-lite side by side with real ns-3: fidelity and speed on the same layouts, in one run.

Run: ``python benchmarks/vs_ns3.py [--quick] [--uplink] [--seeds 1,2,3] [--use-committed]``.

Needs ns-3 for the ns-3 side: ``pip install ns3==3.44.post0`` (the PyPI wheel, ~75 s, 520 MB; a benchmark-only
dependency) and g++ with C++20; the scenario program ``benchmarks/ns3/netgym_ns3_scenario.cc`` is compiled
against the wheel by ``benchmarks/ns3/build.sh`` on first use. ``--use-committed`` reads the committed raw
ns-3 results (``benchmarks/ns3/results/``) instead of running ns-3 (then the ns-3 wall times are those of the
machine that produced them, not comparable ratios of this run).

Each case is one layout of ``shared/reference/ns3.md`` (Wi-Fi only, LTE only, both links with a static split),
a user count and an offered UDP load. Both sides get the same user positions: the 4-user cases use the
positions of ``scenarios/ns3_*.json`` (those of ns3.md's runs); larger cases draw them uniformly over the
layout's annulus from one seed (``--layout-seed``) here and pass them to both. Both sides count throughput at
the IP layer (netgym-lite's 1400-byte payload + 28 bytes UDP/IPv4, as ns3.md), mean one-way delay from the
sender to the user per packet (each link separately when a user has two flows), and loss = 1 − received /
sent, over the traffic window [start, end] (sources start at 1 s, or later when many Wi-Fi users must first
associate in ns-3; see ``CASES``) and over its last half (the "late window", when ns-3's saturated Wi-Fi cell has
settled).

Uplink cases (``UL_CASES``, named ``<case>-ul``, ``--uplink`` runs them all): the downlink twin's layout,
positions, load and window with every flow from the user to the remote host (ns-3: ``--uplink``; netgym-lite:
``downlink_traffic: false``). They are kept out of ``CASES`` (the downlink cases ``tests/test_ns3_committed.py``
pins netgym-lite to); ``--cases`` accepts both.

Prints Markdown tables (per case over both windows, then per user) and writes them to
``benchmarks/results/vs_ns3.md`` (``vs_ns3_quick.md`` for ``--quick`` / ``--cases``),
the per-user rows to ``benchmarks/results/vs_ns3_per_user.csv`` and a plot to ``benchmarks/results/vs_ns3.png``
(when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.metadata
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plot import headless_pyplot  # noqa: E402  (the benchmarks' shared plot helper)

ROOT = Path(__file__).resolve().parents[1]
NS3_DIR = ROOT / "benchmarks" / "ns3"
NS3_SOURCE = NS3_DIR / "netgym_ns3_scenario.cc"
NS3_BINARY = NS3_DIR / "build" / "netgym_ns3_scenario"
COMMITTED = NS3_DIR / "results"
RESULTS = ROOT / "benchmarks" / "results"
SCENARIOS = ROOT / "scenarios"

PAYLOAD_BYTES = 1400
IP_BYTES = PAYLOAD_BYTES + 28  # + UDP 8 + IPv4 20: ns3.md's "IP layer"
LINKS = ("wifi", "lte")
BIN_S = 0.1  # one NetworkGym measurement interval; ns-3's per-bin counters use the same
RATE_CONTROL = {"MinstrelHt": "minstrel_ht", "Ideal": "ideal"}  # ns-3's Wi-Fi rate manager -> netgym-lite's
SCENARIO_OF = {"wifi": "ns3_wifi_only.json", "lte": "ns3_lte_only.json", "both": "ns3_both_links.json"}
# annulus of generated layouts: (centre x, centre y, r min, r max), around the AP (Wi-Fi, both) or the eNB
ANNULUS = {"wifi": (0.0, 0.0, 10.0, 50.0), "lte": (0.0, 0.0, 50.0, 300.0), "both": (0.0, 0.0, 10.0, 50.0)}
USER_HEIGHT_M = 1.5
DEFAULT_LAYOUT_SEED = (
    17  # with this draw ns-3 reproduces ns3.md's 16-user Wi-Fi row (its positions are unknown)
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One layout, user count and offered load (UDP CBR per user, payload Mbps)."""

    name: str
    layout: str  # "wifi" | "lte" | "both"
    users: int
    rate_mbps: float
    sim_time_s: float = 10.0
    app_start_s: float = 1.0  # sources start (ns3.md: 1.0 s); later for many Wi-Fi users (association)
    split: float = 0.5  # Wi-Fi share of each user's traffic (layout "both" only)
    load: str = "light"  # "light" (offered load fits) | "saturated" (it does not)
    reference: str = ""  # the ns3.md row this case reproduces, if any
    rate_manager: str = "MinstrelHt"  # ns-3's Wi-Fi rate control: "MinstrelHt" (ns3.md) | "Ideal"
    direction: str = "dl"  # "dl": remote host -> users; "ul": users -> remote host (downlink_traffic false)

    @property
    def window_s(self) -> float:
        return self.sim_time_s - self.app_start_s

    @property
    def steps(self) -> int:
        """100 ms intervals in the traffic window."""
        return int(round(self.window_s / BIN_S))

    @property
    def late_steps(self) -> int:
        """The late window: the last half of the traffic window (ns-3's Wi-Fi queues and rate control have
        settled by then; see docs/fidelity.md)."""
        return self.steps // 2

    @property
    def wifi_share(self) -> float:
        return {"wifi": 1.0, "lte": 0.0}.get(self.layout, self.split)


# ns-3's Wi-Fi users associate in a storm at the first beacons (0.1-3.4 s for 64 users even with an idle
# channel), so cases with more than 4 Wi-Fi users start their sources once all are associated; the windows
# stay 9 s (4 and 16 users, as ns3.md) and 4 s (64 users, to keep ns-3's wall time in minutes).
CASES = (
    Case("wifi-4-light", "wifi", 4, 5.0, reference="A: 4 users, 5 Mbps"),
    Case("wifi-4-sat", "wifi", 4, 100.0, load="saturated", reference="A: 4 users, 100 Mbps"),
    Case(
        "wifi-16-sat",
        "wifi",
        16,
        5.0,
        sim_time_s=11.0,
        app_start_s=2.0,
        load="saturated",
        reference="A: 16 users, 5 Mbps",
    ),
    Case("wifi-64-light", "wifi", 64, 0.25, sim_time_s=8.0, app_start_s=4.0),
    Case("wifi-64-sat", "wifi", 64, 5.0, sim_time_s=8.0, app_start_s=4.0, load="saturated"),
    # the same saturated cells with ns-3's IdealWifiManager (best MCS for the SNR of the user's last frame):
    # separates what rate control (MinstrelHt) costs from the MAC (docs/fidelity.md)
    Case("wifi-4-sat-ideal", "wifi", 4, 100.0, load="saturated", rate_manager="Ideal"),
    Case(
        "wifi-16-sat-ideal",
        "wifi",
        16,
        5.0,
        sim_time_s=11.0,
        app_start_s=2.0,
        load="saturated",
        rate_manager="Ideal",
    ),
    Case(
        "wifi-64-sat-ideal",
        "wifi",
        64,
        5.0,
        sim_time_s=8.0,
        app_start_s=4.0,
        load="saturated",
        rate_manager="Ideal",
    ),
    Case("lte-4-light", "lte", 4, 1.0, reference="B: 4 users, 1 Mbps"),
    Case("lte-4-sat", "lte", 4, 10.0, load="saturated", reference="B: 4 users, 10 Mbps"),
    Case("lte-16-sat", "lte", 16, 1.0, load="saturated", reference="B: 16 users, 1 Mbps"),
    Case("lte-64-light", "lte", 64, 0.1, sim_time_s=5.0),
    Case("lte-64-sat", "lte", 64, 1.0, sim_time_s=5.0, load="saturated"),
    Case("both-4-light", "both", 4, 4.0, split=0.5),
    Case("both-4-sat", "both", 4, 40.0, split=0.75, load="saturated"),
    Case("both-16-light", "both", 16, 1.5, sim_time_s=11.0, app_start_s=2.0, split=0.5),
    Case("both-64-light", "both", 64, 0.4, sim_time_s=8.0, app_start_s=4.0, split=0.5),
    Case("both-64-sat", "both", 64, 2.0, sim_time_s=8.0, app_start_s=4.0, split=0.5, load="saturated"),
)
QUICK = ("wifi-4-light", "wifi-4-sat", "lte-4-light", "lte-4-sat", "both-4-light")


def uplink_twin(case: Case) -> Case:
    """The same layout, positions, load and window with the flows running from the users to the remote host."""
    return dataclasses.replace(case, name=f"{case.name}-ul", direction="ul", reference="")


# Uplink data (netgym-lite's ``downlink_traffic: false``, docs/models.md "Uplink data"): the twins of downlink
# cases. Not in CASES, which tests/test_ns3_committed.py pins netgym-lite to.
UL_CASES = tuple(
    uplink_twin(c)
    for c in CASES
    if c.name
    in (
        "wifi-4-light",
        "wifi-4-sat",
        "wifi-16-sat",
        "lte-4-light",
        "lte-4-sat",
        "lte-16-sat",
        "both-4-light",
        "both-4-sat",
    )
)


# ---------------------------------------------------------------------------------------------- layouts


def scenario_path(case: Case) -> Path:
    return SCENARIOS / SCENARIO_OF[case.layout]


def user_positions(case: Case, layout_seed: int = DEFAULT_LAYOUT_SEED) -> np.ndarray:
    """(users, 3) positions: the scenario file's for 4 users, else uniform over the layout's annulus."""
    if case.users == 4:
        env = json.loads(scenario_path(case).read_text())["env_config"]
        return np.array([[u["x"], u["y"], u["z"]] for u in env["user_locations"]], float)
    cx, cy, r_min, r_max = ANNULUS[case.layout]
    rng = np.random.default_rng(layout_seed)
    r = np.sqrt(rng.uniform(r_min**2, r_max**2, case.users))
    angle = rng.uniform(0.0, 2.0 * math.pi, case.users)
    xy = np.round(np.column_stack([cx + r * np.cos(angle), cy + r * np.sin(angle)]), 2)
    return np.column_stack([xy, np.full(case.users, USER_HEIGHT_M)])


def station_positions(case: Case) -> tuple[list[float], list[float]]:
    """(AP, eNB) positions of the case's scenario file, passed to ns-3 so both sides use the same."""
    env = json.loads(scenario_path(case).read_text())["env_config"]
    ap = env["wifi_ap_locations"][0]
    enb = env["lte_enb_locations"]
    enb = enb[0] if isinstance(enb, list) else enb
    return [ap["x"], ap["y"], ap["z"]], [enb["x"], enb["y"], enb["z"]]


# ------------------------------------------------------------------------------------------------ ns-3


def ns3_version() -> str:
    """The installed ns3 wheel's version, or a SystemExit telling what to install."""
    try:
        return importlib.metadata.version("ns3")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            "vs_ns3: ns-3 is not installed. Install the benchmark-only dependency with\n"
            "    pip install ns3==3.44.post0      (about 75 s, 520 MB; needs g++ with C++20 to build the scenario)\n"
            "or run with --use-committed to compare against the committed ns-3 results in benchmarks/ns3/results/."
        ) from None


def ensure_ns3_binary() -> Path:
    """Build the ns-3 scenario program when missing or older than its source."""
    ns3_version()
    if NS3_BINARY.exists() and NS3_BINARY.stat().st_mtime >= NS3_SOURCE.stat().st_mtime:
        return NS3_BINARY
    if shutil.which("g++") is None:
        raise SystemExit(
            "vs_ns3: g++ is needed to compile benchmarks/ns3/netgym_ns3_scenario.cc (apt install g++)"
        )
    print("building the ns-3 scenario program (benchmarks/ns3/build.sh) ...", file=sys.stderr)
    build = subprocess.run(
        ["bash", str(NS3_DIR / "build.sh")],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        raise SystemExit(f"vs_ns3: building the ns-3 scenario failed:\n{build.stdout}{build.stderr}")
    return NS3_BINARY


def ns3_result_path(case: Case, seed: int, directory: Path = COMMITTED) -> Path:
    return directory / f"{case.name}_seed{seed}.json"


def run_ns3(case: Case, seed: int, positions: np.ndarray, out: Path) -> dict:
    """Run the ns-3 program for one case and seed; return its JSON (also written to ``out``)."""
    binary = ensure_ns3_binary()
    ap, enb = station_positions(case)
    out.parent.mkdir(parents=True, exist_ok=True)
    args = [
        str(binary),
        f"--layout={case.layout}",
        f"--users={case.users}",
        f"--rateMbps={case.rate_mbps}",
        f"--simTime={case.sim_time_s}",
        f"--appStart={case.app_start_s}",
        f"--seed={seed}",
        f"--split={case.split}",
        f"--rateManager=ns3::{case.rate_manager}WifiManager",
        "--positions=" + ";".join(f"{x:.2f},{y:.2f}" for x, y, _ in positions),
        "--ap=" + ",".join(map(str, ap)),
        "--enb=" + ",".join(map(str, enb)),
        f"--out={out}",
    ]
    if case.direction == "ul":
        args.append("--uplink")
    subprocess.run(args, check=True)
    raw = json.loads(out.read_text())
    if case.layout != "lte":
        assoc = np.array([u["wifi_assoc_s"] for u in raw["user_list"]])
        late = np.flatnonzero((assoc < 0) | (assoc > case.app_start_s))
        if late.size:
            print(
                f"vs_ns3: warning: {case.name} seed {seed}: users {late.tolist()} not associated to the AP when "
                f"the sources start ({case.app_start_s} s): association times {assoc[late].round(2).tolist()}",
                file=sys.stderr,
            )
    return raw


def load_committed(case: Case, seed: int) -> dict:
    path = ns3_result_path(case, seed)
    if not path.exists():
        raise SystemExit(
            f"vs_ns3: no committed ns-3 result {path.relative_to(ROOT)}; run without --use-committed"
        )
    return json.loads(path.read_text())


def ns3_series(raw: dict, case: Case) -> dict[str, np.ndarray]:
    """Per 100 ms interval of the traffic window, per user and link: (steps, users, 2) counters from ns-3's JSON
    (sends counted when sent, receptions and their delays when received)."""
    first = int(round(case.app_start_s / BIN_S))
    steps = case.steps

    def get(key: str) -> np.ndarray:
        per_flow = np.array([[u[link][key] for link in LINKS] for u in raw["user_list"]], float)
        return np.moveaxis(per_flow[:, :, first : first + steps], 2, 0)

    series = {"tx": get("bin_tx"), "rx": get("bin_rx"), "delay_sum": get("bin_delay_sum_ms")}
    series["rx_bytes"] = series["rx"] * IP_BYTES
    return series


# ----------------------------------------------------------------------------------------- netgym-lite


def run_lite(case: Case, seed: int, positions: np.ndarray) -> tuple[dict[str, np.ndarray], float, float]:
    """Run netgym-lite on the case: ((steps, users, 2) counters per interval of the traffic window, run wall s,
    setup wall s). The run wall time covers every ``advance`` (from t = 0, traffic from ``app_start_s``).
    """
    from netgym_lite.config import load_config
    from netgym_lite.sim import Simulation

    t0 = time.perf_counter()
    # uplink data: the kernels still call the data direction "dl", so the counters read below are the data flow's
    direction = {"downlink_traffic": False} if case.direction == "ul" else {}
    cfg = load_config(
        scenario_path(case),
        num_users=case.users,
        user_locations=[{"x": x, "y": y, "z": z} for x, y, z in positions],
        min_udp_rate_per_user_mbps=case.rate_mbps,
        max_udp_rate_per_user_mbps=case.rate_mbps,
        measurement_start_time_ms=int(round(case.app_start_s * 1000)),
        wifi={"rate_control": RATE_CONTROL[case.rate_manager]},
        **direction,
    )
    sim = Simulation(cfg, seed=seed)
    shares = np.full(case.users, case.wifi_share)
    # The static split from the very first packet: GMA starts all-Wi-Fi and the first interval takes no
    # action, so set the split units of the initial state directly (benchmark only; same rounding as an action).
    sim.state.wifi_units[:] = int(round(case.wifi_share * sim.params.split_burst))
    assert cfg.step_interval_ms == BIN_S * 1000
    series = {k: np.zeros((case.steps, case.users, 2)) for k in ("tx", "rx", "delay_sum")}
    t1 = time.perf_counter()
    for step in range(case.steps):
        sim.set_wifi_split(shares)
        st = sim.advance_stats().st
        series["tx"][step] = st.tx_pkts
        series["rx"][step] = st.link_rx_pkts
        series["delay_sum"][step] = st.link_owd_sum
    t2 = time.perf_counter()
    series["rx_bytes"] = series["rx"] * IP_BYTES  # IP layer, as ns-3's counters
    return series, t2 - t1, t1 - t0


# ------------------------------------------------------------------------------------------ comparison


@dataclasses.dataclass
class Side:
    """One simulator's results on one case, averaged over seeds (per user and link arrays are (users, 2))."""

    flows: dict[str, np.ndarray]
    wall_per_sim_s: float
    window_s: float

    def thr_mbps(self) -> np.ndarray:
        return self.flows["rx_bytes"] * 8 / self.window_s / 1e6

    def delay_ms(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.flows["rx"] > 0, self.flows["delay_sum"] / self.flows["rx"], np.nan)

    def loss(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.flows["tx"] > 0, 1 - self.flows["rx"] / self.flows["tx"], np.nan)

    def summary(self) -> dict[str, float]:
        thr = self.thr_mbps().sum(axis=1)  # per user, both links
        f = self.flows
        return {
            "thr_mean": float(thr.mean()),
            "thr_min": float(thr.min()),
            "thr_max": float(thr.max()),
            "aggregate": float(thr.sum()),
            "delay": float(f["delay_sum"].sum() / max(f["rx"].sum(), 1)),  # per packet, as ns3.md
            "loss": float(1 - f["rx"].sum() / max(f["tx"].sum(), 1)),
            "wall_per_sim_s": self.wall_per_sim_s,
        }


def combine(runs: list[tuple[dict[str, np.ndarray], float]], case: Case, late: bool = False) -> Side:
    """Sum the per-interval counters of several seeds over the case's window (``late``: its last
    ``case.late_steps`` intervals only, when the queues have filled); wall time per simulated second of the
    traffic window, averaged over the seeds."""
    first = case.steps - case.late_steps if late else 0
    total = {k: sum(series[k][first:].sum(axis=0) for series, _ in runs) for k in runs[0][0]}
    window_s = (case.steps - first) * BIN_S
    return Side(total, float(np.mean([w for _, w in runs])) / case.window_s, window_s * len(runs))


def compare_case(
    case: Case, seeds: list[int], use_committed: bool, layout_seed: int, ns3_out: Path = COMMITTED
) -> tuple[Side, Side, Side, Side, dict]:
    """Run (or load) ns-3 and run netgym-lite on one case; return (ns-3, netgym-lite) over the whole window,
    the same over the late window, and ns-3's metadata."""
    positions = user_positions(case, layout_seed)
    ns3_runs, lite_runs, meta = [], [], {}
    # warm-up: load the cached numba kernels (and compile any this layout needs) before timing
    run_lite(dataclasses.replace(case, sim_time_s=case.app_start_s + 0.2), seeds[0], positions)
    for seed in seeds:
        raw = (
            load_committed(case, seed)
            if use_committed
            else run_ns3(case, seed, positions, ns3_result_path(case, seed, ns3_out))
        )
        if raw.get("direction", "dl") != case.direction:
            raise SystemExit(f"vs_ns3: {case.name}: ns-3 result is {raw['direction']}, the case {case.direction}")
        got = np.array([[u["x"], u["y"]] for u in raw["user_list"]])
        if not np.allclose(got, positions[:, :2], atol=0.01):
            raise SystemExit(f"vs_ns3: {case.name}: ns-3's user positions differ from this layout's")
        ns3_runs.append((ns3_series(raw, case), raw["traffic_wall_s"]))
        meta = {"ns3_version": raw["ns3_version"], "events": raw["events"]}
        flows, wall, _ = run_lite(case, seed, positions)
        lite_runs.append((flows, wall))
    return (
        combine(ns3_runs, case),
        combine(lite_runs, case),
        combine(ns3_runs, case, late=True),
        combine(lite_runs, case, late=True),
        meta,
    )


def rel(lite: float, ns3: float) -> str:
    if not (math.isfinite(lite) and math.isfinite(ns3)) or ns3 == 0:
        return "n/a"
    return f"{100 * (lite - ns3) / abs(ns3):+.0f}%"


def aggregate_table(rows: list[tuple[Case, Side, Side]]) -> list[str]:
    head = (
        "| case | users | offered/user | side | mean thr | min / max | aggregate | delay (ms) | loss | "
        "wall ms per sim s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for case, ns3, lite in rows:
        a, b = ns3.summary(), lite.summary()
        for side, s in (("ns-3", a), ("netgym-lite", b)):
            lines.append(
                f"| {case.name} | {case.users} | {case.rate_mbps:g} | {side} | {s['thr_mean']:.3f} | "
                f"{s['thr_min']:.2f} / {s['thr_max']:.2f} | {s['aggregate']:.2f} | {s['delay']:.1f} | "
                f"{s['loss']:.3f} | {1e3 * s['wall_per_sim_s']:.2f} |"
            )
        lines.append(
            f"| {case.name} | | | **diff** | {rel(b['thr_mean'], a['thr_mean'])} | "
            f"{rel(b['thr_min'], a['thr_min'])} / {rel(b['thr_max'], a['thr_max'])} | "
            f"{rel(b['aggregate'], a['aggregate'])} | {rel(b['delay'], a['delay'])} | "
            f"{b['loss'] - a['loss']:+.3f} | **{a['wall_per_sim_s'] / b['wall_per_sim_s']:.0f}× faster** |"
        )
    return lines


def per_user_rows(rows: list[tuple[Case, Side, Side]], positions: dict[str, np.ndarray]) -> list[dict]:
    out = []
    for case, ns3, lite in rows:
        pos = positions[case.name]
        for u in range(case.users):
            for li, link in enumerate(LINKS):
                if ns3.flows["tx"][u, li] == 0 and lite.flows["tx"][u, li] == 0:
                    continue
                out.append(
                    {
                        "case": case.name,
                        "user": u,
                        "link": link,
                        "distance_m": float(np.hypot(*(pos[u, :2] - station_xy(case, link)))),
                        "ns3_thr_mbps": ns3.thr_mbps()[u, li],
                        "lite_thr_mbps": lite.thr_mbps()[u, li],
                        "ns3_delay_ms": ns3.delay_ms()[u, li],
                        "lite_delay_ms": lite.delay_ms()[u, li],
                        "ns3_loss": ns3.loss()[u, li],
                        "lite_loss": lite.loss()[u, li],
                    }
                )
    return out


def station_xy(case: Case, link: str) -> np.ndarray:
    ap, enb = station_positions(case)
    return np.array(ap[:2] if link == "wifi" else enb[:2])


def per_user_table(per_user: list[dict], max_users: int = 16) -> list[str]:
    lines = [
        "| case | user | link | distance (m) | thr ns-3 | thr lite | diff | delay ns-3 | delay lite | diff | "
        "loss ns-3 | loss lite |",
        "|" + "---|" * 12,
    ]
    for r in per_user:
        if r["user"] >= max_users:
            continue
        lines.append(
            f"| {r['case']} | {r['user']} | {r['link']} | {r['distance_m']:.1f} | {r['ns3_thr_mbps']:.3f} | "
            f"{r['lite_thr_mbps']:.3f} | {rel(r['lite_thr_mbps'], r['ns3_thr_mbps'])} | {r['ns3_delay_ms']:.1f} | "
            f"{r['lite_delay_ms']:.1f} | {rel(r['lite_delay_ms'], r['ns3_delay_ms'])} | {r['ns3_loss']:.3f} | "
            f"{r['lite_loss']:.3f} |"
        )
    return lines


def plot(rows: list[tuple[Case, Side, Side]], path: Path) -> bool:
    plt = headless_pyplot()
    if plt is None:
        return False
    names = [c.name for c, _, _ in rows]
    x = np.arange(len(names))
    fig, axes = plt.subplots(3, 1, figsize=(max(8, 0.7 * len(names)), 10), sharex=True)
    for ax, key, label, log in (
        (axes[0], "aggregate", "aggregate throughput (Mbps, IP)", False),
        (axes[1], "delay", "mean one-way delay (ms)", True),
        (axes[2], "wall_per_sim_s", "wall s per simulated s", True),
    ):
        a = [n.summary()[key] for _, n, _ in rows]
        b = [lt.summary()[key] for _, _, lt in rows]
        ax.bar(x - 0.2, a, 0.4, label="ns-3")
        ax.bar(x + 0.2, b, 0.4, label="netgym-lite")
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    axes[2].set_xticks(x, names, rotation=45, ha="right")
    fig.suptitle("netgym-lite vs ns-3 (same layouts, same run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the 4-user cases, one seed")
    ap.add_argument(
        "--uplink",
        action="store_true",
        help="the uplink cases (UL_CASES, <case>-ul) instead of the downlink ones; with --quick their 4-user ones",
    )
    ap.add_argument("--cases", help="comma-separated case names (default: all; see CASES)")
    ap.add_argument(
        "--seeds", default="1,2,3", help="seeds run on both sides (ns-3 RngRun, netgym-lite seed)"
    )
    ap.add_argument(
        "--layout-seed",
        type=int,
        default=DEFAULT_LAYOUT_SEED,
        help="seed of the generated user positions (cases with more than 4 users)",
    )
    ap.add_argument(
        "--use-committed",
        action="store_true",
        help="read the committed ns-3 results instead of running ns-3 (no ns-3 needed)",
    )
    ap.add_argument(
        "--ns3-out",
        type=Path,
        help="where the raw ns-3 JSON results go (default: benchmarks/ns3/results/ for a full run, "
        "benchmarks/ns3/build/results/ for --quick or --cases, so a partial run leaves the committed ones alone)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        help="the Markdown table file (default benchmarks/results/vs_ns3.md; vs_ns3_quick.md for a partial run)",
    )
    args = ap.parse_args(argv)

    seeds = [int(s) for s in args.seeds.split(",")]
    by_name = {c.name: c for c in CASES + UL_CASES}
    if args.uplink:
        ul_names = [c.name for c in UL_CASES]
        names = [f"{n}-ul" for n in QUICK if f"{n}-ul" in by_name] if args.quick else ul_names
    else:
        names = list(QUICK) if args.quick else [c.name for c in CASES]
    if args.quick:
        seeds = seeds[:1]
    if args.cases:
        names = args.cases.split(",")
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise SystemExit(f"vs_ns3: unknown case(s) {unknown}; known: {', '.join(by_name)}")
    partial = args.quick or bool(args.cases)
    if args.ns3_out is None:
        args.ns3_out = NS3_DIR / "build" / "results" if partial else COMMITTED
    if args.out is None:
        stem = "vs_ns3_ul" if args.uplink else "vs_ns3"
        args.out = RESULTS / (f"{stem}_quick.md" if partial else f"{stem}.md")
    if not args.use_committed:
        ensure_ns3_binary()

    rows, late_rows, positions, meta = [], [], {}, {}
    for name in names:
        case = by_name[name]
        print(
            f"{case.name}: {case.users} users, {case.rate_mbps:g} Mbps, {case.sim_time_s:g} s, seeds {seeds}",
            file=sys.stderr,
        )
        ns3, lite, ns3_late, lite_late, meta = compare_case(
            case, seeds, args.use_committed, args.layout_seed, args.ns3_out
        )
        rows.append((case, ns3, lite))
        late_rows.append((case, ns3_late, lite_late))
        positions[case.name] = user_positions(case, args.layout_seed)

    per_user = per_user_rows(rows, positions)
    header = [
        "# netgym-lite vs ns-3",
        "",
        f"ns-3 {meta.get('ns3_version', '?')} (PyPI wheel, benchmarks/ns3/netgym_ns3_scenario.cc) "
        f"{'from the committed results' if args.use_committed else 'run in this process'}; seeds {seeds}; "
        f"generated layouts from seed {args.layout_seed}. Throughput at the IP layer (Mbps, per user, both links "
        "summed), delay = mean one-way delay per packet (ms), loss = 1 − received/sent, over the traffic window. "
        "Wall time per simulated second of the traffic window: the simulator's run only (ns-3: Simulator::Run "
        "from the sources' start, measured inside the program; netgym-lite: every `advance`, from t = 0). "
        "diff = netgym-lite relative to ns-3. Windows per case: `CASES` in benchmarks/vs_ns3.py. "
        "Cases named `-ul` run every flow from the user to the remote host (`UL_CASES`; ns-3 `--uplink`, "
        "netgym-lite `downlink_traffic: false`); their delay is user -> remote host.",
        "",
        "Command: `python benchmarks/vs_ns3.py " + " ".join(argv if argv is not None else sys.argv[1:]) + "`",
        "",
    ]
    body = header + ["## Per case: whole window [start, end]", ""] + aggregate_table(rows)
    body += [
        "",
        "## Per case: late window (the last half of the traffic window)",
        "",
        "ns-3's saturated Wi-Fi cell is still ramping up (MinstrelHt converging, queues filling) during the first "
        "seconds; over the late window both sides are near their steady state. Same columns as above.",
        "",
    ]
    body += aggregate_table(late_rows)
    body += ["", "## Per user, whole window (first 16 users of a case)", ""] + per_user_table(per_user)
    text = "\n".join(body) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    with open(args.out.with_name(args.out.stem + "_per_user.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(per_user[0]))
        w.writeheader()
        w.writerows(per_user)
    png = args.out.with_suffix(".png")
    print(
        f"wrote {args.out}" + (f", {png}" if plot(rows, png) else " (no matplotlib: no plot)"),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
