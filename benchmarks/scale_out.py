"""Env steps/s that RLlib samples from netgym-lite with 1, 2, 4 env runners (Ray actors) on this machine.

Run: ``python benchmarks/scale_out.py [--runners 1 2 4] [--envs-per-runner 8] [--quick]`` (extra ``rllib``).
One local Ray instance (``num_cpus`` = the largest runner count + 1) serves every row. For each runner count K
it builds PPO (:func:`netgym_lite.agents.rllib.ppo_config`: each runner steps TrafficMgmt's native vector env
of M sub-envs, 4 users, the policy's MLP 64x64 on one torch thread) and measures:

* **sampling**: all K runners sample ``--steps`` env steps each at once (``EnvRunnerGroup.foreach_env_runner``
  calling ``sample(num_timesteps=...)``, the call ``Algorithm.train`` makes); env steps/s over the K runners,
  fastest of ``--repeats`` rounds after a warm-up round, and per runner;
* **training iteration**: ``Algorithm.train()`` with a ``--train-batch`` env-step batch and PPO's default
  minibatch (128) for ``--epochs`` epochs, after one warm-up iteration: env steps/s of whole iterations, and
  RLlib's own timers of the sampling and the learner update (the learner runs in the driver, torch on one
  thread).

A first row times the native vector env alone in this process (random actions, no policy, no Ray): the ceiling
one runner's sampling could reach. Results go to ``benchmarks/results/scale_out.{json,md}`` (and ``.png`` with
matplotlib). The machine is shared: the load average at start and end is recorded; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import netgym_lite  # noqa: F401  (registers the ids)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plot import headless_pyplot  # noqa: E402  (the benchmarks' shared plot helper)

RESULTS = Path(__file__).resolve().parent / "results"
ENV_ID = "netgym-lite/TrafficMgmt-v0"


def vector_env_alone(envs: int, steps: int, env_config: dict[str, Any]) -> float:
    """Sub-env steps/s of the native vector env with random actions (no policy, no Ray), fastest of 2 rounds."""
    venv = gym.make_vec(ENV_ID, num_envs=envs, vectorization_mode="vector_entry_point", **env_config)
    try:
        venv.reset(seed=0)
        venv.action_space.seed(0)
        actions = [venv.action_space.sample() for _ in range(8)]
        for k in range(3):
            venv.step(actions[k])
        best = 0.0
        for _ in range(2):
            t0 = time.perf_counter()
            for k in range(max(steps // envs, 1)):
                venv.step(actions[k % 8])
            best = max(best, max(steps // envs, 1) * envs / (time.perf_counter() - t0))
        return best
    finally:
        venv.close()


def measure_runners(k: int, args: argparse.Namespace, env_config: dict[str, Any]) -> dict[str, Any]:
    """Sampling and training-iteration rates with ``k`` env runners (module docstring)."""
    from netgym_lite.agents.rllib import ppo_config

    config = ppo_config(ENV_ID, env_config, num_env_runners=k, envs_per_runner=args.envs_per_runner, seed=0,
                        train_batch_size=args.train_batch, minibatch_size=min(128, args.train_batch),
                        num_epochs=args.epochs)
    t0 = time.perf_counter()
    algo = config.build_algo()
    build_s = time.perf_counter() - t0
    try:
        group = algo.env_runner_group

        def sample_round() -> tuple[int, float]:
            t = time.perf_counter()
            episodes = group.foreach_env_runner(
                lambda runner: sum(len(e) for e in runner.sample(num_timesteps=args.steps, random_actions=False)),
                local_env_runner=False,
            )
            return int(sum(episodes)), time.perf_counter() - t

        sample_round()  # warm-up: first resets, torch's first forward passes
        rounds = [sample_round() for _ in range(args.repeats)]
        steps, wall = max(rounds, key=lambda r: r[0] / r[1])
        sample_rate = steps / wall
        algo.train()  # warm-up iteration: also flushes the steps of the sampling rounds from the metrics
        iters, learner, sampling = [], [], []
        for _ in range(args.iterations):
            t = time.perf_counter()
            result = algo.train()
            iters.append((int(result["env_runners"]["num_env_steps_sampled"]), time.perf_counter() - t))
            learner.append(float(result["timers"]["learner_update_timer"]))
            sampling.append(float(result["timers"]["env_runner_sampling_timer"]))
        train_steps = sum(s for s, _ in iters)
        train_wall = sum(w for _, w in iters)
    finally:
        algo.stop()
    return {
        "env_runners": k,
        "envs_per_runner": args.envs_per_runner,
        "build_s": build_s,
        "sample_steps": steps,
        "sample_wall_s": wall,
        "sample_steps_per_s": sample_rate,
        "sample_steps_per_s_per_runner": sample_rate / k,
        "train_iterations": len(iters),
        "train_steps": train_steps,
        "train_wall_s": train_wall,
        "train_steps_per_s": train_steps / train_wall,
        "learner_s_per_iteration": sum(learner) / len(learner),
        "sampling_s_per_iteration": sum(sampling) / len(sampling),
    }


def markdown(res: dict[str, Any]) -> str:
    rows = res["rows"]
    out = [
        f"RLlib {res['ray_version']} PPO on {ENV_ID} ({res['env_config']['num_users']} users, TCP), "
        f"{res['envs_per_runner']} sub-envs per runner (native vector env), {res['cpu_count']} cores; "
        f"load average {res['load_avg_start']:.2f} at start, {res['load_avg_end']:.2f} at end.",
        "",
        f"Native vector env alone in one process (random actions, no policy, no Ray): "
        f"{res['vector_env_alone_steps_per_s']:,.0f} env steps/s.",
        "",
        f"| env runners | sampled env steps/s | per runner | PPO iteration env steps/s ({res['train_batch']} steps, "
        f"{res['epochs']} epochs) | sampling s / iteration | learner s / iteration |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['env_runners']} | {r['sample_steps_per_s']:,.0f} | {r['sample_steps_per_s_per_runner']:,.0f} | "
            f"{r['train_steps_per_s']:,.0f} | {r['sampling_s_per_iteration']:.2f} | {r['learner_s_per_iteration']:.2f} |"
        )
    return "\n".join(out)


def plot(res: dict[str, Any], path: Path) -> bool:
    """Sampled and training-iteration env steps/s against env runners."""
    plt = headless_pyplot()
    if plt is None:
        return False
    rows = res["rows"]
    ks = [r["env_runners"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(ks, [r["sample_steps_per_s"] for r in rows], marker="o", label="sampling (all runners)")
    ax.plot(ks, [r["train_steps_per_s"] for r in rows], marker="s", label="whole PPO iteration")
    ax.plot(ks, [rows[0]["sample_steps_per_s_per_runner"] * k for k in ks], linestyle=":", color="grey",
            label="linear from 1 runner")
    ax.axhline(res["vector_env_alone_steps_per_s"], linestyle="--", color="C3", label="vector env alone (1 process)")
    ax.set_xticks(ks)
    ax.set_xlabel("env runners (Ray actors)")
    ax.set_ylabel("env steps / wall s")
    ax.set_title(f"RLlib scale-out on {res['cpu_count']} cores (load avg {res['load_avg_start']:.1f})", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runners", nargs="+", type=int, default=None, help="env runner counts (default 1 2 4)")
    ap.add_argument("--envs-per-runner", type=int, default=8, help="sub-envs per runner (default 8)")
    ap.add_argument("--steps", type=int, default=None, help="env steps each runner samples per round (default 800)")
    ap.add_argument("--repeats", type=int, default=5, help="timed sampling rounds, fastest kept (default 5)")
    ap.add_argument("--train-batch", type=int, default=None, help="env steps per training iteration (default 2000)")
    ap.add_argument("--epochs", type=int, default=None, help="PPO epochs per iteration (default 5)")
    ap.add_argument("--iterations", type=int, default=None, help="training iterations timed (default 2)")
    ap.add_argument("--quick", action="store_true", help="a CI-sized smoke run")
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help="where to write scale_out.{json,md,png}")
    args = ap.parse_args(argv)
    args.runners = args.runners or ([1, 2] if args.quick else [1, 2, 4])
    args.steps = args.steps or (40 if args.quick else 800)
    args.train_batch = args.train_batch or (64 if args.quick else 2000)
    args.epochs = args.epochs or (1 if args.quick else 5)
    args.iterations = args.iterations or (1 if args.quick else 2)
    if args.quick:
        args.repeats = 1
    for name in ("envs_per_runner", "steps", "repeats", "train_batch", "epochs", "iterations"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} {getattr(args, name)} is invalid: allowed an integer >= 1")
    if any(k < 1 for k in args.runners):
        ap.error(f"--runners {args.runners} is invalid: allowed integers >= 1")

    from netgym_lite.agents.rllib import import_ray

    ray = import_ray()
    import torch

    torch.set_num_threads(1)
    env_config = {"num_users": 4, "steps_per_episode": 100}
    res: dict[str, Any] = {
        "ray_version": ray.__version__,
        "cpu_count": os.cpu_count(),
        "load_avg_start": os.getloadavg()[0],
        "env_config": env_config,
        "envs_per_runner": args.envs_per_runner,
        "steps_per_runner_per_round": args.steps,
        "train_batch": args.train_batch,
        "epochs": args.epochs,
    }
    print(f"load average {os.getloadavg()}", flush=True)
    res["vector_env_alone_steps_per_s"] = vector_env_alone(args.envs_per_runner, max(args.steps, 80), env_config)
    print(f"vector env alone: {res['vector_env_alone_steps_per_s']:,.0f} env steps/s", flush=True)
    started = not ray.is_initialized()  # a caller's Ray (the test's) is used as it is
    if started:
        ray.init(num_cpus=max(args.runners) + 1, include_dashboard=False, log_to_driver=False,
                 object_store_memory=256 * 1024**2)
    rows = []
    try:
        for k in args.runners:
            row = measure_runners(k, args, env_config)
            rows.append(row)
            print(f"{k} env runners: sampling {row['sample_steps_per_s']:,.0f} env steps/s "
                  f"({row['sample_steps_per_s_per_runner']:,.0f} per runner), whole iterations "
                  f"{row['train_steps_per_s']:,.0f} env steps/s (sampling {row['sampling_s_per_iteration']:.2f} s, learner "
                  f"{row['learner_s_per_iteration']:.2f} s per iteration) (build {row['build_s']:.1f} s)", flush=True)
    finally:
        if started:
            ray.shutdown()
    res["rows"] = rows
    res["load_avg_end"] = os.getloadavg()[0]
    text = markdown(res)
    print()
    print(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = "scale_out_quick" if args.quick else "scale_out"
    (args.out_dir / f"{stem}.json").write_text(json.dumps(res, indent=2) + "\n")
    (args.out_dir / f"{stem}.md").write_text(text + "\n")
    png = args.out_dir / f"{stem}.png"
    print(f"\nwrote {args.out_dir / stem}.json, .md" + (", .png" if plot(res, png) else " (no plot: no matplotlib)"))
    if any(math.isnan(r["sample_steps_per_s"]) for r in rows):
        raise RuntimeError("a row measured nothing")
    return res


if __name__ == "__main__":
    main()
