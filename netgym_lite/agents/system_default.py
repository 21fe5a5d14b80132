"""The system-default agent: always the empty action, so the simulator's own algorithm decides.

For TrafficMgmt that is GMA's delay-based splitting (design.md §6). NetworkGym uses this agent to collect
data for offline training.
"""

from __future__ import annotations

from typing import Any


class SystemDefaultAgent:
    """Policy returning ``[]`` (the system-default action) whatever it observes."""

    def __call__(self, obs: Any, info: dict) -> list:
        """Return the empty action."""
        return []
