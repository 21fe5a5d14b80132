"""TrafficMgmt as a PettingZoo ``ParallelEnv``: every user device is an agent deciding its own Wi-Fi share.

Needs the ``multiagent`` extra (``pip install 'netgym-lite[multiagent]'``: PettingZoo). Underneath is one
:class:`~netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv` (same protocol, same simulation, no copy of the models):

* agents ``"user_1"`` … ``"user_N"``; agent u observes its own column of TrafficMgmt's observation,
  ``Box(0, inf, (3,))`` = [LTE max rate, Wi-Fi max rate, delivered throughput] (Mbps), and acts with
  ``Box(0, 1, (1,))``, its Wi-Fi share;
* agent u's reward is its own utility ``0.5·ln(rate_u) − 0.5·ln(owd_u)`` (Mbps, ms; each ln of a non-positive
  or missing value replaced by −10, clipped to [−10, 10], as TrafficMgmt's ``utility``) plus
  ``shared_weight`` × the env's own (global) reward;
* an episode is TrafficMgmt's: all agents are truncated together after ``steps_per_episode`` measurements
  (terminated too at the session's end); ``reset()`` continues the session with the next episode,
  ``reset(seed=s)`` starts a new one.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from gymnasium import spaces

try:
    from pettingzoo import ParallelEnv
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("netgym_lite.multiagent needs PettingZoo: pip install 'netgym-lite[multiagent]'") from e

from netgym_lite.envs.base import record_values
from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv
from netgym_lite.errors import ActionError, ConfigError

_LN_FLOOR = -10.0


def user_utility(rate_mbps: float, owd_ms: float) -> float:
    """``0.5·ln(rate) − 0.5·ln(owd)``, each ln of a non-positive value (or a missing owd, −1) → −10, clipped to
    [−10, 10] (TrafficMgmt's ``utility`` for one user)."""
    ln_rate = math.log(rate_mbps) if rate_mbps > 0 else _LN_FLOOR
    ln_owd = math.log(owd_ms) if owd_ms > 0 else _LN_FLOOR
    return float(np.clip(0.5 * ln_rate - 0.5 * ln_owd, -10.0, 10.0))


class TrafficMgmtParallelEnv(ParallelEnv):
    """PettingZoo face of TrafficMgmt (module docstring). Constructor arguments as the single env's, plus
    ``shared_weight`` (≥ 0, default 0)."""

    metadata = {"name": "netgym_lite_traffic_mgmt_v0", "render_modes": []}

    def __init__(self, scenario: Any = None, *, shared_weight: float = 0.0, **kwargs: Any) -> None:
        if not isinstance(shared_weight, (int, float)) or not math.isfinite(shared_weight) or shared_weight < 0:
            raise ConfigError(f"shared_weight={shared_weight!r} is invalid: allowed a finite number >= 0")
        self.shared_weight = float(shared_weight)
        self.env = TrafficMgmtEnv(scenario, **kwargs)
        n = self.env.num_users
        self.possible_agents = [f"user_{u + 1}" for u in range(n)]
        self.agents: list[str] = []
        self._index = {agent: u for u, agent in enumerate(self.possible_agents)}
        self._last = np.full(n, np.nan)  # each agent's last share (kept when an agent sends none)

    @functools.cache  # noqa: B019  (PettingZoo wants the same space object every call)
    def observation_space(self, agent: str) -> spaces.Box:
        return spaces.Box(0.0, np.inf, (3,), np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (1,), np.float32)

    def _split(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        return {agent: obs[:, u].copy() for agent, u in self._index.items()}

    def _infos(self, info: dict) -> dict[str, dict]:
        common = {k: info[k] for k in ("ts", "step", "episode_index", "measurement", "session_seed")}
        return {agent: dict(common) for agent in self.possible_agents}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """A new session (seeded, or after the session ended) or the next episode of the running one."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        self._last[:] = np.nan
        return self._split(obs), self._infos(info)

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Every live agent's share; an agent without an action keeps its last one (the system default before
        its first)."""
        if not self.agents:
            raise ActionError("every agent is done: call reset() to start the next episode")
        for agent, action in actions.items():
            if agent not in self._index:
                raise ActionError(f"actions[{agent!r}] is invalid: allowed agents {', '.join(self.possible_agents)}")
            share = np.asarray(action, dtype=np.float64).reshape(-1)
            if share.shape != (1,) or not np.isfinite(share[0]) or not 0.0 <= share[0] <= 1.0:
                raise ActionError(f"actions[{agent!r}]={action!r} is invalid: allowed one Wi-Fi share in [0, 1]")
            self._last[self._index[agent]] = share[0]
        # GMA's system default for users that never acted: the whole action is [] until every user has a share
        action = [] if np.isnan(self._last).any() else self._last.astype(np.float32)
        obs, reward, terminated, truncated, info = self.env.step(action)
        records = info["network_stats"]
        n = self.env.num_users
        rate = record_values(records, "gma", "dl::rate", n, fill=0.0)
        owd = record_values(records, "gma", "dl::owd", n, fill=-1.0)
        rewards = {agent: user_utility(rate[u], owd[u]) + self.shared_weight * reward
                   for agent, u in self._index.items()}
        terms = dict.fromkeys(self.possible_agents, bool(terminated))
        truncs = dict.fromkeys(self.possible_agents, bool(truncated))
        if terminated or truncated:
            self.agents = []
        return self._split(obs), rewards, terms, truncs, self._infos(info)

    def close(self) -> None:
        self.env.close()


def traffic_mgmt_parallel_env(scenario: Any = None, **kwargs: Any) -> TrafficMgmtParallelEnv:
    """Build the PettingZoo face of TrafficMgmt (see :class:`TrafficMgmtParallelEnv`)."""
    return TrafficMgmtParallelEnv(scenario, **kwargs)
