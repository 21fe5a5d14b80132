"""TrafficMgmt (NetworkGym's ``nqos_split``): split each user's downlink between Wi-Fi and LTE (and NR).

The environment is a thin adapter over NetworkGym's protocol: it reaches the simulation only through
:class:`netgym_lite.ipc.NetworkGymClient`, by default over an in-memory transport to a private
:class:`netgym_lite.ipc.Server`. The three adapter functions are public so users can build their own
observation or reward: :func:`get_observation`, :func:`get_reward`, :func:`get_policy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from netgym_lite.envs.base import (
    NetworkGymEnv,
    check_action_array,
    find_record,
    observations_of_rows,
    outside_unit_interval,
    record_rows,
    record_values,
)
from netgym_lite.errors import ConfigError
from netgym_lite.sim import split_units

__all__ = [
    "TrafficMgmtEnv",
    "find_record",
    "get_observation",
    "get_policy",
    "get_reward",
    "record_values",
    "validate_action",
    "validate_weights",
    "get_weight_policy",
]

#: The rewards of this env (design.md §6); the first is the default.
REWARD_TYPES = ("utility", "normalized_utility", "throughput", "delay")

#: (source, name) of the three observation rows, in order.
OBSERVATION_RECORDS = (("lte", "dl::max_rate"), ("wifi", "dl::max_rate"), ("gma", "dl::rate"))
#: The row a scenario with gNBs appends to the observation.
NR_OBSERVATION_RECORD = ("nr", "dl::max_rate")
_OBSERVATION_ROWS = {False: OBSERVATION_RECORDS, True: OBSERVATION_RECORDS + (NR_OBSERVATION_RECORD,)}
#: The record an action is templated on (its source, id and ts are copied).
TEMPLATE_RECORD = ("gma", "dl::rate")
#: (source, name) of the action record: full key ``gma::wifi::dl::split_ratio``.
ACTION_RECORD = ("gma", "wifi::dl::split_ratio")
#: (source, name) of the action record of a scenario with gNBs: full key ``gma::dl::split_weight``.
WEIGHT_ACTION_RECORD = ("gma", "dl::split_weight")

_LN_FLOOR = -10.0  # utility: ln of a non-positive value or of an empty mean
_NORM_FLOOR = 1e-9  # normalized_utility: max(1e-9, .) inside each ln
_MISSING_OWD_MS = 1000.0  # normalized_utility (and delay with no valid owd): a missing owd counts as 1 s


# ---------------------------------------------------------------------------------------------- adapters
def get_observation(records: Sequence[Mapping[str, Any]], num_users: int, nr: bool = False) -> np.ndarray:
    """Records → observation ``(3, N)`` float32: [LTE ``dl::max_rate``, Wi-Fi ``dl::max_rate``, gma ``dl::rate``]
    (with ``nr``, ``(4, N)``: NR ``dl::max_rate`` appended).

    Mbps, placed by user id. −1 ("no value"), any other negative or non-finite value and a missing record
    map to 0 so the observation stays inside ``Box(0, inf)`` (NetworkGym passes −1 through; a deliberate
    difference, design.md §5).
    """
    obs = record_rows(records, _OBSERVATION_ROWS[nr], num_users, fill=0.0)
    obs[~np.isfinite(obs) | (obs < 0)] = 0.0
    return obs.astype(np.float32)


def _values(records: Sequence[Mapping[str, Any]], source: str, name: str) -> np.ndarray:
    """A record's values in order as float64 (None → NaN); an empty array when the record is missing."""
    rec = find_record(records, source, name)
    if rec is None:
        return np.zeros(0)
    values = rec.get("value", ())
    if type(values) is list:
        # Fast path: numpy converts None to NaN and numbers as float() does; anything else (nested lists,
        # unconvertible objects) takes the per-value path, which raises as before.
        try:
            out = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            out = None
        if out is not None and out.ndim == 1:
            return out
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def get_reward(records: Sequence[Mapping[str, Any]], reward_type: str = "utility") -> float:
    """Records → reward (design.md §6), from gma ``dl::rate`` (Mbps), gma ``dl::owd`` (ms), the max rates.

    A user's owd is valid when it is finite and ≥ 0 (−1 = no value); rates below 0 count as 0.

    * ``utility`` = 0.5·ln(mean_u rate_u) − 0.5·ln(mean_u owd_u) (owd mean over users with a valid owd);
      each ln of a non-positive value or of an empty mean is replaced by −10; the result is clipped to
      [−10, 10].
    * ``normalized_utility`` = ln(max(1e-9, mean_u rate_u / (lte_max_u + wifi_max_u)))
      − ln(max(1e-9, mean_u owd_u / 1000)); a zero capacity counts as infinite (ratio 0), a missing owd as
      1000 ms; not clipped.
    * ``throughput`` = mean_u rate_u (Mbps).
    * ``delay`` = −mean owd over users with a valid owd (ms); −1000 when no user has one.
    """
    rate = _values(records, "gma", "dl::rate")
    owd = _values(records, "gma", "dl::owd")
    lte = wifi = None
    if reward_type == "normalized_utility":
        lte = _values(records, "lte", "dl::max_rate")
        wifi = _values(records, "wifi", "dl::max_rate")
    return reward_of_values(rate, owd, reward_type, lte, wifi)


