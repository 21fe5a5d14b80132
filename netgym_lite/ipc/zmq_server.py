"""``netgym-lite serve``: NetworkGym's broker over ZeroMQ, with embedded and/or external simulation workers.

The server has two ZMQ ROUTER sockets with the PLAIN mechanism (NetworkGym's clients and workers always
authenticate) and an authenticator answering ZAP requests on ``inproc://zeromq.zap.01``:

* northbound (clients, ``port``): every ``[identity, json]`` frame pair is routed. An env-start goes to the first
  idle *external* worker registered for its env, else to an *embedded* worker (when ``embedded``): the frame pair
  is handed to :meth:`netgym_lite.ipc.server.Server.handle` — the very object the in-memory transport drives — so
  the simulation runs inside the broker loop and the session is exactly the in-memory one (same seed, same
  records). With neither free, the env-start waits up to ``worker_wait_s`` for a worker, then gets
  ``no-available-worker``. Later messages follow their session. Env ``"custom"`` goes to the client's own account's
  custom workers (NetworkGym's rule, below); the embedded worker serves it only when the server has a ``custom``
  simulation (:mod:`netgym_lite.ipc.custom`) and the account has no custom worker of its own registered.
* southbound (external workers, ``worker_port``, by default ``port - 1`` as NetworkGym pairs 8088/8087): a worker
  (``netgym-lite worker`` or NetworkGym's own) registers with env-hello ``[b"", json]``; the server forwards
  ``[worker, client_identity, json]`` and relays the worker's ``[client_identity, json]`` measurements and errors
  to the client byte for byte (no re-encoding; measurements are not even decoded). Bookkeeping and NetworkGym's
  routing rules (custom envs of non-admin accounts, limbo until the next hello, restarted workers) live in
  :mod:`netgym_lite.ipc.southbound`. Unlike NetworkGym's broker, a worker that dies mid-session never hangs its
  client: a netgym-lite worker's lost connection (heartbeats / socket monitor) and any worker's silence beyond
  ``worker_reply_timeout_s`` after a request become an env-error for the client. A session the server gives up
  (client gone, client restarted, timeout, shutdown) is aborted on its worker with ``[client_identity, env-end]``.

Security (design.md §4):

* without an accounts file the server binds to 127.0.0.1 only and accepts any PLAIN credentials (it logs
  so on start); the authenticated user is the PLAIN username;
* with ``accounts`` (NetworkGym's CSV ``Identity,Password,Max_Instances,Email``) a wrong password or an
  unknown account fails the handshake (the client never gets a reply, as with NetworkGym; netgym-lite's
  :class:`~netgym_lite.ipc.zmq_transport.ZmqTransport` turns the refusal into an error at once), and a
  ``client_id`` of ``Max_Instances`` or more is answered with an env-error naming the cap;
* every message's ZAP ``User-Id`` must equal its identity's account prefix (``"<account>-<client_id>"``),
  otherwise the message is refused with an env-error and touches no session, so no account can act in
  another account's session. ROUTER_HANDOVER is on, as in NetworkGym: without it libzmq ignores a client
  that reconnects quickly with its old identity (and then misreads its messages), which breaks ordinary
  restarts. The price: a peer of another account that claims a live identity cannot act in that session,
  but it does cut the connection (ZMQ hands the identity over), so the session is freed like any lost
  connection, and a reply in flight at that very instant would be routed to it.

Robustness: one bad message never stops the server. Frames of the wrong count, a non-UTF-8 or
non-NetworkGym identity, a message over ``max_message_bytes``, invalid UTF-8/JSON (NaN, Infinity are
rejected), and everything :class:`~netgym_lite.ipc.server.Server` rejects (unknown type, missing fields,
wrong types, stale ``ts``, wrong shape) are answered with an env-error to that identity only. **Size limit:**
``max_message_bytes`` (default 8 MiB, far above the largest NetworkGym message) is checked per message and
answered with an env-error; ZMQ's own ``ZMQ_MAXMSGSIZE`` is set to 4× that, and a peer sending a frame above
it is disconnected by ZMQ before the frame is read (no reply address exists then, so nothing is sent). Replies
to a peer that has gone are dropped silently (ROUTER without ``ROUTER_MANDATORY``), never blocking the loop.

Lifetime of sessions:

* idle reclamation: a running session whose client sent nothing for its ``max_wait_time_for_action_ms``
  ends (its client gets an env-error) and its simulation is freed; ended sessions are forgotten after
  ``ended_session_ttl_s``;
* dead connections: ZMTP heartbeats (``ZMQ_HEARTBEAT_IVL``/``ZMQ_HEARTBEAT_TIMEOUT``, 0.5 s / 1.2 s) and a
  socket monitor's ``DISCONNECTED`` events, matched to identities by each message's source fd, free a session
  as soon as its connection is gone — a killed client within 2 s, while a slow agent whose process is alive
  keeps answering heartbeats (its ZMQ I/O thread does) and is never cut off;
* shutdown (:meth:`ZmqServer.stop`, SIGINT/SIGTERM via :meth:`ZmqServer.install_signal_handlers`): every
  live session gets env-error "server shutting down", then the sockets are closed.

Before it binds, the server runs two tiny sessions through its own Server (TCP and UDP) so that the numba
kernels are compiled or loaded from cache: NetworkGym's client waits 60 s for the first measurement and the
first one must come within 10 s. :attr:`ZmqServer.warmup_s` reports how long that took.

"""

