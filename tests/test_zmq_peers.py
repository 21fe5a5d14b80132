"""A raw pyzmq NetworkGym client against ``ZmqServer``: NetworkGym's northbound protocol byte for byte.

The peer below is written from design.md §4 only (not from netgym-lite's client): a DEALER socket with identity
``"<session_name>-<client_id>"``, PLAIN username/password, one UTF-8 JSON frame per message (``json.dumps(...,
indent=2)`` as NetworkGym's client sends it), env-start carrying the whole env_config, env-action records
copied from the ``gma::dl::rate`` record. The other ``test_zmq_*`` modules import its helpers.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

zmq = pytest.importorskip("zmq")

from netgym_lite.config import raw_env_config  # noqa: E402
from netgym_lite.ipc.server import Server  # noqa: E402
from netgym_lite.ipc.zmq_server import ZmqServer  # noqa: E402

pytestmark = pytest.mark.zmq

#: A small session: 4 users, L = 3, E = 2 → 6 measurements.
SMALL = {"num_users": 4, "steps_per_episode": 3, "episodes_per_session": 2}
REPLY_TIMEOUT_S = 10.0


class RawClient:
    """A minimal NetworkGym northbound client: one DEALER socket, PLAIN credentials, one JSON frame."""

    def __init__(self, endpoint: str, session_name: str, session_key: str = "x", client_id: int = 0,
                 identity: bytes | None = None) -> None:
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        # every wait has a timeout: a DEALER whose handshake was refused has no peer and would block on send
        self.sock.setsockopt(zmq.SNDTIMEO, int(REPLY_TIMEOUT_S * 1000))
        self.sock.plain_username = session_name.encode()
        self.sock.plain_password = session_key.encode()
        self.sock.identity = identity if identity is not None else f"{session_name}-{client_id}".encode()
        self.sock.connect(endpoint)

    def send(self, obj: Any) -> None:
        """One frame of JSON, indented as NetworkGym's client does."""
        self.sock.send(json.dumps(obj, indent=2).encode("utf-8"))

    def send_bytes(self, data: bytes) -> None:
        self.sock.send(data)

    def recv(self, timeout_s: float = REPLY_TIMEOUT_S) -> dict | None:
        """The next reply (one frame of JSON), or None on timeout."""
        if not self.sock.poll(int(timeout_s * 1000)):
            return None
        frames = self.sock.recv_multipart()
        assert len(frames) == 1, frames
        return json.loads(frames[0])

    def close(self) -> None:
        self.sock.close(linger=0)


def rate_record(msg: dict) -> dict:
    """The ``gma::dl::rate`` record of an env-measurement (the template of an action)."""
    assert msg["type"] == "env-measurement", msg
    return next(r for r in msg["network_stats"] if r["source"] == "gma" and r["name"] == "dl::rate")


def action_for(msg: dict, kind: int) -> dict:
    """An env-action as NetworkGym's clients build it: a copy of gma::dl::rate with its own name and value.

    kind 0: the system default (``"value": []`` of ``dl::split_weight``, as ``env.step([])`` sends);
    1: ``dl::split_weight`` rows [wifi, nr, lte] normalised per user; 2: ``wifi::dl::split_ratio`` shares.
    """
    rec = copy.deepcopy(rate_record(msg))
    n = len(rec["id"])
    if kind == 0:
        rec["name"], rec["value"] = "dl::split_weight", []
    elif kind == 1:
        rec["name"] = "dl::split_weight"
        rec["value"] = [[(u + 1) / (n + 1), 0.0, 1 - (u + 1) / (n + 1)] for u in range(n)]
    else:
        rec["name"], rec["value"] = "wifi::dl::split_ratio", [0.25 * (u % 5) for u in range(n)]
    return {"type": "env-action", "action_list": rec}


def action_plan(n_actions: int, seed: int = 0) -> list[int]:
    """Which kind of action to send at each step (deterministic)."""
    return [(seed + i) % 3 for i in range(n_actions)]