def reward_of_values(rate: np.ndarray, owd: np.ndarray, reward_type: str = "utility", lte: np.ndarray | None = None,
                     wifi: np.ndarray | None = None) -> float:
    """:func:`get_reward` from the records' values: per-user float64 arrays of gma ``dl::rate``, gma ``dl::owd``
    and (``normalized_utility`` only) LTE and Wi-Fi ``dl::max_rate``; a missing record is an empty array."""
    if reward_type == "utility" and rate.size < _PAIRWISE_BLOCK and owd.size < _PAIRWISE_BLOCK:
        return _few_users_utility(rate, owd)
    rate = np.where(np.isfinite(rate) & (rate > 0), rate, 0.0)
    valid = np.isfinite(owd) & (owd >= 0)
    # np.add.reduce(x) / n is exactly what ndarray.mean() computes, without its Python-level dispatch (~2 µs)
    mean_rate = float(np.add.reduce(rate) / rate.size) if rate.size else 0.0

    if reward_type == "utility":
        ln_rate = math.log(mean_rate) if mean_rate > 0 else _LN_FLOOR
        valid_owd = owd[valid]
        mean_owd = float(np.add.reduce(valid_owd) / valid_owd.size) if valid_owd.size else 0.0
        ln_owd = math.log(mean_owd) if mean_owd > 0 else _LN_FLOOR
        return float(min(max(0.5 * ln_rate - 0.5 * ln_owd, -10.0), 10.0))  # np.clip on a scalar costs ~3 µs
    if reward_type == "normalized_utility":
        n = rate.size
        cap = np.zeros(n)
        for arr in (lte, wifi):
            if arr is not None and arr.size == n:
                cap += np.where(np.isfinite(arr) & (arr > 0), arr, 0.0)
        ratio = np.divide(rate, cap, out=np.zeros(n), where=cap > 0)  # zero capacity = infinite → 0
        mean_ratio = float(ratio.mean()) if n else 0.0
        owd_all = np.where(valid, owd, _MISSING_OWD_MS) if owd.size else np.full(n, _MISSING_OWD_MS)
        mean_owd_s = float(owd_all.mean()) / 1000.0 if owd_all.size else 1.0
        return float(math.log(max(_NORM_FLOOR, mean_ratio)) - math.log(max(_NORM_FLOOR, mean_owd_s)))
    if reward_type == "throughput":
        return mean_rate
    if reward_type == "delay":
        return -float(owd[valid].mean()) if valid.any() else -_MISSING_OWD_MS
    raise ConfigError(f"reward_type={reward_type!r} is invalid: allowed one of {', '.join(REWARD_TYPES)}")


_PAIRWISE_BLOCK = 8  # numpy adds fewer values than this one after the other (its pairwise sum's plain loop)


def _numpy_small_sum(values: list[float]) -> float:
    """``np.add.reduce`` of fewer than 8 float64 values, bit for bit: numpy starts from -0.0, adds them in order,
    and adds the result to the reduction's initial 0.0."""
    total = -0.0
    for v in values:
        total += v
    return 0.0 + total


