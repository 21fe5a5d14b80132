"""External southbound workers: ``netgym-lite worker`` / :class:`ZmqWorker` behind ``ZmqServer``.

The same seed gives the same run in memory, through ``serve`` with an embedded worker, and through ``serve`` with
an external worker; a worker that dies, hangs or restarts mid-session becomes an env-error for its client (never a
hang); NetworkGym's southbound rules (hello frames, custom envs of non-admin accounts, account check) hold.
``RawWorker`` is a NetworkGym-style worker written from design.md §4 (a DEALER sending ``[b"", env-hello]`` and
answering ``[client_identity, json]``); test_zmq_broker.py reuses it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest

zmq = pytest.importorskip("zmq")

from test_zmq_env import ENV_ID, SMALL, _rollout, _same  # noqa: E402
from test_zmq_peers import (  # noqa: E402
    RawClient,
    action_for,
    action_plan,
    baseline,
    run_raw_session,
    serve_in_thread,
    wait_until,
)

from netgym_lite.config import raw_env_config  # noqa: E402
from netgym_lite.ipc.southbound import BUSY, IDLE, LIMBO  # noqa: E402
from netgym_lite.ipc.zmq_server import ZmqServer  # noqa: E402
from netgym_lite.ipc.zmq_worker import ZmqWorker  # noqa: E402

pytestmark = pytest.mark.zmq

REPO = Path(__file__).resolve().parents[1]
ENV_CONFIG = raw_env_config(None, num_users=4, steps_per_episode=3, episodes_per_session=2)
TIMEOUT_S = 10.0


class RawWorker:
    """A minimal NetworkGym env worker: DEALER ``<account>-<id>-<host>``, PLAIN, hello as ``[b"", json]``."""

    def __init__(
        self,
        endpoint: str,
        account: str = "admin",
        worker_id: int = 0,
        env_list: list | None = None,
        password: str = "x",
        identity: bytes | None = None,
    ) -> None:
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDTIMEO, int(TIMEOUT_S * 1000))
        self.sock.plain_username = account.encode()
        self.sock.plain_password = password.encode()
        self.identity = identity if identity is not None else f"{account}-{worker_id}-testhost".encode()
        self.sock.identity = self.identity
        self.sock.connect(endpoint)
        self.env_list = env_list if env_list is not None else ["nqos_split"]

    def hello(self) -> None:
        self.sock.send_multipart(
            [b"", json.dumps({"type": "env-hello", "env_list": self.env_list}, indent=2).encode()]
        )

    def recv(self, timeout_s: float = TIMEOUT_S) -> list[bytes] | None:
        """The next frames as the DEALER sees them (``[client_identity, json]``), or None on timeout."""
        if not self.sock.poll(int(timeout_s * 1000)):
            return None
        return self.sock.recv_multipart()

    def send(self, client: bytes, obj: dict) -> None:
        self.sock.send_multipart([client, json.dumps(obj, indent=2).encode()])

    def close(self) -> None:
        self.sock.close(linger=0)


def external_server(**kw) -> ZmqServer:
    """A loopback server without embedded workers, started in a thread."""
    kw = {"embedded": False, "worker_wait_s": 5.0, "max_message_bytes": 64 * 1024, **kw}
    server = ZmqServer(0, bind="127.0.0.1", **kw)
    server.start_thread()
    return server


@pytest.fixture()
def ext() -> Iterator[tuple[ZmqServer, ZmqWorker]]:
    """A server with external workers only and one netgym-lite worker, both in threads."""
    server = external_server()
    worker = ZmqWorker(server.worker_endpoint, session_key="x", warm=False)
    worker.start_thread()
    try:
        assert wait_until(lambda: len(server.workers.workers) == 1, TIMEOUT_S)
        yield server, worker
    finally:
        worker.stop()
        server.stop()


@pytest.fixture(scope="module")
def embedded() -> Iterator[ZmqServer]:
    yield from serve_in_thread()


def _state(server: ZmqServer, worker: ZmqWorker) -> str:
    w = server.workers.workers.get(worker.identity.encode())
    return w.state if w is not None else "gone"


# ---------------------------------------------------------------------------------------------- parity
def test_same_seed_same_run_in_memory_embedded_and_external_worker(embedded: ZmqServer, ext) -> None:
    server, worker = ext
    local = gym.make(ENV_ID, **SMALL)
    via_embedded = gym.make(
        ENV_ID, server=embedded.endpoint, session_name="alice", session_key="x", client_id=5, **SMALL
    )
    via_worker = gym.make(
        ENV_ID, server=server.endpoint, session_name="alice", session_key="x", client_id=0, **SMALL
    )
    try:
        for seed, action_seed in ((3, 0), (11, 1)):  # the second reset(seed) is a second env-start
            expected = _rollout(local, seed, action_seed)
            _same(_rollout(via_embedded, seed, action_seed), expected)
            _same(_rollout(via_worker, seed, action_seed), expected)
        assert wait_until(lambda: worker.sessions_completed == 2, 2.0) and worker.sessions_started == 2
        assert wait_until(lambda: _state(server, worker) == IDLE, 2.0)
        assert not server.server.sessions  # nothing ran embedded
    finally:
        local.close()
        via_embedded.close()
        via_worker.close()


def test_raw_client_through_external_worker_equals_baseline(ext) -> None:
    server, worker = ext
    total = 6
    plan = action_plan(total - 1, seed=2)
    client = RawClient(server.endpoint, "alice", client_id=1)
    try:
        replies = run_raw_session(client, ENV_CONFIG, plan)
        assert [r["type"] for r in replies] == ["env-measurement"] * total
        assert [r["network_stats"] for r in replies] == baseline(ENV_CONFIG, plan)
        # env-end from the worker ended the mapping; a late action has no session (and no worker sees it)
        assert wait_until(lambda: _state(server, worker) == IDLE, 2.0)
        client.send(action_for(replies[-1], 0))
        err = client.recv()
        assert err["type"] == "env-error" and "no session" in err["error_msg"]
    finally:
        client.close()


def test_second_env_start_replaces_the_session_on_the_single_worker(ext) -> None:
    server, worker = ext
    client = RawClient(server.endpoint, "alice", client_id=2)
    try:
        first = run_raw_session(client, ENV_CONFIG, [1, 2])
        assert first[-1]["network_stats"][0]["ts"] == 1300
        second = raw_env_config(None, num_users=4, steps_per_episode=3, episodes_per_session=2, random_seed=9)
        plan = action_plan(5, seed=1)
        again = run_raw_session(client, second, plan)  # waits for the aborted worker's hello, then runs
        assert [r["network_stats"] for r in again] == baseline(second, plan)
        assert wait_until(lambda: worker.sessions_completed == 1, 2.0) and worker.sessions_aborted == 1
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------- failures
@pytest.mark.parametrize("how", ["SIGKILL", "SIGSTOP"])
def test_worker_killed_or_frozen_mid_session_gives_its_client_an_env_error(how: str) -> None:
    """SIGKILL closes the connection; a frozen (SIGSTOP) worker stops answering ZMTP heartbeats (1.2 s)."""
    server = external_server()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netgym_lite.cli",
            "worker",
            "--server",
            server.worker_endpoint,
            "--session-key",
            "x",
            "--worker-id",
            "7",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    client = RawClient(server.endpoint, "alice", client_id=0)
    try:
        line = proc.stdout.readline()
        assert re.search(r"netgym-lite worker admin-7-\S+: serving nqos_split", line), line
        assert wait_until(lambda: len(server.workers.workers) == 1, TIMEOUT_S)
        client.send(ENV_CONFIG)
        first = client.recv()
        assert first is not None and first["type"] == "env-measurement", first
        t0 = time.monotonic()
        proc.send_signal(getattr(signal, how))
        err = client.recv(8.0)
        elapsed = time.monotonic() - t0
        assert err is not None and err["type"] == "env-error", (err, elapsed, server.workers.workers)
        assert "failed mid-session" in err["error_msg"] and "admin-7-" in err["error_msg"]
        assert elapsed < 4.0, elapsed  # heartbeats: 1.2 s timeout; slack for a loaded CI machine
        assert not server.workers.workers and not server.workers.client_worker
        client.send(action_for(first, 0))  # nothing is left of the session: a clear error, not a hang
        assert "no session" in client.recv()["error_msg"]
    finally:
        client.close()
        proc.kill()
        proc.communicate(timeout=10)
        server.stop()


def test_silent_worker_times_out_and_client_gets_env_error() -> None:
    server = external_server(worker_reply_timeout_s=0.5)
    raw = RawWorker(server.worker_endpoint)
    client = RawClient(server.endpoint, "alice")
    try:
        raw.hello()
        assert wait_until(lambda: len(server.workers.workers) == 1, TIMEOUT_S)
        client.send(ENV_CONFIG)
        forwarded = raw.recv()
        assert forwarded is not None and forwarded[0] == b"alice-0" and len(forwarded) == 2
        assert json.loads(forwarded[1]) == json.loads(
            json.dumps(ENV_CONFIG)
        )  # the client's env-start, verbatim
        t0 = time.monotonic()
        err = client.recv(5.0)
        assert err["type"] == "env-error" and "did not reply within 0.5 s" in err["error_msg"]
        assert 0.4 <= time.monotonic() - t0 < 2.0
        abort = raw.recv(2.0)  # the broker tells the worker to drop the session
        assert abort == [b"alice-0", b'{"type":"env-end"}']
        assert server.workers.workers[raw.identity].state == LIMBO
        raw.hello()  # back to idle only after a new hello
        assert wait_until(lambda: server.workers.workers[raw.identity].state == IDLE, 2.0)
    finally:
        raw.close()
        client.close()
        server.stop()


def test_no_worker_gives_no_available_worker_after_the_wait() -> None:
    server = external_server(worker_wait_s=0.3)
    client = RawClient(server.endpoint, "alice")
    try:
        t0 = time.monotonic()
        client.send(ENV_CONFIG)
        reply = client.recv(5.0)
        assert reply["type"] == "no-available-worker" and "nqos_split" in reply["msg"]
        assert 0.25 <= time.monotonic() - t0 < 2.0
    finally:
        client.close()
        server.stop()


def test_client_gone_aborts_the_worker_session_and_the_worker_serves_again(ext) -> None:
    server, worker = ext
    client = RawClient(server.endpoint, "gone")
    client.send(ENV_CONFIG)
    assert client.recv()["type"] == "env-measurement"
    assert _state(server, worker) == BUSY
    client.close()  # linger 0: no goodbye
    assert wait_until(lambda: worker.sessions_aborted == 1, 3.0)
    assert wait_until(lambda: _state(server, worker) == IDLE, 2.0)
    assert ("gone-0", "disconnected") in server.freed
    other = RawClient(server.endpoint, "next")
    try:
        replies = run_raw_session(other, ENV_CONFIG, action_plan(5))
        assert [r["type"] for r in replies] == ["env-measurement"] * 6
    finally:
        other.close()


def test_bad_action_on_an_external_worker_ends_the_session_with_env_error(ext) -> None:
    """NetworkGym's broker unmaps a worker on any worker env-error, so external sessions end on one."""
    server, worker = ext
    client = RawClient(server.endpoint, "alice", client_id=3)
    try:
        client.send(ENV_CONFIG)
        first = client.recv()
        stale = action_for(first, 2)
        stale["action_list"]["ts"] = 999
        client.send(stale)
        err = client.recv()
        assert err["type"] == "env-error" and "stale" in err["error_msg"]
        assert wait_until(lambda: _state(server, worker) == IDLE, 2.0)
        client.send(action_for(first, 0))
        assert "no session" in client.recv()["error_msg"]
    finally:
        client.close()