def baseline(env_config: dict, plan: list[int]) -> list[list[dict]]:
    """The network_stats of a session run on an in-memory Server with the same actions."""
    server = Server()
    msgs = [server.handle("base-0", copy.deepcopy(env_config))[0]]
    for kind in plan:
        msgs.append(server.handle("base-0", action_for(msgs[-1], kind))[0])
    return [m["network_stats"] for m in msgs if m["type"] == "env-measurement"]


def run_raw_session(client: RawClient, env_config: dict, plan: list[int]) -> list[dict]:
    """env-start, then one action per plan entry; returns every reply."""
    client.send(env_config)
    replies = [client.recv()]
    for kind in plan:
        assert replies[-1] is not None and replies[-1]["type"] == "env-measurement", replies[-1]
        client.send(action_for(replies[-1], kind))
        replies.append(client.recv())
    return replies


def serve_in_thread() -> Iterator[ZmqServer]:
    """A netgym-lite server on an ephemeral loopback port, in a thread, always stopped (fixture body)."""
    server = ZmqServer(0, bind="127.0.0.1", max_message_bytes=64 * 1024)
    server.start_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def zserver() -> Iterator[ZmqServer]:
    yield from serve_in_thread()


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


# ---------------------------------------------------------------------------------------------- tests
def test_raw_client_runs_a_full_session_then_the_session_is_over(zserver: ZmqServer) -> None:
    env_config = raw_env_config(None, **SMALL)
    total = SMALL["steps_per_episode"] * SMALL["episodes_per_session"]  # L·E
    plan = action_plan(total - 1)
    client = RawClient(zserver.endpoint, "alice", client_id=0)
    try:
        replies = run_raw_session(client, env_config, plan)
        assert [r["type"] for r in replies] == ["env-measurement"] * total
        ts = [r["network_stats"][0]["ts"] for r in replies]
        assert ts == [1000 + 100 * (k + 1) for k in range(total)]
        for r in replies:
            assert set(r["workload_stats"]) >= {"time_lapse_ms", "sim_time_lapse_ms"}
            assert r["network_stats"]
            assert all(set(rec) == {"source", "name", "id", "ts", "value"} for rec in r["network_stats"])
        assert [r["network_stats"] for r in replies] == baseline(env_config, plan)
        # After L·E measurements the session is over: an action gets env-error, no measurement.
        client.send(action_for(replies[-1], 0))
        end = client.recv()
        assert end is not None and end["type"] == "env-error" and "session ended" in end["error_msg"]
        assert client.recv(0.2) is None
    finally:
        client.close()


def test_second_env_start_from_the_same_identity_replaces_the_session(zserver: ZmqServer) -> None:
    first = raw_env_config(None, **SMALL)
    second = raw_env_config(None, random_seed=7, **SMALL)
    client = RawClient(zserver.endpoint, "alice", client_id=1)
    try:
        replies = run_raw_session(client, first, [1, 2])
        assert replies[-1]["network_stats"][0]["ts"] == 1300
        plan = action_plan(5, seed=1)
        again = run_raw_session(client, second, plan)
        assert [r["type"] for r in again] == ["env-measurement"] * 6
        assert again[0]["network_stats"][0]["ts"] == 1100
        assert [r["network_stats"] for r in again] == baseline(second, plan)
    finally:
        client.close()


def test_action_list_as_a_list_and_null_values_and_extra_keys(zserver: ZmqServer) -> None:
    env_config = raw_env_config(None, **SMALL)
    client = RawClient(zserver.endpoint, "alice", client_id=2)
    try:
        client.send(env_config)
        first = client.recv()
        rec = rate_record(first)
        action = dict(rec, name="wifi::dl::split_ratio", value=[None, 0.5, 1.0, 0.0], extra_key="ignored",
                      ts=float(rec["ts"]), id=[float(i) for i in rec["id"]])
        client.send({"type": "env-action", "action_list": [action]})
        reply = client.recv()
        assert reply["type"] == "env-measurement", reply
        assert reply["network_stats"][0]["ts"] == 1200
    finally:
        client.close()
