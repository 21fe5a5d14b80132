"""What every netgym-lite Gymnasium env shares: one NetworkGym session behind the Gymnasium API.

An env is a thin adapter over NetworkGym's protocol: it reaches the simulation only through
:class:`netgym_lite.ipc.NetworkGymClient`, by default over an in-memory transport to a private
:class:`netgym_lite.ipc.Server`, or over ZeroMQ to a ``netgym-lite serve`` / NetworkGym server. This module
holds the session rules (design.md §4: E episodes of L measurements, ``reset()`` continuing a session and
re-sending the last action, ``reset(seed)`` starting a new one); subclasses supply the NetworkGym env name,
the spaces and the three adapters (observation, reward, policy).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from netgym_lite.config import load_config, rl_config_of
from netgym_lite.errors import ActionError, ConfigError, SessionEnded
from netgym_lite.ipc.client import NetworkGymClient
from netgym_lite.ipc.server import Server
from netgym_lite.ipc.transport import Transport
from netgym_lite.records import swap_direction


class RecordIndex(tuple):
    """One measurement's records, as an immutable sequence that also looks records up by ``(source, name)``.

    Built once per measurement (one pass over the records), it replaces the linear scan of :func:`find_record`
    by a dict lookup in every adapter that reads the measurement. Being a tuple, it cannot go stale: it holds
    exactly the records it was built from, in order, and the first record of a ``(source, name)`` wins, as in
    the scan. Records that are not mappings, or whose source or name is unhashable, are skipped by the lookup
    (a scan would never match them either).
    """

    by_key: dict[tuple[Any, Any], Mapping[str, Any]]

    def __new__(cls, records: Sequence[Mapping[str, Any]], uplink_data: bool = False) -> RecordIndex:
        self = super().__new__(cls, records)
        try:  # reversed: the first record of a key is written last and wins
            self.by_key = {(rec["source"], rec["name"]): rec for rec in self[::-1]}
        except (LookupError, AttributeError, TypeError):
            # a record without source or name (looked up as None, like .get), that is not a mapping, or whose
            # source or name is unhashable
            by_key: dict[tuple[Any, Any], Mapping[str, Any]] = {}
            for rec in self:
                try:
                    by_key.setdefault((rec.get("source"), rec.get("name")), rec)
                except (AttributeError, TypeError):
                    continue
            self.by_key = by_key
        if uplink_data:
            # the adapters read the data direction under its downlink names (gma::dl::rate, …): with uplink
            # data that is what the records call gma::ul::rate (records.swap_direction)
            self.by_key = {(source, _swap_name(source, name)): rec for (source, name), rec in self.by_key.items()}
        return self


def _swap_name(source: Any, name: Any) -> Any:
    if source != "gma" or not isinstance(name, str):
        return name
    return swap_direction(f"gma::{name}")[5:]


def find_record(records: Sequence[Mapping[str, Any]], source: str, name: str) -> Mapping[str, Any] | None:
    """The first record with this ``source`` and ``name`` (None if the measurement has none).

    A :class:`RecordIndex` answers from its dict; any other sequence is scanned.
    """
    if type(records) is RecordIndex:
        return records.by_key.get((source, name))
    for rec in records:
        if rec.get("source") == source and rec.get("name") == name:
            return rec
    return None


_ORDERED_IDS: dict[int, list[int]] = {}


def _ordered_ids(num_users: int) -> list[int]:
    """``[1, ..., num_users]``, cached (compared against every record's ``id``)."""
    ids = _ORDERED_IDS.get(num_users)
    if ids is None:
        ids = _ORDERED_IDS[num_users] = list(range(1, num_users + 1))
    return ids


def _as_sent(rec: Mapping[str, Any], num_users: int) -> list | None:
    """The record's values when it is what the simulator sends (ids 1..N in order, N values), else None."""
    ids, values = rec.get("id"), rec.get("value")
    if type(ids) is list and type(values) is list and len(values) == num_users and ids == _ordered_ids(num_users):
        return values
    return None


def _converted(values: list, shape: tuple[int, ...]) -> np.ndarray | None:
    """``values`` as float64 of ``shape`` in one conversion, or None when that would not be exact: a None would
    become NaN, so any NaN (None or a real NaN) and any odd shape take the caller's value-by-value path."""
    try:
        out = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return out if out.shape == shape and not np.isnan(out).any() else None


def record_values(
    records: Sequence[Mapping[str, Any]], source: str, name: str, num_users: int, fill: float = -1.0
) -> np.ndarray:
    """Per-user values of one record as a float64 array of length ``num_users``, placed by user id (1..N).

    Users the record does not cover, ``null`` values and a missing record give ``fill``.
    """
    rec = find_record(records, source, name)
    if rec is None:
        return np.full(num_users, fill, dtype=np.float64)
    plain = _as_sent(rec, num_users)
    if plain is not None:
        out = _converted(plain, (num_users,))
        if out is not None:
            return out
    ids, values = rec.get("id", ()), rec.get("value", ())
    out = np.full(num_users, fill, dtype=np.float64)
    for uid, v in zip(ids, values, strict=False):
        try:
            i = int(uid) - 1
        except (TypeError, ValueError):
            continue
        if 0 <= i < num_users and v is not None:
            out[i] = float(v)
    return out


def record_rows(
    records: Sequence[Mapping[str, Any]], keys: Sequence[tuple[str, str]], num_users: int, fill: float = -1.0
) -> np.ndarray:
    """:func:`record_values` of several ``(source, name)`` keys stacked: ``(len(keys), num_users)`` float64.

    One conversion for all rows when every record is what the simulator sends (ids 1..N in order, N numbers);
    otherwise row by row, with exactly :func:`record_values`' rules.
    """
    rows = []
    for source, name in keys:
        rec = find_record(records, source, name)
        plain = None if rec is None else _as_sent(rec, num_users)
        if plain is None:
            break
        rows.append(plain)
    else:
        out = _converted(rows, (len(keys), num_users))
        if out is not None:
            return out
    out = np.empty((len(keys), num_users), dtype=np.float64)
    for row, (source, name) in enumerate(keys):
        out[row] = record_values(records, source, name, num_users, fill)
    return out


def check_action_array(action: Any, size: int | tuple[int, ...], allowed: str,
                       invalid: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """A Gymnasium action as float64 of shape ``(size,)`` (or ``size`` when it is a shape tuple), or None for the
    system default (empty list/array).

    ``invalid(arr)`` marks the bad entries; :class:`ActionError` names the first one (or the type or shape)
    with ``allowed``, the description of a good action."""
    if type(action) is np.ndarray and action.dtype.kind == "f":
        # what Gymnasium's Box samples and policies return: as np.asarray would convert it, minus the type checks
        arr = action if action.dtype == np.float64 else action.astype(np.float64)
    else:
        if action is None or isinstance(action, (str, bytes, Mapping)):
            raise ActionError(f"action={action!r} is invalid: allowed {allowed}")
        try:
            arr = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ActionError(f"action={action!r} is invalid ({e}): allowed {allowed}") from None
    if arr.size == 0:
        return None
    if arr.shape != (size if isinstance(size, tuple) else (size,)):
        raise ActionError(f"action shape {arr.shape} is invalid: allowed {allowed}")
    bad = invalid(arr)
    if bad.any():
        at = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        index = ", ".join(str(int(i)) for i in at)
        raise ActionError(f"action[{index}]={float(arr[at])!r} is invalid: allowed {allowed}")
    return arr


def observations_of_rows(rows: Mapping[tuple[str, str], np.ndarray], keys: Sequence[tuple[str, str]],
                         num_envs: int, num_users: int) -> np.ndarray:
    """The observation of many measurements at once, as the adapters build it from ``keys``' records (TrafficMgmt's
    :func:`~netgym_lite.envs.traffic_mgmt.get_observation`, ...): ``rows[key]`` holds a ``(num_envs, num_users)`` array
    of one record's values (a key missing = the record missing); ``(num_envs, len(keys), num_users)`` float32."""
    obs = np.zeros((num_envs, len(keys), num_users))
    for r, key in enumerate(keys):
        values = rows.get(key)
        if values is not None:
            obs[:, r, :] = values
    obs[~np.isfinite(obs) | (obs < 0)] = 0.0
    return obs.astype(np.float32)


def outside_unit_interval(arr: np.ndarray) -> np.ndarray:
    """Entries that are not finite numbers in [0, 1]."""
    return ~((arr >= 0.0) & (arr <= 1.0))  # NaN fails both comparisons, ±inf one


class NetworkGymEnv(gym.Env[np.ndarray, np.ndarray]):
    """Base class of netgym-lite's envs: one NetworkGym session per ``reset(seed)`` (see module docstring).

    Subclasses set :attr:`NETWORKGYM_ENV`, :attr:`REWARD_TYPES` (first = default) and implement
    :meth:`_make_spaces`, :meth:`_observation`, :meth:`_reward`, :meth:`_validate_action` and :meth:`_policy`.
    ``info`` carries ``network_stats`` (the raw records), ``ts`` (sim ms), ``step`` (1..L), ``episode_index``
    (1..E; ``episode`` is left to Gymnasium's and SB3's episode-statistics wrappers),
    ``measurement`` (1..L·E) and ``session_seed``.
    """

    NETWORKGYM_ENV: ClassVar[str] = ""
    REWARD_TYPES: ClassVar[tuple[str, ...]] = ()
    #: Full record keys the observation and reward read (the vector env builds only these).
    RECORD_KEYS: ClassVar[frozenset[str]] = frozenset()
    metadata = {"render_modes": ["ansi"], "render_fps": 10}

    def __init__(
        self,
        scenario: str | os.PathLike | Mapping | None = None,
        *,
        transport: Transport | None = None,
        render_mode: str | None = None,
        reward_type: str | None = None,
        server: str | None = None,
        session_name: str | None = None,
        session_key: str = "",
        client_id: int = 0,
        **overrides: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode={render_mode!r} is invalid: allowed None or one of {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.cfg = load_config(scenario, env=self.NETWORKGYM_ENV, **overrides)
        missing = self._unsubscribed_data_keys()
        if missing:
            subscribed = list(self.cfg.subscribed_network_stats) + missing
            self.cfg = load_config(scenario, env=self.NETWORKGYM_ENV,
                                   **{**overrides, "subscribed_network_stats": subscribed})
        self.env_config: dict = dict(self.cfg.raw)
        self.reward_type = self._resolve_reward_type(scenario, reward_type)
        self.num_users = self.cfg.num_users
        self.steps_per_episode = self.cfg.steps_per_episode
        self.measurements_per_session = self.cfg.measurements_per_session
        self._make_spaces()

        self._server: Server | None = None
        if server is not None:
            if transport is not None:
                raise ConfigError("server= and transport= are exclusive: allowed one of them")
            if session_name is None:
                raise ConfigError(
                    "session_name=None is invalid with server=: allowed your account name (the ZMQ PLAIN "
                    "username; the socket identity is '<session_name>-<client_id>')"
                )
            from netgym_lite.ipc.zmq_transport import ZmqTransport  # optional extra: pyzmq

            transport = ZmqTransport(
                server, session_name=session_name, session_key=session_key, client_id=client_id
            )
        elif transport is None:
            # Private in-memory server. Messages are handed over without copying: neither side keeps or
            # mutates them and the simulation builds fresh records every interval (check_env's
            # "data not reused" check pins this), which saves ~50 µs per step.
            self._server = Server()
            transport = self._server.connect(copy=False)
        self.client = NetworkGymClient(transport)

        self._records: list[dict] = []
        self._record_index = RecordIndex(())
        self._indexed: list[dict] | None = None  # the records _record_index was built from
        self._in_session = False  # a session is running (not yet terminated)
        self._ever_started = False
        self._step = 0  # measurement index within the episode, 1..L
        self._episode = 0
        self._measurement = 0  # measurement index within the session, 1..L·E
        self._session_seed: int | None = None
        self._last_action: Any = None  # validated; None = system default
        self._last_obs: np.ndarray | None = None

    # ------------------------------------------------------------------------------------------ subclass hooks
    def _make_spaces(self) -> None:
        """Set ``observation_space`` and ``action_space`` from ``self.cfg``."""
        raise NotImplementedError

    def _observation(self, records: list[dict]) -> np.ndarray:
        """Records → observation (inside ``observation_space``)."""
        raise NotImplementedError

    def _reward(self, records: list[dict]) -> float:
        """Records → reward for ``self.reward_type``."""
        raise NotImplementedError

    def _validate_action(self, action: Any) -> Any:
        """Check a Gymnasium action; return its validated form, or None for the system default."""
        raise NotImplementedError

    def _policy(self, action: Any) -> dict | list[dict]:
        """A validated action (or None) → the env-action's ``action_list``, templated on the last records."""
        raise NotImplementedError

    def _apply_to_sim(self, action: Any, sim: Any) -> None:
        """A validated action (or None) straight onto a :class:`~netgym_lite.sim.Simulation`, as the server
        would apply :meth:`_policy`'s records (the vector env's path)."""
        sim.set_wifi_split(action)

    # The vector envs' batch path (envs/vector.py). An env that implements these two gets all its sub-envs'
    # observations, rewards and actions in a few numpy operations instead of records built, indexed and read per
    # sub-env; its results must equal what the record path gives (tests/test_vector_env.py checks, step by step).
    def _observe_rows(self, rows: Mapping[tuple[str, str], np.ndarray],
                      num_envs: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Observations ``(num_envs, *obs_shape)`` and rewards ``(num_envs,)`` from the per-user rows the records
        would carry: ``rows[(source, name)]`` (the names the adapters read) is a ``(num_envs, num_users)``
        float64 array of the values as sent (rounded to 6 decimals); a key the records would not carry is
        absent. None: the env has no batch path (the vector env builds the records)."""
        return None

    def _validate_actions(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """All sub-envs' actions at once: (validated actions, one row per sub-env as :meth:`_validate_action`
        returns it; what each sub-env's simulation is to pend, one row per sub-env for :meth:`_apply_pending`).
        None: no batch path, or some action is invalid (the per-sub-env path then names it)."""
        return None

    def _apply_pending(self, pending: np.ndarray, sim: Any) -> None:
        """One row of :meth:`_validate_actions`' pending array onto its simulation: by default the action units
        :meth:`~netgym_lite.sim.Simulation.set_wifi_split` would have computed."""
        sim.set_action_units(pending)

    # ------------------------------------------------------------------------------------------ helpers
    def _unsubscribed_data_keys(self) -> list[str]:
        """With uplink data, the ``gma::…ul::`` keys the observation and reward read that a non-empty
        subscription leaves out: a scenario written for downlink data subscribes their ``dl`` names, which then
        carry the ACKs, so the env adds them (records are only added; nothing else changes)."""
        if self.cfg.downlink or not self.cfg.subscribed_network_stats:
            return []
        have = set(self.cfg.subscribed_network_stats)
        return sorted(key for key in map(swap_direction, self.RECORD_KEYS) if key not in have)

    def _resolve_reward_type(self, scenario: Any, reward_type: str | None) -> str:
        """The explicit argument, else the scenario's ``rl_config.reward_type`` when it names one of this env's
        rewards, else the env's default (NetworkGym's shipped configs often leave it ``""``)."""
        if reward_type is None:
            reward_type = rl_config_of(scenario, default_reward="")["reward_type"] or self.REWARD_TYPES[0]
            if reward_type not in self.REWARD_TYPES:
                raise ConfigError(
                    f"rl_config.reward_type={reward_type!r} is invalid for {self.NETWORKGYM_ENV}: "
                    f"allowed one of {', '.join(self.REWARD_TYPES)}"
                )
        if reward_type not in self.REWARD_TYPES:
            raise ConfigError(
                f"reward_type={reward_type!r} is invalid: allowed one of {', '.join(self.REWARD_TYPES)}"
            )
        return reward_type

    def _info(self) -> dict:
        return {
            "network_stats": self._records,
            "ts": self.client.last_ts,
            "step": self._step,
            "episode_index": self._episode,
            "measurement": self._measurement,
            "session_seed": self._session_seed,
        }

    @property
    def _index(self) -> RecordIndex:
        """The last records indexed by (source, name): one index per measurement serves the observation, the
        reward and the next action's template (rebuilt whenever ``_records`` is replaced)."""
        if self._indexed is not self._records:
            self._record_index = RecordIndex(self._records, uplink_data=not self.cfg.downlink)
            self._indexed = self._records
        return self._record_index

    def _observe(self, records: list[dict]) -> np.ndarray:
        self._records = records
        obs = self._observation(self._index)
        self._last_obs = obs
        return obs

    # ------------------------------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start a new session (seeded, first, or after termination) or the next episode of the running one."""
        super().reset(seed=seed)
        if seed is not None or not self._in_session:
            if seed is not None:
                session_seed = int(seed)
            elif not self._ever_started:
                session_seed = self.cfg.random_seed
            else:
                session_seed = int(self.np_random.integers(0, 2**31 - 1))
            self._in_session = False
            records = self.client.connect(dict(self.env_config, random_seed=session_seed))
            self._ever_started = True
            self._in_session = True
            self._session_seed = session_seed
            self._episode = 1
            self._measurement = 1
            self._last_action = None
        else:
            # Next episode of the same session: re-send the last action, templated on the latest measurement.
            records = self.client.step(self._policy(self._last_action))
            self._episode += 1
            self._measurement += 1
            if self._measurement >= self.measurements_per_session:
                self._in_session = False
        self._step = 1
        obs = self._observe(records)
        return obs, self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Send one action, receive the next measurement; see the class docstring for the episode rules."""
        if not self._ever_started:
            raise gym.error.ResetNeeded("call reset() before step()")
        if not self._in_session:
            raise SessionEnded(
                f"the session is over (all {self.measurements_per_session} measurements were received): "
                "call reset() to start a new session"
            )
        if self._step >= self.steps_per_episode:
            raise gym.error.ResetNeeded(
                f"the episode was truncated after {self.steps_per_episode} measurements: call reset() to "
                "start the next episode of this session"
            )
        validated = self._validate_action(action)
        records = self.client.step(self._policy(validated))
        self._last_action = validated
        self._step += 1
        self._measurement += 1
        terminated = self._measurement >= self.measurements_per_session
        truncated = terminated or self._step >= self.steps_per_episode
        if terminated:
            self._in_session = False
        obs = self._observe(records)
        reward = self._reward(self._index)
        return obs, reward, terminated, truncated, self._info()

    def close(self) -> None:
        """Close the connection (the private in-memory server drops the session)."""
        self.client.close()
        self._in_session = False
        if self._server is not None:
            self._server.close()
