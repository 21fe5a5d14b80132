"""Session lifetime on ``ZmqServer``: idle reclamation, dead connections, slow agents, ``netgym-lite serve``
start-up and graceful shutdown (SIGINT/SIGTERM) in a subprocess.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

zmq = pytest.importorskip("zmq")

from test_zmq_peers import (  # noqa: E402
    SMALL,
    RawClient,
    action_for,
    action_plan,
    run_raw_session,
    serve_in_thread,
    wait_until,
)

from netgym_lite.config import raw_env_config  # noqa: E402
from netgym_lite.ipc.zmq_server import ZmqServer  # noqa: E402

pytestmark = pytest.mark.zmq


@pytest.fixture(scope="module")
def zserver() -> Iterator[ZmqServer]:
    yield from serve_in_thread()

ENV_CONFIG = raw_env_config(None, **SMALL)
REPO = Path(__file__).resolve().parents[1]
#: max_wait_time_for_action_ms of every session here is the default (-1 → 600 000 ms): nothing below is
#: freed by an action timeout.
FREE_WITHIN_S = 2.0


def _start_session(endpoint: str, name: str, client_id: int = 0) -> tuple[RawClient, dict]:
    client = RawClient(endpoint, name, client_id=client_id)
    client.send(ENV_CONFIG)
    first = client.recv()
    assert first is not None and first["type"] == "env-measurement", first
    return client, first


def test_idle_session_is_reclaimed_after_max_wait_time_for_action_ms(zserver: ZmqServer) -> None:
    client = RawClient(zserver.endpoint, "idle")
    try:
        client.send(dict(ENV_CONFIG, max_wait_time_for_action_ms=300))
        first = client.recv()
        assert first["type"] == "env-measurement"
        t0 = time.monotonic()
        err = client.recv(3.0)
        waited = time.monotonic() - t0
        assert err is not None and err["type"] == "env-error" and "max_wait_time_for_action_ms=300" in err["error_msg"]
        assert 0.25 <= waited <= 1.5
        assert "idle-0" not in zserver.server.sessions and ("idle-0", "idle") in zserver.freed
        client.send(action_for(first, 0))
        assert "no session" in client.recv()["error_msg"]
    finally:
        client.close()


def test_slow_agent_is_not_cut_off(zserver: ZmqServer) -> None:
    """An agent that thinks longer than the heartbeat timeout keeps its session (its ZMQ thread answers pings)."""
    client, first = _start_session(zserver.endpoint, "slow")
    try:
        time.sleep(2.5)
        assert "slow-0" in zserver.server.sessions
        client.send(action_for(first, 1))
        reply = client.recv()
        assert reply["type"] == "env-measurement" and reply["network_stats"][0]["ts"] == 1200
    finally:
        client.close()


def test_abruptly_closed_client_frees_its_session_within_2_s(zserver: ZmqServer) -> None:
    client, _ = _start_session(zserver.endpoint, "abrupt")
    assert "abrupt-0" in zserver.server.sessions
    t0 = time.monotonic()
    client.close()  # linger 0: no goodbye
    assert wait_until(lambda: "abrupt-0" not in zserver.server.sessions, FREE_WITHIN_S)
    assert ("abrupt-0", "disconnected") in zserver.freed
    assert time.monotonic() - t0 < FREE_WITHIN_S


_CLIENT_SCRIPT = textwrap.dedent("""
    import json, sys, time, zmq
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.plain_username, sock.plain_password = b"victim", b"x"
    sock.identity = b"victim-%d"
    sock.connect(sys.argv[1])
    sock.send(sys.stdin.buffer.read())
    assert sock.poll(30000), "no reply"
    print(json.loads(sock.recv())["type"], flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGSTOP"])
def test_killed_or_frozen_client_process_frees_its_session_within_2_s(zserver: ZmqServer, how: str) -> None:
    """SIGKILL: the kernel closes the TCP connection. SIGSTOP: the connection stays open but the peer no longer
    answers ZMTP heartbeats, which the server detects (HEARTBEAT_TIMEOUT 1.2 s)."""
    cid = 0 if how == "SIGKILL" else 1
    ident = f"victim-{cid}"
    import json

    proc = subprocess.Popen([sys.executable, "-c", _CLIENT_SCRIPT % cid, zserver.endpoint],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    try:
        proc.stdin.write(json.dumps(ENV_CONFIG).encode())
        proc.stdin.close()
        line = proc.stdout.readline()
        assert line.strip() == b"env-measurement"
        assert ident in zserver.server.sessions
        t0 = time.monotonic()
        proc.send_signal(getattr(signal, how))
        assert wait_until(lambda: ident not in zserver.server.sessions, FREE_WITHIN_S + 0.5)
        elapsed = time.monotonic() - t0
        assert (ident, "disconnected") in zserver.freed
        assert elapsed < FREE_WITHIN_S, elapsed
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()


# ---------------------------------------------------------------------------------------------- serve CLI
def _start_serve(*extra: str) -> tuple[subprocess.Popen, str, float]:
    """``netgym-lite serve --port 0`` in a subprocess; returns it, its endpoint and its start-up time."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "netgym_lite.cli", "serve", "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    line = proc.stdout.readline()  # "netgym-lite serve: listening on tcp://127.0.0.1:PORT (kernels ...)"
    match = re.search(r"listening on (tcp://\S+)", line)
    if match is None:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"serve did not start: {line!r} {out!r} {err[-2000:]!r}")
    return proc, match.group(1), time.monotonic() - t0


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_serve_first_measurement_fast_and_graceful_shutdown(sig: str) -> None:
    proc, endpoint, startup_s = _start_serve()
    try:
        live = RawClient(endpoint, "live")
        done = RawClient(endpoint, "done")
        try:
            t0 = time.monotonic()
            live.send(ENV_CONFIG)
            first = live.recv(10.0)
            first_s = time.monotonic() - t0
            assert first is not None and first["type"] == "env-measurement"
            assert first_s < 10.0, first_s  # NetworkGym's client gives up after 60 s; we promise 10 s
            replies = run_raw_session(done, ENV_CONFIG, action_plan(5))  # a finished session: not told
            assert replies[-1]["type"] == "env-measurement"
            proc.send_signal(getattr(signal, sig))
            bye = live.recv(10.0)
            assert bye == {"type": "env-error", "error_msg": "server shutting down"} or (
                bye is not None and bye.get("error_msg") == "server shutting down"), bye
            assert proc.wait(15) == 0
            assert done.recv(0.1) is None
        finally:
            live.close()
            done.close()
        out, err = proc.communicate(timeout=10)
        assert "stopped" in out
        assert "NO accounts file" in err and "kernels ready in" in err
        print(f"serve start-up {startup_s:.2f} s, first measurement {first_s * 1000:.1f} ms")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def test_serve_rejects_a_bad_accounts_file(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.csv"
    bad.write_text("who,what\n")
    proc = subprocess.run([sys.executable, "-m", "netgym_lite.cli", "serve", "--port", "0", "--accounts", str(bad)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "Identity,Password,Max_Instances,Email" in proc.stderr
