"""Ray RLlib on netgym-lite: env runners that step the native vector env, and the PPO config around them.

Needs the optional extra ``rllib`` (``pip install 'netgym-lite[rllib]'``: ``ray[rllib]``; install
``torch==2.13.0`` first for the CPU build). Used by ``netgym-lite train --backend rllib``,
``examples/rllib_multiagent.py`` and ``benchmarks/scale_out.py``.

How an env runner gets the native vector env: RLlib's new API stack builds each
:class:`~ray.rllib.env.single_agent_env_runner.SingleAgentEnvRunner`'s env with ``gymnasium.make_vec(name,
num_envs=num_envs_per_env_runner, vectorization_mode=config.gym_env_vectorize_mode)``, where ``name`` is a
Gymnasium id it registers on the runner with our creator as both ``entry_point`` and ``vector_entry_point``
(the latter called with ``num_envs`` added to the env config). With ``gym_env_vectorize_mode=
"vector_entry_point"`` it calls that vector entry point once, and :func:`make_env_runner_env` answers with
``gymnasium.make_vec(<netgym-lite id>, num_envs=M, vectorization_mode="vector_entry_point")``, the native
:class:`~netgym_lite.envs.vector.NetworkGymVectorEnv`: all M sessions of a runner advance in one numba call per
step. Going through a registered creator (instead of the netgym-lite id itself) is what lets the runner import
netgym-lite on a remote machine and add two vector wrappers:

* :class:`DistinctRunnerSeeds`: RLlib resets runner k's env with ``seed = config.seed + k``, and the native
  vector env runs sub-env i with ``seed + i``, so neighbouring runners would replay each other's sessions
  (runner 1's sub-env 1 = runner 2's sub-env 0). The wrapper resets sub-env i with ``seed · M + i`` instead:
  runner k, sub-env i runs session seed ``(config.seed + k) · M + i``, distinct across runners and sub-envs.
* Gymnasium's vector ``FlattenObservation``: RLlib's default MLP encoder takes 1-D observations; ours are
  ``(3, N)`` (TrafficMgmt, QoSSteer) or ``(5, S)`` (NetworkSlicing), flattened row-major.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from netgym_lite.errors import ConfigError

RLLIB_EXTRA_HINT = "pip install 'netgym-lite[rllib]' (Ray RLlib; pip install torch==2.13.0 first for the CPU build)"
#: RLlib algorithms ``netgym-lite train --backend rllib --algo`` accepts.
RLLIB_ALGOS = ("PPO",)
#: The name netgym-lite's env creator is registered under in Ray's registry (visible to every runner).
RLLIB_ENV_NAME = "netgym-lite-vector"
RLLIB_MULTIAGENT_ENV_NAME = "netgym-lite-traffic-mgmt-multiagent"
#: Custom metric keys (under ``result["env_runners"]``) logged by :class:`EpisodeSources`.
EPISODES_BY_RUNNER = "episodes_by_env_runner"
SESSION_SEEDS_BY_RUNNER = "session_seeds_by_env_runner"
#: Distinct session seeds :class:`EpisodeSources` logs per env runner (the first sessions' ones).
MAX_SEEDS_LOGGED = 32


def import_ray() -> Any:
    """The ``ray`` module with RLlib importable, or a ConfigError naming the extra to install."""
    try:
        import ray
        import ray.rllib  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"Ray RLlib is not installed ({e}): {RLLIB_EXTRA_HINT}") from None
    return ray


class DistinctRunnerSeeds(gym.vector.VectorWrapper):
    """Reset sub-env i of ``reset(seed=s)`` with session seed ``s · num_envs + i`` (module docstring), so the
    envs of runners seeded ``s, s + 1, ...`` never share a session seed. ``seed=None`` and per-env seed lists
    pass through unchanged."""

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = [int(seed) * self.num_envs + i for i in range(self.num_envs)]
        return self.env.reset(seed=seed, options=options)


def make_env_runner_env(env_config: dict[str, Any]) -> Any:
    """RLlib's env creator: the native vector env when RLlib passes ``num_envs`` (its vector entry point),
    otherwise one single env, with flattened observations either way.

    ``env_config`` keys: ``env_id`` (a netgym-lite Gymnasium id, default TrafficMgmt), ``num_envs`` (added by
    RLlib), everything else goes to the env's constructor (``scenario``, ``reward_type``, config overrides).
    """
    import netgym_lite  # registers the ids in this (possibly remote) process

    cfg = dict(env_config)
    env_id = cfg.pop("env_id", "netgym-lite/TrafficMgmt-v0")
    if env_id not in netgym_lite.ENVS:
        raise ConfigError(f"env_config['env_id']={env_id!r} is invalid: allowed one of {', '.join(netgym_lite.ENVS)}")
    num_envs = cfg.pop("num_envs", None)
    if num_envs is None:
        return gym.wrappers.FlattenObservation(gym.make(env_id, **cfg))
    venv = gym.make_vec(env_id, num_envs=int(num_envs), vectorization_mode="vector_entry_point", **cfg)
    return gym.wrappers.vector.FlattenObservation(DistinctRunnerSeeds(venv))


def register_rllib_env() -> str:
    """Register :func:`make_env_runner_env` with Ray's registry (before building the algorithm); returns the
    name to pass to ``config.environment``."""
    from ray.tune.registry import register_env

    register_env(RLLIB_ENV_NAME, make_env_runner_env)
    return RLLIB_ENV_NAME


def make_multiagent_env(env_config: dict[str, Any]) -> Any:
    """RLlib's env creator for multi-agent training: TrafficMgmt's PettingZoo face
    (:func:`netgym_lite.multiagent.traffic_mgmt_parallel_env`, constructor arguments from ``env_config``) under
    RLlib's ``ParallelPettingZooEnv``, which makes it an RLlib ``MultiAgentEnv``. Needs the extra ``multiagent``
    too. Defined here (not in a script) so that remote env runners can import it by name."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from netgym_lite.multiagent import traffic_mgmt_parallel_env

    return ParallelPettingZooEnv(traffic_mgmt_parallel_env(**env_config))


