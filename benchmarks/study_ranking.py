"""Re-run the NeurIPS 2024 offline-RL study's heuristic baselines on netgym-lite and rank them.

The study's TrafficMgmt setting is ``scenarios/offline_rl_study.json`` (design.md §6: 4 users walking on
y = 0, TCP, one episode of L = 1000 measurements per seed, reward ``normalized_utility``). Every policy runs one
episode per seed on the same seeds (``netgym-lite eval``'s :func:`~netgym_lite.commands.eval.evaluate`); the table
ranks them by mean episode reward with a 95 % Student-t interval over the seeds. The study reported
system_default and utility_logistic ahead of random and argmin; the second table tests exactly those four
pairs with a one-sided Welch test.

Run: ``python benchmarks/study_ranking.py [--seeds 1-8] [--steps-per-episode L] [--json out.json]``.
``--seeds`` takes a list (``1,2,3``) or a range (``1-64``, the study's count); a shorter ``--steps-per-episode``
trades fidelity to the study for time (say which you ran).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netgym_lite.agents import make_agent  # noqa: E402
from netgym_lite.cli import _parse_set  # noqa: E402
from netgym_lite.commands.eval import evaluate, make_env, welch_t_test  # noqa: E402

POLICIES = ("system_default", "argmax", "argmin", "utility_argmax", "utility_logistic", "random")
#: The study's finding: each of the first ahead of each of the second.
STUDY_CLAIMS = (
    ("system_default", "random"),
    ("system_default", "argmin"),
    ("utility_logistic", "random"),
    ("utility_logistic", "argmin"),
)


def parse_seeds(text: str) -> list[int]:
    """``1,2,3`` or ``1-8`` (inclusive) or a mix (``1-4,9``)."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        seeds.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    if len(seeds) < 2:
        raise SystemExit(f"--seeds={text!r}: give at least 2 seeds for an interval")
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1-8", help="session seeds: list or range (default 1-8)")
    parser.add_argument(
        "--steps-per-episode",
        type=int,
        default=None,
        help="override the study's L = 1000 (shorter = faster, less faithful)",
    )
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated agent names")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="env_config override, VALUE as JSON (repeatable), e.g. "
        "--set 'wifi={\"enable_rx_signal_based_handover\": false}'",
    )
    parser.add_argument("--json", default=None, help="also write the results as JSON")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    names = [n.strip() for n in args.policies.split(",") if n.strip()]

    overrides = {**_parse_set(args.set), "episodes_per_session": 1}
    if args.steps_per_episode is not None:
        overrides["steps_per_episode"] = args.steps_per_episode
    env = make_env("traffic_mgmt", "offline_rl_study", "normalized_utility", overrides)
    try:
        policies = {n: (lambda seed, n=n: make_agent(n, env, seed=seed)) for n in names}
        t0 = time.perf_counter()
        results = evaluate(env, policies, seeds, episodes=1)
        wall = time.perf_counter() - t0
        length = env.steps_per_episode
    finally:
        env.close()

    ranked = sorted(results, key=lambda r: -r.summary()["reward_mean"])
    changed = f", overrides {' '.join(args.set)}" if args.set else ""
    print(
        f"Study setting (scenarios/offline_rl_study.json{changed}, normalized_utility), {len(seeds)} seeds "
        f"({args.seeds}), one episode of L = {length} measurements ({length - 1} rewarded steps) per seed; "
        f"{wall:.0f} s wall.\n"
    )
    print("| rank | policy | episode reward (mean ± 95 % CI) | per step | throughput (Mbps) | owd (ms) |")
    print("|---:|---|---:|---:|---:|---:|")
    for rank, r in enumerate(ranked, 1):
        s = r.summary()
        print(
            f"| {rank} | {r.name} | {s['reward_mean']:.1f} ± {s['reward_ci95']:.1f} | "
            f"{s['reward_mean'] / (length - 1):.3f} | {s['throughput_mbps']:.2f} | {s['owd_ms']:.1f} |"
        )

    by_name = {r.name: r for r in results}
    claims = [(a, b) for a, b in STUDY_CLAIMS if a in by_name and b in by_name]
    if claims:
        print("\nThe study's finding, tested here (one-sided Welch t-test, H1: first > second):\n")
        print("| claim | mean difference | t | df | p | holds at p < 0.05 |")
        print("|---|---:|---:|---:|---:|---|")
        for a, b in claims:
            ra, rb = by_name[a].episode_rewards, by_name[b].episode_rewards
            test = welch_t_test(ra, rb)
            print(
                f"| {a} > {b} | {np.mean(ra) - np.mean(rb):.1f} | {test.t:.2f} | {test.df:.1f} | "
                f"{test.p_greater:.2g} | {'yes' if test.p_greater < 0.05 else 'no'} |"
            )
    if args.json:
        data = {
            "seeds": seeds,
            "steps_per_episode": length,
            "reward_type": "normalized_utility",
            "policies": {r.name: {**r.summary(), "episode_rewards": r.episode_rewards} for r in results},
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
