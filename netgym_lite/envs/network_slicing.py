"""NetworkSlicing (NetworkGym's ``network_slicing``): share one LTE cell's resource block groups among slices.

Adapters are public module functions, as in TrafficMgmt: :func:`get_observation`, :func:`get_reward`,
:func:`action_to_rbgs` and :func:`get_policy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from netgym_lite.config_types import rbg_count
from netgym_lite.envs.base import (
    NetworkGymEnv,
    check_action_array,
    find_record,
    outside_unit_interval,
    record_values,
)
from netgym_lite.errors import ConfigError
from netgym_lite.sim import capped_rbgs

__all__ = ["NetworkSlicingEnv", "action_to_rbgs", "get_observation", "get_policy", "get_reward",
           "validate_action"]

REWARD_TYPES = ("slicing",)
#: The record the action is templated on (NetworkGym's slicing client uses it as its action format).
TEMPLATE_RECORD = ("lte", "dl::cell::max_rate")
#: Action record names in [dedicated, prioritized, shared] order (source "lte").
ACTION_NAMES = ("drb_allocation", "prb_allocation", "srb_allocation")
OBSERVATION_ROWS = ("throughput_mbps", "rb_usage_share", "delay_violation_share", "max_delay_ms", "mean_delay_ms")


# ---------------------------------------------------------------------------------------------- adapters
def cell_values(records: Sequence[Mapping[str, Any]], source: str, name: str, num_slices: int,
                fill: float = -1.0) -> np.ndarray:
    """Per-slice values of a per-cell record (cell id 1) as float64[num_slices], placed by slice id.

    Slices the record does not cover, ``null`` values and a missing record give ``fill``.
    """
    out = np.full(num_slices, fill, dtype=np.float64)
    rec = find_record(records, source, name)
    if rec is None:
        return out
    for cell_id, entry in zip(rec.get("id", ()), rec.get("value", ()), strict=False):
        if cell_id != 1 or not isinstance(entry, Mapping):
            continue
        for sl, v in zip(entry.get("slice", ()), entry.get("value", ()), strict=False):
            if isinstance(sl, (int, float)) and 0 <= int(sl) < num_slices and v is not None:
                out[int(sl)] = float(v)
    return out


def _user_slices(records: Sequence[Mapping[str, Any]], num_users: int, default: Sequence[int]) -> np.ndarray:
    reported = record_values(records, "lte", "slice_id", num_users, fill=-1.0)
    return np.where(reported >= 0, reported, np.asarray(default, dtype=np.float64)).astype(np.int64)


def get_observation(records: Sequence[Mapping[str, Any]], num_slices: int, num_users: int,
                    slice_of_user: Sequence[int]) -> np.ndarray:
    """Records → observation ``(5, S)`` float32, one column per slice:

    0. throughput (``gma::dl::cell::rate``, Mbps); 1. RB usage share (``lte::dl::cell::rb_usage`` / 100);
    2. delay-violation share (``gma::dl::cell::delay_violation`` / 100: delivered packets over the delay bound);
    3. max delay (max of the slice's users' ``gma::dl::max_owd``, ms); 4. mean delay (mean of the slice's
    users' ``gma::dl::owd``, ms). Users are placed in slices by ``lte::slice_id`` (else ``slice_of_user``);
    −1 ("no value"), negative and non-finite values and missing records map to 0.
    """
    obs = np.zeros((len(OBSERVATION_ROWS), num_slices), dtype=np.float64)
    obs[0] = cell_values(records, "gma", "dl::cell::rate", num_slices, fill=0.0)
    obs[1] = cell_values(records, "lte", "dl::cell::rb_usage", num_slices, fill=0.0) / 100.0
    obs[2] = cell_values(records, "gma", "dl::cell::delay_violation", num_slices, fill=0.0) / 100.0
    slices = _user_slices(records, num_users, slice_of_user)
    max_owd = record_values(records, "gma", "dl::max_owd", num_users)
    owd = record_values(records, "gma", "dl::owd", num_users)
    _slice_delays(max_owd, owd, slices, obs[3], obs[4])
    obs[~np.isfinite(obs) | (obs < 0)] = 0.0
    return obs.astype(np.float32)


def _slice_delays(max_owd: np.ndarray, owd: np.ndarray, slices: np.ndarray, max_out: np.ndarray,
                  mean_out: np.ndarray) -> None:
    """Per slice: the max of its users' valid ``max_owd`` and the mean of their valid ``owd`` (0 when none is
    valid: finite and ≥ 0), into ``max_out`` and ``mean_out``."""
    valid_max_owd = np.isfinite(max_owd) & (max_owd >= 0)
    valid_owd = np.isfinite(owd) & (owd >= 0)
    for sl in range(max_out.size):
        mine = slices == sl
        valid_max = max_owd[mine & valid_max_owd]
        valid = owd[mine & valid_owd]
        max_out[sl] = valid_max.max() if valid_max.size else 0.0
        mean_out[sl] = valid.mean() if valid.size else 0.0


_SEQUENTIAL_SUM = 8  # numpy adds fewer values than this one after the other (its pairwise sum's plain loop)


def _slice_delays_batch(max_owd: np.ndarray, owd: np.ndarray, slices: np.ndarray, max_out: np.ndarray,
                        mean_out: np.ndarray) -> None:
    """:func:`_slice_delays` of many measurements (rows) at once, for fewer than 8 users: numpy then sums a slice's
    valid delays one after the other, so summing a whole row with the others' delays replaced by +0.0 gives the
    same bits (valid delays are ≥ 0: adding +0.0 changes none of the partial sums)."""
    valid_max_owd = np.isfinite(max_owd) & (max_owd >= 0)
    valid_owd = np.isfinite(owd) & (owd >= 0)
    for sl in range(max_out.shape[1]):
        mine = slices == sl
        take_max = mine & valid_max_owd
        take = mine & valid_owd
        counts = np.count_nonzero(take, axis=1)
        max_out[:, sl] = np.where(take_max.any(axis=1), np.where(take_max, max_owd, -np.inf).max(axis=1), 0.0)
        sums = np.add.reduce(np.where(take, owd, 0.0), axis=1)
        mean_out[:, sl] = np.divide(sums, counts, out=np.zeros(counts.shape), where=counts > 0)


def get_reward(records: Sequence[Mapping[str, Any]], num_slices: int, violation_weight: float = 1.5,
               rb_usage_weight: float = 0.5) -> float:
    """``Σ_i (thr_i / load_i − λ·viol_i − γ·rb_usage_i)`` (design.md §6), λ = ``violation_weight`` (1.5),
    γ = ``rb_usage_weight`` (0.5).

    ``thr`` is ``gma::dl::cell::rate`` and ``load`` the offered ``gma::dl::cell::tx_rate`` (Mbps; a slice
    with no load scores 1 for its throughput term); ``viol`` the delay-violation share and ``rb_usage`` the
    RB-usage share, both in [0, 1] (−1 or missing counts as 0).
    """
    thr = cell_values(records, "gma", "dl::cell::rate", num_slices, fill=0.0)
    load = cell_values(records, "gma", "dl::cell::tx_rate", num_slices, fill=0.0)
    viol = cell_values(records, "gma", "dl::cell::delay_violation", num_slices, fill=0.0)
    usage = cell_values(records, "lte", "dl::cell::rb_usage", num_slices, fill=0.0)
    return float(np.sum(_reward_terms(thr, load, viol, usage, violation_weight, rb_usage_weight)))


def _reward_terms(thr: np.ndarray, load: np.ndarray, viol: np.ndarray, usage: np.ndarray, violation_weight: float,
                  rb_usage_weight: float) -> np.ndarray:
    """Each slice's term of :func:`get_reward` (element by element, so a batch of measurements stacked on a first
    axis gives each one's terms)."""
    viol = np.clip(viol, 0, None) / 100
    usage = np.clip(usage, 0, None) / 100
    served = np.divide(np.clip(thr, 0, None), load, out=np.ones(thr.shape), where=load > 0)
    return served - violation_weight * viol - rb_usage_weight * usage