def _few_users_utility(rate: np.ndarray, owd: np.ndarray) -> float:
    """The ``utility`` reward of fewer than 8 users' rates and delays (as :func:`_values` reads them) with Python
    floats, numpy's per-call overhead being most of the cost there: exactly the value of :func:`get_reward`'s
    numpy path."""
    inf = math.inf
    rates = [v if 0.0 < v < inf else 0.0 for v in rate.tolist()]  # NaN, ±inf and v <= 0 count as 0
    mean_rate = _numpy_small_sum(rates) / len(rates) if rates else 0.0
    valid = [v for v in owd.tolist() if 0.0 <= v < inf]  # finite and >= 0
    mean_owd = _numpy_small_sum(valid) / len(valid) if valid else 0.0
    ln_rate = math.log(mean_rate) if mean_rate > 0 else _LN_FLOOR
    ln_owd = math.log(mean_owd) if mean_owd > 0 else _LN_FLOOR
    return float(min(max(0.5 * ln_rate - 0.5 * ln_owd, -10.0), 10.0))


def validate_action(action: Any, num_users: int) -> np.ndarray | None:
    """Check a Gymnasium action; return the Wi-Fi shares (float64, shape (N,)) or None for the system default.

    An empty list/array is the system default. Anything else must be N finite numbers in [0, 1];
    otherwise :class:`ActionError` names the index, the value and what is allowed.
    """
    allowed = f"an array of shape ({num_users},) of Wi-Fi shares in [0, 1], or [] for the system default"
    return check_action_array(action, num_users, allowed, outside_unit_interval)


def validate_weights(action: Any, num_users: int, links: Sequence[str]) -> np.ndarray | None:
    """Check a per-user link-weight action ``(N, L)`` (L = ``len(links)``, link-id order); return shares
    ``(N, 3)`` of [wifi, nr, lte] (rows normalised, an all-zero row = all on the first link) or None for the
    system default (an empty list/array)."""
    allowed = (f"an array of shape ({num_users}, {len(links)}) of link weights in [0, 1] "
               f"[{', '.join(links)}] per user, or [] for the system default")
    weights = check_action_array(action, (num_users, len(links)), allowed, outside_unit_interval)
    if weights is None:
        return None
    total = weights.sum(axis=1)
    shares = np.zeros((num_users, 3))
    for k, name in enumerate(links):
        shares[:, LINK_COLUMNS[name]] = np.divide(weights[:, k], total, out=np.zeros(num_users), where=total > 0)
    shares[total == 0, LINK_COLUMNS[links[0]]] = 1.0
    return shares


LINK_COLUMNS = {"wifi": 0, "nr": 1, "lte": 2}  # columns of the (N, 3) shares [wifi, nr, lte]


def get_weight_policy(shares: np.ndarray | None, template_record: Mapping[str, Any],
                      links: Sequence[str]) -> dict:
    """Shares ``(N, 3)`` [wifi, nr, lte] (or None) → the ``gma::dl::split_weight`` record: one row of weights
    per user over ``links`` (link-id order, each row summing to 1), ``[]`` for the system default."""
    ids = list(template_record["id"])
    cols = [LINK_COLUMNS[name] for name in links]
    value = [] if shares is None else [[float(shares[int(uid) - 1, c]) for c in cols] for uid in ids]
    return {"source": template_record.get("source", WEIGHT_ACTION_RECORD[0]), "name": WEIGHT_ACTION_RECORD[1],
            "id": ids, "ts": template_record["ts"], "value": value}


def get_policy(action: Any, template_record: Mapping[str, Any]) -> dict:
    """Action → the ``gma::wifi::dl::split_ratio`` action record, templated on a ``gma::dl::rate`` record.

    ``source``, ``id`` and ``ts`` are copied from the template; ``name`` is ``wifi::dl::split_ratio`` and
    ``value`` the Wi-Fi share of each id (user id k takes ``action[k-1]``), or ``[]`` for the system default
    (``action`` None or empty). The action is not range-checked here (see :func:`validate_action`).
    """
    ids = list(template_record["id"])
    arr = None if action is None else np.asarray(action, dtype=np.float64)
    if arr is None or arr.size == 0:
        value: list = []
    else:
        value = [float(arr[int(uid) - 1]) for uid in ids]
    return {
        "source": template_record.get("source", ACTION_RECORD[0]),
        "name": ACTION_RECORD[1],
        "id": ids,
        "ts": template_record["ts"],
        "value": value,
    }