from __future__ import annotations

import csv
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netgym_lite.errors import ConfigError, NetgymError, ProtocolError
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.custom import CustomFactory
from netgym_lite.ipc.server import Server
from netgym_lite.ipc.service import LoopService
from netgym_lite.ipc.session import ConfigParser, SimFactory
from netgym_lite.ipc.southbound import (
    ADMIN_ACCOUNT,
    CUSTOM_ENV,
    WORKER_IDLE_TIMEOUT_S,
    WorkerRegistry,
    worker_account,
)
from netgym_lite.ipc.zmq_transport import encode_message, import_zmq, parse_identity

log = logging.getLogger(__name__)

#: NetworkGym's "stable" northbound port (its southbound port is this minus 1).
DEFAULT_PORT = 8088
#: Default per-message size limit (bytes); the ZMQ-level hard limit is HARD_LIMIT_FACTOR times this.
DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
HARD_LIMIT_FACTOR = 4
#: ZMTP heartbeats: a ping every HEARTBEAT_IVL_MS; no traffic for HEARTBEAT_TIMEOUT_MS closes the connection.
HEARTBEAT_IVL_MS = 500
HEARTBEAT_TIMEOUT_MS = 1200
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
SHUTDOWN_MESSAGE = "server shutting down"
#: The env of an env-start without an ``env`` key.
DEFAULT_ENV = "nqos_split"


# ------------------------------------------------------------------------------------------------ accounts
@dataclass(frozen=True)
class Account:
    """One row of NetworkGym's accounts CSV."""

    identity: str
    password: str
    max_instances: int
    email: str = ""


ACCOUNTS_HEADER = ("Identity", "Password", "Max_Instances", "Email")


