"""In-memory server (northbound broker): maps client identities to sessions.

``Server.handle(identity, msg) -> replies`` is the whole server: a ZMQ ROUTER loop calls it with each
``[identity, json]`` frame pair and sends the replies back to that identity; the in-memory transport calls it
directly (:meth:`Server.connect`). Rules:

* ``env-start`` creates a new :class:`~netgym_lite.ipc.session.Session` for the identity, replacing any
  session that identity had (this is how ``reset(seed=...)`` starts over; NetworkGym's own broker answers
  "...Mapping Exits..." instead);
* ``env-start`` for env ``"custom"`` runs the server's custom simulation (``custom``, see
  :mod:`netgym_lite.ipc.custom`) in a session of its own; without one it is refused like any unknown env;
* ``env-action`` goes to the identity's session; without one the reply is an env-error;
* any other or malformed message gets an env-error; nothing raises out of :meth:`Server.handle`, and a
  fault in one session never touches another.
"""

from __future__ import annotations

import logging
from typing import Any

from netgym_lite.errors import NetgymError, ProtocolError
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.custom import CUSTOM_ENV, CustomFactory, session_options
from netgym_lite.ipc.session import ConfigParser, Session, SimFactory
from netgym_lite.ipc.transport import InProcTransport, new_identity

log = logging.getLogger(__name__)


class Server:
    """Broker from client identities to sessions.

    Args:
        sim_factory: passed to every :class:`Session` (default: the real Simulation).
        config_parser: passed to every :class:`Session` (default: ``netgym_lite.config.parse_env_config``).
        custom: a factory of :class:`~netgym_lite.ipc.custom.CustomSimulation` serving env ``"custom"`` (None:
            that env is refused).
    """

    def __init__(self, sim_factory: SimFactory | None = None, config_parser: ConfigParser | None = None,
                 custom: CustomFactory | None = None) -> None:
        self._sim_factory = sim_factory
        self._config_parser = config_parser
        self.custom = custom
        self._custom_options = session_options(custom) if custom is not None else None
        self.sessions: dict[str, Session] = {}

    def handle(self, identity: str, msg: Any) -> list[dict]:
        """Route one message from ``identity`` and return the replies for it (never raises)."""
        try:
            mtype = m.message_type(msg)
            if mtype == m.ENV_START:
                old = self.sessions.pop(identity, None)
                if old is not None:
                    if not old.ended:
                        log.info("client %s: env-start replaces its running session", identity)
                    old.close()
                if self._custom_options is not None and msg.get("env") == CUSTOM_ENV:
                    session = Session(identity, **self._custom_options)
                else:
                    session = Session(identity, sim_factory=self._sim_factory, config_parser=self._config_parser)
                self.sessions[identity] = session
                return session.handle(msg)
            if mtype == m.ENV_ACTION:
                session = self.sessions.get(identity)
                if session is None:
                    raise ProtocolError(
                        f"client {identity!r} has no session: allowed env-action only after env-start"
                    )
                return session.handle(msg)
            raise ProtocolError(f"type={mtype!r} is invalid from a client: allowed 'env-start' or 'env-action'")
        except NetgymError as e:
            return [m.env_error(e)]
        except Exception as e:  # pragma: no cover - Session.handle already contains its faults
            log.exception("server: internal error for client %s", identity)
            return [m.env_error(f"internal error: {type(e).__name__}: {e}")]

    def drop(self, identity: str) -> None:
        """Forget ``identity``'s session (its client went away)."""
        session = self.sessions.pop(identity, None)
        if session is not None:
            session.close()

    def reap_idle(self, now_s: float | None = None) -> list[str]:
        """Drop sessions whose client was silent longer than their ``max_wait_time_for_action_ms``."""
        gone = [ident for ident, s in self.sessions.items() if s.expired(now_s)]
        for ident in gone:
            self.sessions.pop(ident).close()
        return gone

    def connect(
        self, identity: str | None = None, *, check_json: bool = False, copy: bool = True
    ) -> InProcTransport:
        """Open an in-memory connection to this server (closing it drops the identity's session).

        ``check_json`` and ``copy`` are those of :class:`~netgym_lite.ipc.transport.InProcTransport`.
        """
        ident = identity if identity is not None else new_identity()
        return InProcTransport(
            self.handle, ident, check_json=check_json, copy=copy, on_close=lambda: self.drop(ident)
        )

    def close(self) -> None:
        """Drop every session."""
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()
