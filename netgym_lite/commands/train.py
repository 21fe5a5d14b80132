"""``netgym-lite train``: train a Stable-Baselines3 agent (default) or an RLlib one on a netgym-lite environment.

``netgym-lite train [--backend sb3] --algo PPO|SAC|TD3|DDPG|A2C --env traffic_mgmt --timesteps N --save PATH
[--scenario FILE] [--obs study|basic] [--steps-per-episode N] [--reward-type T] [--set KEY=VALUE ...]
[--hp KEY=VALUE ...] [--seed S] [--torch-threads N] [--no-check] [-q]``

``--backend rllib`` (extra ``rllib``) trains with Ray RLlib over K env runners, each stepping the native vector
env: :mod:`netgym_lite.commands.train_rllib` documents its flags (``--num-env-runners``, ``--envs-per-runner``,
``--iterations``, ``--address``); the rest of this docstring is the SB3 backend.

Needs the optional extra ``train`` (Stable-Baselines3 and torch; ``pip install torch==2.13.0`` first for the
CPU build). The env is first checked with SB3's own ``check_env`` (skip with ``--no-check``), then trained with
``MlpPolicy`` on the CPU while a progress bar on stderr shows the timesteps and the mean episode reward of the
last episodes. The model is saved to PATH (``.zip`` added if missing) with a metadata file beside it (PATH with
``.json``), which ``netgym-lite eval --model PATH`` reads to rebuild the observation the model was trained on.
``--obs study`` (the default) trains on the offline-RL study's 14 features, scaled by 1/100
(:class:`~netgym_lite.envs.wrappers.StudyObservation`); ``--obs basic`` on the env's own (3, N) Mbps observation;
either is flattened (row-major) for SB3's ``MlpPolicy``. torch runs on ``--torch-threads`` threads (default 1):
for these small networks one thread is fastest, and several spin-wait badly on a shared machine (measured 4x
slower on 2 loaded cores).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from netgym_lite.errors import ConfigError


def build_training_env(args: argparse.Namespace) -> Any:
    """The env to train on: ``--env`` on ``--scenario`` with the overrides, wrapped for ``--obs`` and SB3."""
    from gymnasium.wrappers import FlattenObservation

    from netgym_lite.cli import _parse_set
    from netgym_lite.commands.eval import make_env
    from netgym_lite.envs.wrappers import StudyObservation

    if args.obs is None:
        args.obs = "study" if args.env == "traffic_mgmt" else "basic"
    if args.obs == "study" and args.env != "traffic_mgmt":
        raise ConfigError(f"--obs study is invalid with --env {args.env}: the study's features are TrafficMgmt's; "
                          "allowed basic")
    overrides = _parse_set(args.set or [])
    if args.steps_per_episode is not None:
        overrides["steps_per_episode"] = args.steps_per_episode
    env = make_env(args.env, args.scenario, args.reward_type, overrides)
    env = StudyObservation(env) if args.obs == "study" else env
    # SB3's MlpPolicy wants a 1-D observation.
    return FlattenObservation(env)


def cmd_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Check the env, train, save the model and its metadata (``--backend rllib``: :mod:`.train_rllib`)."""
    if args.backend == "rllib":
        from netgym_lite.commands.train_rllib import cmd_train_rllib

        return cmd_train_rllib(args, out, err)
    for flag, value in (("--iterations", args.iterations), ("--num-env-runners", args.num_env_runners),
                        ("--envs-per-runner", args.envs_per_runner), ("--address", args.address)):
        if value is not None:
            raise ConfigError(f"{flag} is invalid with --backend sb3: allowed only with --backend rllib")
    for flag, value in (("--timesteps", args.timesteps), ("--save", args.save)):
        if value is None:
            raise ConfigError(f"{flag} is required with --backend sb3")
    import gymnasium as gym
    import numpy as np

    from netgym_lite.agents.model_agent import import_sb3, model_paths, write_model_metadata
    from netgym_lite.cli import ProgressBar, _parse_set

    if args.timesteps < 1:
        raise ConfigError(f"--timesteps={args.timesteps} is invalid: allowed an integer >= 1")
    if args.torch_threads < 1:
        raise ConfigError(f"--torch-threads={args.torch_threads} is invalid: allowed an integer >= 1")
    sb3 = import_sb3()
    import torch

    torch.set_num_threads(args.torch_threads)
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_checker import check_env

    env = build_training_env(args)
    try:
        if not args.no_check:
            check_env(env, warn=not args.quiet)
            err.write("check_env: passed\n")
        hyper = _parse_set(args.hp or [])
        box_only = ("SAC", "TD3", "DDPG")
        if args.algo in box_only and not isinstance(env.action_space, gym.spaces.Box):
            raise ConfigError(f"--algo {args.algo} is invalid with --env {args.env} ({env.action_space} actions): "
                              f"{', '.join(box_only)} need continuous (Box) actions; allowed PPO or A2C")
        try:
            model = getattr(sb3, args.algo)(
                "MlpPolicy", env, seed=args.seed, verbose=0, device="cpu", **hyper
            )
        except TypeError as e:
            raise ConfigError(f"--hp {hyper} is invalid for {args.algo}: {e}") from None
        bar = ProgressBar(args.timesteps, err, enabled=not args.quiet)

        def mean_episode_reward() -> float:
            buf = getattr(model, "ep_info_buffer", None) or []
            return float(np.mean([e["r"] for e in buf])) if buf else float("nan")

        class _Progress(BaseCallback):
            def _on_step(self) -> bool:
                bar.update(
                    min(self.num_timesteps, args.timesteps),
                    f"mean episode reward {mean_episode_reward():.3f}",
                )
                return True

        t0 = time.perf_counter()
        model.learn(total_timesteps=args.timesteps, callback=_Progress())
        wall = time.perf_counter() - t0
        bar.close(
            min(model.num_timesteps, args.timesteps), f"mean episode reward {mean_episode_reward():.3f}"
        )
        zip_path = model_paths(args.save)[0]
        if zip_path.parent and not zip_path.parent.exists():
            zip_path.parent.mkdir(parents=True, exist_ok=True)
        model.save(str(zip_path))
        unwrapped = env.unwrapped
        meta_path = write_model_metadata(
            zip_path,
            {
                "algo": args.algo,
                "env": args.env,
                "obs": args.obs,
                "scenario": args.scenario,
                "reward_type": unwrapped.reward_type,
                "num_users": int(unwrapped.num_users),
                "steps_per_episode": int(unwrapped.steps_per_episode),
                "timesteps": int(model.num_timesteps),
                "seed": args.seed,
                "set": list(args.set or []),
                "hp": list(args.hp or []),
            },
        )
    finally:
        env.close()
    out.write(
        f"netgym-lite train: {args.algo} on {args.env} (obs {args.obs}, reward {unwrapped.reward_type}), "
        f"{model.num_timesteps} timesteps in {wall:.1f} s; mean episode reward of the last episodes "
        f"{mean_episode_reward():.4f}\nmodel saved to {zip_path} (metadata {meta_path})\n"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add ``netgym-lite train``."""
    from netgym_lite import ENV_IDS_BY_NAME
    from netgym_lite.agents.model_agent import OBSERVATION_KINDS, SB3_ALGOS
    from netgym_lite.config import REWARD_TYPES

    p = subparsers.add_parser(
        "train", help="train a Stable-Baselines3 agent (extra: train) or an RLlib one (--backend rllib, extra: rllib)"
    )
    p.add_argument(
        "--backend",
        default="sb3",
        choices=("sb3", "rllib"),
        help="sb3 = Stable-Baselines3 in this process (default); rllib = Ray RLlib with env runners, each "
        "stepping the native vector env (extra rllib)",
    )
    p.add_argument(
        "--algo", default="PPO", choices=SB3_ALGOS, help="algorithm (default PPO; --backend rllib: PPO only)"
    )
    p.add_argument(
        "--env", default="traffic_mgmt", choices=sorted(ENV_IDS_BY_NAME), help="environment (default traffic_mgmt)"
    )
    p.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="environment steps to train for (required with sb3; rllib: this or --iterations)",
    )
    p.add_argument(
        "--save",
        default=None,
        metavar="PATH",
        help="where to save the model (sb3, required: .zip added if missing; rllib: the checkpoint directory, "
        "default rllib_checkpoint)",
    )
    p.add_argument(
        "--obs",
        default=None,
        choices=OBSERVATION_KINDS,
        help="observation: study = the offline-RL study's 14 features /100 (traffic_mgmt only; its default), "
        "basic = the env's own (default for the other envs)",
    )
    p.add_argument("--scenario", default=None, help="NetworkGym config JSON or shipped scenario name")
    p.add_argument("--steps-per-episode", type=int, default=None, help="override the scenario's L")
    p.add_argument(
        "--reward-type",
        default=None,
        choices=REWARD_TYPES,
        help="reward (default: the scenario's rl_config.reward_type, else utility)",
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="env_config override (repeatable)")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the algorithm and the first session (default 0)"
    )
    p.add_argument(
        "--hp",
        action="append",
        metavar="KEY=VALUE",
        help="algorithm keyword argument, VALUE as JSON (repeatable), e.g. --hp n_steps=256; rllib: "
        "train_batch_size, minibatch_size, num_epochs, lr, hidden, rollout_fragment_length",
    )
    p.add_argument(
        "--torch-threads", type=int, default=1, help="torch CPU threads of the learner (default 1: fastest here)"
    )
    rl = p.add_argument_group("--backend rllib")
    rl.add_argument("--iterations", type=int, default=None, help="training iterations (or --timesteps)")
    rl.add_argument(
        "--num-env-runners", type=int, default=None, help="Ray actors sampling the env (default 2; 0: the driver)"
    )
    rl.add_argument(
        "--envs-per-runner", type=int, default=None, help="sub-envs of each runner's native vector env (default 4)"
    )
    rl.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="existing Ray cluster (ray://HOST:PORT, HOST:PORT or auto; default $RAY_ADDRESS, else a local "
        "instance with one CPU per env runner plus one)",
    )
    p.add_argument("--no-check", action="store_true", help="skip SB3's check_env")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no check_env warnings")
    p.set_defaults(func=cmd_train)
