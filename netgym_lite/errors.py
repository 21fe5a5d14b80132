"""One exception hierarchy for netgym-lite.

Every error names the offending field, the bad value and what is allowed, so that a user (or a remote
client receiving it as an ``env-error``) can fix the input without reading the source.
"""

from __future__ import annotations


class NetgymError(Exception):
    """Base class of every error raised by netgym-lite."""


class ConfigError(NetgymError, ValueError):
    """A scenario / ``env_config`` value is missing, unknown, or out of its allowed range."""


class ActionError(NetgymError, ValueError):
    """An action (Gymnasium action or ``env-action`` record) is malformed or out of range."""


class ProtocolError(NetgymError, ValueError):
    """A message violates the NetworkGym northbound protocol (type, fields, ``ts`` echo, order)."""


class SimulationError(NetgymError):
    """The simulation behind a session failed (e.g. a custom simulation raised or returned malformed records):
    the session ends with an ``env-error``; the server or worker goes on serving other sessions."""


class SessionEnded(NetgymError):
    """The session has sent all its measurements; start a new one with ``reset()``."""


def field_error(cls: type[NetgymError], field: str, value: object, allowed: str) -> NetgymError:
    """Build an error whose message names the field, the bad value and what is allowed."""
    return cls(f"{field}={value!r} is invalid: allowed {allowed}")
