"""The random agent: a uniform sample of the action space every step (a baseline)."""

from __future__ import annotations

import copy
from typing import Any

from gymnasium import spaces


class RandomAgent:
    """Policy sampling ``action_space`` uniformly; ``seed`` makes the sequence reproducible.

    The agent samples from its own copy of the space, so it never disturbs the env's space RNG.
    """

    def __init__(self, action_space: spaces.Space, seed: int | None = None) -> None:
        self.action_space = copy.deepcopy(action_space)
        self.action_space.seed(seed)

    def __call__(self, obs: Any, info: dict) -> Any:
        """Return a random action."""
        return self.action_space.sample()
