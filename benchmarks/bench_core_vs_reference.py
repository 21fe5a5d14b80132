"""Wall time and event rates of the numba core vs the SimPy reference on the loaded UDP scenarios of
tests/test_core_vs_reference.py (Wi-Fi only, LTE only, half split), at 4 and 16 users.

    python benchmarks/bench_core_vs_reference.py [--seconds 10] [--users 4 16] [--seed 3]

Both simulate the same scenario for the same simulated time (traffic start to end; the core's measurement
start offset excluded). Core wall time excludes numba compilation (a short warm-up run compiles first) and
covers Simulation() construction plus every ``advance_stats`` step with ``set_wifi_split``. Event counts are
each simulator's own: the core's heap events, the reference's SimPy events (timeouts, process resumptions,
wake-ups), so events/s is comparable only roughly; the speed ratio (reference wall / core wall) is exact.
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import time

import numpy as np

from netgym_lite.config_types import Position, RandomWalk, ScenarioConfig
from netgym_lite.reference import run_reference
from netgym_lite.sim import Simulation

START_MS = 100
INTERVAL_MS = 100
# name, Wi-Fi share, per-user rates for 4 users (Mbps; scaled by 4/N for N users), as in the tests.
SCENARIOS = (
    ("wifi_only", 1.0, (5.0, 9.0, 22.0, 30.0)),
    ("lte_only", 0.0, (3.0, 5.0, 12.0, 15.0)),
    ("split_half", 0.5, (10.0, 16.0, 20.0, 40.0)),
)


def make_cfg(n: int) -> ScenarioConfig:
    """N static users on a line 8..55 m from the AP (the eNB 140 m behind it), Poisson UDP, 1 ms backhauls."""
    base = ScenarioConfig()
    xs = np.linspace(8.0, 55.0, n)
    return dc.replace(
        base, num_users=n, measurement_start_time_ms=START_MS, measurement_interval_ms=INTERVAL_MS,
        measurement_guard_interval_ms=0,
        user_locations=tuple(Position(float(x), 0.0, 1.5) for x in xs),
        wifi_ap_locations=(Position(0.0, 0.0, 3.0),), lte_enb_locations=(Position(-140.0, 0.0, 3.0),),
        user_random_walk=RandomWalk(min_speed_mps=0.0, max_speed_mps=0.0),
        traffic=dc.replace(base.traffic, transport="udp", udp_poisson_arrival=True,
                           min_udp_rate_per_user_mbps=1.0, max_udp_rate_per_user_mbps=1.0),
        wifi=dc.replace(base.wifi, backhaul_delay_ms=1.0),
        lte=dc.replace(base.lte, backhaul_delay_ms=1.0),
    )


def user_rates(rates4: tuple[float, ...], n: int) -> np.ndarray:
    """The 4-user pattern repeated over N users, scaled so the total load stays the same."""
    return np.resize(np.array(rates4), n) * 4.0 / n


def run_core(cfg: ScenarioConfig, rates: np.ndarray, share: float, sim_ms: float, seed: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    sim = Simulation(cfg, seed)
    shares = np.full(cfg.num_users, share)
    sim.state.wifi_units[:] = np.rint(shares * cfg.gma.split_burst).astype(np.int64)
    sim.state.udp_rate_mbps[:] = rates
    for _ in range(round(sim_ms / cfg.step_interval_ms)):
        sim.set_wifi_split(shares)
        sim.advance_stats()
    return time.perf_counter() - t0, sim.events_processed


def run_ref(cfg: ScenarioConfig, rates: np.ndarray, share: float, sim_ms: float, seed: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = run_reference(cfg, wifi_share=share, duration_ms=sim_ms, warmup_ms=0.0, seed=seed, udp_rate_mbps=rates)
    return time.perf_counter() - t0, r.events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="simulated seconds per run")
    ap.add_argument("--users", type=int, nargs="+", default=[4, 16])
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    sim_ms = args.seconds * 1000.0

    t0 = time.perf_counter()
    for _, share, rates4 in SCENARIOS:  # compile (or load from cache) every kernel path once
        run_core(make_cfg(4), user_rates(rates4, 4), share, 2 * INTERVAL_MS, args.seed)
    print(f"core warm-up (numba compile / cache load): {time.perf_counter() - t0:.1f} s\n")

    header = (f"{'scenario':<11} {'users':>5} {'sim s':>6} {'wall core':>10} {'wall ref':>9} {'events core':>12} "
              f"{'events ref':>11} {'ev/s core':>11} {'ev/s ref':>10} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for n in args.users:
        cfg = make_cfg(n)
        for name, share, rates4 in SCENARIOS:
            rates = user_rates(rates4, n)
            wc, ec = run_core(cfg, rates, share, sim_ms, args.seed)
            wr, er = run_ref(cfg, rates, share, sim_ms, args.seed)
            print(f"{name:<11} {n:>5} {args.seconds:>6.1f} {wc:>10.3f} {wr:>9.2f} {ec:>12,} {er:>11,} "
                  f"{ec / wc:>11,.0f} {er / wr:>10,.0f} {wr / wc:>8.0f}x")


if __name__ == "__main__":
    main()
