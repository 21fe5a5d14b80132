"""``netgym-lite train --backend rllib``: train with Ray RLlib, env runners stepping the native vector env.

``netgym-lite train --backend rllib --algo PPO --env NAME --num-env-runners K --envs-per-runner M
(--iterations N | --timesteps N) [--address ray://HOST:PORT] [--save DIR] [--seed S] [--scenario FILE]
[--steps-per-episode N] [--reward-type T] [--set KEY=VALUE ...] [--hp KEY=VALUE ...] [--torch-threads N] [-q]``

Needs the extra ``rllib`` (``ray[rllib]``). Without ``--address`` (or ``RAY_ADDRESS``) it starts a local Ray
instance with ``K + 1`` CPUs (one per env runner, one for the driver, where the learner runs) and stops it at
the end; with one it joins that cluster. Each of the K runners steps ``gymnasium.make_vec(id, num_envs=M,
vectorization_mode="vector_entry_point")`` (:mod:`netgym_lite.agents.rllib` says how), observations flattened.
One line per iteration on stderr (iteration, env steps sampled, episode return mean), the final metrics on
stdout, and the algorithm's checkpoint written to ``--save`` (default ``rllib_checkpoint``; its path printed)
with a metadata file beside it (``DIR.json``: flags, final metrics, episodes and session seeds per env runner).
``--hp`` sets PPO's ``train_batch_size`` (env steps per iteration, default 4000), ``minibatch_size`` (128),
``num_epochs`` (10, as SB3's PPO; RLlib's own default is 30), ``lr`` (3e-4), ``hidden`` (MLP layer sizes,
[64, 64]) and ``rollout_fragment_length`` ("auto": the batch split evenly over runners and sub-envs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any, TextIO

from netgym_lite.errors import ConfigError

#: ``--hp`` keys of the RLlib backend and their defaults (see :func:`netgym_lite.agents.rllib.ppo_config`).
RLLIB_HP_DEFAULTS: dict[str, Any] = {
    "train_batch_size": 4000,
    "minibatch_size": 128,
    "num_epochs": 10,
    "lr": 3e-4,
    "hidden": [64, 64],
    "rollout_fragment_length": "auto",
}
DEFAULT_SAVE = "rllib_checkpoint"
DEFAULT_NUM_ENV_RUNNERS = 2
DEFAULT_ENVS_PER_RUNNER = 4
#: Ray's object store of the local instance (the minimum is 75 MB; samples here are a few MB).
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


def _positive(flag: str, value: int | None, minimum: int = 1) -> None:
    if value is not None and (not isinstance(value, int) or value < minimum):
        raise ConfigError(f"{flag}={value} is invalid: allowed an integer >= {minimum}")


def validate_rllib_args(args: argparse.Namespace) -> dict[str, Any]:
    """Check the RLlib backend's flags (ConfigError naming the flag and what is allowed); returns the ``--hp``
    values merged over :data:`RLLIB_HP_DEFAULTS`."""
    from netgym_lite.agents.rllib import RLLIB_ALGOS
    from netgym_lite.cli import _parse_set

    if args.algo not in RLLIB_ALGOS:
        raise ConfigError(f"--algo {args.algo} is invalid with --backend rllib: allowed {', '.join(RLLIB_ALGOS)}")
    if (args.iterations is None) == (args.timesteps is None):
        raise ConfigError("--iterations and --timesteps: give exactly one with --backend rllib "
                          f"(got --iterations={args.iterations}, --timesteps={args.timesteps})")
    _positive("--iterations", args.iterations)
    _positive("--timesteps", args.timesteps)
    if args.num_env_runners is None:
        args.num_env_runners = DEFAULT_NUM_ENV_RUNNERS
    if args.envs_per_runner is None:
        args.envs_per_runner = DEFAULT_ENVS_PER_RUNNER
    _positive("--num-env-runners", args.num_env_runners, minimum=0)
    _positive("--envs-per-runner", args.envs_per_runner)
    _positive("--torch-threads", args.torch_threads)
    if args.obs not in (None, "basic"):
        raise ConfigError(f"--obs {args.obs} is invalid with --backend rllib (the native vector env has no raw "
                          "records to build the study's features from): allowed basic")
    hp = dict(RLLIB_HP_DEFAULTS)
    for key, value in _parse_set(args.hp or []).items():
        if key not in RLLIB_HP_DEFAULTS:
            raise ConfigError(f"--hp {key} is invalid with --backend rllib: allowed {', '.join(RLLIB_HP_DEFAULTS)}")
        hp[key] = value
    for key in ("train_batch_size", "minibatch_size", "num_epochs"):
        _positive(f"--hp {key}", hp[key])
    if hp["minibatch_size"] > hp["train_batch_size"]:
        raise ConfigError(f"--hp minibatch_size={hp['minibatch_size']} is invalid: allowed at most "
                          f"train_batch_size ({hp['train_batch_size']})")
    if not isinstance(hp["lr"], (int, float)) or not hp["lr"] > 0:
        raise ConfigError(f"--hp lr={hp['lr']!r} is invalid: allowed a number > 0")
    hidden = hp["hidden"]
    if not isinstance(hidden, list) or not hidden or not all(isinstance(h, int) and h >= 1 for h in hidden):
        raise ConfigError(f"--hp hidden={hidden!r} is invalid: allowed a JSON list of layer sizes >= 1, e.g. [64, 64]")
    frag = hp["rollout_fragment_length"]
    if frag != "auto" and not (isinstance(frag, int) and frag >= 1):
        raise ConfigError(f"--hp rollout_fragment_length={frag!r} is invalid: allowed \"auto\" or an integer >= 1")
    return hp


def init_ray(ray: Any, address: str | None, num_cpus: int) -> bool:
    """Join the cluster at ``address`` (or ``RAY_ADDRESS``), else start a local instance with ``num_cpus`` CPUs.
    Returns True when this call started Ray (and the caller should shut it down)."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 object_store_memory=LOCAL_OBJECT_STORE_BYTES)
    return True


