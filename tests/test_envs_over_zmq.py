"""Every registered env works over ZeroMQ unchanged: same seed and actions → the same observations and rewards
as the in-memory default (QoSSteer and NetworkSlicing here; TrafficMgmt in test_zmq_env.py)."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("zmq")

import netgym_lite  # noqa: E402,F401  (registers the envs)
from netgym_lite.ipc.zmq_server import ZmqServer  # noqa: E402

pytestmark = pytest.mark.zmq

CASES = {
    "netgym-lite/QoSSteer-v0": ({"num_users": 4, "steps_per_episode": 3, "episodes_per_session": 2},
                                lambda rng, n: rng.integers(0, 2, n)),
    "netgym-lite/NetworkSlicing-v0": ({"steps_per_episode": 3, "episodes_per_session": 2},
                                      lambda rng, n: rng.random(n)),
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ZmqServer(0, bind="127.0.0.1")
    server.start_thread()
    try:
        yield server.endpoint
    finally:
        server.stop()


def _session(env: gym.Env, draw, seed: int) -> list:
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [obs.tolist()]
    while True:
        n = env.action_space.shape[0]
        action = [] if rng.random() < 0.3 else draw(rng, n)
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((obs.tolist(), reward, terminated, truncated, info["ts"]))
        if terminated:
            return out
        if truncated:
            out.append(env.reset()[0].tolist())


@pytest.mark.parametrize("env_id", list(CASES))
def test_same_session_in_memory_and_over_zmq(env_id: str, endpoint: str) -> None:
    overrides, draw = CASES[env_id]
    local = gym.make(env_id, **overrides)
    remote = gym.make(env_id, server=endpoint, session_name="alice", session_key="k", client_id=0, **overrides)
    try:
        assert _session(remote, draw, 7) == _session(local, draw, 7)
    finally:
        remote.close()
        local.close()
