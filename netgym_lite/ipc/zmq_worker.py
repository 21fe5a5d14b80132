"""``netgym-lite worker``: an external env worker speaking NetworkGym's southbound protocol over ZeroMQ.

The worker is a DEALER socket with identity ``"<session_name>-<worker_id>-<hostname>"``, PLAIN-authenticated like
a client, connected to a broker's southbound ROUTER (``netgym-lite serve``'s worker port, or NetworkGym's server;
design.md §4). Frames, as the worker's DEALER sees them:

* idle: it sends ``[b"", {"type": "env-hello", "env_list": [...]}]`` every ``hello_interval_s`` (5 s, as
  NetworkGym's workers) and at once when a connection is (re)established; the hello also carries
  ``"netgym_lite": <version>``, an extra key NetworkGym's broker ignores, which tells ``netgym-lite serve`` that
  this worker keeps one connection for its whole life (so a lost connection means a lost worker);
* the broker forwards ``[client_identity, json]``; an env-start for an env in its list starts a
  :class:`~netgym_lite.ipc.session.Session` (the very session class the embedded server uses, hence the same
  records for the same seed), each env-action advances it, and every reply goes back as ``[client_identity, json]``;
* after the session's L·E-th measurement the worker sends ``[client_identity, {"type": "env-end"}]`` and an
  env-hello (idle again). Any env-error it sends ends the session on its side too, because NetworkGym's broker
  drops the client → worker mapping on every worker env-error (so, unlike an embedded session, a bad action ends
  an external session);
* while busy, an env-start (what NetworkGym's broker forwards when a client restarts with a live mapping, after
  answering "...Mapping Exits...") or an env-end from the broker aborts the session without a reply, and the
  worker says hello again; a message for another client is answered with an env-error to that client;
* a session whose client sends nothing for its ``max_wait_time_for_action_ms`` ends with an env-error; a lost
  connection to the broker (ZMTP heartbeats, 0.5 s / 1.2 s) ends a running session, since the broker has given it up.

With ``custom=Factory`` (``netgym-lite worker --custom module:Factory``) the sessions run the user's own
simulation instead (:mod:`netgym_lite.ipc.custom`) and the worker registers for ``custom``, which NetworkGym's rule
gives to the worker's own account only (a non-admin account's env list becomes ``<account>-custom``).

It compiles the simulation kernels before it registers, so the first measurement follows an env-start at once.
SIGINT/SIGTERM (:meth:`ZmqWorker.install_signal_handlers`) stop it; a running session's client gets env-error
"worker shutting down". Every wait has a timeout; nothing blocks on a send (the socket has ``ZMQ_IMMEDIATE`` set and
sends never wait: a message that cannot be queued is dropped and logged).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from netgym_lite.errors import ConfigError, ProtocolError
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.custom import CUSTOM_ENV, CustomFactory, session_options
from netgym_lite.ipc.service import LoopService
from netgym_lite.ipc.session import ENDED, ConfigParser, Session, SimFactory
from netgym_lite.ipc.zmq_transport import encode_message, import_zmq

log = logging.getLogger(__name__)

#: NetworkGym's workers say hello every 5 s while idle.
HELLO_INTERVAL_S = 5.0
#: ZMTP heartbeats towards the broker.
HEARTBEAT_IVL_MS = 500
HEARTBEAT_TIMEOUT_MS = 1200
SHUTDOWN_MESSAGE = "worker shutting down"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("netgym-lite")
    except Exception:  # pragma: no cover - not installed as a distribution
        return "dev"


def supported_envs() -> tuple[str, ...]:
    """The NetworkGym env names netgym-lite can simulate (``netgym_lite.config.SUPPORTED_ENVS``)."""
    from netgym_lite.config import SUPPORTED_ENVS

    return tuple(SUPPORTED_ENVS)


class ZmqWorker(LoopService):
    """An external NetworkGym env worker running netgym-lite sessions (see the module docstring).

    Args:
        server: the broker's southbound endpoint, e.g. ``"tcp://127.0.0.1:8087"``.
        session_name: the account (PLAIN username, identity prefix; without '-'). NetworkGym's broker lets only
            its admin account's workers serve named envs (default "admin").
        session_key: the PLAIN password.
        worker_id: this worker's number; the identity is ``f"{session_name}-{worker_id}-{hostname}"``.
        envs: the env names to register for (each one netgym-lite supports; default ``["nqos_split"]``, or
            ``["custom"]`` with ``custom``).
        hostname: the identity's last part (default: this machine's host name).
        hello_interval_s: env-hello period while idle.
        sim_factory, config_parser: passed to every :class:`Session` (tests use fakes).
        custom: a factory of :class:`~netgym_lite.ipc.custom.CustomSimulation`: the worker then serves env
            ``"custom"`` with it (NetworkGym's custom env; no kernels to warm up).
        warm: compile/load the simulation kernels before registering.
        poll_interval_s: longest sleep between checks of the stop flag.

    Attributes:
        sessions_started, sessions_completed, sessions_aborted: counters.
        warmup_s: seconds spent warming up.
    """

    def __init__(
        self,
        server: str,
        *,
        session_name: str = "admin",
        session_key: str,
        worker_id: int = 0,
        envs: Sequence[str] | None = None,
        hostname: str | None = None,
        hello_interval_s: float = HELLO_INTERVAL_S,
        sim_factory: SimFactory | None = None,
        config_parser: ConfigParser | None = None,
        custom: CustomFactory | None = None,
        warm: bool = True,
        poll_interval_s: float = 0.1,
    ) -> None:
        self._zmq = import_zmq()
        if not isinstance(session_name, str) or not session_name or "-" in session_name:
            raise ConfigError(
                f"session_name={session_name!r} is invalid: allowed a non-empty account name without '-'"
            )
        if not isinstance(session_key, str) or not session_key:
            raise ConfigError(
                f"session_key={session_key!r} is invalid: allowed a non-empty string (the PLAIN password)"
            )
        if isinstance(worker_id, bool) or not isinstance(worker_id, int) or worker_id < 0:
            raise ConfigError(f"worker_id={worker_id!r} is invalid: allowed an integer >= 0")
        envs = list(envs) if envs is not None else ([CUSTOM_ENV] if custom is not None else ["nqos_split"])
        known = (CUSTOM_ENV,) if custom is not None else supported_envs()
        bad = [e for e in envs if e not in known]
        if not envs or bad:
            raise ConfigError(f"envs={envs!r} is invalid: allowed a non-empty list of {', '.join(known)}")
        if not hello_interval_s > 0:
            raise ConfigError(f"hello_interval_s={hello_interval_s!r} is invalid: allowed a number > 0")
        self.server = server
        self.session_name = session_name
        self._session_key = session_key
        self.env_list = envs
        host = hostname if hostname is not None else socket.gethostname()
        self.identity = f"{session_name}-{worker_id}-{host}"
        self.hello_interval_s = hello_interval_s
        self.poll_interval_s = poll_interval_s
        self._sim_factory = sim_factory
        self._config_parser = config_parser
        self._warm = warm
        if custom is not None:
            options = session_options(custom)
            self._sim_factory, self._config_parser = options["sim_factory"], options["config_parser"]
            self._warm = False
        self._hello = json.dumps(
            {"type": m.ENV_HELLO, "env_list": envs, "netgym_lite": _version()}, separators=(",", ":")
        ).encode("utf-8")
        self.session: Session | None = None
        self.client: bytes | None = None
        self.sessions_started = self.sessions_completed = self.sessions_aborted = 0
        self.hellos_sent = 0
        self.warmup_s = 0.0
        self.ready = threading.Event()
        self._stop_event = threading.Event()
        self._ctx: Any = None
        self._sock: Any = None
        self._monitor: Any = None
        self._thread: threading.Thread | None = None
        self._next_hello = 0.0
        self._hello_on_connection = False  # a hello went out on the current connection
        self.auth_failed = False

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Warm up the kernels and connect (does not register yet)."""
        zmq = self._zmq
        if self._warm:
            from netgym_lite.ipc.zmq_server import warm_up

            self.warmup_s = warm_up(self._sim_factory, self._config_parser)
            log.info("simulation kernels ready in %.2f s", self.warmup_s)
        self._ctx = zmq.Context()
        sock = self._ctx.socket(zmq.DEALER)
        try:
            sock.setsockopt(zmq.LINGER, 1000)
            sock.setsockopt(
                zmq.IMMEDIATE, 1
            )  # queue only on a live connection: no stale hellos after an outage
            sock.setsockopt(zmq.IDENTITY, self.identity.encode("utf-8"))
            sock.setsockopt(zmq.PLAIN_USERNAME, self.session_name.encode("utf-8"))
            sock.setsockopt(zmq.PLAIN_PASSWORD, self._session_key.encode("utf-8"))
            sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
            sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
            sock.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
            sock.setsockopt(zmq.RECONNECT_IVL, 200)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
            self._monitor = sock.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
            )
            sock.connect(self.server)
        except zmq.ZMQError as e:
            sock.close(linger=0)
            self._ctx.term()
            raise ConfigError(
                f"server={self.server!r} is invalid ({e}): allowed a ZMQ endpoint like 'tcp://127.0.0.1:8087'"
            ) from e
        self._sock = sock
        log.info(
            "worker %s connecting to %s for envs %s", self.identity, self.server, ",".join(self.env_list)
        )

    _what = "worker"

    def _thread_name(self) -> str:
        return f"netgym-lite-worker-{self.identity}"

    def _start_if_needed(self) -> None:
        if self._sock is None:
            self.start()

    @property
    def busy(self) -> bool:
        """True while a session runs."""
        return self.session is not None

    # ------------------------------------------------------------------------------------------ sending
    def _send(self, frames: list[bytes]) -> bool:
        try:
            self._sock.send_multipart(frames, self._zmq.NOBLOCK)
            return True
        except self._zmq.ZMQError as e:  # no live connection (IMMEDIATE) or queue full: never block
            log.debug("send to %s dropped: %s", self.server, e)
            return False

    def _reply(self, client: bytes, msg: dict) -> bool:
        return self._send([client, encode_message(msg)])

    def _say_hello(self) -> None:
        now = time.monotonic()
        if self._send([b"", self._hello]):
            self.hellos_sent += 1
            self._hello_on_connection = True
            self._next_hello = now + self.hello_interval_s
        else:  # not connected yet: try again soon (a handshake event also triggers one)
            self._next_hello = now + min(0.2, self.hello_interval_s)

    def _end_session(self, *, completed: bool) -> None:
        if completed:
            self.sessions_completed += 1
        else:
            self.sessions_aborted += 1
        if self.session is not None:
            self.session.close()
        self.session = None
        self.client = None
        self._say_hello()

    # ------------------------------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        zmq = self._zmq
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._monitor, zmq.POLLIN)
        self._say_hello()
        while not self._stop_event.is_set():
            now = time.monotonic()
            wait_s = self.poll_interval_s
            if self.session is None:
                if now >= self._next_hello:
                    self._say_hello()
                wait_s = min(wait_s, max(0.0, self._next_hello - now))
            ready = dict(poller.poll(max(1, int(wait_s * 1000))))
            if self._monitor in ready:
                self._drain_monitor()
            if self._sock in ready:
                for _ in range(64):  # bounded burst, then housekeeping
                    try:
                        frames = self._sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        self._on_frames(frames)
                    except Exception:  # never die on one message
                        log.exception("internal error while handling a message")
            if self.session is not None and self.session.expired():
                wait_ms = self.session.cfg.max_wait_time_for_action_ms if self.session.cfg is not None else 0
                log.info("client %r sent nothing for %d ms: session ended", self.client, wait_ms)
                assert self.client is not None
                self._reply(
                    self.client,
                    m.env_error(
                        f"session ended: no action for {wait_ms} ms (max_wait_time_for_action_ms={wait_ms}); "
                        "send env-start for a new session"
                    ),
                )
                self._end_session(completed=False)

    def _drain_monitor(self) -> None:
        zmq = self._zmq
        from zmq.utils.monitor import parse_monitor_message

        while self._monitor.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            event = parse_monitor_message(self._monitor.recv_multipart(zmq.NOBLOCK))
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.auth_failed = False
                # register at once on every (re)connection, unless the loop's first hello already went out on it:
                # a second hello could cross an env-start and read as "worker restarted" at the broker
                if self.session is None and not self._hello_on_connection:
                    self._say_hello()
            elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.auth_failed = True
                log.error(
                    "broker %s refused the login of %r (wrong session_key or unknown account)",
                    self.server,
                    self.session_name,
                )
            elif event["event"] == zmq.EVENT_DISCONNECTED:
                self._hello_on_connection = False
                if self.session is None:
                    continue
                log.warning(
                    "lost the connection to %s: the running session of %r is abandoned",
                    self.server,
                    self.client,
                )
                self._end_session(completed=False)

    def _on_frames(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            log.warning("ignored a message of %d frames: allowed [client_identity, json]", len(frames))
            return
        client, payload = frames
        try:
            msg = json.loads(payload)
            mtype = m.message_type(msg)
        except (ValueError, UnicodeDecodeError, ProtocolError) as e:
            if self.session is None or client == self.client:
                self._reply(
                    client, m.env_error(ProtocolError(f"message is not a NetworkGym JSON message: {e}"))
                )
                if self.session is not None:
                    self._end_session(completed=False)
                elif client:
                    self._say_hello()
            return
        if self.session is not None:
            self._on_busy(client, mtype, msg)
        else:
            self._on_idle(client, mtype, msg)

    def _on_idle(self, client: bytes, mtype: str, msg: dict) -> None:
        if mtype != m.ENV_START:
            if mtype == m.ENV_END:
                return  # a broker's abort that crossed our end of session: nothing to do
            self._reply(
                client,
                m.env_error(
                    ProtocolError(
                        f"type={mtype!r} is unexpected: this worker is idle and allows only 'env-start'"
                    )
                ),
            )
            self._say_hello()  # NetworkGym's broker unmaps a worker on its env-error: register again
            return
        env = msg.get("env")
        if env not in self.env_list:
            self._reply(
                client,
                m.env_error(
                    ProtocolError(
                        f"env={env!r} is not served by worker {self.identity}: allowed {', '.join(self.env_list)}"
                    )
                ),
            )
            self._say_hello()
            return
        session = Session(
            client.decode("utf-8", "replace"),
            sim_factory=self._sim_factory,
            config_parser=self._config_parser,
        )
        self.session, self.client = session, client
        self.sessions_started += 1
        self._deliver(session.handle(msg))

    def _on_busy(self, client: bytes, mtype: str, msg: dict) -> None:
        if client != self.client:
            self._reply(
                client,
                m.env_error(
                    ProtocolError(
                        f"worker {self.identity} is busy with another client: allowed messages of its own client only"
                    )
                ),
            )
            return
        if mtype != m.ENV_ACTION:
            # NetworkGym's broker forwards a client's second env-start to the mapped worker as a stop signal
            # (it has already answered "...Mapping Exits..." and dropped the mapping); netgym-lite's sends env-end.
            log.info("session of %r aborted by the broker (%s)", client, mtype)
            self._end_session(completed=False)
            return
        assert self.session is not None
        self._deliver(self.session.handle(msg))

    def _deliver(self, replies: list[dict]) -> None:
        """Send a session's replies; end the session after an env-error or its last measurement."""
        session, client = self.session, self.client
        assert session is not None and client is not None
        for reply in replies:
            self._reply(client, reply)
        if any(r.get("type") == m.ENV_ERROR for r in replies):
            self._end_session(completed=False)
        elif session.state == ENDED:
            self._reply(client, m.env_end())
            self._end_session(completed=True)

    def _shutdown(self) -> None:
        if self.session is not None and self.client is not None:
            self._reply(self.client, m.env_error(SHUTDOWN_MESSAGE))
            self.sessions_aborted += 1
            self.session.close()
            self.session = None
        if self._sock is not None:
            try:
                self._sock.disable_monitor()
            except Exception:  # pragma: no cover
                pass
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None
        if self._sock is not None:
            self._sock.close()  # LINGER 1000 ms flushes the last messages
            self._sock = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None
        log.info("worker %s stopped", self.identity)
