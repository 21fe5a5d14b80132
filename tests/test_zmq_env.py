"""The same agent code over ZeroMQ: ``gym.make(..., server=...)`` equals the in-memory make, step for step."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("zmq")

from test_zmq_peers import serve_in_thread  # noqa: E402

import netgym_lite  # noqa: E402,F401  (registers the env)
from netgym_lite.errors import ConfigError, SessionEnded  # noqa: E402
from netgym_lite.ipc.transport import TransportTimeout  # noqa: E402
from netgym_lite.ipc.zmq_server import Account, ZmqServer  # noqa: E402
from netgym_lite.ipc.zmq_transport import (  # noqa: E402
    AuthenticationError,
    ZmqTransport,
    encode_message,
    parse_identity,
)

pytestmark = pytest.mark.zmq


@pytest.fixture(scope="module")
def zserver() -> Iterator[ZmqServer]:
    yield from serve_in_thread()

ENV_ID = "netgym-lite/TrafficMgmt-v0"
SMALL = {"num_users": 4, "steps_per_episode": 4, "episodes_per_session": 2}


def _rollout(env: gym.Env, seed: int, action_seed: int) -> list[tuple]:
    """reset(seed) and play the whole session (episodes continued by reset()), mixing actions and []."""
    rng = np.random.default_rng(action_seed)
    out: list[tuple] = []
    obs, info = env.reset(seed=seed)
    out.append(("reset", obs.copy(), info["ts"]))
    while True:
        action = [] if rng.random() < 0.3 else rng.random(env.action_space.shape).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        out.append(("step", obs.copy(), reward, terminated, truncated, info["ts"]))
        if terminated:
            return out
        if truncated:
            obs, info = env.reset()
            out.append(("reset", obs.copy(), info["ts"]))


def _same(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[0] == y[0]
        np.testing.assert_array_equal(x[1], y[1])
        assert x[2:] == y[2:]


def test_gym_make_over_zmq_equals_in_memory(zserver) -> None:
    local = gym.make(ENV_ID, **SMALL)
    remote = gym.make(ENV_ID, server=zserver.endpoint, session_name="alice", session_key="x", client_id=0,
                      **SMALL)
    try:
        for seed, action_seed in ((3, 0), (11, 1)):  # the second reset(seed) is a second env-start
            expected = _rollout(local, seed, action_seed)
            got = _rollout(remote, seed, action_seed)
            _same(got, expected)
        assert len(expected) == 2 * (1 + 3)  # per episode: one reset and L - 1 steps
        with pytest.raises(SessionEnded):
            remote.step([])
    finally:
        local.close()
        remote.close()


def test_env_with_server_needs_session_name_and_not_transport(zserver) -> None:
    with pytest.raises(ConfigError, match="session_name"):
        gym.make(ENV_ID, server=zserver.endpoint)
    with pytest.raises(ConfigError, match="session_name"):
        gym.make(ENV_ID, server=zserver.endpoint, session_name="bad-name")


def test_transport_helpers() -> None:
    assert parse_identity("alice-0") == ("alice", 0)
    assert parse_identity("alice-x-12") == ("alice", 12)  # NetworkGym: first word / last word
    for bad in ("alice", "-0", "alice-", "alice-x", ""):
        with pytest.raises(Exception, match="identity"):
            parse_identity(bad)
    with pytest.raises(Exception, match="JSON"):
        encode_message({"type": "env-action", "action_list": {"value": [float("nan")]}})
    assert encode_message({"type": "env-end"}) == b'{"type":"env-end"}'


def test_transport_times_out_without_a_server() -> None:
    with pytest.raises(ConfigError, match="session_key"):
        ZmqTransport("tcp://127.0.0.1:9", session_name="alice", session_key="", client_id=0)
    t = ZmqTransport("tcp://127.0.0.1:9", session_name="alice", session_key="x", client_id=0)
    try:
        t.send({"type": "env-end"})
        with pytest.raises(TransportTimeout):
            t.recv(0.2)
    finally:
        t.close()
    t.close()  # idempotent


def test_transport_reports_a_refused_login() -> None:
    with ZmqServer(0, bind="127.0.0.1", accounts={"alice": Account("alice", "secret", 1)}, warm=False) as srv:
        t = ZmqTransport(srv.endpoint, session_name="alice", session_key="wrong", client_id=0)
        try:
            t.send({"type": "env-end"})
            with pytest.raises(AuthenticationError, match="refused the login"):
                t.recv(5.0)
        finally:
            t.close()
