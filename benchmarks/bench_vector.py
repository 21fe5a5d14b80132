"""Env steps/s of the native vector envs against the single env and Gymnasium's SyncVectorEnv, per env id.

Run: ``python benchmarks/bench_vector.py [--quick]``. Prints a Markdown table; every row is measured in the same
run (compare ratios, not absolute numbers across machines). Each sub-env is a full session of the env's default
scenario, with a random action per step; "steps/s" counts sub-env steps.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numba

import netgym_lite


def rate(env, steps: int, vector: bool) -> float:
    """Sub-env steps per second over ``steps`` calls to step() (after a short warm-up)."""
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(16)]
    for k in range(5):
        _step(env, actions[k % 16], vector)
    t0 = time.perf_counter()
    for k in range(steps):
        _step(env, actions[k % 16], vector)
    wall = time.perf_counter() - t0
    return steps * (env.num_envs if vector else 1) / wall


def _step(env, action, vector: bool) -> None:
    out = env.step(action)
    if not vector and (out[2] or out[3]):
        env.reset()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and sizes (a smoke run)")
    args = ap.parse_args()
    sizes = (1, 8, 64) if args.quick else (1, 8, 64, 256)
    steps = 20 if args.quick else 100
    print("| env | single env | sync x8 | " + " | ".join(f"native x{n} (serial / parallel)" for n in sizes) + " |")
    print("|---|---|---|" + "---|" * len(sizes))
    for env_id, info in netgym_lite.ENVS.items():
        if not info.vector_entry_point:  # no native vector env: nothing to compare
            continue
        single = gym.make(env_id)
        row = [f"{rate(single, steps * 5, False):,.0f}"]
        single.close()
        sync = gym.make_vec(env_id, num_envs=8, vectorization_mode="sync")
        row.append(f"{rate(sync, steps, True):,.0f}")
        sync.close()
        for n in sizes:
            cells = []
            for parallel in (False, True):
                venv = gym.make_vec(env_id, num_envs=n, parallel=parallel)
                # at least 100 steps: the default scenario's sessions end every 50 (a new session is built, warms
                # up for measurement_start_time_ms): the turnover is part of the steady cost
                cells.append(f"{rate(venv, max(steps // max(n // 8, 1), 100), True):,.0f}")
                venv.close()
            row.append(" / ".join(cells))
        print(f"| {env_id} | " + " | ".join(row) + " |", flush=True)
    print("\n(sub-env steps per wall second; native = one numba call per step for all sub-envs, "
          f"numba threads: {numba.get_num_threads()})")


if __name__ == "__main__":
    main()
