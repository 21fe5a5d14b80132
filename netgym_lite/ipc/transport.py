"""Transports: how a client's messages reach a server and the replies come back.

A :class:`Transport` is the client side of one connection (what NetworkGym's ZMQ DEALER socket is):
``send(msg)`` one message, ``recv(timeout_s)`` the next reply, ``close()``. Messages are the dicts of
:mod:`netgym_lite.ipc.messages`; a socket transport carries them as UTF-8 JSON frames, the in-memory one
hands over the dicts themselves.

The server side is a :data:`Handler`: ``handler(identity, msg) -> replies``. It is exactly what a ZMQ ROUTER
loop does with a frame pair ``[identity, json]``: decode, call the handler, send each reply back as
``[identity, json]``. A ZMQ transport therefore reuses the same server object unchanged.

:class:`InProcTransport` calls the handler synchronously inside ``send`` and queues the replies for
``recv``. Every message is copied as a JSON tree on the way in both directions (dicts and lists rebuilt,
tuples become lists), so client and server never share mutable objects, exactly as over a socket;
``check_json=True`` additionally encodes and decodes with :mod:`json` (strict: no NaN) to prove a message
would survive the wire.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from netgym_lite.errors import ProtocolError

#: Server side of a connection: ``handler(identity, message) -> list of reply messages``.
Handler = Callable[[str, dict], list[dict]]


class TransportTimeout(ProtocolError, TimeoutError):
    """No reply arrived within the timeout (for the in-memory transport: none was queued)."""


class TransportClosed(ProtocolError):
    """The transport was closed; no message can be sent or received."""


@runtime_checkable
class Transport(Protocol):
    """Client side of a connection to a NetworkGym(-compatible) server."""

    def send(self, msg: dict) -> None:
        """Send one message to the server."""
        ...

    def recv(self, timeout_s: float | None = None) -> dict:
        """Return the next message from the server; :class:`TransportTimeout` if none within ``timeout_s``."""
        ...

    def close(self) -> None:
        """Release the connection; idempotent."""
        ...


def new_identity() -> str:
    """A fresh client identity shaped like NetworkGym's ``"<session_name>-<client_id>"``."""
    return f"inproc{uuid.uuid4().hex[:12]}-0"


def copy_message(obj: Any) -> Any:
    """Copy a JSON tree (dicts and lists rebuilt, tuples become lists, scalars shared)."""
    if isinstance(obj, dict):
        return {k: (copy_message(v) if isinstance(v, _CONTAINERS) else v) for k, v in obj.items()}
    if isinstance(obj, _CONTAINERS):
        return [(copy_message(v) if isinstance(v, _CONTAINERS) else v) for v in obj]
    return obj


_CONTAINERS = (dict, list, tuple)


def json_roundtrip(msg: dict) -> dict:
    """Encode ``msg`` as strict JSON (NaN/inf rejected) and decode it: what a socket would deliver."""
    try:
        return json.loads(json.dumps(msg, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ProtocolError(f"message type={msg.get('type')!r} is not JSON-serialisable: {e}") from e


class InProcTransport:
    """The in-memory transport: ``send`` delivers to a server-side handler, replies queue for ``recv``.

    Args:
        handler: the server side, ``handler(identity, msg) -> replies`` (e.g. ``Server.handle``).
        identity: this client's identity, as a ZMQ DEALER's ``"<session_name>-<client_id>"``; a fresh
            unique one by default.
        check_json: round-trip every message through strict JSON (slower; for tests).
        copy: copy every message as a JSON tree (default). ``False`` hands the dicts over as they are, which
            is safe only when neither side keeps or mutates a message after passing it on (true of
            :class:`~netgym_lite.ipc.server.Server` and :class:`~netgym_lite.ipc.client.NetworkGymClient`,
            as long as the simulation builds fresh records every interval); it saves ~50 µs per step.
        on_close: called once by :meth:`close` (the in-memory server uses it to drop the session; a
            socket server would instead reclaim idle sessions after ``max_wait_time_for_action_ms``).
    """

    def __init__(
        self,
        handler: Handler,
        identity: str | None = None,
        *,
        check_json: bool = False,
        copy: bool = True,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._handler = handler
        self._on_close = on_close
        self.identity = identity if identity is not None else new_identity()
        self._check_json = check_json
        self._copy_messages = copy
        self._inbox: deque[dict] = deque()
        self._closed = False

    def _copy(self, msg: dict) -> dict:
        if self._check_json:
            return json_roundtrip(msg)
        return copy_message(msg) if self._copy_messages else msg

    def send(self, msg: dict) -> None:
        """Deliver ``msg`` to the server handler now and queue its replies."""
        if self._closed:
            raise TransportClosed("transport is closed: allowed send() only before close()")
        replies = self._handler(self.identity, self._copy(msg))
        for reply in replies:
            self._inbox.append(self._copy(reply))

    def recv(self, timeout_s: float | None = None) -> dict:
        """Pop the next queued reply; the in-memory server answers synchronously, so an empty queue times out."""
        if self._closed:
            raise TransportClosed("transport is closed: allowed recv() only before close()")
        if not self._inbox:
            raise TransportTimeout("no reply from the server: every request was already answered")
        return self._inbox.popleft()

    @property
    def pending(self) -> int:
        """Replies queued and not yet received."""
        return len(self._inbox)

    def close(self) -> None:
        """Close this end (idempotent); further send/recv raise :class:`TransportClosed`."""
        if self._closed:
            return
        self._closed = True
        self._inbox.clear()
        if self._on_close is not None:
            self._on_close()
