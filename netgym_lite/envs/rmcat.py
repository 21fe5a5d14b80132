"""RMCAT (NetworkGym's ``rmcat``): set the sending rate of real-time media flows over a trace-driven bottleneck.

Adapters are public module functions, as in TrafficMgmt: :func:`get_observation`, :func:`get_reward`,
:func:`validate_action` and :func:`get_policy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from netgym_lite.envs.base import NetworkGymEnv, check_action_array, find_record, observations_of_rows
from netgym_lite.errors import ConfigError

__all__ = ["RMCATEnv", "get_observation", "get_policy", "get_reward", "validate_action"]

REWARD_TYPES = ("media_utility",)
#: NetworkGym's action space (its adapter's RMCAT_CC_DEFAULT_RMIN / RMAX), bps.
RATE_MIN_BPS, RATE_MAX_BPS = 150_000.0, 1_500_000.0
#: (source, name) of the observation rows, in order: rtt (ms), xcurr (ms), rrate (bps).
OBSERVATION_RECORDS = (("rmcat", "rtt"), ("rmcat", "xcurr"), ("rmcat", "rrate"))
#: The record an action is templated on (NetworkGym's rmcat adapter copies ``rtt``), and the action's name.
TEMPLATE_RECORD = ("rmcat", "rtt")
ACTION_NAME = "srate"
#: media_utility: the rate term's reference (1 Mbps) and floor (1 kbps, for a flow that received nothing).
REFERENCE_RATE_BPS = 1_000_000.0
RATE_FLOOR_BPS = 1_000.0


def flow_values(records: Sequence[Mapping[str, Any]], source: str, name: str, num_flows: int,
                fill: float = -1.0) -> np.ndarray:
    """Per-flow values of one record as float64[num_flows], placed by flow id (0..F-1); flows the record does not
    cover, ``null`` values and a missing record give ``fill``."""
    out = np.full(num_flows, fill, dtype=np.float64)
    rec = find_record(records, source, name)
    if rec is None:
        return out
    for fid, v in zip(rec.get("id", ()), rec.get("value", ()), strict=False):
        if isinstance(fid, (int, float)) and not isinstance(fid, bool) and 0 <= int(fid) < num_flows \
                and isinstance(v, (int, float)) and not isinstance(v, bool):
            out[int(fid)] = float(v)
    return out


def get_observation(records: Sequence[Mapping[str, Any]], num_flows: int) -> np.ndarray:
    """Records → observation ``(3, F)`` float32: [``rmcat::rtt`` (ms), ``rmcat::xcurr`` (ms), ``rmcat::rrate``
    (bps)], placed by flow id. −1 ("no value yet"), other negative or non-finite values and a missing record
    map to 0 (NetworkGym passes −1 through; a deliberate difference, design.md §5)."""
    obs = np.empty((len(OBSERVATION_RECORDS), num_flows), dtype=np.float64)
    for row, (source, name) in enumerate(OBSERVATION_RECORDS):
        obs[row] = flow_values(records, source, name, num_flows, fill=0.0)
    obs[~np.isfinite(obs) | (obs < 0)] = 0.0
    return obs.astype(np.float32)


def get_reward(records: Sequence[Mapping[str, Any]], num_flows: int, reward_type: str = "media_utility",
               delay_weight_per_ms: float = 0.01, loss_weight: float = 10.0) -> float:
    """``media_utility``: the mean over flows of ``ln(rrate / 1 Mbps) − a·qdel − b·plr``.

    ``rrate`` is ``rmcat::rrate`` (bps; floored at 1 kbps, so a flow without reports scores ln(0.001) ≈ −6.9),
    ``qdel`` ``rmcat::qdel`` (ms), ``plr`` ``rmcat::plr`` (loss ratio 0–1); −1 or missing delay and loss count as
    0. a = ``delay_weight_per_ms`` (0.01: 100 ms of queuing costs as much as an e-fold rate cut), b =
    ``loss_weight`` (10: 10 % loss costs as much). NetworkGym's client returns 0.
    """
    if reward_type != "media_utility":
        raise ConfigError(f"reward_type={reward_type!r} is invalid: allowed one of {', '.join(REWARD_TYPES)}")
    rate = flow_values(records, "rmcat", "rrate", num_flows, fill=0.0)
    qdel = flow_values(records, "rmcat", "qdel", num_flows, fill=0.0)
    plr = flow_values(records, "rmcat", "plr", num_flows, fill=0.0)
    return _media_utility(rate, qdel, plr, delay_weight_per_ms, loss_weight)


def _media_utility(rate: np.ndarray, qdel: np.ndarray, plr: np.ndarray, delay_weight_per_ms: float,
                   loss_weight: float) -> float:
    """:func:`get_reward`'s ``media_utility`` from the flows' rrate, qdel and plr values (missing = 0)."""
    rate = np.where(np.isfinite(rate), np.maximum(rate, RATE_FLOOR_BPS), RATE_FLOOR_BPS)
    qdel = np.where(np.isfinite(qdel) & (qdel > 0), qdel, 0.0)
    plr = np.where(np.isfinite(plr) & (plr > 0), plr, 0.0)
    utility = np.log(rate / REFERENCE_RATE_BPS) - delay_weight_per_ms * qdel - loss_weight * plr
    return float(utility.mean())


def validate_action(action: Any, num_flows: int) -> np.ndarray | None:
    """Check a Gymnasium action: F sending rates in [150000, 1500000] bps (float64), or None for the system default
    (an empty list/array); :class:`ActionError` names the index, value and allowed range otherwise."""
    allowed = (f"an array of shape ({num_flows},) of sending rates in [{RATE_MIN_BPS:.0f}, {RATE_MAX_BPS:.0f}] "
               "bps, or [] for the system default (NADA)")
    return check_action_array(action, num_flows, allowed,
                              lambda a: ~np.isfinite(a) | (a < RATE_MIN_BPS) | (a > RATE_MAX_BPS))


def get_policy(rates: np.ndarray | None, template_record: Mapping[str, Any]) -> dict:
    """Rates → the ``rmcat::srate`` action record, templated on an ``rmcat::rtt`` record (its source, ids and ts,
    as NetworkGym's adapter does); None sends ``"value": []`` (the system default, NADA)."""
    return {
        "source": template_record.get("source", TEMPLATE_RECORD[0]),
        "name": ACTION_NAME,
        "id": list(template_record.get("id", [])),
        "ts": template_record["ts"],
        "value": [] if rates is None else [float(r) for r in rates],
    }


class RMCATEnv(NetworkGymEnv):
    """
    ## Description

    Congestion control for real-time media, NetworkGym's ``rmcat`` environment re-created in process. F NADA media
    flows (and optional UDP cross traffic) share one bottleneck whose bandwidth, propagation delay and random loss
    follow a trace (``bw_trace``, piecewise constant); the bottleneck is a drop-tail FIFO (100 packets), every
    packet is sent, queued, served and delivered individually (:mod:`netgym_lite.models.rmcat`). Every 100 ms each
    sender receives its receiver's reports and NADA (RFC 8698) updates its reference rate; every measurement
    interval the agent may set each flow's sending rate instead. The **system default** (``env.step([])``) is
    NADA: with NetworkGym's default trace (1000 kbps / 10 ms, 2000 kbps from 10 s, 500 kbps from 50 s, 1000 kbps
    from 70 s) it settles at the bottleneck rate with 15 ms of queuing (XREF·RMAX/r, RFC 8698 §4.3), holds
    1500 kbps (its RMAX) on the 2000 kbps link, and 500 kbps with 30 ms of queuing after the drop.

    ## Action Space

    ``Box(150000, 1500000, (F,), float32)``: sending rate per flow in bps (NetworkGym's action space), held for
    one measurement interval; NADA keeps computing its rate meanwhile (``rmcat::nada_srate``) and resumes from
    the agent's rate when the agent stops. Sent as NetworkGym's rmcat client does: a copy of the ``rmcat::rtt``
    record named ``srate`` with the rates as values. ``env.step([])`` is NADA for every flow.

    ## Observation Space

    ``Box(0, inf, (3, F), float32)``, column f = flow f (:func:`get_observation`):

    | Row | Observation                                                  | Unit | Min | Max |
    |-----|--------------------------------------------------------------|------|-----|-----|
    | 0   | round-trip time, 15-tap minimum (``rmcat::rtt``)             | ms   | 0   | inf |
    | 1   | NADA's aggregated congestion signal x_curr (``rmcat::xcurr``)| ms   | 0   | 500 |
    | 2   | receive rate over the last 500 ms (``rmcat::rrate``)         | bps  | 0   | inf |

    ## Rewards

    ``media_utility`` (netgym-lite's; NetworkGym's client returns 0): the mean over flows of
    ``ln(rrate / 1 Mbps) − 0.01·qdel_ms − 10·plr`` (:func:`get_reward`). The log of the rate is the usual
    diminishing-returns model of media quality in bitrate (and makes competing flows share fairly); queuing delay
    hurts interactive media linearly (100 ms costs as much as cutting the rate by e); the smoothed loss ratio
    plr costs 1 per 10 %. Constructor arguments ``delay_weight_per_ms`` and ``loss_weight`` change the weights.

    ## Starting State

    Flows start at 150 kbps (RFC 8698's RMIN) at ``i · nada_flow_start_time_diff_ms`` and are driven by NADA until
    the first measurement, at ``measurement_start_time_ms + interval``. A seed changes only the random link
    losses (with a loss-free trace every seed gives the same run).

    ## Episode End

    As every netgym-lite env (NetworkGym's session rules): a session is ``episodes_per_session`` episodes of
    ``steps_per_episode`` measurements; ``truncated`` at the end of each episode, ``terminated`` at the end of
    the session; ``reset(seed=s)`` starts a new session.

    ## Arguments

    | Argument              | Type          | Default   | Meaning                                               |
    |-----------------------|---------------|-----------|-------------------------------------------------------|
    | ``scenario``          | path or dict  | ``rmcat`` | NetworkGym config (``scenarios/rmcat.json``)          |
    | ``reward_type``       | str           | scenario  | ``media_utility``                                     |
    | ``delay_weight_per_ms`` | float       | 0.01      | reward cost per ms of queuing delay                   |
    | ``loss_weight``       | float         | 10.0      | reward cost per unit of loss ratio                    |
    | ``**overrides``       | env_config    |           | e.g. ``nada_flows=2``, ``bw_trace={...}``, ``udp_flows=1`` |

    plus the transport arguments of every netgym-lite env (``server``, ``session_name``, ``transport``, ...).
    Overrides merge nested dicts key by key, so a ``bw_trace`` override replaces the columns it names: give all
    four columns when the number of rows changes.
    ``tcp_flows`` > 0 is refused (TCP cross traffic is not modelled yet).

    ```python
    >>> import gymnasium as gym, netgym_lite
    >>> env = gym.make("netgym-lite/RMCAT-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (3, 1)

    ```

    ## Vectorized environment

    ``gym.make_vec(id, num_envs=k)`` gives the native vector env (``netgym_lite.envs.vector``): all k sessions'
    networks advance in one numba call per step (``rmcat_sim.RmcatBatch``), sub-env i equal to a single env seeded
    ``s + i``.

    ## Version History

    * v0: Initial version.
    """

    NETWORKGYM_ENV = "rmcat"
    REWARD_TYPES = REWARD_TYPES
    RECORD_KEYS = frozenset({"rmcat::rtt", "rmcat::xcurr", "rmcat::rrate", "rmcat::qdel", "rmcat::plr"})

    def __init__(self, scenario: Any = None, *, delay_weight_per_ms: float = 0.01, loss_weight: float = 10.0,
                 **kwargs: Any) -> None:
        for name, value in (("delay_weight_per_ms", delay_weight_per_ms), ("loss_weight", loss_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ConfigError(f"{name}={value!r} is invalid: allowed a finite number >= 0")
        self.delay_weight_per_ms = float(delay_weight_per_ms)
        self.loss_weight = float(loss_weight)
        super().__init__("rmcat" if scenario is None else scenario, **kwargs)

    def _make_spaces(self) -> None:
        self.num_flows = self.num_users
        self.observation_space = spaces.Box(0.0, np.inf, (len(OBSERVATION_RECORDS), self.num_flows), np.float32)
        self.action_space = spaces.Box(RATE_MIN_BPS, RATE_MAX_BPS, (self.num_flows,), np.float32)

    def _template(self) -> Mapping[str, Any]:
        rec = find_record(self._index, *TEMPLATE_RECORD)
        if rec is not None:
            return rec
        return {"source": TEMPLATE_RECORD[0], "name": TEMPLATE_RECORD[1], "id": list(range(self.num_flows)),
                "ts": self.client.last_ts}

    def _observation(self, records: list[dict]) -> np.ndarray:
        return get_observation(records, self.num_flows)

    def _reward(self, records: list[dict]) -> float:
        return get_reward(records, self.num_flows, self.reward_type, self.delay_weight_per_ms, self.loss_weight)

    def _validate_action(self, action: Any) -> np.ndarray | None:
        return validate_action(action, self.num_flows)

    def _observe_rows(self, rows: Mapping[tuple[str, str], np.ndarray],
                      num_envs: int) -> tuple[np.ndarray, np.ndarray]:
        n, f = num_envs, self.num_flows
        obs = observations_of_rows(rows, OBSERVATION_RECORDS, n, f)
        zeros = np.zeros((n, f))  # flow_values' fill for a missing record
        rate, qdel, plr = (rows.get(("rmcat", name), zeros) for name in ("rrate", "qdel", "plr"))
        # (the only reward type: checked when the env is made)
        rewards = np.array([_media_utility(rate[i], qdel[i], plr[i], self.delay_weight_per_ms, self.loss_weight)
                            for i in range(n)])
        return obs, rewards

    def _policy(self, rates: np.ndarray | None) -> dict:
        return get_policy(rates, self._template())

    def _apply_to_sim(self, rates: np.ndarray | None, sim: Any) -> None:
        sim.set_rates(rates)

    def render(self) -> str | None:
        """``render_mode="ansi"``: a text table of the last observation (None otherwise)."""
        if self.render_mode != "ansi":
            return None
        lines = [f"ts={self.client.last_ts} ms  episode {self._episode} step {self._step}/{self.steps_per_episode}",
                 "flow  rtt_ms  xcurr_ms  rrate_kbps"]
        if self._last_obs is not None:
            for f in range(self.num_flows):
                rtt, x, rate = self._last_obs[:, f]
                lines.append(f"{f:>4}  {rtt:>6.1f}  {x:>8.1f}  {rate / 1000:>10.1f}")
        return "\n".join(lines) + "\n"