def test_worker_hello_while_busy_means_restarted() -> None:
    server = external_server()
    raw = RawWorker(server.worker_endpoint)
    client = RawClient(server.endpoint, "alice")
    try:
        raw.hello()
        assert wait_until(lambda: len(server.workers.workers) == 1, TIMEOUT_S)
        client.send(ENV_CONFIG)
        assert raw.recv() is not None
        raw.hello()
        err = client.recv()
        assert err == {"type": "env-error", "error_msg": "Worker Restarted, Try Again."}
    finally:
        raw.close()
        client.close()
        server.stop()


def test_worker_and_server_shutdown_tell_the_client() -> None:
    server = external_server()
    worker = ZmqWorker(server.worker_endpoint, session_key="x", warm=False)
    worker.start_thread()
    client = RawClient(server.endpoint, "alice")
    try:
        assert wait_until(lambda: len(server.workers.workers) == 1, TIMEOUT_S)
        client.send(ENV_CONFIG)
        assert client.recv()["type"] == "env-measurement"
        worker.stop()
        reply = client.recv()
        # the worker's own "shutting down" normally arrives first; on a loaded machine the server may see the
        # connection drop before that message and says so itself: either way an env-error, never a hang
        assert reply is not None and reply["type"] == "env-error", reply
        assert reply["error_msg"] == "worker shutting down" or "failed mid-session" in reply["error_msg"], reply
        worker = ZmqWorker(server.worker_endpoint, session_key="x", worker_id=1, warm=False)
        worker.start_thread()
        assert wait_until(
            lambda: server.workers.find_idle("nqos_split") == worker.identity.encode(), TIMEOUT_S
        )
        client.send(ENV_CONFIG)
        assert client.recv()["type"] == "env-measurement"
        server.stop()
        assert client.recv() == {"type": "env-error", "error_msg": "server shutting down"}
        assert wait_until(lambda: worker.sessions_aborted == 1, 3.0)  # the worker was told, too
    finally:
        worker.stop()
        client.close()
        server.stop()


