"""ZeroMQ client transport: NetworkGym's northbound DEALER socket as a :class:`~netgym_lite.ipc.transport.Transport`.

What goes on the wire is exactly what NetworkGym's own client sends (design.md §4): a DEALER socket whose
identity is ``"<session_name>-<client_id>"``, authenticated with ZMQ PLAIN (username = ``session_name``,
password = ``session_key``), one UTF-8 JSON frame per message in both directions. It therefore talks to
``netgym-lite serve`` and to a NetworkGym server alike.

pyzmq is an optional extra: it is imported when a :class:`ZmqTransport` is created, and its absence raises a
:class:`~netgym_lite.errors.ConfigError` that names ``pip install 'netgym-lite[zmq]'``.

Messages are encoded as strict JSON (``allow_nan=False``): NaN/inf never reach the wire, a message that is
not JSON-serialisable raises :class:`~netgym_lite.errors.ProtocolError` before anything is sent.
"""

from __future__ import annotations

import json
import time
from typing import Any

from netgym_lite.errors import ConfigError, ProtocolError
from netgym_lite.ipc.transport import TransportClosed, TransportTimeout

#: What to install for the socket transports.
ZMQ_INSTALL_HINT = "pip install 'netgym-lite[zmq]'"


def import_zmq() -> Any:
    """Import pyzmq, or raise a ConfigError saying what to install."""
    try:
        import zmq
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ConfigError(
            f"the remote (ZeroMQ) mode needs pyzmq, which is not installed: run {ZMQ_INSTALL_HINT}"
        ) from e
    return zmq


class AuthenticationError(ProtocolError):
    """The server refused this connection's PLAIN login (wrong session_key or unknown session_name)."""


def parse_identity(identity: str) -> tuple[str, int]:
    """Split a NetworkGym identity ``"<session_name>-<client_id>"`` into (session_name, client_id).

    As NetworkGym's broker does: the account is the text before the first '-', the client id the text after
    the last '-' (so ``session_name`` itself must not contain '-'). Raises ProtocolError when it is not such
    an identity.
    """
    words = identity.split("-")
    allowed = "'<session_name>-<client_id>' with a session_name without '-' and an integer client_id >= 0"
    if len(words) < 2 or not words[0] or not words[-1].isdigit():
        raise ProtocolError(f"identity={identity!r} is invalid: allowed {allowed}")
    return words[0], int(words[-1])


#: One strict, compact encoder shared by every encode (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def encode_message(msg: dict) -> bytes:
    """A message as one UTF-8 strict-JSON frame (ProtocolError when it is not JSON-serialisable).

    Compact separators: what NetworkGym's client sends is indented, but any JSON is the same message to its
    ``json.loads``; the compact form is ~25 % shorter and quicker to encode and decode.
    """
    try:
        return _ENCODER.encode(msg).encode("utf-8")
    except (TypeError, ValueError) as e:
        mtype = msg.get("type") if isinstance(msg, dict) else None
        raise ProtocolError(f"message type={mtype!r} is not JSON-serialisable: {e}") from e


