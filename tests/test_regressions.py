"""Regressions found by running long sessions; each reproduces one past failure exactly."""

from __future__ import annotations

import numpy as np
import pytest

from netgym_lite.agents import make_agent
from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv


@pytest.mark.timeout(300)
def test_study_session_with_random_splits_never_hangs() -> None:
    """The offline-RL study's TCP scenario, random agent seed 1, session seed 1: the step from ts 88,800 ms
    used to spin forever (an LSN gap marked a held packet's slot as lost, so the reordering timeout searched
    for a held packet that no slot named). The whole session must complete with finite rewards."""
    env = TrafficMgmtEnv("offline_rl_study")
    agent = make_agent("random", env, seed=1)
    obs, info = env.reset(seed=1)
    rewards = []
    for _ in range(env.steps_per_episode - 1):
        obs, reward, terminated, truncated, info = env.step(agent(obs, info))
        rewards.append(reward)
    assert truncated and info["ts"] > 88_900
    assert np.all(np.isfinite(rewards))
    env.close()