def validate_action(action: Any, num_slices: int) -> np.ndarray | None:
    """Check a Gymnasium action: S prioritized shares in [0, 1] (float64), or None for the system default
    (an empty list/array); :class:`ActionError` names the index, value and allowed range otherwise."""
    allowed = f"an array of shape ({num_slices},) of prioritized shares in [0, 1], or [] for the system default"
    return check_action_array(action, num_slices, allowed, outside_unit_interval)


def action_to_rbgs(shares: np.ndarray, rbg_num: int) -> np.ndarray:
    """Prioritized RBGs per slice: ``round(a_i · rbg_num)``, the shares first replaced by their softmax when
    they sum over 1 (NetworkGym's documented rule, design.md §6). Rounds half away from zero."""
    a = np.asarray(shares, dtype=np.float64)
    if a.sum() > 1.0:
        e = np.exp(a - a.max())
        a = e / e.sum()
    return np.floor(a * rbg_num + 0.5)


def get_policy(prioritized: np.ndarray | None, template_record: Mapping[str, Any], rbg_num: int,
               num_slices: int) -> list[dict]:
    """Prioritized RBG counts → NetworkGym's three allocation records, templated on ``lte::dl::cell::max_rate``.

    As NetworkGym's client: ``drb_allocation`` 0 for every slice, ``prb_allocation`` the counts,
    ``srb_allocation`` the cell's RBG count; counts are floats. ``None`` (system default) sends the three
    records with ``"value": []``.
    """
    slice_ids = list(range(num_slices))
    columns = None if prioritized is None else (
        [0.0] * num_slices, [float(x) for x in prioritized], [float(rbg_num)] * num_slices)
    return [{
        "source": template_record.get("source", TEMPLATE_RECORD[0]),
        "name": name,
        "id": list(template_record.get("id", [1])),
        "ts": template_record["ts"],
        "value": [] if columns is None else [{"slice": slice_ids, "value": columns[k]}],
    } for k, name in enumerate(ACTION_NAMES)]


