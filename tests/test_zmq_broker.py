"""netgym-lite's client and worker against a NetworkGym-style broker (a raw pyzmq peer written from design.md §4).

``RawBroker`` does what NetworkGym's broker does, frame for frame: a PLAIN ROUTER for clients (``[identity,
json]``) and one for workers (hello ``[worker, b"", json]``; it forwards ``[worker, client, json]`` and relays a
worker's ``[worker, client, json]`` to ``client`` unchanged). A second env-start from a client that still has a
worker gets env-error "...Mapping Exits..." while the env-start is forwarded to that worker as a stop signal
and the mapping is dropped. It records every frame so the tests can check them byte for byte. The worker behind
it is a netgym-lite :class:`ZmqWorker`; the client is ``gym.make(..., server=...)``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest

zmq = pytest.importorskip("zmq")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_zmq_peers import action_for, action_plan, baseline, wait_until  # noqa: E402
from zmq.auth.thread import ThreadAuthenticator  # noqa: E402

import netgym_lite  # noqa: E402,F401  (registers the env)
from netgym_lite.config import raw_env_config  # noqa: E402
from netgym_lite.errors import NetgymError  # noqa: E402
from netgym_lite.ipc.zmq_worker import ZmqWorker  # noqa: E402

pytestmark = pytest.mark.zmq

ENV_ID = "netgym-lite/TrafficMgmt-v0"
L, E = 3, 2
SMALL = {"num_users": 4, "steps_per_episode": L, "episodes_per_session": E}
MAPPING_EXISTS = (
    b'{"type":"env-error", "error_msg": "NetworkGym Client - Worker Mapping Exits (Client was force '
    b'quited, e.g., ctrl+c!). Restart the client."}'
)


class RawBroker:
    """A minimal NetworkGym broker on two ephemeral loopback ports, in a thread (see module docstring)."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.ctx = zmq.Context()
        self.auth = ThreadAuthenticator(self.ctx)
        self.auth.start()
        self.auth.configure_plain(domain="*", passwords=passwords)
        self.front = self._router()
        self.back = self._router()
        self.endpoint = self.front.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.worker_endpoint = self.back.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.idle: dict[bytes, list[str]] = {}  # worker -> env list
        self.mapping: dict[bytes, bytes] = {}  # client -> worker
        self.front_in: list[tuple[float, list[bytes]]] = []
        self.front_out: list[tuple[float, list[bytes]]] = []
        self.back_in: list[tuple[float, list[bytes]]] = []
        self.back_out: list[tuple[float, list[bytes]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _router(self):
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        sock.plain_server = True
        sock.bind("tcp://127.0.0.1:*")
        return sock

    def _to_client(self, frames: list[bytes]) -> None:
        self.front_out.append((time.monotonic(), frames))
        self.front.send_multipart(frames)

    def _to_worker(self, frames: list[bytes]) -> None:
        self.back_out.append((time.monotonic(), frames))
        self.back.send_multipart(frames)

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.front, zmq.POLLIN)
        poller.register(self.back, zmq.POLLIN)
        while not self._stop.is_set():
            ready = dict(poller.poll(50))
            if self.back in ready:
                self._on_worker(self.back.recv_multipart())
            if self.front in ready:
                self._on_client(self.front.recv_multipart())

    def _on_worker(self, frames: list[bytes]) -> None:
        self.back_in.append((time.monotonic(), frames))
        if len(frames) < 3:
            return
        worker, client, data = frames[0], frames[1], frames[2]
        msg = json.loads(data)
        if msg["type"] == "env-hello":
            self.idle[worker] = msg["env_list"]
            for c, w in list(self.mapping.items()):
                if w == worker:
                    del self.mapping[c]
                    self._to_client([c, b'{"type":"env-error", "error_msg": "Worker Restarted, Try Again."}'])
        elif msg["type"] == "env-end":
            self.mapping.pop(client, None)
        elif msg["type"] == "env-error":
            for c, w in list(self.mapping.items()):
                if w == worker:
                    del self.mapping[c]
                    self._to_client([c, data])
        else:  # measurements (and unknown types) are relayed to the client named in the frame
            self._to_client([client, data])

    def _on_client(self, frames: list[bytes]) -> None:
        self.front_in.append((time.monotonic(), frames))
        if len(frames) < 2:
            return
        client, data = frames[0], frames[1]
        msg = json.loads(data)
        if msg["type"] == "env-start":
            if client in self.mapping:
                self._to_worker([self.mapping.pop(client), client, data])  # the worker stops its simulation
                self._to_client([client, MAPPING_EXISTS])
                return
            for worker, envs in self.idle.items():
                if msg["env"] in envs:
                    del self.idle[worker]
                    self.mapping[client] = worker
                    self._to_worker([worker, client, data])
                    return
            self._to_client([client, b'{"type":"no-available-worker"}'])
        elif msg["type"] == "env-action" and client in self.mapping:
            self._to_worker([self.mapping[client], client, data])
        else:
            self._to_client(
                [
                    client,
                    b'{"type":"env-error","error_msg":"algorithm client to network gym env '
                    b'worker mapping removed."}',
                ]
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.front.close(0)
        self.back.close(0)
        self.auth.stop()
        self.ctx.term()


@pytest.fixture()
def broker() -> Iterator[tuple[RawBroker, ZmqWorker]]:
    b = RawBroker({"admin": "adminpw", "alice": "alicepw"})
    worker = ZmqWorker(b.worker_endpoint, session_name="admin", session_key="adminpw", warm=False)
    worker.start_thread()
    try:
        assert wait_until(lambda: worker.identity.encode() in b.idle, 10.0)
        yield b, worker
    finally:
        worker.stop()
        b.close()


def _remote(b: RawBroker) -> gym.Env:
    return gym.make(
        ENV_ID, server=b.endpoint, session_name="alice", session_key="alicepw", client_id=0, **SMALL
    )


def _play(env: gym.Env, seed: int, actions: list[np.ndarray]) -> list[tuple]:
    """reset(seed), then the whole session: L-1 steps per episode, reset() between episodes."""
    out = []
    obs, info = env.reset(seed=seed)
    out.append((obs, None, info["ts"]))
    k = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(actions[k])
        k += 1
        out.append((obs, reward, info["ts"], terminated, truncated))
        if terminated:
            return out
        if truncated:
            obs, info = env.reset()
            out.append((obs, None, info["ts"]))


def _assert_same(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]


ACTIONS = [
    np.array([0.1, 0.4, 0.7, 1.0], np.float32) * (k + 1) / (2 * (L - 1) + 1) for k in range(2 * (L - 1))
]


def test_gym_env_through_a_networkgym_broker_equals_in_memory_frame_by_frame(broker) -> None:
    b, worker = broker
    local, remote = gym.make(ENV_ID, **SMALL), _remote(b)
    try:
        _assert_same(_play(remote, 4, ACTIONS), _play(local, 4, ACTIONS))
    finally:
        local.close()
        remote.close()
    waddr = worker.identity.encode()
    assert wait_until(lambda: waddr in b.idle, 5.0)  # the worker is back after env-end + hello
    # Client -> broker: always [identity, one JSON frame]; env-start first, then L·E - 1 actions.
    front_in = [f for _, f in b.front_in]
    assert all(len(f) == 2 and f[0] == b"alice-0" for f in front_in)
    sent = [json.loads(f[1]) for f in front_in]
    assert sent[0]["type"] == "env-start" and sent[0]["env"] == "nqos_split" and sent[0]["random_seed"] == 4
    assert sent[0]["num_users"] == 4 and sent[0]["steps_per_episode"] == L
    actions = [s["action_list"] for s in sent[1:]]
    assert [s["type"] for s in sent[1:]] == ["env-action"] * (L * E - 1)
    # Worker -> broker: hello [worker, b"", json]; then [worker, client, json] measurements, one env-end after L·E.
    back_in = [f for _, f in b.back_in]
    assert all(len(f) == 3 and f[0] == waddr for f in back_in)
    hellos = [json.loads(f[2]) for f in back_in if f[1] == b""]
    assert hellos and all(h["type"] == "env-hello" and h["env_list"] == ["nqos_split"] for h in hellos)
    session = [f for f in back_in if f[1] == b"alice-0"]
    kinds = [json.loads(f[2])["type"] for f in session]
    assert kinds == ["env-measurement"] * (L * E) + ["env-end"]
    assert session[-1][2] == b'{"type":"env-end"}'
    # Broker -> client: exactly the worker's bytes.
    assert [f for _, f in b.front_out] == [[b"alice-0", f[2]] for f in session[:-1]]
    measurements = [json.loads(f[2]) for f in session[:-1]]
    ts = [msg["network_stats"][0]["ts"] for msg in measurements]
    assert ts == [1000 + 100 * (k + 1) for k in range(L * E)]
    for msg in measurements:
        assert set(msg["workload_stats"]) == {"time_lapse_ms", "sim_time_lapse_ms"}
        assert all(set(r) == {"source", "name", "id", "ts", "value"} for r in msg["network_stats"])
    # Every action echoes the ts of the measurement before it; the reset() that opens episode 2 re-sends the
    # last action of episode 1 (same values), templated on the newest measurement.
    for k, action in enumerate(actions):
        assert action["ts"] == ts[k] and action["source"] == "gma" and action["id"] == [1, 2, 3, 4]
        assert action["name"] == "wifi::dl::split_ratio"
    assert actions[L - 1]["value"] == actions[L - 2]["value"]
    np.testing.assert_allclose(actions[L - 2]["value"], ACTIONS[L - 2], rtol=1e-6)


def test_reset_with_seed_mid_session_gets_mapping_exits_and_the_client_retries_after_1_s(broker) -> None:
    b, worker = broker
    local, remote = gym.make(ENV_ID, **SMALL), _remote(b)
    try:
        remote.reset(seed=1)
        remote.step(ACTIONS[0])
        t0 = time.monotonic()
        got = _play(remote, 2, ACTIONS)  # reset(seed=2) while the first session still has its worker
        retry_s = time.monotonic() - t0
        _assert_same(got, _play(local, 2, ACTIONS))
    finally:
        local.close()
        remote.close()
    starts = [(t, f) for t, f in b.front_in if json.loads(f[1])["type"] == "env-start"]
    assert len(starts) == 3
    assert [json.loads(f[1])["random_seed"] for _, f in starts] == [1, 2, 2]
    assert starts[2][1][1] == starts[1][1][1]  # the retry is the same env-start, byte for byte
    assert 0.95 <= starts[2][0] - starts[1][0] < 3.0  # NetworkGym's client retries after 1 s
    assert retry_s >= 0.95
    assert [b"alice-0", MAPPING_EXISTS] in [f for _, f in b.front_out]
    # The broker forwarded the second env-start to the busy worker: the worker dropped that session without
    # replying (so no stray measurement reached the client) and said hello again in time for the retry.
    waddr = worker.identity.encode()
    assert [waddr, b"alice-0", starts[1][1][1]] in [f for _, f in b.back_out]
    assert worker.sessions_aborted == 1 and worker.sessions_started == 2


def test_no_available_worker_from_the_broker_is_a_clear_error() -> None:
    b = RawBroker({"alice": "alicepw"})
    env = _remote(b)
    try:
        with pytest.raises(NetgymError, match="no available worker"):
            env.reset(seed=0)
    finally:
        env.close()
        b.close()


def test_a_worker_env_error_reaches_the_client_as_a_typed_error() -> None:
    from netgym_lite.errors import ConfigError
    from netgym_lite.ipc.session import default_config_parser

    def picky(env_config: dict):
        if env_config.get("random_seed") == 13:
            raise ConfigError("random_seed=13 is invalid: allowed anything else (test worker)")
        return default_config_parser(env_config)

    b = RawBroker({"admin": "adminpw", "alice": "alicepw"})
    worker = ZmqWorker(b.worker_endpoint, session_key="adminpw", config_parser=picky, warm=False)
    worker.start_thread()
    env = _remote(b)
    try:
        assert wait_until(lambda: worker.identity.encode() in b.idle, 10.0)
        with pytest.raises(ConfigError, match="random_seed=13"):
            env.reset(seed=13)
        assert wait_until(lambda: worker.identity.encode() in b.idle, 5.0)  # the worker registers again
        obs, _ = env.reset(seed=14)
        assert obs.shape == (3, 4)
    finally:
        env.close()
        worker.stop()
        b.close()


class BareBroker:
    """Just a PLAIN ROUTER a worker connects to: the test plays the broker's side frame by frame."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.auth = ThreadAuthenticator(self.ctx)
        self.auth.start()
        self.auth.configure_plain(domain="*", passwords={"admin": "adminpw"})
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.plain_server = True
        self.sock.bind("tcp://127.0.0.1:*")
        self.endpoint = self.sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    def recv(self, timeout_s: float = 5.0) -> list[bytes] | None:
        return self.sock.recv_multipart() if self.sock.poll(int(timeout_s * 1000)) else None

    def recv_for(self, client: bytes, timeout_s: float = 5.0) -> dict | None:
        """The worker's next message to ``client`` (skipping hellos and others), decoded."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            frames = self.recv(max(0.0, deadline - time.monotonic()))
            if frames is not None and frames[1] == client:
                return json.loads(frames[2])
        return None

    def drain(self) -> None:
        while self.recv(0.2) is not None:
            pass

    def close(self) -> None:
        self.sock.close(0)
        self.auth.stop()
        self.ctx.term()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=12,
)
_typed = st.fixed_dictionaries(
    {"type": st.sampled_from(["env-start", "env-action", "env-end", "env-hello", "env-error", "bogus"])},
    optional={"env": _json, "action_list": _json, "num_users": _json, "steps_per_episode": _json},
)
_payload = st.one_of(
    st.binary(max_size=40),
    _json.map(lambda v: json.dumps(v).encode()),
    _typed.map(lambda v: json.dumps(v).encode()),
)
_frames = st.one_of(
    st.tuples(st.sampled_from([b"alice-0", b"bob-1", b""]), _payload).map(list),
    st.lists(st.binary(max_size=8), min_size=1, max_size=4),
)


def test_malformed_broker_messages_never_kill_a_worker_and_a_session_then_matches_the_baseline() -> None:

    broker = BareBroker()
    worker = ZmqWorker(broker.endpoint, session_key="adminpw", warm=False)
    worker.start_thread()
    try:
        hello = broker.recv(10.0)
        assert hello is not None and hello[1] == b"" and json.loads(hello[2])["type"] == "env-hello"
        waddr = hello[0]
        env_config = raw_env_config(None, num_users=4, steps_per_episode=3, episodes_per_session=2)
        bad = [
            [b"alice-0"],  # one frame
            [b"alice-0", b"{}", b"extra"],
            [b"alice-0", b"\xff\xfe"],
            [b"alice-0", b"[1, 2]"],
            [b"alice-0", b'{"type": 7}'],
            [b"alice-0", b'{"type": "env-action", "action_list": []}'],  # no session
            [b"alice-0", json.dumps(dict(env_config, env="qos_steer")).encode()],
            [b"alice-0", json.dumps(dict(env_config, num_users=-1)).encode()],  # refused config
        ]
        for frames in bad:
            broker.sock.send_multipart([waddr, *frames])
        # in a session: a stale ts, NaN, the wrong shape, another client, then the broker's abort
        broker.sock.send_multipart([waddr, b"alice-0", json.dumps(env_config).encode()])
        first = broker.recv_for(b"alice-0")
        while first is not None and first["type"] != "env-measurement":
            first = broker.recv_for(b"alice-0")
        assert first is not None
        rec = action_for(first, 2)
        broker.sock.send_multipart([waddr, b"bob-1", json.dumps(rec).encode()])  # not its client
        assert broker.recv_for(b"bob-1")["type"] == "env-error"
        nan = json.dumps(rec).replace("0.25", "NaN").encode()
        broker.sock.send_multipart([waddr, b"alice-0", nan])
        assert (
            broker.recv_for(b"alice-0")["type"] == "env-error"
        )  # the error ends the session (NetworkGym rule)

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(frames=_frames)
        def fire(frames: list[bytes]) -> None:
            broker.sock.send_multipart([waddr, *frames])

        fire()
        for client in (b"alice-0", b"bob-1", b""):  # a fuzzed env-start may have started a session: abort it
            broker.sock.send_multipart([waddr, client, b'{"type":"env-end"}'])
        assert wait_until(lambda: not worker.busy, 5.0)
        broker.drain()
        assert worker._thread is not None and worker._thread.is_alive()
        # A good session now gives exactly the in-memory records.
        plan = action_plan(5, seed=3)
        broker.sock.send_multipart([waddr, b"carol-0", json.dumps(env_config).encode()])
        msgs = [broker.recv_for(b"carol-0")]
        for kind in plan:
            assert msgs[-1] is not None and msgs[-1]["type"] == "env-measurement", msgs[-1]
            broker.sock.send_multipart([waddr, b"carol-0", json.dumps(action_for(msgs[-1], kind)).encode()])
            msgs.append(broker.recv_for(b"carol-0"))
        assert [m["network_stats"] for m in msgs] == baseline(env_config, plan)
        assert broker.recv_for(b"carol-0") == {"type": "env-end"}
    finally:
        worker.stop()
        broker.close()
