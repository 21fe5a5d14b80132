"""Server-side session: one client's NetworkGym session, owning one Simulation.

Session semantics (design.md §4, exact). A session runs E = ``episodes_per_session`` episodes of
L = ``steps_per_episode`` measurements:

* ``env-start`` → parse the env_config (:func:`netgym_lite.config.parse_env_config`), build the simulation,
  advance it once and send measurement 1, whose ts is ``measurement_start_time_ms + interval`` (1100 by
  default; interval = measurement interval + guard);
* each ``env-action`` → check its ts echoes the last measurement's ts, parse it into per-user Wi-Fi shares
  (NaN = system default; slicing: RBG caps per slice, rmcat: a sending rate per flow), apply them, advance one
  interval and send the next measurement (ts + interval); a simulation with ``apply_action_list`` (a custom one,
  :mod:`netgym_lite.ipc.custom`) reads the records itself;
* after exactly L·E measurements the session ends (env-end, kept internal); later actions get env-error
  "session ended".

Episodes are a client-side notion: the server only counts measurements. A bad message is answered with an
env-error and leaves the session where it was (the client may send a correct action); an exception inside
the simulation ends the session with an env-error. Nothing ever raises out of :meth:`Session.handle`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from netgym_lite.config_types import ScenarioConfig
from netgym_lite.errors import NetgymError, ProtocolError, SessionEnded, SimulationError
from netgym_lite.ipc import messages as m

log = logging.getLogger(__name__)


class SimulationLike(Protocol):
    """What a session needs from a simulation (see the contract in :mod:`netgym_lite.sim`)."""

    num_users: int

    def set_wifi_split(self, shares: np.ndarray) -> None:
        """Apply per-user Wi-Fi shares in [0, 1]; NaN = system default for that user."""
        ...

    def advance(self) -> list[dict]:
        """Run one measurement interval and return its records."""
        ...


SimFactory = Callable[[ScenarioConfig], SimulationLike]
ConfigParser = Callable[[dict], ScenarioConfig]


def default_sim_factory(cfg: ScenarioConfig) -> SimulationLike:
    """Build the real :class:`netgym_lite.sim.Simulation`, or :class:`netgym_lite.rmcat_sim.RmcatSimulation` for
    rmcat (imported lazily; ipc never imports models)."""
    if cfg.env == "rmcat":
        from netgym_lite.rmcat_sim import RmcatSimulation

        return RmcatSimulation(cfg)
    from netgym_lite.sim import Simulation

    return Simulation(cfg)


def default_config_parser(env_config: dict) -> ScenarioConfig:
    """Parse a wire env_config with :func:`netgym_lite.config.parse_env_config` (imported lazily)."""
    from netgym_lite.config import parse_env_config

    return parse_env_config(env_config)


#: Session states.
NEW, RUNNING, ENDED, FAILED = "new", "running", "ended", "failed"


class Session:
    """One NetworkGym session on the server side.

    Args:
        identity: the client identity this session belongs to (for messages and logs).
        sim_factory: ``cfg -> simulation``; default :func:`default_sim_factory`.
        config_parser: ``env_config dict -> ScenarioConfig``; default :func:`default_config_parser`.
        clock: wall clock in seconds (for ``workload_stats`` and idle detection).

    Attributes:
        state: ``"new"`` (waiting for env-start), ``"running"``, ``"ended"`` (all L·E measurements sent) or
            ``"failed"`` (env-start rejected or the simulation raised).
        measurements_sent: env-measurement messages sent so far.
        last_ts: ts of the last measurement sent (None before the first).
        end_message: the internal env-end message once the session is over, else None.
    """

    def __init__(
        self,
        identity: str = "",
        *,
        sim_factory: SimFactory | None = None,
        config_parser: ConfigParser | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.identity = identity
        self._sim_factory = sim_factory or default_sim_factory
        self._config_parser = config_parser or default_config_parser
        self._clock = clock
        self.state = NEW
        self.cfg: ScenarioConfig | None = None
        self.sim: SimulationLike | None = None
        self.measurements_sent = 0
        self.last_ts: int | None = None
        self.end_message: dict | None = None
        self.last_activity_s = clock()
        self._fail_reason = ""
        self._apply_action_list: Callable[[Any, int | None], None] | None = None

    # ------------------------------------------------------------------------------------------ queries
    @property
    def ended(self) -> bool:
        """True once the session sent its last measurement or failed."""
        return self.state in (ENDED, FAILED)

    @property
    def total_measurements(self) -> int:
        """L·E, the number of measurements this session sends (0 before env-start)."""
        return self.cfg.measurements_per_session if self.cfg is not None else 0

    def expired(self, now_s: float | None = None) -> bool:
        """True when the client has been silent longer than ``max_wait_time_for_action_ms``."""
        if self.cfg is None:
            return False
        now_s = self._clock() if now_s is None else now_s
        return (now_s - self.last_activity_s) * 1000.0 > self.cfg.max_wait_time_for_action_ms

    # ------------------------------------------------------------------------------------------ handling
    def handle(self, msg: Any) -> list[dict]:
        """Process one client message and return the replies (never raises)."""
        self.last_activity_s = self._clock()
        try:
            mtype = m.message_type(msg)
            if mtype == m.ENV_START:
                return self._start(msg)
            if mtype == m.ENV_ACTION:
                return self._act(msg)
            raise ProtocolError(
                f"type={mtype!r} is invalid from a client: allowed {m.ENV_START!r} or {m.ENV_ACTION!r}"
            )
        except SimulationError as e:  # the simulation itself failed: the session cannot go on
            return [self._fail(str(e))]
        except NetgymError as e:
            return [m.env_error(e)]
        except Exception as e:  # a fault in one session must never reach the server or other sessions
            log.exception("session %s: internal error", self.identity)
            return [self._fail(f"internal error: {type(e).__name__}: {e}")]

    def close(self) -> None:
        """Release the simulation: calls its optional ``close()`` (custom simulations); safe to call twice."""
        close = getattr(self.sim, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.exception("session %s: closing the simulation failed", self.identity)

    def _fail(self, reason: str) -> dict:
        self.state = FAILED
        self._fail_reason = reason
        self.end_message = m.env_end()
        return m.env_error(reason)

    def _start(self, env_config: dict) -> list[dict]:
        if self.state != NEW:
            raise ProtocolError(
                f"env-start on a session in state {self.state!r}: allowed only once per session "
                "(the server replaces the session on a new env-start)"
            )
        try:
            cfg = self._config_parser(dict(env_config))
        except NetgymError as e:
            self.state = FAILED
            self._fail_reason = str(e)
            raise
        self.cfg = cfg
        self.sim = self._sim_factory(cfg)
        self._apply_action_list = getattr(self.sim, "apply_action_list", None)
        self.state = RUNNING
        return [self._measure(cfg.measurement_start_time_ms + cfg.step_interval_ms)]

    def _act(self, msg: dict) -> list[dict]:
        if self.state == NEW:
            raise ProtocolError("env-action before env-start: allowed only after env-start started a session")
        if self.state == ENDED:
            raise SessionEnded(
                f"session ended: all {self.total_measurements} measurements were sent; send env-start "
                "for a new session"
            )
        if self.state == FAILED:
            raise SessionEnded(f"session ended after an error ({self._fail_reason}); send env-start")
        if "action_list" not in msg:
            raise ProtocolError("action_list is missing: an env-action carries one record or a list of records")
        assert self.sim is not None and self.cfg is not None
        if self._apply_action_list is not None:  # a simulation that reads the records itself (ipc.custom)
            self._apply_action_list(msg["action_list"], self.last_ts)
        elif self.cfg.env == "network_slicing":
            from netgym_lite.ipc.slicing_action import parse_slicing_action

            caps = parse_slicing_action(msg["action_list"], num_slices=max(len(self.cfg.slices), 1),
                                        last_ts=self.last_ts)
            self.sim.set_slice_allocation(caps)  # type: ignore[attr-defined]
        elif self.cfg.env == "rmcat":
            from netgym_lite.ipc.rmcat_action import parse_rmcat_action

            rates = parse_rmcat_action(msg["action_list"], num_flows=self.sim.num_users, last_ts=self.last_ts)
            self.sim.set_rates(rates)  # type: ignore[attr-defined]
        else:
            shares = m.parse_action(msg["action_list"], num_users=self.sim.num_users, last_ts=self.last_ts,
                                    links=self.cfg.links, uplink_data=not self.cfg.downlink)
            self.sim.set_wifi_split(shares)
        return [self._measure(self.cfg.step_interval_ms)]  # type: ignore[union-attr]

    def _measure(self, sim_lapse_ms: int) -> dict:
        """Advance the simulation one interval and build the env-measurement (ending the session after L·E)."""
        assert self.sim is not None and self.cfg is not None
        expected_ts = self.cfg.measurement_start_time_ms + self.cfg.step_interval_ms * (self.measurements_sent + 1)
        t0 = self._clock()
        records = self.sim.advance()
        lapse_ms = (self._clock() - t0) * 1000.0
        if not records:
            return self._fail("internal error: the simulation produced no records (network_stats must never be empty)")
        ts = records[0].get("ts") if isinstance(records[0], dict) else None
        if ts != expected_ts:
            return self._fail(f"internal error: the simulation's ts={ts!r} differs from the expected {expected_ts}")
        msg = m.env_measurement(
            records, {"time_lapse_ms": round(lapse_ms, 3), "sim_time_lapse_ms": int(sim_lapse_ms)}
        )
        self.measurements_sent += 1
        self.last_ts = expected_ts
        if self.measurements_sent >= self.cfg.measurements_per_session:
            self.state = ENDED
            self.end_message = m.env_end()
            log.debug("session %s: ended after %d measurements", self.identity, self.measurements_sent)
        return msg