# ---------------------------------------------------------------------------------------------- rules
def test_non_admin_worker_serves_only_its_account_custom_env() -> None:
    server = external_server(worker_wait_s=0.3)
    raw = RawWorker(server.worker_endpoint, account="bob", env_list=["nqos_split"])
    alice, bob = RawClient(server.endpoint, "alice"), RawClient(server.endpoint, "bob")
    try:
        raw.hello()
        assert wait_until(lambda: raw.identity in server.workers.workers, TIMEOUT_S)
        assert server.workers.workers[raw.identity].env_list == ["bob-custom"]
        alice.send(ENV_CONFIG)  # named env: only admin workers serve it
        assert alice.recv()["type"] == "no-available-worker"
        alice.send(dict(ENV_CONFIG, env="custom"))  # alice's custom env is not bob's
        assert alice.recv()["type"] == "no-available-worker"
        bob.send(dict(ENV_CONFIG, env="custom"))
        frames = raw.recv()
        assert frames is not None and frames[0] == b"bob-0" and json.loads(frames[1])["env"] == "custom"
        raw.send(b"bob-0", {"type": "env-error", "error_msg": "custom env failed"})
        assert bob.recv() == {"type": "env-error", "error_msg": "custom env failed"}  # relayed verbatim
    finally:
        raw.close()
        alice.close()
        bob.close()
        server.stop()