class ZmqTransport:
    """Client side of one NetworkGym connection over a ZMQ DEALER socket.

    Args:
        endpoint: the server's address, e.g. ``"tcp://127.0.0.1:8088"``.
        session_name: the account (PLAIN username, identity prefix); must be non-empty and without '-'.
        session_key: the PLAIN password.
        client_id: the instance number; the identity is ``f"{session_name}-{client_id}"``.
        context: a pyzmq Context to use (default: the process-wide ``zmq.Context.instance()``).
        linger_ms: how long ``close()`` may wait to flush unsent messages.
        send_timeout_s: how long ``send()`` may block when the socket's queue is full (TransportTimeout).

    The socket connects at construction; ZMQ connects (and reconnects) in the background, so the first
    ``send`` never fails for a server that is not up yet — the reply just does not come and ``recv`` times out.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        session_name: str,
        session_key: str,
        client_id: int = 0,
        context: Any | None = None,
        linger_ms: int = 1000,
        send_timeout_s: float = 60.0,
    ) -> None:
        zmq = import_zmq()
        if not isinstance(session_name, str) or not session_name or "-" in session_name:
            raise ConfigError(
                f"session_name={session_name!r} is invalid: allowed a non-empty account name without '-'"
            )
        if isinstance(client_id, bool) or not isinstance(client_id, int) or client_id < 0:
            raise ConfigError(f"client_id={client_id!r} is invalid: allowed an integer >= 0")
        if not isinstance(session_key, str) or not session_key:
            raise ConfigError(
                f"session_key={session_key!r} is invalid: allowed a non-empty string (the PLAIN password; a "
                "server without an accounts file accepts any)"
            )
        self._zmq = zmq
        self.endpoint = endpoint
        self.session_name = session_name
        self.client_id = client_id
        self.identity = f"{session_name}-{client_id}"
        self._ctx = context if context is not None else zmq.Context.instance()
        sock = self._ctx.socket(zmq.DEALER)
        try:
            sock.setsockopt(zmq.LINGER, int(linger_ms))
            sock.setsockopt(zmq.SNDTIMEO, int(send_timeout_s * 1000))
            sock.setsockopt(zmq.IDENTITY, self.identity.encode("utf-8"))
            sock.setsockopt(zmq.PLAIN_USERNAME, session_name.encode("utf-8"))
            sock.setsockopt(zmq.PLAIN_PASSWORD, session_key.encode("utf-8"))
            sock.connect(endpoint)
        except Exception as e:
            sock.close(linger=0)
            raise ConfigError(
                f"server={endpoint!r} is invalid ({e}): allowed a ZMQ endpoint like 'tcp://127.0.0.1:8088'"
            ) from e
        self._sock = sock
        # A refused login never produces a reply; the socket monitor reports it so recv() can say so at once.
        self._monitor = sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        )
        self._poller = zmq.Poller()
        self._poller.register(sock, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)
        self._closed = False

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def send(self, msg: dict) -> None:
        """Send ``msg`` as one JSON frame."""
        if self._closed:
            raise TransportClosed("transport is closed: allowed send() only before close()")
        data = encode_message(msg)
        try:
            self._sock.send(data, copy=len(data) < 65536)
        except self._zmq.Again as e:
            raise TransportTimeout(
                f"could not send to {self.endpoint} (queue full, server unreachable)"
            ) from e

    def send_raw(self, frames: list[bytes]) -> None:
        """Send raw frames (for tests and tools that speak the wire format directly)."""
        if self._closed:
            raise TransportClosed("transport is closed: allowed send_raw() only before close()")
        self._sock.send_multipart(frames)

    def recv(self, timeout_s: float | None = None) -> dict:
        """Return the next message; :class:`TransportTimeout` if none arrives within ``timeout_s`` (None = wait)."""
        if self._closed:
            raise TransportClosed("transport is closed: allowed recv() only before close()")
        zmq = self._zmq
        deadline = None if timeout_s is None else time.monotonic() + max(0.0, timeout_s)
        sock = self._sock
        while True:
            if sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                frames = sock.recv_multipart(zmq.NOBLOCK)
                break
            self._check_monitor()
            left_ms = None if deadline is None else int(max(0.0, deadline - time.monotonic()) * 1000)
            if not self._poller.poll(left_ms) and deadline is not None and time.monotonic() >= deadline:
                raise TransportTimeout(
                    f"no reply from {self.endpoint} within {timeout_s} s (is a netgym-lite or NetworkGym "
                    "server running there?)"
                )
        if len(frames) != 1:
            raise ProtocolError(f"reply has {len(frames)} frames: allowed exactly one JSON frame")
        try:
            msg = json.loads(frames[0])
        except (UnicodeDecodeError, ValueError) as e:
            raise ProtocolError(f"reply is not UTF-8 JSON: {e}") from e
        if not isinstance(msg, dict):
            raise ProtocolError(f"reply={type(msg).__name__} is invalid: allowed a JSON object")
        return msg

    def _check_monitor(self) -> None:
        """Raise AuthenticationError when the monitor reported a refused handshake."""
        zmq = self._zmq
        while self._monitor.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            frames = self._monitor.recv_multipart(zmq.NOBLOCK)
            from zmq.utils.monitor import parse_monitor_message

            event = parse_monitor_message(frames)
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                raise AuthenticationError(
                    f"server {self.endpoint} refused the login of session_name={self.session_name!r} "
                    f"(ZAP status {int(event['value'])}): allowed an account of that server with its "
                    "session_key"
                )
            raise AuthenticationError(
                f"handshake with {self.endpoint} failed ({event['event']!r}): is it a ZMQ PLAIN server?"
            )

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.disable_monitor()
        except self._zmq.ZMQError:  # pragma: no cover
            pass
        self._monitor.close(linger=0)
        self._sock.close()

    def __enter__(self) -> ZmqTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