def iteration_summary(result: dict[str, Any]) -> tuple[int, int, float]:
    """(env steps sampled this iteration, env steps sampled so far, episode return mean; NaN before the first
    episode ends) of one ``Algorithm.train()`` result."""
    from ray.rllib.utils.metrics import (
        ENV_RUNNER_RESULTS,
        EPISODE_RETURN_MEAN,
        NUM_ENV_STEPS_SAMPLED,
        NUM_ENV_STEPS_SAMPLED_LIFETIME,
    )

    runners = result.get(ENV_RUNNER_RESULTS, {})
    total = result.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, runners.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0))
    ret = runners.get(EPISODE_RETURN_MEAN, math.nan)
    return int(runners.get(NUM_ENV_STEPS_SAMPLED, 0)), int(total), float(ret)


def episode_sources(result: dict[str, Any]) -> tuple[dict[str, int], dict[str, set[int]]]:
    """(episodes completed per env runner index, session seeds seen per env runner index) of one ``train()``
    result, from the metrics :func:`~netgym_lite.agents.rllib.episode_sources_callback` logs."""
    from netgym_lite.agents.rllib import EPISODES_BY_RUNNER, SESSION_SEEDS_BY_RUNNER

    runners = result.get("env_runners", {})
    episodes = {str(k): int(v) for k, v in runners.get(EPISODES_BY_RUNNER, {}).items()}
    seeds = {str(k): {int(s) for s in v} for k, v in runners.get(SESSION_SEEDS_BY_RUNNER, {}).items()}
    return episodes, seeds


def cmd_train_rllib(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Build PPO over the env runners, train for the iterations or timesteps, checkpoint, print metrics."""
    from netgym_lite import ENV_IDS_BY_NAME
    from netgym_lite.agents.rllib import import_ray, ppo_config
    from netgym_lite.cli import _parse_set

    hp = validate_rllib_args(args)
    env_config: dict[str, Any] = dict(_parse_set(args.set or []))
    if args.scenario is not None:
        env_config["scenario"] = args.scenario
    if args.reward_type is not None:
        env_config["reward_type"] = args.reward_type
    if args.steps_per_episode is not None:
        env_config["steps_per_episode"] = args.steps_per_episode
    ray = import_ray()
    import torch

    torch.set_num_threads(args.torch_threads)
    started = init_ray(ray, args.address, num_cpus=args.num_env_runners + 1)
    algo = None
    try:
        config = ppo_config(
            ENV_IDS_BY_NAME[args.env], env_config, num_env_runners=args.num_env_runners,
            envs_per_runner=args.envs_per_runner, seed=args.seed, rollout_fragment_length=hp["rollout_fragment_length"],
            train_batch_size=hp["train_batch_size"], minibatch_size=hp["minibatch_size"],
            num_epochs=hp["num_epochs"], hidden=tuple(hp["hidden"]), lr=hp["lr"],
        )
        t0 = time.perf_counter()
        algo = config.build_algo()
        build_s = time.perf_counter() - t0
        iteration, total, ret = 0, 0, math.nan
        episodes: dict[str, int] = {}
        seeds: dict[str, set[int]] = {}
        t0 = time.perf_counter()
        while (args.iterations is not None and iteration < args.iterations) or (
            args.timesteps is not None and total < args.timesteps
        ):
            t_it = time.perf_counter()
            result = algo.train()
            iteration += 1
            sampled, total, ret = iteration_summary(result)
            new_episodes, new_seeds = episode_sources(result)
            for runner, n in new_episodes.items():
                episodes[runner] = episodes.get(runner, 0) + n
            for runner, s in new_seeds.items():
                seeds.setdefault(runner, set()).update(s)
            if not args.quiet:
                err.write(f"iteration {iteration}: {sampled:,} env steps sampled ({total:,} in total), "
                          f"episode return mean {ret:.4f}, {time.perf_counter() - t_it:.1f} s\n")
                err.flush()
        wall = time.perf_counter() - t0
        save = Path(args.save or DEFAULT_SAVE).resolve()
        save.mkdir(parents=True, exist_ok=True)
        checkpoint = algo.save_to_path(str(save))
        meta = save.with_name(save.name + ".json")
        meta.write_text(json.dumps({
            "backend": "rllib", "algo": args.algo, "env": args.env, "env_config": env_config,
            "num_env_runners": args.num_env_runners, "envs_per_runner": args.envs_per_runner, "seed": args.seed,
            "hp": hp, "iterations": iteration, "env_steps": total, "wall_s": wall,
            "episode_return_mean": None if math.isnan(ret) else ret,
            "episodes_by_env_runner": dict(sorted(episodes.items())),
            "session_seeds_by_env_runner": {k: sorted(v) for k, v in sorted(seeds.items())},
            "checkpoint": str(checkpoint),
        }, indent=2) + "\n")
    finally:
        if algo is not None:
            algo.stop()
        if started:
            ray.shutdown()
    out.write(
        f"netgym-lite train: RLlib {args.algo} on {args.env}, {args.num_env_runners} env runners x "
        f"{args.envs_per_runner} envs (native vector env); {iteration} iterations, {total:,} env steps in "
        f"{wall:.1f} s ({total / max(wall, 1e-9):,.0f} env steps/s; build {build_s:.1f} s); "
        f"episode return mean {ret:.4f}\nepisodes completed by env runner: "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(episodes.items())) or 'none'}\n"
        f"checkpoint saved to {checkpoint} (metadata {meta})\n"
    )
    return 0
