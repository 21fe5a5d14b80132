"""Agents: small policy objects ``agent(obs, info) -> action``.

Any callable ``(obs, info) -> action`` is an agent. A custom one for TrafficMgmt, reading the raw records
(design.md §5) rather than the observation so that it works under any observation wrapper::

    import numpy as np
    from netgym_lite.envs.traffic_mgmt import record_values

    def wifi_when_fast(obs, info):
        recs = info["network_stats"]
        wifi = record_values(recs, "wifi", "dl::max_rate", 4)
        return (wifi > 50.0).astype(np.float32)        # Wi-Fi share per user

:func:`make_agent` builds the named ones for an environment: ``system_default`` (the empty action: the
simulator's own algorithm decides), ``random`` (uniform over the action space) and the link heuristics of the
offline-RL study, ``argmax``, ``argmin``, ``utility_argmax``, ``utility_logistic``
(:mod:`netgym_lite.agents.heuristics`, TrafficMgmt only). :func:`load_model_agent` wraps a model trained by
``netgym-lite train``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from netgym_lite.agents.heuristics import (
    ArgmaxAgent,
    ArgminAgent,
    LinkHeuristic,
    UtilityArgmaxAgent,
    UtilityLogisticAgent,
)
from netgym_lite.agents.model_agent import ModelAgent, load_model_agent
from netgym_lite.agents.random_agent import RandomAgent
from netgym_lite.agents.system_default import SystemDefaultAgent
from netgym_lite.errors import ConfigError

#: Link heuristics by name (TrafficMgmt: they read its per-link records).
HEURISTICS: dict[str, type[LinkHeuristic]] = {
    cls.name: cls for cls in (ArgmaxAgent, ArgminAgent, UtilityArgmaxAgent, UtilityLogisticAgent)
}
#: Every name :func:`make_agent` accepts.
AGENTS = ("system_default", "random", *HEURISTICS)

__all__ = [
    "AGENTS",
    "HEURISTICS",
    "ArgmaxAgent",
    "ArgminAgent",
    "LinkHeuristic",
    "ModelAgent",
    "RandomAgent",
    "SystemDefaultAgent",
    "UtilityArgmaxAgent",
    "UtilityLogisticAgent",
    "load_model_agent",
    "make_agent",
]


def make_agent(name: str, env: gym.Env, seed: int | None = None) -> Any:
    """The agent called ``name`` for ``env`` (``seed`` seeds a random agent)."""
    if name == "system_default":
        return SystemDefaultAgent()
    if name == "random":
        return RandomAgent(env.action_space, seed=seed)
    if name in HEURISTICS:
        num_users = getattr(env.unwrapped, "num_users", None)
        return HEURISTICS[name](num_users=num_users)
    raise ConfigError(f"agent={name!r} is invalid: allowed one of {', '.join(AGENTS)}")
