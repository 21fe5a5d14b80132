"""Stable-Baselines3 on the native vector envs: :class:`SB3VecEnv` is SB3's ``VecEnv`` over a
:class:`~netgym_lite.envs.vector.NetworkGymVectorEnv` in same-step autoreset mode (SB3's convention: an ended
sub-env is reset within the step, its last observation in ``infos[i]["terminal_observation"]`` and
``"TimeLimit.truncated"`` set when the episode was cut by its length rather than the session's end).

Needs the ``train`` extra (``pip install torch==2.13.0 'netgym-lite[train]'``)::

    from stable_baselines3 import PPO
    from netgym_lite.envs.sb3_vec_env import make_sb3_vec_env
    vec = make_sb3_vec_env("netgym-lite/TrafficMgmt-v0", num_envs=16, seed=0)
    PPO("MlpPolicy", vec).learn(10_000)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

try:
    from stable_baselines3.common.vec_env import VecEnv
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("netgym_lite.envs.sb3_vec_env needs Stable-Baselines3: pip install torch==2.13.0 "
                      "'netgym-lite[train]'") from e

from netgym_lite.envs.vector import NetworkGymVectorEnv

_INFO_KEYS = ("ts", "step", "episode_index", "measurement", "session_seed")


class SB3VecEnv(VecEnv):
    """SB3 ``VecEnv`` over a native vector env created with ``autoreset_mode="same_step"``."""

    def __init__(self, venv: NetworkGymVectorEnv) -> None:
        if venv.autoreset_mode != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError("SB3VecEnv needs a vector env made with autoreset_mode='same_step' (SB3 resets "
                             "ended sub-envs within the step)")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        """Reset every sub-env; seeds from :meth:`seed` (SB3 passes seed + i), else unseeded."""
        seeds = self._seeds if any(s is not None for s in self._seeds) else None
        obs, info = self.venv.reset(seed=seeds)
        self.reset_infos = [{k: info[k][i] for k in _INFO_KEYS} for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        infos = []
        for i in range(self.num_envs):
            item: dict[str, Any] = {k: info[k][i] for k in _INFO_KEYS}
            if dones[i]:
                item["terminal_observation"] = info["final_obs"][i]
                item["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            infos.append(item)
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.venv.face, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.venv.face, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
        raise NotImplementedError("the native vector env has no per-sub-env env objects to call methods on")

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(self._get_indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs


def make_sb3_vec_env(env_id: str, num_envs: int, seed: int | None = None, **kwargs: Any) -> SB3VecEnv:
    """``gym.make_vec(env_id, num_envs, autoreset_mode="same_step", **kwargs)`` as an SB3 VecEnv, seeded."""
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                        autoreset_mode="same_step", **kwargs)
    vec = SB3VecEnv(venv)  # type: ignore[arg-type]
    if seed is not None:
        vec.seed(seed)
    return vec