# ---------------------------------------------------------------------------------------------- the env
class NetworkSlicingEnv(NetworkGymEnv):
    """
    ## Description

    RAN slicing in one LTE cell, NetworkGym's ``network_slicing`` environment re-created in process. Users
    belong to slices (``slice_list``); every TTI the eNB hands out its resource block groups (RBGs) by
    per-slice caps: **dedicated** RBGs serve only their slice, **prioritized** RBGs serve their slice first and
    are lent to the others when it has no data, and each slice may take up to its **shared** count of the
    remaining RBGs; inside a slice users are scheduled proportional-fair. The caps are not a partition (the
    default's prioritized counts sum to all 25 RBGs and each shared cap is all 25). Every measurement interval
    (100 ms) the agent sets each slice's prioritized share. Defaults (design.md §6): eNB at (40, 0, 3), no
    Wi-Fi, 100 RBs (20 MHz, 25 RBGs of 4 RBs, TS 36.213 Table 7.1.6.1-1), two slices of 2 and 3 users, UDP
    2 Mbps per user, users walking in an 80 × 10 m area.

    ## Action Space

    ``Box(0, 1, (S,), float32)``: slice i's prioritized share. If the shares sum over 1 they are replaced by
    their softmax; slice i then gets ``round(a_i · rbg_num)`` prioritized RBGs (:func:`action_to_rbgs`). Sent as
    NetworkGym's three records ``drb_allocation`` (0), ``prb_allocation`` (the counts) and ``srb_allocation``
    (all RBGs), templated on ``lte::dl::cell::max_rate``. ``env.step([])`` is the system default: the
    configured static allocation.

    ## Observation Space

    ``Box(0, inf, (5, S), float32)``, column i = slice i (:func:`get_observation`):

    | Row | Observation                                   | Unit  |
    |-----|-----------------------------------------------|-------|
    | 0   | throughput (``gma::dl::cell::rate``)          | Mbps  |
    | 1   | RB usage share (``lte::dl::cell::rb_usage``)  | 0–1   |
    | 2   | delay-violation share (``delay_violation``)   | 0–1   |
    | 3   | max one-way delay of the slice's users        | ms    |
    | 4   | mean one-way delay of the slice's users       | ms    |

    ## Rewards

    ``Σ_i (thr_i / load_i − λ·viol_i − γ·rb_usage_i)`` with λ = 1.5, γ = 0.5 (constructor arguments
    ``violation_weight`` and ``rb_usage_weight``); see :func:`get_reward`. NetworkGym's own client returns 0.

    ## Starting State, Episode End, Arguments

    As :class:`netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv` (same session rules and constructor arguments,
    plus ``violation_weight`` and ``rb_usage_weight``). Default scenario: ``scenarios/network_slicing.json``.

    ```python
    >>> import gymnasium as gym, netgym_lite
    >>> env = gym.make("netgym-lite/NetworkSlicing-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (5, 2)

    ```

    ## Version History

    * v0: Initial version.
    """

    NETWORKGYM_ENV = "network_slicing"
    REWARD_TYPES = REWARD_TYPES
    RECORD_KEYS = frozenset({"gma::dl::cell::rate", "gma::dl::cell::tx_rate", "gma::dl::cell::delay_violation",
                             "lte::dl::cell::rb_usage", "lte::slice_id", "gma::dl::owd", "gma::dl::max_owd"})

    def __init__(self, scenario: Any = None, *, violation_weight: float = 1.5, rb_usage_weight: float = 0.5,
                 **kwargs: Any) -> None:
        for name, value in (("violation_weight", violation_weight), ("rb_usage_weight", rb_usage_weight)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name}={value!r} is invalid: allowed a finite number >= 0")
        self.violation_weight = float(violation_weight)
        self.rb_usage_weight = float(rb_usage_weight)
        if scenario is None:
            scenario = "network_slicing"
        super().__init__(scenario, **kwargs)

    def _make_spaces(self) -> None:
        self.num_slices = len(self.cfg.slices)
        self.rbg_num = rbg_count(self.cfg.lte.resource_block_num)
        self.observation_space = spaces.Box(0.0, np.inf, (len(OBSERVATION_ROWS), self.num_slices), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (self.num_slices,), np.float32)

    def _template(self) -> Mapping[str, Any]:
        rec = find_record(self._index, *TEMPLATE_RECORD)
        if rec is not None:
            return rec
        return {"source": TEMPLATE_RECORD[0], "name": TEMPLATE_RECORD[1], "id": [1], "ts": self.client.last_ts}

    def _observation(self, records: list[dict]) -> np.ndarray:
        return get_observation(records, self.num_slices, self.num_users, self.cfg.slice_of_user)

    def _reward(self, records: list[dict]) -> float:
        return get_reward(records, self.num_slices, self.violation_weight, self.rb_usage_weight)

    def _observe_rows(self, rows: Mapping[tuple[str, str], np.ndarray],
                      num_envs: int) -> tuple[np.ndarray, np.ndarray]:
        n, s, u = num_envs, self.num_slices, self.num_users

        def values(source: str, name: str, width: int, fill: float) -> np.ndarray:
            got = rows.get((source, name))
            return np.full((n, width), fill) if got is None else got

        thr = values("gma", "dl::cell::rate", s, 0.0)
        load = values("gma", "dl::cell::tx_rate", s, 0.0)
        viol = values("gma", "dl::cell::delay_violation", s, 0.0)
        usage = values("lte", "dl::cell::rb_usage", s, 0.0)
        obs = np.zeros((n, len(OBSERVATION_ROWS), s))
        obs[:, 0] = thr
        obs[:, 1] = usage / 100.0
        obs[:, 2] = viol / 100.0
        reported = values("lte", "slice_id", u, -1.0)  # as _user_slices places users
        slices = np.where(reported >= 0, reported, np.asarray(self.cfg.slice_of_user, dtype=np.float64)).astype(np.int64)
        max_owd, owd = values("gma", "dl::max_owd", u, -1.0), values("gma", "dl::owd", u, -1.0)
        if u < _SEQUENTIAL_SUM:
            _slice_delays_batch(max_owd, owd, slices, obs[:, 3], obs[:, 4])
        else:
            for i in range(n):
                _slice_delays(max_owd[i], owd[i], slices[i], obs[i, 3], obs[i, 4])
        obs[~np.isfinite(obs) | (obs < 0)] = 0.0
        terms = _reward_terms(thr, load, viol, usage, self.violation_weight, self.rb_usage_weight)
        rewards = np.array([float(np.sum(terms[i])) for i in range(n)])  # each as get_reward sums its row
        return obs.astype(np.float32), rewards

    def _validate_actions(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        n, s = actions.shape[0], self.num_slices
        if actions.dtype.kind not in "fiu" or actions.shape[1:] != (s,):
            return None
        shares = actions.astype(np.float64)  # as validate_action converts each row
        if outside_unit_interval(shares).any():
            return None
        # action_to_rbgs row by row, in one operation for the rows summing to at most 1 (no softmax); numpy sums
        # fewer than 8 values one after the other along a row as along a 1-D array
        sums = shares.sum(axis=1) if s < _SEQUENTIAL_SUM else np.array([row.sum() for row in shares])
        prioritized = np.floor(shares * self.rbg_num + 0.5)
        for i in np.flatnonzero(sums > 1.0):
            prioritized[i] = action_to_rbgs(shares[i], self.rbg_num)
        # as _apply_to_sim's three columns reach Simulation.set_slice_allocation: [0, prioritized, all RBGs], capped
        caps = np.stack([np.zeros((n, s)), prioritized, np.full((n, s), float(self.rbg_num))], axis=2)
        return prioritized, capped_rbgs(caps, rbg_count(self.cfg.lte.resource_block_num))

    def _apply_pending(self, pending: np.ndarray, sim: Any) -> None:
        sim.set_slice_caps(pending)

    def _validate_action(self, action: Any) -> np.ndarray | None:
        shares = validate_action(action, self.num_slices)
        return None if shares is None else action_to_rbgs(shares, self.rbg_num)

    def _policy(self, prioritized: np.ndarray | None) -> list[dict]:
        return get_policy(prioritized, self._template(), self.rbg_num, self.num_slices)

    def _apply_to_sim(self, prioritized: np.ndarray | None, sim: Any) -> None:
        if prioritized is None:
            sim.set_slice_allocation(None)
            return
        zeros, full = np.zeros(self.num_slices), np.full(self.num_slices, float(self.rbg_num))
        sim.set_slice_allocation(np.column_stack([zeros, prioritized, full]))  # as get_policy's three records

    def render(self) -> str | None:
        """``render_mode="ansi"``: a text table of the last observation (None otherwise)."""
        if self.render_mode != "ansi":
            return None
        lines = [f"ts={self.client.last_ts} ms  episode {self._episode} step {self._step}/{self.steps_per_episode}",
                 "slice  rate_mbps  rb_usage  viol  max_owd_ms  owd_ms"]
        if self._last_obs is not None:
            for sl in range(self.num_slices):
                r = self._last_obs[:, sl]
                lines.append(f"{sl:>5}  {r[0]:>9.2f}  {r[1]:>8.2f}  {r[2]:>4.2f}  {r[3]:>10.1f}  {r[4]:>6.1f}")
        return "\n".join(lines) + "\n"
