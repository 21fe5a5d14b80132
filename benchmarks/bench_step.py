"""Speed of netgym-lite: env steps/s, simulated seconds per wall second, scaling with users, numba core vs
the SimPy reference, and numba compile time (cold and cached).

Run: ``python benchmarks/bench_step.py [--quick]``. Prints Markdown tables. Numbers are wall-clock on the
machine it runs on; compare ratios measured in the same run, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import load_config
from netgym_lite.reference import run_reference
from netgym_lite.sim import Simulation


def best_of(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timings (seconds): the least disturbed by other load on the machine."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def env_steps_per_s(steps: int, repeats: int, env_id: str = "netgym-lite/TrafficMgmt-v0",
                    **overrides) -> tuple[float, float]:
    """(env steps/s, simulated s per wall s) of a registered env with a fixed random action."""
    env = gym.make(env_id, steps_per_episode=steps * repeats + 10, episodes_per_session=1, **overrides)
    env.reset(seed=0)
    action = env.action_space.sample()
    for _ in range(5):
        env.step(action)

    def run():
        for _ in range(steps):
            env.step(action)

    wall = best_of(run, repeats)
    interval_s = env.unwrapped.cfg.step_interval_ms / 1000.0
    env.close()
    return steps / wall, steps * interval_s / wall


def state_bytes(sim: Simulation) -> tuple[int, int]:
    """(bytes of the mutable state arrays, bytes of the constant parameter arrays) of one simulation."""
    def total(fields) -> int:
        owners = {}  # each buffer once: State.pkt_t_gma_ms is a view into State.pkt's rows
        for v in fields:
            if isinstance(v, np.ndarray):
                while isinstance(v.base, np.ndarray):
                    v = v.base
                owners[id(v)] = v.nbytes
        return sum(owners.values())
    return total(sim.state), total(sim.params)


def memory_rows() -> list[list[str]]:
    """Bytes per simulation by users and transport: the arrays sized at construction (the hot loop never
    allocates, so this is the whole per-env footprint of the core; records and Python objects come on top)."""
    rows = []
    for users in (4, 16, 64, 100):
        for transport in ("tcp", "udp"):
            state, params = state_bytes(Simulation(load_config(num_users=users, transport_protocol=transport)))
            rows.append([users, transport, f"{state / 2**20:,.2f}", f"{params / 1024:,.1f}",
                         f"{state / users / 1024:,.0f}"])
    return rows


def sim_rate(cfg, steps: int, repeats: int, share: float | None) -> tuple[float, float, float]:
    """(steps/s, events/s, simulated s per wall s) of the bare Simulation (no records, no protocol)."""
    sim = Simulation(cfg)
    shares = None if share is None else np.full(cfg.num_users, share)
    for _ in range(3):
        sim.set_wifi_split(shares)
        sim.advance_stats()
    best = (np.inf, 0)

    def run():
        for _ in range(steps):
            sim.set_wifi_split(shares)
            sim.advance_stats()

    for _ in range(repeats):
        e0 = sim.events_processed
        t0 = time.perf_counter()
        run()
        wall = time.perf_counter() - t0
        if wall < best[0]:
            best = (wall, sim.events_processed - e0)
    wall, events = best
    return steps / wall, events / wall, steps * cfg.step_interval_ms / 1000.0 / wall


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def compile_times() -> tuple[float, float]:
    """Seconds for import + make + reset + one step in a fresh process: with an empty numba cache, then warm."""
    code = ("import time; t=time.perf_counter(); import gymnasium as gym, netgym_lite; "
            "e=gym.make('netgym-lite/TrafficMgmt-v0'); e.reset(seed=0); e.step(e.action_space.sample()); "
            "print(time.perf_counter()-t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1])
        warm = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1])
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats (a smoke run)")
    ap.add_argument("--no-compile", action="store_true", help="skip the cold-compile measurement (~2 min)")
    args = ap.parse_args()
    steps, repeats = (50, 2) if args.quick else (300, 5)

    print("## Env steps/s (TrafficMgmt-v0, in-memory transport, records + protocol + adapter)\n")
    rows = []
    for users in (4, 16, 64, 100):
        sps, sim_s = env_steps_per_s(steps if users <= 16 else max(steps // 5, 20), repeats, num_users=users)
        rows.append([users, f"{sps:,.0f}", f"{sim_s:,.1f}"])
    print(table(["users", "env steps/s", "simulated s / wall s"], rows))

    print("\n## Env steps/s per registered env (default scenario of each, in-memory transport)\n")
    rows = []
    for env_id in netgym_lite.ENVS:
        sps, sim_s = env_steps_per_s(steps, repeats, env_id)
        rows.append([env_id, f"{sps:,.0f}", f"{sim_s:,.1f}"])
    print(table(["env", "env steps/s", "simulated s / wall s"], rows))

    print("\n## Numba core vs SimPy reference (same static UDP scenario, fixed split, same granularity)\n")
    rows = []
    ref_steps = 10 if args.quick else 20
    for users in (4, 16, 64):
        cfg = load_config(num_users=users, transport_protocol="udp", udp_poisson_arrival=True,
                          min_udp_rate_per_user_mbps=max(40.0 / users, 0.5),
                          max_udp_rate_per_user_mbps=max(40.0 / users, 0.5),
                          measurement_start_time_ms=100,
                          user_random_walk={"min_speed_m/s": 0, "max_speed_m/s": 0})
        sps, eps, core_sim = sim_rate(cfg, steps, repeats, 0.5)
        duration = ref_steps * cfg.step_interval_ms
        t0 = time.perf_counter()
        ref = run_reference(cfg, wifi_share=0.5, duration_ms=duration, warmup_ms=100.0)
        ref_wall = time.perf_counter() - t0
        ref_sim = (duration + 100.0) / 1000.0 / ref_wall
        rows.append([users, f"{core_sim:,.1f}", f"{eps:,.0f}", f"{ref_sim:,.2f}", f"{ref.events / ref_wall:,.0f}",
                     f"{core_sim / ref_sim:,.0f}x"])
    print(table(["users", "core sim-s/wall-s", "core events/s", "reference sim-s/wall-s",
                 "reference events/s", "core / reference"], rows))

    print("\n## Bare simulation of the default scenario (TCP, system-default split; no records)\n")
    cfg = load_config()
    cfg = dataclasses.replace(cfg, steps_per_episode=10_000)
    sps, eps, sim_s = sim_rate(cfg, steps, repeats, None)
    print(table(["steps/s", "events/s", "simulated s / wall s"], [[f"{sps:,.0f}", f"{eps:,.0f}", f"{sim_s:,.1f}"]]))

    print("\n## Memory per simulation (numpy arrays of State and Params, fixed at construction)\n")
    print(table(["users", "transport", "state MiB", "params KiB", "state KiB per user"], memory_rows()))

    if not args.no_compile:
        cold, warm = compile_times()
        print("\n## Start-up: import + make + reset + one step in a fresh process\n")
        print(table(["numba cache", "seconds"], [["cold (empty cache)", f"{cold:.1f}"], ["warm", f"{warm:.2f}"]]))


if __name__ == "__main__":
    main()