def load_accounts(path: str | os.PathLike) -> dict[str, Account]:
    """Read NetworkGym's accounts CSV (header ``Identity,Password,Max_Instances,Email``) into accounts by name."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"accounts={str(p)!r} cannot be read ({e}): allowed a CSV file") from e
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(c.strip() for c in rows[0][:4]) != ACCOUNTS_HEADER:
        raise ConfigError(
            f"accounts={str(p)!r}: first row {rows[0] if rows else []!r} is invalid: allowed the header "
            f"{','.join(ACCOUNTS_HEADER)}"
        )
    accounts: dict[str, Account] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 3:
            raise ConfigError(
                f"accounts={str(p)!r} line {lineno}: {row!r} is invalid: allowed "
                "Identity,Password,Max_Instances[,Email]"
            )
        name, password, cap = row[0].strip(), row[1], row[2].strip()
        if not name or "-" in name:
            raise ConfigError(
                f"accounts={str(p)!r} line {lineno}: Identity={name!r} is invalid: allowed a "
                "non-empty name without '-'"
            )
        if not cap.isdigit():
            raise ConfigError(
                f"accounts={str(p)!r} line {lineno}: Max_Instances={cap!r} is invalid: allowed "
                "an integer >= 0"
            )
        accounts[name] = Account(name, password, int(cap), row[3].strip() if len(row) > 3 else "")
    return accounts


# ------------------------------------------------------------------------------------------------ ZAP
class ZapAuthenticator(threading.Thread):
    """ZAP handler (RFC 27) for PLAIN: checks passwords against ``accounts``, or accepts anyone when None.

    The authenticated user id returned to ZMQ (the messages' ``User-Id`` property) is the PLAIN username.
    """

    def __init__(self, context: Any, accounts: Mapping[str, Account] | None) -> None:
        super().__init__(name="netgym-lite-zap", daemon=True)
        zmq = import_zmq()
        self._zmq = zmq
        self.accounts = accounts
        self.refused = 0
        self.accepted = 0
        self._stop_event = threading.Event()
        self._sock = context.socket(zmq.REP)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.bind(ZAP_ENDPOINT)

    def _check(self, mechanism: bytes, creds: list[bytes]) -> tuple[bytes, bytes, bytes]:
        if mechanism != b"PLAIN" or len(creds) != 2:
            return b"400", b"only PLAIN is accepted", b""
        try:
            user, password = creds[0].decode("utf-8"), creds[1].decode("utf-8")
        except UnicodeDecodeError:
            return b"400", b"credentials are not UTF-8", b""
        if self.accounts is None:
            return b"200", b"OK", creds[0]
        account = self.accounts.get(user)
        if account is None:
            return b"400", b"unknown account", b""
        if password != account.password:
            return b"400", b"wrong password", b""
        return b"200", b"OK", creds[0]

    def run(self) -> None:
        zmq = self._zmq
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        try:
            while not self._stop_event.is_set():
                if not poller.poll(100):
                    continue
                frames = self._sock.recv_multipart()
                if len(frames) < 6:
                    self._sock.send_multipart([b"1.0", b"", b"500", b"malformed ZAP request", b"", b""])
                    continue
                version, request_id, _domain, address, _identity, mechanism = frames[:6]
                status, text, user_id = self._check(mechanism, frames[6:])
                if status == b"200":
                    self.accepted += 1
                else:
                    self.refused += 1
                    log.warning(
                        "refused a %s login from %s: %s",
                        mechanism.decode("ascii", "replace"),
                        address.decode("ascii", "replace"),
                        text.decode(),
                    )
                self._sock.send_multipart([version, request_id, status, text, user_id, b""])
        except zmq.ContextTerminated:  # pragma: no cover - closed from outside
            pass
        finally:
            self._sock.close(linger=0)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread and close its socket."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout_s)


# ------------------------------------------------------------------------------------------------ helpers
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON: allowed finite numbers only")


#: One strict decoder shared by every decode (json.loads with options builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decode_message(data: bytes) -> Any:
    """One frame → the JSON value it holds (strict: UTF-8, no NaN/Infinity); ProtocolError otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(f"message is not UTF-8 ({e}): allowed one UTF-8 JSON frame") from None
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ProtocolError("message is nested too deeply: allowed a NetworkGym JSON message") from None
    except ValueError as e:
        raise ProtocolError(f"message is not valid JSON ({e}): allowed one JSON object per frame") from None


def warm_up(sim_factory: SimFactory | None = None, config_parser: ConfigParser | None = None) -> float:
    """Run tiny sessions (TCP, UDP, and rmcat with the real simulation) through a private Server so the
    simulation kernels are compiled.

    Returns the wall time in seconds. Raises NetgymError if a warm-up session does not produce measurements.
    """
    from netgym_lite.config import raw_env_config

    t0 = time.perf_counter()
    server = Server(sim_factory, config_parser)
    for transport in ("tcp", "udp"):
        env_config = raw_env_config(
            None, num_users=2, steps_per_episode=2, episodes_per_session=1, transport_protocol=transport
        )
        replies = server.handle("warmup-0", env_config)
        for _ in range(2):
            if not replies or replies[0].get("type") != m.ENV_MEASUREMENT:
                raise NetgymError(f"warm-up session ({transport}) failed: {replies!r}")
            rec = replies[0]["network_stats"][0]
            action = {
                "source": "gma",
                "name": "wifi::dl::split_ratio",
                "id": [1, 2],
                "ts": rec["ts"],
                "value": [0.5, 0.5],
            }
            replies = server.handle("warmup-0", m.env_action(action))
    if sim_factory is None:  # rmcat runs on its own kernels (models/rmcat.py): one short session compiles them
        replies = server.handle("warmup-1", raw_env_config("rmcat", steps_per_episode=2, episodes_per_session=1))
        if not replies or replies[0].get("type") != m.ENV_MEASUREMENT:
            raise NetgymError(f"warm-up session (rmcat) failed: {replies!r}")
        rec = replies[0]["network_stats"][0]
        action = {"source": "rmcat", "name": "srate", "id": [0], "ts": rec["ts"], "value": [300000.0]}
        server.handle("warmup-1", m.env_action(action))
    server.close()
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------------------------ server
#: A measurement frame as netgym-lite's workers encode it starts with this: relayed without decoding.
_MEASUREMENT_PREFIX = b'{"type":"env-measurement"'
#: NetworkGym's message to the client of a worker that said hello while busy.
WORKER_RESTARTED_MESSAGE = "Worker Restarted, Try Again."


@dataclass
class _PendingStart:
    """An env-start waiting for a worker."""

    ident_b: bytes
    payload: Any  # the client's frame, forwarded as is
    env_name: str
    deadline_s: float


class ZmqServer(LoopService):
    """NetworkGym-compatible broker with embedded and external workers (see module docstring).

    Args:
        port: northbound TCP port (0 = an ephemeral port; see :attr:`port` after :meth:`start`).
        bind: address to bind; default 127.0.0.1 without accounts, ``*`` (all interfaces) with accounts.
        accounts: NetworkGym accounts CSV path, or a dict of :class:`Account`; None = accept any credentials.
        max_message_bytes: per-message size limit, answered with an env-error (ZMQ hard limit: 4× this).
        worker_port: southbound port for external workers (default ``port - 1``; with ``port`` 0, ephemeral).
        embedded: run sessions on embedded workers when no external worker is free (False: external only).
        admin_account: the account whose workers may serve named envs (NetworkGym's "admin").
        worker_wait_s: how long an env-start waits for a free worker before ``no-available-worker``.
        worker_reply_timeout_s: how long a busy external worker may take to answer a request before its client
            gets an env-error (NetworkGym's client gives up after 60 s).
        worker_idle_timeout_s: forget an external worker that sent no env-hello for this long (NetworkGym: 60 s).
        heartbeat_ivl_ms, heartbeat_timeout_ms: ZMTP heartbeats used to detect dead connections.
        ended_session_ttl_s: how long a finished or failed session is remembered (for its error messages).
        poll_interval_s: longest the loop sleeps between housekeeping rounds (stop flag, idle sessions).
        sim_factory, config_parser: passed to :class:`~netgym_lite.ipc.server.Server` (tests use fakes).
        custom: a factory of :class:`~netgym_lite.ipc.custom.CustomSimulation` run by the embedded worker for env
            ``"custom"`` (only when ``embedded``), for any account that has no custom worker registered (an account
            with its own custom workers always waits for one of them, as NetworkGym routes "custom").
        warm: run :func:`warm_up` before binding (only when ``embedded``).

    Attributes:
        server: the :class:`~netgym_lite.ipc.server.Server` holding the embedded sessions.
        workers: the :class:`~netgym_lite.ipc.southbound.WorkerRegistry` of external workers.
        freed: ``(identity, reason)`` for every session freed by idle reclamation ("idle"), a lost connection
            ("disconnected"), shutdown ("shutdown") or a lost worker ("worker lost"), in order (last 10 000).
        warmup_s: seconds spent in :func:`warm_up` (0 when not warmed).
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        *,
        bind: str | None = None,
        accounts: str | os.PathLike | Mapping[str, Account] | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        worker_port: int | None = None,
        embedded: bool = True,
        admin_account: str = ADMIN_ACCOUNT,
        worker_wait_s: float = 5.0,
        worker_reply_timeout_s: float = 50.0,
        worker_idle_timeout_s: float = WORKER_IDLE_TIMEOUT_S,
        heartbeat_ivl_ms: int = HEARTBEAT_IVL_MS,
        heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS,
        ended_session_ttl_s: float = 60.0,
        poll_interval_s: float = 0.05,
        sim_factory: SimFactory | None = None,
        config_parser: ConfigParser | None = None,
        custom: CustomFactory | None = None,
        warm: bool = True,
    ) -> None:
        self._zmq = import_zmq()
        from zmq.utils.monitor import parse_monitor_message

        self._parse_monitor = parse_monitor_message
        for name, value in (("port", port), ("worker_port", worker_port)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535
            ):
                raise ConfigError(f"{name}={value!r} is invalid: allowed 0..65535 (0 = any free port)")
        if worker_port is None and port == 1:
            raise ConfigError(
                "port=1 leaves no southbound port (port - 1 = 0 means 'any'): allowed a port >= 2 "
                "or an explicit worker_port"
            )
        if worker_port is not None and worker_port != 0 and worker_port == port:
            raise ConfigError(f"worker_port={worker_port} is invalid: allowed a port other than port={port}")
        if not isinstance(max_message_bytes, int) or max_message_bytes < 1024:
            raise ConfigError(
                f"max_message_bytes={max_message_bytes!r} is invalid: allowed an integer >= 1024"
            )
        for name, value in (
            ("worker_wait_s", worker_wait_s),
            ("worker_reply_timeout_s", worker_reply_timeout_s),
            ("worker_idle_timeout_s", worker_idle_timeout_s),
        ):
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ConfigError(f"{name}={value!r} is invalid: allowed a number of seconds >= 0")
        if custom is not None and not embedded:
            raise ConfigError("custom with embedded=False is invalid: allowed a custom simulation only with embedded "
                              "workers (run it on an external worker: ZmqWorker(custom=...))")
        if accounts is not None and not isinstance(accounts, Mapping):
            accounts = load_accounts(accounts)
        self.accounts: dict[str, Account] | None = dict(accounts) if accounts is not None else None
        self.bind_address = bind if bind is not None else ("127.0.0.1" if self.accounts is None else "*")
        self.requested_port = port
        self.port: int | None = None
        self.requested_worker_port = worker_port if worker_port is not None else (port - 1 if port > 0 else 0)
        self.worker_port: int | None = None
        self.embedded = bool(embedded)
        self.worker_wait_s = float(worker_wait_s)
        self.worker_reply_timeout_s = float(worker_reply_timeout_s)
        self.max_message_bytes = max_message_bytes
        self.heartbeat_ivl_ms = heartbeat_ivl_ms
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.ended_session_ttl_s = ended_session_ttl_s
        self.poll_interval_s = poll_interval_s
        self._sim_factory = sim_factory
        self._config_parser = config_parser
        self._warm = warm and self.embedded
        self.server = Server(sim_factory, config_parser, custom=custom)
        self.workers = WorkerRegistry(admin_account, float(worker_idle_timeout_s))
        self.pending: list[_PendingStart] = []
        self.freed: list[tuple[str, str]] = []
        self.warmup_s = 0.0
        self.messages = 0
        self.ready = threading.Event()
        self._stop_event = threading.Event()
        self._started = False
        self._closed = False
        self._ctx: Any = None
        self._router: Any = None
        self._backend: Any = None
        self._monitor: Any = None
        self._backend_monitor: Any = None
        self._zap: ZapAuthenticator | None = None
        self._fd_ident: dict[int, str] = {}
        self._ident_fd: dict[str, int] = {}
        self._fd_worker: dict[int, bytes] = {}
        self._worker_fd: dict[bytes, int] = {}
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def endpoint(self) -> str:
        """The address clients connect to (``tcp://127.0.0.1:<port>`` for a wildcard bind)."""
        return f"tcp://{self._host()}:{self.port}"

    @property
    def worker_endpoint(self) -> str:
        """The address external workers connect to."""
        return f"tcp://{self._host()}:{self.worker_port}"

    def _host(self) -> str:
        return "127.0.0.1" if self.bind_address in ("*", "0.0.0.0") else self.bind_address

    def _router_socket(self, port: int) -> tuple[Any, Any, int]:
        """A PLAIN ROUTER bound to ``port`` (0 = any) with a DISCONNECTED monitor; returns (socket, monitor, port)."""
        zmq = self._zmq
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 1000)
        sock.setsockopt(zmq.PLAIN_SERVER, 1)
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        sock.setsockopt(zmq.ZAP_DOMAIN, b"netgym")
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes * HARD_LIMIT_FACTOR)
        sock.setsockopt(zmq.HEARTBEAT_IVL, self.heartbeat_ivl_ms)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, self.heartbeat_timeout_ms)
        sock.setsockopt(zmq.HEARTBEAT_TTL, self.heartbeat_timeout_ms)
        sock.setsockopt(zmq.SNDHWM, 10000)
        sock.setsockopt(zmq.RCVHWM, 10000)
        monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        addr = f"tcp://{self.bind_address}:{port if port else '*'}"
        try:
            sock.bind(addr)
        except zmq.ZMQError as e:
            sock.disable_monitor()
            monitor.close(linger=0)
            sock.close(linger=0)
            raise ConfigError(
                f"cannot listen on {addr} ({e}): allowed a free port and a local address"
            ) from e
        last = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        return sock, monitor, int(last.rsplit(":", 1)[1])

    def start(self) -> None:
        """Warm up the kernels, start the authenticator and bind both ROUTER sockets (does not serve yet)."""
        if self._started:
            return
        zmq = self._zmq
        if self._warm:
            self.warmup_s = warm_up(self._sim_factory, self._config_parser)
            log.info("simulation kernels ready in %.2f s", self.warmup_s)
        self._ctx = zmq.Context()
        try:
            self._zap = ZapAuthenticator(self._ctx, self.accounts)
            self._zap.start()
            self._router, self._monitor, self.port = self._router_socket(self.requested_port)
            self._backend, self._backend_monitor, self.worker_port = self._router_socket(
                self.requested_worker_port
            )
        except BaseException:
            self._close_sockets()
            raise
        self._started = True
        if self.accounts is None:
            log.warning(
                "serving on %s with NO accounts file: any session_name/session_key is accepted "
                "(bound to %s only; use --accounts FILE to enforce passwords and caps)",
                self.endpoint,
                self.bind_address,
            )
        else:
            log.info("serving on %s, %d accounts", self.endpoint, len(self.accounts))
        log.info(
            "max message size %d bytes; external workers connect to %s; embedded workers %s",
            self.max_message_bytes,
            self.worker_endpoint,
            "on" if self.embedded else "off",
        )

    _what = "server"

    def _thread_name(self) -> str:
        return "netgym-lite-serve"

    def _start_if_needed(self) -> None:
        self.start()

    def _stopped_before_start(self) -> None:
        if not self._started:
            self._close_sockets()

    # ------------------------------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        zmq = self._zmq
        router, backend = self._router, self._backend
        poller = zmq.Poller()
        for sock in (router, backend, self._monitor, self._backend_monitor):
            poller.register(sock, zmq.POLLIN)
        poll_ms = max(1, int(self.poll_interval_s * 1000))
        next_reap = time.monotonic()
        while not self._stop_event.is_set():
            try:
                ready = dict(poller.poll(poll_ms))
            except zmq.ZMQError as e:  # pragma: no cover - EINTR is retried by pyzmq
                log.warning("poll failed: %s", e)
                continue
            if self._monitor in ready or self._backend_monitor in ready:
                self._drain_monitors()
            # Workers first: an env-end/env-hello that crossed a client's next env-start is seen before it.
            for sock, handle in ((backend, self._on_worker_frames), (router, self._on_frames)):
                if sock in ready:
                    self._handle_burst(sock, handle, 256, watch_monitors=True)  # bounded, then housekeeping
            now = time.monotonic()
            if now >= next_reap or self.pending:
                self._reap()
                next_reap = now + 0.1

    def _drain_monitors(self) -> None:
        zmq = self._zmq
        for monitor, on_disconnect in (
            (self._monitor, self._on_disconnect),
            (self._backend_monitor, self._on_worker_disconnect),
        ):
            while monitor.getsockopt(zmq.EVENTS) & zmq.POLLIN:  # cheaper than a recv raising Again
                frames = monitor.recv_multipart(zmq.NOBLOCK)
                try:
                    event = self._parse_monitor(frames)
                except Exception:  # pragma: no cover - malformed monitor frames never come from libzmq
                    continue
                if event["event"] == zmq.EVENT_DISCONNECTED:
                    if monitor is self._backend_monitor:
                        self._drain_backend()  # a worker's last messages (e.g. "shutting down") precede its loss
                    on_disconnect(int(event["value"]))

    def _drain_backend(self) -> None:
        """Handle every worker message already queued (without looking at the monitors again)."""
        self._handle_burst(self._backend, self._on_worker_frames, 1024, watch_monitors=False)

    def _handle_burst(self, sock: Any, handle: Any, limit: int, *, watch_monitors: bool) -> None:
        """Handle up to ``limit`` queued messages of ``sock``; with ``watch_monitors`` the connection events
        that arrived meanwhile are handled before each message."""
        zmq = self._zmq
        for _ in range(limit):
            if not sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:  # cheaper than a recv raising Again
                return
            frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            if watch_monitors:
                self._drain_monitors()
            try:
                handle(frames)
            except Exception:  # never die on one message
                log.exception("internal error while handling a message")

    def _on_disconnect(self, fd: int) -> None:
        ident = self._fd_ident.pop(fd, None)
        if ident is None or self._ident_fd.get(ident) != fd:
            return
        del self._ident_fd[ident]
        session = self.server.sessions.get(ident)
        if session is not None:
            self.server.drop(ident)
            self._record_freed(ident, "disconnected")
            log.info(
                "client %s disconnected: its session (%d measurements sent) is freed",
                ident,
                session.measurements_sent,
            )
        ident_b = ident.encode("utf-8")
        self.pending = [p for p in self.pending if p.ident_b != ident_b]
        if self.workers.worker_of(ident_b) is not None:
            self._abort_external(ident_b)
            self._record_freed(ident, "disconnected")
            log.info("client %s disconnected: its session on an external worker is aborted", ident)

    def _on_worker_disconnect(self, fd: int) -> None:
        addr = self._fd_worker.pop(fd, None)
        if addr is None or self._worker_fd.get(addr) != fd:
            return
        del self._worker_fd[addr]
        w = self.workers.workers.get(addr)
        if w is None:
            return
        if w.client is not None and not w.netgym_lite:
            # NetworkGym's workers reconnect between configuration and simulation: only the reply timeout counts.
            return
        self._lose_worker(addr, "its connection was lost")

    def _lose_worker(self, addr: bytes, why: str) -> None:
        """Forget a worker; a client it was serving gets an env-error."""
        client = self.workers.remove(addr)
        name = addr.decode("utf-8", "replace")
        log.warning("worker %s removed: %s", name, why)
        if client is not None:
            self._record_freed(client.decode("utf-8", "replace"), "worker lost")
            self._send(
                client,
                m.env_error(f"worker {name} failed mid-session ({why}); send env-start for a new session"),
            )

    def _record_freed(self, ident: str, reason: str) -> None:
        self.freed.append((ident, reason))
        if len(self.freed) > 10000:
            del self.freed[:5000]

    def _reap(self) -> None:
        now = time.perf_counter()  # Session's default clock
        for ident, session in list(self.server.sessions.items()):
            if session.ended:
                if now - session.last_activity_s > self.ended_session_ttl_s:
                    self.server.drop(ident)
                continue
            if session.expired(now):
                wait_ms = session.cfg.max_wait_time_for_action_ms if session.cfg is not None else 0
                self.server.drop(ident)
                self._record_freed(ident, "idle")
                log.info(
                    "client %s sent nothing for %d ms (max_wait_time_for_action_ms): session ended",
                    ident,
                    wait_ms,
                )
                self._send(
                    ident.encode("utf-8"),
                    m.env_error(
                        f"session ended: no action for {wait_ms} ms (max_wait_time_for_action_ms={wait_ms}); "
                        "send env-start for a new session"
                    ),
                )
        mono = time.monotonic()
        for w in self.workers.expired_replies(mono):
            client = w.client
            assert client is not None
            name = w.address.decode("utf-8", "replace")
            log.warning(
                "worker %s did not reply within %.1f s: session of %r ended",
                name,
                self.worker_reply_timeout_s,
                client,
            )
            self._abort_external(client)
            self._record_freed(client.decode("utf-8", "replace"), "worker lost")
            self._send(
                client,
                m.env_error(
                    f"worker {name} did not reply within {self.worker_reply_timeout_s:g} s "
                    "(worker_reply_timeout_s); send env-start for a new session"
                ),
            )
        for addr in self.workers.expired_idle(mono):
            log.info(
                "worker %s sent no env-hello for %.0f s: removed",
                addr.decode("utf-8", "replace"),
                self.workers.idle_timeout_s,
            )
        if self.pending:
            self._dispatch_pending(mono)

    def _send(self, ident_b: bytes, msg: dict) -> None:
        try:
            data = encode_message(msg)
        except ProtocolError as e:
            log.error("reply to %r is not JSON-serialisable: %s", ident_b, e)
            data = json.dumps(m.env_error(f"internal error: reply not JSON-serialisable: {e}")).encode()
        self._send_frames(self._router, [ident_b, data])

    def _send_frames(self, sock: Any, frames: list[Any]) -> None:
        try:
            sock.send_multipart(frames, self._zmq.NOBLOCK, copy=False)
        except self._zmq.ZMQError as e:  # peer gone / queue full: drop silently (ROUTER semantics)
            log.debug("message to %r dropped: %s", frames[0], e)

    def _identity_error(self, ident: str, user: str | None) -> str | None:
        """Why this identity may not be used by this authenticated user (None when it may)."""
        try:
            account, client_id = parse_identity(ident)
        except ProtocolError as e:
            return str(e)
        if user is None or user != account:
            return (
                f"identity {ident!r} belongs to account {account!r} but this connection authenticated as "
                f"{user!r}: refused (allowed only identities '{user}-<client_id>')"
            )
        if self.accounts is not None:
            acc = self.accounts.get(account)
            if acc is None:  # pragma: no cover - the ZAP handler refuses unknown accounts
                return f"account {account!r} is unknown"
            if client_id >= acc.max_instances:
                return (
                    f"client_id={client_id} is over account {account!r}'s cap (Max_Instances="
                    f"{acc.max_instances}): allowed client_id 0..{acc.max_instances - 1}; please reduce "
                    "--client_id"
                )
        return None

    @staticmethod
    def _user_id(frame: Any) -> str | None:
        try:
            return frame.get("User-Id")
        except Exception:  # no ZAP metadata
            return None

    def _track_fd(self, frame: Any, key: Any, key_fd: dict, fd_key: dict) -> None:
        """Remember which connection (fd) a peer's latest message came from, for disconnect events."""
        try:
            fd = int(frame.get(self._zmq.SRCFD))
        except (self._zmq.ZMQError, TypeError, ValueError):  # pragma: no cover - SRCFD is always set for TCP
            return
        if fd >= 0 and key_fd.get(key) != fd:
            old = key_fd.get(key)
            if old is not None:
                fd_key.pop(old, None)
            key_fd[key] = fd
            fd_key[fd] = key

    # ------------------------------------------------------------------------------------------ clients
    def _on_frames(self, frames: list[Any]) -> None:
        ident_b = frames[0].bytes
        self.messages += 1
        if len(frames) < 2:
            log.debug("dropped a message without payload from %r", ident_b)
            return
        if len(frames) != 2:
            self._send(
                ident_b,
                m.env_error(
                    ProtocolError(f"message has {len(frames) - 1} frames: allowed exactly one JSON frame")
                ),
            )
            return
        payload = frames[1]
        try:
            ident = ident_b.decode("utf-8")
        except UnicodeDecodeError:
            self._send(
                ident_b,
                m.env_error(
                    ProtocolError(f"identity={ident_b!r} is not UTF-8: allowed '<session_name>-<client_id>'")
                ),
            )
            return
        user = self._user_id(payload)
        why = self._identity_error(ident, user)
        if why is not None:
            log.warning("refused a message from %r (user %r): %s", ident, user, why)
            self._send(ident_b, m.env_error(ProtocolError(why)))
            return
        self._track_fd(payload, ident, self._ident_fd, self._fd_ident)
        size = len(payload)
        if size > self.max_message_bytes:
            self._send(
                ident_b,
                m.env_error(
                    ProtocolError(
                        f"message of {size} bytes is too large: allowed at most {self.max_message_bytes} bytes "
                        "(--max-message-bytes)"
                    )
                ),
            )
            return
        try:
            msg = decode_message(payload.bytes)
        except ProtocolError as e:
            self._send(ident_b, m.env_error(e))
            return
        mtype = msg.get("type") if isinstance(msg, dict) else None
        if mtype == m.ENV_START:
            self._start(ident, ident_b, payload, msg)
            return
        if self.workers.worker_of(ident_b) is not None:
            if mtype == m.ENV_ACTION:
                self._forward(ident_b, payload)
                return
            self._abort_external(ident_b)  # NetworkGym's broker, too, ends the session on an unknown message
        for reply in self.server.handle(ident, msg):
            self._send(ident_b, reply)

    def _start(self, ident: str, ident_b: bytes, payload: Any, msg: dict) -> None:
        """Route an env-start: replace the client's session, then an external worker, embedded, or wait."""
        if self.workers.worker_of(ident_b) is not None:
            log.info("client %s: env-start replaces its session on an external worker", ident)
            self._abort_external(ident_b)
        self.server.drop(ident)
        self.pending = [p for p in self.pending if p.ident_b != ident_b]
        env = msg.get("env", DEFAULT_ENV)  # netgym-lite's config parser, too, defaults to nqos_split
        if not isinstance(env, str) or not env:
            self._send(
                ident_b,
                m.env_error(
                    ProtocolError(
                        f"env={env!r} is invalid: allowed the name of a NetworkGym env, e.g. {DEFAULT_ENV!r}"
                    )
                ),
            )
            return
        env_name = self.workers.env_name(ident.split("-", 1)[0], env)
        if self._assign(ident_b, payload, env_name):
            return
        if self.embedded and (env != CUSTOM_ENV or (self.server.custom is not None
                                                    and not self.workers.serves(env_name))):
            for reply in self.server.handle(ident, msg):
                self._send(ident_b, reply)
            return
        self.pending.append(_PendingStart(ident_b, payload, env_name, time.monotonic() + self.worker_wait_s))
        if self.worker_wait_s <= 0:
            self._dispatch_pending(time.monotonic())

    def _assign(self, ident_b: bytes, payload: Any, env_name: str) -> bool:
        """Give an env-start to an idle external worker for ``env_name``; False when there is none."""
        addr = self.workers.find_idle(env_name) if env_name else None
        if addr is None:
            return False
        self.workers.assign(addr, ident_b, time.monotonic(), self.worker_reply_timeout_s)
        log.info("client %r assigned to worker %r", ident_b, addr)
        self._send_frames(self._backend, [addr, ident_b, payload])
        return True

    def _dispatch_pending(self, now_s: float) -> None:
        still: list[_PendingStart] = []
        for p in self.pending:
            if self._assign(p.ident_b, p.payload, p.env_name):
                continue
            if now_s >= p.deadline_s:
                self._send(
                    p.ident_b,
                    m.no_available_worker(
                        f"No available workers for env: {p.env_name}. Available_workers and their [env list]:"
                        f"{self.workers.env_lists()}"
                    ),
                )
                continue
            still.append(p)
        self.pending = still

    def _forward(self, ident_b: bytes, payload: Any) -> None:
        w = self.workers.worker_of(ident_b)
        assert w is not None
        if w.reply_deadline_s is None:
            w.reply_deadline_s = time.monotonic() + self.worker_reply_timeout_s
        self._send_frames(self._backend, [w.address, ident_b, payload])

    def _abort_external(self, ident_b: bytes) -> None:
        """End a client's external session: tell its worker (env-end) and put the worker in limbo."""
        w = self.workers.release(ident_b)
        if w is not None:
            self._send_frames(self._backend, [w.address, ident_b, encode_message(m.env_end())])

    # ------------------------------------------------------------------------------------------ workers
    def _on_worker_frames(self, frames: list[Any]) -> None:
        addr = frames[0].bytes
        if len(frames) != 3:  # NetworkGym's broker drops worker messages with fewer than 3 frames
            log.warning(
                "dropped a worker message of %d frames from %r: allowed [client_identity, json]",
                len(frames) - 1,
                addr,
            )
            return
        account = worker_account(addr)
        user = self._user_id(frames[2])
        if user is None or user != account or len(addr.split(b"-")) < 2:
            log.warning(
                "refused a worker message from %r (user %r): allowed identities '%s-<worker_id>-<host>'",
                addr,
                user,
                user,
            )
            return
        self._track_fd(frames[2], addr, self._worker_fd, self._fd_worker)
        client_b = frames[1].bytes
        payload = frames[2]
        now = time.monotonic()
        w = self.workers.workers.get(addr)
        if w is not None:
            w.last_seen_s = now
        mapped = w is not None and w.client is not None and w.client == client_b
        data = payload.bytes
        if data.startswith(_MEASUREMENT_PREFIX):  # netgym-lite's workers: relay without decoding
            mtype: Any = m.ENV_MEASUREMENT
        else:
            try:
                msg = decode_message(data)
                mtype = msg.get("type") if isinstance(msg, dict) else None
            except ProtocolError as e:
                log.warning("worker %r sent an invalid message: %s", addr, e)
                return
        if mtype == m.ENV_HELLO:
            env_list = msg.get("env_list")
            if not isinstance(env_list, list) or not all(isinstance(e, str) for e in env_list):
                log.warning("worker %r sent env_list=%r: allowed a list of env names", addr, env_list)
                return
            lost = self.workers.hello(addr, env_list, now, netgym_lite="netgym_lite" in msg)
            if lost is not None:
                self._record_freed(lost.decode("utf-8", "replace"), "worker lost")
                self._send(lost, m.env_error(WORKER_RESTARTED_MESSAGE))
            if w is None:
                log.info("worker %r registered for %s", addr, self.workers.workers[addr].env_list)
            if self.pending:
                self._dispatch_pending(now)
            return
        if not mapped:
            log.debug("dropped a %s from worker %r for %r: not its client", mtype, addr, client_b)
            return
        assert w is not None
        if mtype == m.ENV_MEASUREMENT:
            w.reply_deadline_s = None
            self._send_frames(self._router, [client_b, payload])
        elif mtype == m.ENV_END:
            self.workers.release(client_b)
        elif mtype == m.ENV_ERROR:
            self.workers.release(client_b)
            self._send_frames(self._router, [client_b, payload])
        else:  # NetworkGym relays unknown types to the client
            w.reply_deadline_s = None
            self._send_frames(self._router, [client_b, payload])

    # ------------------------------------------------------------------------------------------ shutdown
    def _shutdown(self) -> None:
        if self._closed:
            return
        live = [ident for ident, s in self.server.sessions.items() if not s.ended]
        external = list(self.workers.client_worker)
        for ident_b in external:
            self._abort_external(ident_b)
            live.append(ident_b.decode("utf-8", "replace"))
        for p in self.pending:
            live.append(p.ident_b.decode("utf-8", "replace"))
        self.pending = []
        for ident in live:
            self._send(ident.encode("utf-8"), m.env_error(SHUTDOWN_MESSAGE))
            self._record_freed(ident, "shutdown")
        if live:
            log.info("shutdown: told %d live sessions", len(live))
        self.server.close()
        self._close_sockets()
        log.info("server stopped")

    def _close_sockets(self) -> None:
        self._closed = True
        for sock_attr, mon_attr in (("_router", "_monitor"), ("_backend", "_backend_monitor")):
            sock, mon = getattr(self, sock_attr), getattr(self, mon_attr)
            if sock is not None:
                try:
                    sock.disable_monitor()
                except Exception:  # pragma: no cover
                    pass
            if mon is not None:
                mon.close(linger=0)
                setattr(self, mon_attr, None)
            if sock is not None:
                sock.close()  # LINGER 1000 ms flushes the shutdown messages
                setattr(self, sock_attr, None)
        if self._zap is not None:
            self._zap.stop()
            self._zap = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
