"""Multi-agent PPO with Ray RLlib on TrafficMgmt's PettingZoo face: every user device is an agent.

Run:  python examples/rllib_multiagent.py --iterations 5
Needs the extras ``rllib`` and ``multiagent`` (``pip install torch==2.13.0 && pip install -e '.[rllib,multiagent]'``).
Every option is a field of :class:`Args` below, given on the command line as ``--field-name value``.

The env is :func:`netgym_lite.multiagent.traffic_mgmt_parallel_env` (agents ``user_1`` … ``user_N``, each
observing its own [LTE max rate, Wi-Fi max rate, throughput] in Mbps and choosing its own Wi-Fi share; reward:
its own utility plus ``shared_weight`` × the global one), wrapped by RLlib's ``ParallelPettingZooEnv`` into an
RLlib ``MultiAgentEnv`` (``netgym_lite.agents.rllib.make_multiagent_env``: the creator lives in the package so
that remote env runners can import it). ``--policies shared`` trains one policy for all users (parameter sharing: every user's
experience trains it); ``--policies independent`` one policy per user. ``--num-env-runners K`` samples on K Ray
actors (0: in this process); ``--address`` joins an existing Ray cluster instead of starting a local one.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Args:
    seed: int = 1
    """seed of RLlib (runner k resets its env with seed + k)"""
    num_users: int = 4
    """user devices, i.e. agents"""
    scenario: str = "traffic_mgmt"
    """netgym-lite scenario (file or shipped name)"""
    steps_per_episode: int = 50
    """L: measurements per episode"""
    shared_weight: float = 0.5
    """weight of the global reward in each agent's reward"""
    policies: str = "shared"
    """shared (one policy for every user) or independent (one policy per user)"""
    iterations: int = 5
    """training iterations"""
    num_env_runners: int = 1
    """Ray actors sampling the env (0: sample in this process)"""
    train_batch_size: int = 1000
    """env steps per iteration (each one an agent step of every user)"""
    minibatch_size: int = 128
    """PPO minibatch"""
    num_epochs: int = 5
    """PPO epochs per iteration"""
    hidden: int = 64
    """units of each of the two hidden layers"""
    learning_rate: float = 3e-4
    """Adam's learning rate"""
    torch_threads: int = 1
    """torch CPU threads of the learner"""
    address: str = ""
    """existing Ray cluster (ray://HOST:PORT); empty: a local instance with num_env_runners + 1 CPUs"""
    checkpoint: str = ""
    """directory to save the trained algorithm to (empty: no checkpoint)"""


def build_config(args: Args) -> Any:
    """The PPO config: the env, one policy per ``--policies`` choice, the network and the batch sizes."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from netgym_lite.agents.rllib import register_multiagent_env

    if args.policies not in ("shared", "independent"):
        raise ValueError(f"--policies {args.policies!r} is invalid: allowed shared or independent")
    env_name = register_multiagent_env()  # ParallelPettingZooEnv(traffic_mgmt_parallel_env(**env_config))
    agents = [f"user_{u + 1}" for u in range(args.num_users)]
    if args.policies == "shared":
        policies = {"shared"}

        def mapping(agent_id: str, episode: Any, **kwargs: Any) -> str:
            return "shared"
    else:
        policies = set(agents)

        def mapping(agent_id: str, episode: Any, **kwargs: Any) -> str:
            return agent_id

    model = DefaultModelConfig(fcnet_hiddens=[args.hidden, args.hidden])
    return (
        PPOConfig()
        .environment(env_name, env_config={
            "scenario": args.scenario,
            "num_users": args.num_users,
            "steps_per_episode": args.steps_per_episode,
            "shared_weight": args.shared_weight,
        })
        .env_runners(num_env_runners=args.num_env_runners)
        .multi_agent(policies=policies, policy_mapping_fn=mapping)
        .rl_module(rl_module_spec=MultiRLModuleSpec(
            rl_module_specs={p: RLModuleSpec(model_config=model) for p in sorted(policies)}
        ))
        .training(train_batch_size_per_learner=args.train_batch_size, minibatch_size=args.minibatch_size,
                  num_epochs=args.num_epochs, lr=args.learning_rate)
        .debugging(seed=args.seed)
    )


def main(args: Args) -> dict[str, Any]:
    """Train for ``args.iterations`` iterations; returns the last iteration's summary."""
    import ray
    import torch

    torch.set_num_threads(args.torch_threads)
    started = not ray.is_initialized()
    if started:
        if args.address:
            ray.init(address=args.address, log_to_driver=False)
        else:
            ray.init(num_cpus=args.num_env_runners + 1, include_dashboard=False, log_to_driver=False,
                     object_store_memory=256 * 1024**2)
    algo = None
    summary: dict[str, Any] = {}
    try:
        algo = build_config(args).build_algo()
        t0 = time.perf_counter()
        for it in range(1, args.iterations + 1):
            result = algo.train()
            runners = result["env_runners"]
            per_agent = runners.get("agent_episode_returns_mean", {})
            summary = {
                "iteration": it,
                "env_steps": int(result.get("num_env_steps_sampled_lifetime", 0)),
                "episode_return_mean": float(runners.get("episode_return_mean", math.nan)),
                "agent_return_means": {k: float(v) for k, v in sorted(per_agent.items())},
                "wall_s": time.perf_counter() - t0,
            }
            agents = ", ".join(f"{k} {v:.2f}" for k, v in summary["agent_return_means"].items())
            print(f"iteration {it}: {summary['env_steps']:,} env steps, episode return mean (all agents) "
                  f"{summary['episode_return_mean']:.3f}; per agent: {agents or 'no episode ended yet'}",
                  flush=True)
        if args.checkpoint:
            summary["checkpoint"] = algo.save_to_path(args.checkpoint)
            print(f"checkpoint saved to {summary['checkpoint']}")
    finally:
        if algo is not None:
            algo.stop()
        if started:
            ray.shutdown()
    return summary


def parse_args() -> Args:
    """``--field-name value`` for every field of :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in dataclasses.fields(Args):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    return Args(**vars(parser.parse_args()))


if __name__ == "__main__":
    main(parse_args())
