"""Agents: small policy objects ``agent(obs, info) -> action``.

:func:`make_agent` builds one by name (``"system_default"``, ``"random"``) for an environment.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from netgym_lite.agents.random_agent import RandomAgent
from netgym_lite.agents.system_default import SystemDefaultAgent
from netgym_lite.errors import ConfigError

AGENTS = ("system_default", "random")

__all__ = ["AGENTS", "RandomAgent", "SystemDefaultAgent", "make_agent"]


def make_agent(name: str, env: gym.Env, seed: int | None = None) -> Any:
    """The agent called ``name`` for ``env`` (``seed`` seeds a random agent)."""
    if name == "system_default":
        return SystemDefaultAgent()
    if name == "random":
        return RandomAgent(env.action_space, seed=seed)
    raise ConfigError(f"agent={name!r} is invalid: allowed one of {', '.join(AGENTS)}")
