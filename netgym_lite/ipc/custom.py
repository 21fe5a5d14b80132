"""Custom simulators: plug your own simulator or testbed in as NetworkGym's ``custom`` env.

NetworkGym lets a user connect their own simulator to its server as an env worker of the ``custom`` env (its
``network_gym_env`` package; design.md §4). netgym-lite does the same with far less to write: you implement the
simulation only, as a :class:`CustomSimulation` (two methods), and netgym-lite's worker machinery does the rest.

What you write::

    class MySim(CustomSimulation):
        def start(self, env_config: dict) -> list[dict]:
            ...  # set up from the client's env_config; return the records of measurement 1
        def step(self, actions: list[dict]) -> list[dict]:
            ...  # apply the action records, run one measurement interval; return its records
        def close(self) -> None:  # optional
            ...  # the session is over (completed, failed or abandoned): release the testbed

A record is ``{"source": str, "name": str, "id": [int, ...], "value": [one per id]}`` (design.md §5); you may leave
out ``ts`` (the worker stamps it) or set it to the interval's end (then it is checked). Anything JSON can carry
may be a value (numbers, null, strings, the per-cell ``{"slice": [...], "value": [...]}`` objects).

What netgym-lite does for you (the very :class:`~netgym_lite.ipc.session.Session` its own simulations run in):

* the southbound protocol: registration with env-hello every 5 s, reconnection, PLAIN login, one session at a time
  (:class:`~netgym_lite.ipc.zmq_worker.ZmqWorker` with ``custom=MySim``, or ``netgym-lite worker --custom
  module:MySim``), or no worker at all: ``netgym-lite serve --custom module:MySim`` runs it inside the server
  (in the server's loop, so only for simulations that step quickly; a real-time testbed belongs in a worker);
* the session rules: the timing keys of the env_config (:class:`CustomConfig`) are checked, exactly L·E
  measurements are sent, each stamped with its ``ts`` (``measurement_start_time_ms + k·interval``), then env-end;
  ``start`` is called once and ``step`` once per env-action; ``close`` once at the end, however the session ends;
* action checks: an ``action_list`` of one record or a list arrives at ``step`` as a list of dicts, each one's
  ``ts`` already checked to echo the last measurement (a stale one is an env-error and never reaches you); the
  records are otherwise as the client sent them (any keys; ``"value": []`` is the system-default action of
  NetworkGym's clients, a ``null`` value "no action for this id");
* subscriptions: records whose ``source::name`` is not in the env_config's ``subscribed_network_stats`` (when
  it is not empty) are left out of the measurement;
* record checks: what ``start``/``step`` return is validated (:func:`check_records`: a non-empty list, the five
  keys, integer ids, one value per id, JSON-serialisable) and a malformed record ends the session with an
  env-error naming the record and the problem;
* failures: an exception raised by your code (the factory, ``start``, ``step``) ends that session with an
  env-error naming the method and the exception; the worker logs the traceback and serves the next session.

A *factory* makes one simulation per session: any callable without arguments, usually the class itself.
:func:`load_factory` resolves the ``module:Name`` / ``path/to/file.py:Name`` strings the command line takes.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import json
import logging
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from netgym_lite.errors import (
    ActionError,
    ConfigError,
    NetgymError,
    ProtocolError,
    SimulationError,
    field_error,
)
from netgym_lite.ipc.messages import RECORD_KEYS, TABLE_2023_KEYS, as_record_list, missing_ts_error
from netgym_lite.ipc.southbound import CUSTOM_ENV

log = logging.getLogger(__name__)

#: NetworkGym's cap of ``max_wait_time_for_action_ms`` (values < 0 or above it mean the cap).
MAX_WAIT_MS = 600_000
MAX_COUNT = 10**9
MAX_TIME_MS = 10**12


class CustomSimulation:
    """Base class of a user's simulator or testbed behind netgym-lite's worker (see the module docstring).

    Subclassing is optional (any object with ``start`` and ``step`` works); it documents the contract. One
    instance serves one session: the factory is called for every env-start.
    """

    def start(self, env_config: dict) -> list[dict]:
        """Set up a session and return the records of its first measurement.

        Args:
            env_config: the client's env-start dict as sent (a copy): NetworkGym's custom ``config.json``
                ``env_config`` plus the keys its client adds (``env``, ``env_end_time_ms``), and any keys of
                your own. :meth:`CustomConfig.from_env_config` gives the session timing it implies.

        Returns:
            a non-empty list of records ``{"source", "name", "id", "value"[, "ts"]}``.
        """
        raise NotImplementedError

    def step(self, actions: list[dict]) -> list[dict]:
        """Apply one env-action and run one measurement interval.

        Args:
            actions: the action records (one record sent alone arrives as a list of one), ``ts`` already checked.

        Returns:
            the records of the next measurement, as for :meth:`start`.
        """
        raise NotImplementedError

    def close(self) -> None:
        """The session is over (all measurements sent, failed, or abandoned by its client). Default: nothing."""


#: Makes one simulation per session (usually the :class:`CustomSimulation` subclass itself).
CustomFactory = Callable[[], Any]


# ------------------------------------------------------------------------------------------------ config
def _int_field(env_config: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = env_config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or not lo <= int(value) <= hi:
        raise field_error(ConfigError, f"env_config.{key}", value, f"an integer in {lo}..{hi}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class CustomConfig:
    """The session timing of a ``custom`` env-start (what the worker needs; every other key is the user's).

    Attributes follow NetworkGym's keys and defaults: L = ``steps_per_episode`` (≥ 2), E = ``episodes_per_session``,
    the first measurement at ``measurement_start_time_ms`` + interval, interval = ``measurement_interval_ms`` +
    ``measurement_guard_interval_ms``; ``num_users`` is optional (0 when absent); ``subscribed_network_stats``
    (full names ``source::name``; empty = everything) filters the records the simulation returns. ``env_config``
    is a copy of the whole dict.
    """

    steps_per_episode: int = 10
    episodes_per_session: int = 5
    measurement_start_time_ms: int = 1000
    measurement_interval_ms: int = 100
    measurement_guard_interval_ms: int = 0
    max_wait_time_for_action_ms: int = MAX_WAIT_MS
    num_users: int = 0
    subscribed_network_stats: tuple[str, ...] = ()
    env: str = CUSTOM_ENV
    env_config: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def step_interval_ms(self) -> int:
        """Simulated time between two measurements (interval + guard)."""
        return self.measurement_interval_ms + self.measurement_guard_interval_ms

    @property
    def measurements_per_session(self) -> int:
        """L·E: the number of measurements the session sends."""
        return self.steps_per_episode * self.episodes_per_session

    @property
    def env_end_time_ms(self) -> int:
        """NetworkGym's session end: start + interval·(L·E + 1)."""
        return self.measurement_start_time_ms + self.step_interval_ms * (self.measurements_per_session + 1)

    def ts_of(self, k: int) -> int:
        """The ts of measurement ``k`` (1-based)."""
        return self.measurement_start_time_ms + k * self.step_interval_ms

    @classmethod
    def from_env_config(cls, env_config: Mapping[str, Any]) -> CustomConfig:
        """Check the timing keys of a custom env-start (ConfigError naming the field); other keys pass untouched."""
        if not isinstance(env_config, Mapping):
            raise field_error(ConfigError, "env_config", env_config, "a JSON object (dict)")
        if env_config.get("type", "env-start") != "env-start":
            raise field_error(ConfigError, "env_config.type", env_config.get("type"), "'env-start'")
        env = env_config.get("env", CUSTOM_ENV)
        if env != CUSTOM_ENV:
            raise field_error(ConfigError, "env_config.env", env, f"{CUSTOM_ENV!r} (this is a custom simulation)")
        wait = _int_field(env_config, "max_wait_time_for_action_ms", -1, -(10**12), 10**12)
        subscribed = env_config.get("subscribed_network_stats", [])
        if not isinstance(subscribed, list) or not all(isinstance(x, str) and x for x in subscribed):
            raise field_error(ConfigError, "env_config.subscribed_network_stats", subscribed,
                              'a list of stat names such as "test::measurement_1" (empty = everything)')
        cfg = cls(
            steps_per_episode=_int_field(env_config, "steps_per_episode", cls.steps_per_episode, 2, MAX_COUNT),
            episodes_per_session=_int_field(env_config, "episodes_per_session", cls.episodes_per_session, 1,
                                            MAX_COUNT),
            measurement_start_time_ms=_int_field(env_config, "measurement_start_time_ms",
                                                 cls.measurement_start_time_ms, 0, MAX_TIME_MS),
            measurement_interval_ms=_int_field(env_config, "measurement_interval_ms", cls.measurement_interval_ms,
                                               1, MAX_TIME_MS),
            measurement_guard_interval_ms=_int_field(env_config, "measurement_guard_interval_ms",
                                                     cls.measurement_guard_interval_ms, 0, MAX_TIME_MS),
            max_wait_time_for_action_ms=MAX_WAIT_MS if wait < 0 or wait > MAX_WAIT_MS else wait,
            num_users=_int_field(env_config, "num_users", 0, 0, 10**6),
            subscribed_network_stats=tuple(subscribed),
            env_config=copy.deepcopy(dict(env_config)),
        )
        if cfg.env_end_time_ms > MAX_TIME_MS:
            raise field_error(ConfigError, "env_config.steps_per_episode", cfg.steps_per_episode,
                              f"a session that ends by {MAX_TIME_MS} ms")
        if "env_end_time_ms" in env_config:
            end = _int_field(env_config, "env_end_time_ms", 0, 0, MAX_TIME_MS)
            if end != cfg.env_end_time_ms:
                raise field_error(ConfigError, "env_config.env_end_time_ms", end,
                                  f"measurement_start_time_ms + interval * (L*E + 1) = {cfg.env_end_time_ms} "
                                  "(or leave it out)")
        return cfg


# ------------------------------------------------------------------------------------------------ records
def _json_ok(value: Any) -> str | None:
    """None when ``value`` is strict JSON (no NaN/Infinity, only JSON types), else why not."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        return str(e)
    return None


def check_records(records: Any, ts: int, who: str = "custom simulation") -> list[dict]:
    """Validate what a custom simulation returned and return the records to send, ``ts`` stamped.

    Raises :class:`~netgym_lite.errors.SimulationError` naming the record (``network_stats[i]``, its
    ``source::name``) and the problem.
    """
    def bad(where: str, problem: str) -> SimulationError:
        return SimulationError(f"{who} returned a malformed measurement: {where} {problem}")

    if not isinstance(records, (list, tuple)) or not records:
        raise bad("network_stats", f"is {records!r}: allowed a non-empty list of records (NetworkGym's "
                                   "client treats an empty list as a failure)")
    out = []
    for i, rec in enumerate(records):
        where = f"network_stats[{i}]"
        if not isinstance(rec, Mapping):
            raise bad(where, f"is {rec!r}: allowed a record {{source, name, id, value[, ts]}}")
        if TABLE_2023_KEYS & rec.keys() and "id" not in rec:
            raise bad(where, f"has keys {sorted(rec)}: that is NetworkGym's 2023 measurement-table format "
                             "(cid, user, a nested '' column), not supported; allowed the last release's "
                             "records {source, name, id, ts, value}")
        if "source" in rec and "name" in rec:
            where = f"{where} ({rec['source']}::{rec['name']})"
        missing = [k for k in RECORD_KEYS if k not in rec and k != "ts"]
        if missing:
            raise bad(where, f"lacks {missing}: a record has the keys {list(RECORD_KEYS)} (ts optional)")
        extra = [k for k in rec if k not in RECORD_KEYS]
        if extra:
            raise bad(where, f"has extra keys {extra}: a record has exactly the keys {list(RECORD_KEYS)}")
        for key in ("source", "name"):
            if not isinstance(rec[key], str) or not rec[key]:
                raise bad(where, f"{key}={rec[key]!r}: allowed a non-empty string")
        ids, values = rec["id"], rec["value"]
        if not isinstance(ids, list) or not isinstance(values, list):
            raise bad(where, f"id={ids!r}, value={values!r}: allowed two lists (numpy arrays: use .tolist())")
        if len(ids) != len(values):
            raise bad(where, f"has {len(ids)} ids but {len(values)} values: allowed one value per id")
        clean_ids = []
        for j, uid in enumerate(ids):
            if isinstance(uid, bool) or not isinstance(uid, (int, float)) or not math.isfinite(uid) \
                    or uid != int(uid):
                raise bad(where, f"id[{j}]={uid!r}: allowed an integer")
            clean_ids.append(int(uid))
        if len(set(clean_ids)) != len(clean_ids):
            raise bad(where, f"id={ids!r} repeats an id: allowed each id once")
        if "ts" in rec and (isinstance(rec["ts"], bool) or rec["ts"] != ts):
            raise bad(where, f"ts={rec['ts']!r}: allowed {ts}, this interval's end (or leave ts out)")
        why = _json_ok(values)
        if why is not None:
            raise bad(where, f"value is not JSON ({why}): allowed numbers, null, strings, lists and dicts "
                             "(numpy: use .tolist(); no NaN or Infinity)")
        out.append({"source": rec["source"], "name": rec["name"], "id": clean_ids, "ts": ts, "value": values})
    return out


def action_records(action_list: Any, last_ts: int | None) -> list[dict]:
    """An env-action's ``action_list`` as a list of record dicts, each ``ts`` checked to echo ``last_ts``."""
    items = as_record_list(action_list, "one action record (dict) or a list")
    single = not isinstance(action_list, list)
    out = []
    for i, rec in enumerate(items):
        where = "action_list" if single else f"action_list[{i}]"
        if not isinstance(rec, Mapping):
            raise ActionError(f"{where}={rec!r} is invalid: allowed an action record (dict)")
        if "ts" not in rec:
            raise missing_ts_error(rec, where, last_ts)
        ts = rec["ts"]
        if last_ts is not None and (isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts != last_ts):
            raise ProtocolError(
                f"{where}.ts={ts!r} is stale: allowed only the ts of the last measurement sent ({last_ts})"
            )
        out.append(dict(rec))
    return out


# ------------------------------------------------------------------------------------------------ adapter
class CustomSimAdapter:
    """Drives one :class:`CustomSimulation` for a :class:`~netgym_lite.ipc.session.Session`.

    The session calls :meth:`advance` once per measurement (the first one calls ``start``, later ones ``step``
    with the actions :meth:`apply_action_list` stored) and :meth:`close` when it is dropped.
    """

    def __init__(self, cfg: CustomConfig, factory: CustomFactory) -> None:
        self.cfg = cfg
        self.num_users = cfg.num_users
        self._measurements = 0
        self._actions: list[dict] = []
        self._closed = False
        self.user_sim = self._call(factory, "factory")
        for method in ("start", "step"):
            if not callable(getattr(self.user_sim, method, None)):
                self._closed = True
                raise SimulationError(f"custom simulation {self._name()} has no {method}() method: allowed an "
                                      "object with start(env_config) and step(actions) (see CustomSimulation)")

    def _name(self) -> str:
        return type(self.user_sim).__name__

    def _call(self, fn: Callable, what: str, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as e:
            if isinstance(e, NetgymError):  # the simulation's own, descriptive error (e.g. a bad action)
                log.warning("custom simulation: %s raised %s: %s", what, type(e).__name__, e)
            else:
                log.exception("custom simulation: %s raised", what)
            self.close()
            label = getattr(fn, "__qualname__", what) if what == "factory" else f"{self._name()}.{what}()"
            raise SimulationError(f"custom simulation {label} raised {type(e).__name__}: {e}") from e

    def apply_action_list(self, action_list: Any, last_ts: int | None) -> None:
        """Check the action records' form and ts, and keep them for the next :meth:`advance`."""
        self._actions = action_records(action_list, last_ts)

    def advance(self) -> list[dict]:
        """Run the user's ``start`` (first call) or ``step`` and return the checked, ts-stamped records."""
        if self._closed:
            raise SimulationError(f"custom simulation {self._name()} is closed: allowed no more measurements")
        if self._measurements == 0:
            raw = self._call(self.user_sim.start, "start", copy.deepcopy(self.cfg.env_config))
        else:
            actions, self._actions = self._actions, []
            raw = self._call(self.user_sim.step, "step", actions)
        self._measurements += 1
        method = "start" if self._measurements == 1 else "step"
        who = f"custom simulation {self._name()}.{method}()"
        try:
            records = check_records(raw, self.cfg.ts_of(self._measurements), who)
            if self.cfg.subscribed_network_stats:
                wanted = set(self.cfg.subscribed_network_stats)
                kept = [r for r in records if f"{r['source']}::{r['name']}" in wanted]
                if not kept:
                    produced = sorted({f"{r['source']}::{r['name']}" for r in records})
                    raise SimulationError(f"{who} produced none of subscribed_network_stats="
                                          f"{list(self.cfg.subscribed_network_stats)} (it produced {produced}): "
                                          "network_stats must never be empty")
                records = kept
        except SimulationError:
            self.close()
            raise
        if self._measurements >= self.cfg.measurements_per_session:
            self.close()
        return records

    def close(self) -> None:
        """Call the user's ``close()`` once (its exceptions are logged, never raised)."""
        if self._closed:
            return
        self._closed = True
        user_close = getattr(getattr(self, "user_sim", None), "close", None)
        if callable(user_close):
            try:
                user_close()
            except Exception:
                log.exception("custom simulation %s.close() raised", self._name())


def session_options(factory: CustomFactory) -> dict[str, Any]:
    """The ``sim_factory`` and ``config_parser`` keywords of a :class:`~netgym_lite.ipc.session.Session` that runs
    ``factory``'s simulations."""
    if not callable(factory):
        raise field_error(ConfigError, "custom", factory, "a callable returning a CustomSimulation (e.g. its class)")
    return {
        "sim_factory": lambda cfg: CustomSimAdapter(cfg, factory),
        "config_parser": CustomConfig.from_env_config,
    }


# ------------------------------------------------------------------------------------------------ loading
def load_factory(spec: str) -> CustomFactory:
    """Resolve ``"package.module:Name"`` or ``"path/to/file.py:Name"`` to the factory it names (ConfigError)."""
    allowed = "'package.module:Name' or 'path/to/file.py:Name' naming a CustomSimulation class or factory"
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise field_error(ConfigError, "--custom", spec, allowed)
    module_part, _, attr_path = spec.rpartition(":")
    if not module_part or not attr_path:
        raise field_error(ConfigError, "--custom", spec, allowed)
    try:
        if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
            path = Path(module_part).resolve()
            if not path.is_file():
                raise field_error(ConfigError, "--custom", spec, f"{allowed} (no file {path})")
            name = f"netgym_lite_custom_{path.stem}"
            mod_spec = importlib.util.spec_from_file_location(name, path)
            assert mod_spec is not None and mod_spec.loader is not None
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_part)
    except ConfigError:
        raise
    except Exception as e:
        raise field_error(ConfigError, "--custom", spec, f"{allowed} (importing it raised "
                                                         f"{type(e).__name__}: {e})") from e
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise field_error(ConfigError, "--custom", spec, f"{allowed} ({module_part} has no {attr_path})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise field_error(ConfigError, "--custom", spec, f"{allowed} ({attr_path} is not callable)")
    return obj