def test_worker_identity_must_match_its_login_and_frames_are_checked() -> None:
    server = external_server()
    impostor = RawWorker(server.worker_endpoint, account="mallory", identity=b"admin-0-testhost")
    short = RawWorker(server.worker_endpoint, worker_id=3)
    try:
        impostor.hello()
        short.sock.send(
            b'{"type":"env-hello","env_list":["nqos_split"]}'
        )  # one frame: dropped as NetworkGym does
        short.sock.send_multipart([b"", b"not json"])
        short.sock.send_multipart([b"", b'{"type":"env-hello","env_list":"nqos_split"}'])
        time.sleep(0.5)
        assert not server.workers.workers
        short.hello()
        assert wait_until(lambda: short.identity in server.workers.workers, TIMEOUT_S)
        assert b"admin-0-testhost" not in server.workers.workers
    finally:
        impostor.close()
        short.close()
        server.stop()


def test_netgym_lite_worker_answers_unserved_env_and_registers_again(ext) -> None:
    server, worker = ext
    client = RawClient(server.endpoint, "alice")
    try:
        # The server routes only envs in a worker's list; a NetworkGym broker may not, so poke the worker directly.
        w = server.workers.workers[worker.identity.encode()]
        w.env_list.append("qos_steer")
        client.send(dict(ENV_CONFIG, env="qos_steer"))
        err = client.recv()
        assert err["type"] == "env-error" and "env='qos_steer' is not served" in err["error_msg"]
        assert wait_until(lambda: _state(server, worker) == IDLE, 2.0)
        client.send(ENV_CONFIG)
        assert client.recv()["type"] == "env-measurement"
    finally:
        client.close()


def test_worker_options_are_validated() -> None:
    with pytest.raises(Exception, match="envs="):
        ZmqWorker("tcp://127.0.0.1:9", session_key="x", envs=["nope"], warm=False)
    with pytest.raises(Exception, match="session_key"):
        ZmqWorker("tcp://127.0.0.1:9", session_key="", warm=False)
    with pytest.raises(Exception, match="session_name"):
        ZmqWorker("tcp://127.0.0.1:9", session_name="a-b", session_key="x", warm=False)
    proc = subprocess.run(
        [sys.executable, "-m", "netgym_lite.cli", "worker", "--server", "tcp://127.0.0.1:9"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "NETGYM_LITE_SESSION_KEY"},
    )
    assert proc.returncode == 2 and "--session-key" in proc.stderr