def register_multiagent_env() -> str:
    """Register :func:`make_multiagent_env` with Ray's registry; returns its name for ``config.environment``."""
    from ray.tune.registry import register_env

    register_env(RLLIB_MULTIAGENT_ENV_NAME, make_multiagent_env)
    return RLLIB_MULTIAGENT_ENV_NAME


def episode_sources_callback() -> type:
    """An ``RLlibCallback`` class that logs, per env runner, the episodes it completed and the session seeds
    they ran (``result["env_runners"][EPISODES_BY_RUNNER][str(worker_index)]`` and
    ``[SESSION_SEEDS_BY_RUNNER][str(worker_index)][str(seed)]`` for its first :data:`MAX_SEEDS_LOGGED` sessions,
    counted per iteration): which runners really sampled, and that their sessions differ."""
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class EpisodeSources(RLlibCallback):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._seeds: set[str] = set()  # one callback object per env runner process

        def on_episode_end(self, *, episode: Any, env_runner: Any = None, metrics_logger: Any = None,
                           **kwargs: Any) -> None:
            if metrics_logger is None or env_runner is None:
                return
            runner = str(env_runner.worker_index)
            metrics_logger.log_value((EPISODES_BY_RUNNER, runner), 1, reduce="sum")
            info = episode.get_infos(-1)
            if isinstance(info, dict) and "session_seed" in info:
                seed = str(int(info["session_seed"]))
                # RLlib keeps every metric key it has seen: log the first sessions' seeds only
                if seed in self._seeds or len(self._seeds) < MAX_SEEDS_LOGGED:
                    self._seeds.add(seed)
                    metrics_logger.log_value((SESSION_SEEDS_BY_RUNNER, runner, seed), 1, reduce="sum")

    return EpisodeSources


def ppo_config(env_id: str, env_config: dict[str, Any], *, num_env_runners: int, envs_per_runner: int,
               seed: int | None = 0, rollout_fragment_length: int | str = "auto",
               train_batch_size: int = 4000, minibatch_size: int = 128, num_epochs: int = 30,
               hidden: tuple[int, ...] = (64, 64), lr: float = 3e-4) -> Any:
    """A PPO ``AlgorithmConfig`` (new API stack) whose env runners step ``env_id``'s native vector env.

    ``num_env_runners`` remote runners (0: sample in the driver), each with ``envs_per_runner`` sub-envs;
    ``train_batch_size`` env steps per iteration over all runners; a ``hidden`` MLP for policy and value. Ray
    runs each runner's torch on one thread (``OMP_NUM_THREADS=1`` for one-CPU actors); the learner runs in the
    driver (``torch.set_num_threads`` there).
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return (
        PPOConfig()
        .environment(register_rllib_env(), env_config={"env_id": env_id, **env_config})
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=envs_per_runner,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=rollout_fragment_length,
        )
        .training(train_batch_size_per_learner=train_batch_size, minibatch_size=minibatch_size,
                  num_epochs=num_epochs, lr=lr)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(hidden)))
        .framework("torch", torch_compile_learner=False)
        .callbacks(episode_sources_callback())
        .debugging(seed=seed)
    )
