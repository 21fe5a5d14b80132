"""Without pyzmq the embedded mode works and the remote mode says what to install (runs with or without pyzmq)."""

from __future__ import annotations

import sys

import gymnasium as gym
import pytest

import netgym_lite  # noqa: F401  (registers the env)
from netgym_lite import cli
from netgym_lite.errors import ConfigError

HINT = "pip install 'netgym-lite[zmq]'"


@pytest.fixture
def no_zmq(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zmq", None)  # makes `import zmq` raise ImportError


def test_remote_env_without_pyzmq_names_the_extra(no_zmq: None) -> None:
    with pytest.raises(ConfigError, match=r"pip install 'netgym-lite\[zmq\]'"):
        gym.make(
            "netgym-lite/TrafficMgmt-v0", server="tcp://127.0.0.1:8088", session_name="alice", session_key="x"
        )
    env = gym.make("netgym-lite/TrafficMgmt-v0", num_users=2, steps_per_episode=2, episodes_per_session=1)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (3, 2)
    finally:
        env.close()


def test_serve_without_pyzmq_exits_2_with_the_hint(no_zmq: None, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["serve", "--port", "0"]) == 2
    assert HINT in capsys.readouterr().err


def test_worker_without_pyzmq_exits_2_with_the_hint(no_zmq: None, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["worker", "--server", "tcp://127.0.0.1:8087", "--session-key", "x"]) == 2
    assert HINT in capsys.readouterr().err