def test_networkgym_style_worker_that_reconnects_between_configure_and_simulation() -> None:
    """NetworkGym's workers close their configuration socket on env-start and reconnect with the same identity to
    simulate: the server must keep the session across that reconnection and relay the new socket's messages."""
    server = external_server()
    config_sock = RawWorker(server.worker_endpoint, worker_id=4)
    client = RawClient(server.endpoint, "alice")
    sim_sock = None
    try:
        config_sock.hello()
        assert wait_until(lambda: config_sock.identity in server.workers.workers, TIMEOUT_S)
        client.send(ENV_CONFIG)
        frames = config_sock.recv()
        assert frames is not None and frames[0] == b"alice-0"
        config_sock.close()
        time.sleep(0.3)  # the server sees the first connection go
        sim_sock = RawWorker(server.worker_endpoint, worker_id=4)
        records = [{"source": "test", "name": "m", "id": [1], "ts": 1100, "value": [1.0]}]
        sim_sock.send(b"alice-0", {"type": "env-measurement", "network_stats": records})
        reply = client.recv()
        assert reply == {"type": "env-measurement", "network_stats": records}
        sim_sock.send(b"alice-0", {"type": "env-end"})
        sim_sock.hello()
        assert wait_until(lambda: server.workers.workers[sim_sock.identity].state == IDLE, 2.0)
    finally:
        config_sock.close()
        if sim_sock is not None:
            sim_sock.close()
        client.close()
        server.stop()


def test_env_start_with_a_bad_env_name_is_refused_at_once() -> None:
    server = external_server(worker_wait_s=5.0)
    client = RawClient(server.endpoint, "alice")
    try:
        client.send(dict(ENV_CONFIG, env=["nqos_split"]))
        err = client.recv(1.0)  # not after the 5 s wait for a worker
        assert err["type"] == "env-error" and "env=['nqos_split'] is invalid" in err["error_msg"]
    finally:
        client.close()
        server.stop()


def test_worker_registers_again_with_a_restarted_server() -> None:
    server = external_server()
    port, worker_port = server.port, server.worker_port
    worker = ZmqWorker(server.worker_endpoint, session_key="x", warm=False)
    worker.start_thread()
    try:
        assert wait_until(lambda: len(server.workers.workers) == 1, TIMEOUT_S)
        server.stop()
        server = ZmqServer(port, bind="127.0.0.1", worker_port=worker_port, embedded=False)
        server.start_thread()
        t0 = time.monotonic()
        # a new connection triggers a hello at once, well before the 5 s hello period
        assert wait_until(lambda: len(server.workers.workers) == 1, 4.0), time.monotonic() - t0
        client = RawClient(server.endpoint, "alice")
        try:
            client.send(ENV_CONFIG)
            assert client.recv()["type"] == "env-measurement"
        finally:
            client.close()
    finally:
        worker.stop()
        server.stop()


def test_serve_no_embedded_and_worker_commands_run_a_session_and_stop_cleanly() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1", NETGYM_LITE_SESSION_KEY="x")
    serve = subprocess.Popen(
        [sys.executable, "-m", "netgym_lite.cli", "serve", "--port", "0", "--no-embedded"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    worker = None
    try:
        line = serve.stdout.readline()
        match = re.search(r"listening on (tcp://\S+) .*workers connect to (tcp://\S+);", line)
        assert match is not None, line
        assert "kernels ready in 0.00 s" in line  # no embedded workers: no warm-up
        worker = subprocess.Popen(
            [sys.executable, "-m", "netgym_lite.cli", "worker", "--server", match.group(2)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        assert "serving nqos_split" in worker.stdout.readline()
        client = RawClient(match.group(1), "alice")
        try:
            replies = run_raw_session(client, ENV_CONFIG, action_plan(5))
            assert [r["type"] for r in replies] == ["env-measurement"] * 6
            assert [r["network_stats"] for r in replies] == baseline(ENV_CONFIG, action_plan(5))
        finally:
            client.close()
        time.sleep(0.2)  # let the worker's env-end arrive
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
        assert "stopped after 1 completed and 0 aborted sessions" in worker.stdout.read()
        serve.send_signal(signal.SIGINT)
        assert serve.wait(15) == 0
        assert "stopped" in serve.stdout.read()
    finally:
        for proc in (worker, serve):
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                proc.communicate(timeout=10)
