"""NetworkGymClient: the client side of the protocol, used by the Gymnasium environments.

Transport-agnostic: give it any :class:`~netgym_lite.ipc.transport.Transport` (in-memory now, ZMQ later).
It sends env-start and env-action messages and turns the replies into records or typed errors:
an ``env-error`` becomes the :class:`~netgym_lite.errors.NetgymError` subclass named by its ``error_type``
(ActionError, ConfigError, ProtocolError, SessionEnded; plain NetgymError otherwise) carrying ``error_msg``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from netgym_lite import errors
from netgym_lite.errors import NetgymError, ProtocolError
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.transport import Transport, TransportTimeout

_ERROR_TYPES: dict[str, type[NetgymError]] = {
    "ActionError": errors.ActionError,
    "ConfigError": errors.ConfigError,
    "ProtocolError": errors.ProtocolError,
    "SessionEnded": errors.SessionEnded,
}


def error_from_message(msg: Mapping[str, Any]) -> NetgymError:
    """The typed exception for an env-error (or no-available-worker) message."""
    if msg.get("type") == m.NO_AVAILABLE_WORKER:
        detail = msg.get("msg")
        return NetgymError("no available worker" + (f": {detail}" if detail else ""))
    cls = _ERROR_TYPES.get(str(msg.get("error_type", "")), NetgymError)
    return cls(str(msg.get("error_msg", "env-error without error_msg")))


class NetworkGymClient:
    """Client of one NetworkGym session over a transport.

    Args:
        transport: the connection to the server.
        timeout_s: how long to wait for each reply (NetworkGym's client waits 60 s).
        validate: fully validate every measurement (records' keys and types; slower).
        retry_delay_s: NetworkGym's broker answers a second env-start from the same identity with an
            env-error "...Mapping Exits..." and drops the mapping; the client then retries the env-start once
            after this delay, as NetworkGym's own ``reset()`` does, dropping any reply that arrived meanwhile
            (netgym-lite's server replaces the session instead, so no retry happens there).

    Attributes:
        last_ts: ts of the last measurement received (None before the first); action records must echo it.
        last_records: the records of the last measurement.
        last_workload_stats: the ``workload_stats`` of the last measurement ({} when absent).
        measurements: measurements received since :meth:`connect`.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 60.0,
        validate: bool = False,
        retry_delay_s: float = 1.0,
    ) -> None:
        self.transport = transport
        self.retry_delay_s = retry_delay_s
        self.timeout_s = timeout_s
        self.validate = validate
        self.last_ts: int | None = None
        self.last_records: list[dict] = []
        self.last_workload_stats: dict = {}
        self.measurements = 0

    def connect(self, env_config: Mapping[str, Any]) -> list[dict]:
        """Start a session: send env-start with ``env_config`` and return the records of measurement 1."""
        self.last_ts = None
        self.last_records = []
        self.measurements = 0
        start = m.env_start(env_config)
        self.transport.send(start)
        try:
            return self.recv_measurement()
        except NetgymError as e:
            if "mapping exits" not in str(e).lower():
                raise
        time.sleep(self.retry_delay_s)
        self._drain()
        self.transport.send(start)
        return self.recv_measurement()

    def _drain(self, limit: int = 1000) -> int:
        """Drop replies already queued (a NetworkGym worker told to stop may still have sent a measurement)."""
        for dropped in range(limit):
            try:
                self.transport.recv(0.0)
            except TransportTimeout:
                return dropped
        return limit

    def send_action(self, action_list: dict | list[dict]) -> None:
        """Send an env-action carrying one action record or a list of them."""
        self.transport.send(m.env_action(action_list))

    def recv_measurement(self) -> list[dict]:
        """Receive the next env-measurement and return its records (raises the typed error of an env-error)."""
        msg = self.transport.recv(self.timeout_s)
        mtype = m.message_type(msg)
        if mtype in (m.ENV_ERROR, m.NO_AVAILABLE_WORKER):
            raise error_from_message(msg)
        if mtype != m.ENV_MEASUREMENT:
            raise ProtocolError(f"type={mtype!r} is unexpected: allowed 'env-measurement' or 'env-error'")
        records = m.validate_measurement(msg) if self.validate else msg.get("network_stats")
        if not records:
            raise ProtocolError("network_stats=[] is invalid: allowed a non-empty list of records")
        self.last_ts = m.records_ts(records)
        self.last_records = records
        self.last_workload_stats = dict(msg.get("workload_stats") or {})
        self.measurements += 1
        return records

    def step(self, action_list: dict | list[dict]) -> list[dict]:
        """Send one action and return the next measurement's records."""
        self.send_action(action_list)
        return self.recv_measurement()

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()