# ---------------------------------------------------------------------------------------------- the env
class TrafficMgmtEnv(NetworkGymEnv):
    """
    ## Description

    Multi-access traffic splitting, NetworkGym's ``nqos_split`` environment re-created in process.
    N users each download over two links at once, LTE (from one eNB) and Wi-Fi (from the nearest of the APs),
    joined by the GMA convergence layer. Every measurement interval (100 ms of simulated time by default) the
    agent sets, per user, the share of that user's downlink traffic sent over Wi-Fi; the rest goes over LTE.
    GMA quantises the share to integer units of its split burst (32 units for ``mx_algorithm`` "gma", so the
    reported ``split_ratio`` moves in 3.125 % steps). The goal is high throughput at low one-way delay.
    Users walk randomly, so link capacities change over time. Defaults (design.md §6): 4 users, eNB at
    (0, 0), APs at (15, 0) and (35, 0), TCP downloads, LTE 10 MHz (50 RBs), 802.11ax 20 MHz.

    The environment talks NetworkGym's JSON protocol: each step sends an ``env-action`` and receives an
    ``env-measurement`` through :class:`netgym_lite.ipc.NetworkGymClient` (in memory by default; pass
    ``server="tcp://HOST:8088", session_name=..., session_key=..., client_id=...`` to talk to a
    ``netgym-lite serve`` or NetworkGym server over ZeroMQ, or ``transport=`` to use another). The adapters :func:`get_observation`, :func:`get_reward` and
    :func:`get_policy` are public module functions, to reuse in custom observations and rewards.

    ## Action Space

    The action is a ``ndarray`` with shape ``(N,)``, ``Box(0, 1, (N,), float32)``: the Wi-Fi share of each
    user's downlink (LTE gets ``1 − share``). It is sent as one ``gma::wifi::dl::split_ratio`` record
    templated on the last ``gma::dl::rate`` record (its ``source``, ``id`` and ``ts`` copied).

    | Num   | Action                       | Min | Max |
    |-------|------------------------------|-----|-----|
    | 0     | Wi-Fi share of user 1        | 0.0 | 1.0 |
    | ...   | ...                          |     |     |
    | N − 1 | Wi-Fi share of user N        | 0.0 | 1.0 |

    ``env.step([])`` (an empty list or array) is the **system default**: it is sent as the record with
    ``"value": []`` and GMA's own delay-based algorithm decides. A wrong shape, NaN/inf or a value outside
    [0, 1] raises :class:`~netgym_lite.errors.ActionError` naming the index and value.

    **With gNBs** (``nr_gnb_locations`` non-empty, e.g. NetworkGym's unified ``nqos_split`` config) every user
    also has an NR link, and the action is ``Box(0, 1, (N, L), float32)``: per user, one weight per link it
    has, in NetworkGym's link-id order — Wi-Fi, NR, LTE (L = 3; L = 2 [NR, LTE] without APs). Each row is
    normalised (an all-zero row puts everything on the first link, Wi-Fi) and sent as one
    ``gma::dl::split_weight`` record; GMA turns the shares into integer units of its split burst (largest
    remainders). ``env.step([])`` is the system default, which balances delay over all the links.

    ## Observation Space

    The observation is a ``ndarray`` with shape ``(3, N)``, ``Box(0, inf, (3, N), float32)``; column ``u``
    is user ``u + 1``. A record value of −1 ("no value this interval") is reported as 0.

    | Index  | Observation                                                   | Unit | Min | Max |
    |--------|---------------------------------------------------------------|------|-----|-----|
    | [0, u] | LTE max rate (``lte::dl::max_rate``: rate with all RBs)       | Mbps | 0   | Inf |
    | [1, u] | Wi-Fi max rate (``wifi::dl::max_rate``: PHY rate to its AP)   | Mbps | 0   | Inf |
    | [2, u] | delivered throughput (``gma::dl::rate``, after reordering)    | Mbps | 0   | Inf |
    | [3, u] | with gNBs only: NR max rate (``nr::dl::max_rate``: all symbols) | Mbps | 0   | Inf |

    Row 3 is 0 when the scenario's ``subscribed_network_stats`` leaves ``nr::dl::max_rate`` out (NetworkGym's
    unified config subscribes ``nr::cell_id`` only; pass ``subscribed_network_stats=[]`` for everything).

    ## Rewards

    Chosen by ``reward_type`` (default: the scenario's ``rl_config.reward_type``, else ``"utility"``); see
    :func:`get_reward`. ``rate`` is ``gma::dl::rate`` (Mbps), ``owd`` is ``gma::dl::owd`` (ms); owd means
    are over users with a valid owd (−1 = no packet delivered; NetworkGym averages the −1 in — a deliberate
    difference).

    - ``utility``: ``0.5·ln(mean rate) − 0.5·ln(mean owd)``, each ln of a non-positive value or empty mean
      replaced by −10, clipped to [−10, 10].
    - ``normalized_utility`` (the NeurIPS 2024 offline-RL study): ``ln(max(1e-9, mean(rate/(lte_max +
      wifi_max)))) − ln(max(1e-9, mean(owd)/1000))``, a zero capacity counted as infinite, a missing owd as
      1000 ms; not clipped.
    - ``throughput``: mean rate (Mbps).
    - ``delay``: −mean owd (ms); −1000 when no user has a valid owd.

    ## Starting State

    Users start at uniformly random positions in the configured area (or at ``user_locations``) and all
    downlink traffic starts on Wi-Fi. The simulation runs ``measurement_start_time_ms`` (1000 ms) plus one
    interval before the first observation, whose ``info["ts"]`` is 1100 by default. Randomness comes only from
    the session's ``random_seed``.

    ## Episode End

    NetworkGym's session semantics (design.md §4): a session is E = ``episodes_per_session`` episodes of
    L = ``steps_per_episode`` measurements; the first ``reset()`` receives measurement 1.

    1. Truncation: the L-th measurement of an episode (one reset plus L − 1 steps). A later ``reset()``
       without a seed continues the same session (same simulation): it re-sends the last action and returns
       the next measurement as step 1 of the next episode.
    2. Termination: the session's last measurement (L·E in all). ``terminated`` and ``truncated`` are then
       both True; stepping further raises :class:`~netgym_lite.errors.SessionEnded`, and ``reset()`` starts
       a new session with a seed drawn from the env's RNG.

    ``reset(seed=s)`` always ends the running session and starts a new one with ``random_seed = s``: the same
    seed gives the same run. The first ``reset()`` without a seed uses the scenario's ``random_seed`` (2).
    ``info`` carries ``network_stats`` (the raw records), ``ts`` (sim ms), ``step`` (1..L), ``episode_index``,
    ``measurement`` (1..L·E) and ``session_seed``.

    ## Arguments

    ```python
    >>> import gymnasium as gym, netgym_lite
    >>> env = gym.make("netgym-lite/TrafficMgmt-v0", num_users=4, steps_per_episode=20)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (3, 4)

    ```

    | Parameter     | Type                | Default                           | Description                                          |
    |---------------|---------------------|-----------------------------------|------------------------------------------------------|
    | `scenario`    | **str, dict, None** | `scenarios/traffic_mgmt.json`     | NetworkGym config (file path, shipped name or dict; whole config or only `env_config`) |
    | `reward_type` | **str, None**       | scenario's `rl_config`, "utility" | one of "utility", "normalized_utility", "throughput", "delay" |
    | `transport`   | **Transport, None** | private in-memory server          | connection to a NetworkGym(-compatible) server        |
    | `server`      | **str, None**       | `None`                            | ZMQ endpoint of a `netgym-lite serve` or NetworkGym server, e.g. "tcp://127.0.0.1:8088" (needs `pip install 'netgym-lite[zmq]'`) |
    | `session_name`| **str, None**       | `None`                            | with `server`: account name (PLAIN username)          |
    | `session_key` | **str**             | `""`                              | with `server`: account password (PLAIN password; required, any value without an accounts file) |
    | `client_id`   | **int**             | `0`                               | with `server`: instance number; identity `"<session_name>-<client_id>"` |
    | `render_mode` | **str, None**       | `None`                            | "ansi": `render()` returns a text table              |
    | `**overrides` | env_config keys     |                                   | merged on top of the scenario, nested dicts key by key, e.g. `num_users=8`, `lte={"resource_block_num": 25}` |

    ## Vectorized environment

    Use Gymnasium's ``gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=k, vectorization_mode="sync")``
    (or "async"); each sub-environment owns its own session.

    ## Version History

    * v0: Initial version: NetworkGym ``nqos_split`` semantics, obs (3, N), Wi-Fi share action, four rewards.
      Scenarios with gNBs (``nr_gnb_locations``, NetworkGym's unified config) add the NR link: action
      ``(N, L)`` link weights, obs ``(4, N)``.
    """

    NETWORKGYM_ENV = "nqos_split"
    REWARD_TYPES = REWARD_TYPES
    RECORD_KEYS = frozenset({"lte::dl::max_rate", "wifi::dl::max_rate", "gma::dl::rate", "gma::dl::owd",
                             "nr::dl::max_rate"})

    def _make_spaces(self) -> None:
        self.has_nr = self.cfg.has_nr
        self.links = self.cfg.links
        rows = len(OBSERVATION_RECORDS) + (1 if self.has_nr else 0)
        self.observation_space = spaces.Box(0.0, np.inf, (rows, self.num_users), np.float32)
        shape = (self.num_users, len(self.links)) if self.has_nr else (self.num_users,)
        self.action_space = spaces.Box(0.0, 1.0, shape, np.float32)

    def _template(self) -> dict:
        rec = find_record(self._index, *TEMPLATE_RECORD)
        if rec is not None:
            return rec  # type: ignore[return-value]
        # gma::dl::rate not subscribed: build an equivalent template.
        return {
            "source": TEMPLATE_RECORD[0],
            "name": TEMPLATE_RECORD[1],
            "id": list(range(1, self.num_users + 1)),
            "ts": self.client.last_ts,
            "value": [],
        }

    def _observation(self, records: list[dict]) -> np.ndarray:
        return get_observation(records, self.num_users, self.has_nr)

    def _reward(self, records: list[dict]) -> float:
        return get_reward(records, self.reward_type)

    def _validate_action(self, action: Any) -> np.ndarray | None:
        if self.has_nr:
            return validate_weights(action, self.num_users, self.links)
        return validate_action(action, self.num_users)

    def _observe_rows(self, rows: Mapping[tuple[str, str], np.ndarray],
                      num_envs: int) -> tuple[np.ndarray, np.ndarray]:
        obs = observations_of_rows(rows, _OBSERVATION_ROWS[self.has_nr], num_envs, self.num_users)
        empty = np.zeros((num_envs, 0))
        rate, owd = rows.get(("gma", "dl::rate"), empty), rows.get(("gma", "dl::owd"), empty)
        lte, wifi = rows.get(("lte", "dl::max_rate"), empty), rows.get(("wifi", "dl::max_rate"), empty)
        rewards = np.array([reward_of_values(rate[i], owd[i], self.reward_type, lte[i], wifi[i])
                            for i in range(num_envs)])
        return obs, rewards

    def _validate_actions(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.has_nr or actions.dtype.kind not in "fiu" or actions.shape[1:] != (self.num_users,):
            return None
        shares = actions.astype(np.float64)  # as validate_action converts each row
        if outside_unit_interval(shares).any():
            return None
        return shares, split_units(shares, int(self.cfg.gma.split_burst))  # as Simulation.set_wifi_split

    def _policy(self, action: np.ndarray | None) -> dict:
        if self.has_nr:
            return get_weight_policy(action, self._template(), self.links)
        return get_policy(action, self._template())

    def render(self) -> str | None:
        """``render_mode="ansi"``: a text table of the last observation (None otherwise)."""
        if self.render_mode != "ansi":
            return None
        lines = [
            f"ts={self.client.last_ts} ms  episode {self._episode} step {self._step}/{self.steps_per_episode}",
            "user  lte_max_mbps  wifi_max_mbps  rate_mbps",
        ]
        if self._last_obs is not None:
            for u in range(self.num_users):
                lte, wifi, rate = self._last_obs[:3, u]
                lines.append(f"{u + 1:>4}  {lte:>12.2f}  {wifi:>13.2f}  {rate:>9.2f}")
        return "\n".join(lines) + "\n"
