"""QoSSteer (NetworkGym's ``qos_steer``): steer each user's whole flow onto Wi-Fi or LTE to meet its QoS.

Adapters are public module functions, as in TrafficMgmt: :func:`get_observation` (TrafficMgmt's),
:func:`get_reward`, :func:`validate_action` and :func:`get_policy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from netgym_lite.envs.base import NetworkGymEnv, check_action_array, observations_of_rows, record_values
from netgym_lite.envs.traffic_mgmt import OBSERVATION_RECORDS, TrafficMgmtEnv, get_observation
from netgym_lite.envs.traffic_mgmt import get_policy as split_policy
from netgym_lite.errors import ConfigError
from netgym_lite.sim import split_units

__all__ = ["QoSSteerEnv", "get_observation", "get_policy", "get_reward", "qos_users", "validate_action"]

REWARD_TYPES = ("wifi_qos_user_num",)
TEMPLATE_RECORD = ("gma", "dl::rate")
QOS_RATE_FLOOR_MBPS = 0.1  # a user counts as served with QoS when its Wi-Fi qos_rate exceeds this


def qos_users(records: Sequence[Mapping[str, Any]], num_users: int, link: str = "wifi") -> int:
    """Users whose ``gma::<link>::dl::qos_rate`` exceeds 0.1 Mbps (their flow met QoS on that link)."""
    qos = record_values(records, "gma", f"{link}::dl::qos_rate", num_users, fill=0.0)
    return int(np.count_nonzero(np.isfinite(qos) & (qos > QOS_RATE_FLOOR_MBPS)))


def get_reward(
    records: Sequence[Mapping[str, Any]], num_users: int, reward_type: str = "wifi_qos_user_num"
) -> float:
    """``wifi_qos_user_num`` (NetworkGym's): the number of users with ``gma::wifi::dl::qos_rate`` > 0.1 Mbps."""
    if reward_type != "wifi_qos_user_num":
        raise ConfigError(f"reward_type={reward_type!r} is invalid: allowed one of {', '.join(REWARD_TYPES)}")
    return float(qos_users(records, num_users, "wifi"))


def validate_action(action: Any, num_users: int) -> np.ndarray | None:
    """Check a Gymnasium action: N link choices (0 = LTE, 1 = Wi-Fi) as float64 0/1, or None for the system
    default (an empty list/array); :class:`ActionError` names the index and value otherwise."""
    allowed = f"an array of shape ({num_users},) of 0 (LTE) or 1 (Wi-Fi), or [] for the system default"
    return check_action_array(action, num_users, allowed, lambda arr: (arr != 0.0) & (arr != 1.0))


def get_policy(links: np.ndarray | None, template_record: Mapping[str, Any]) -> dict:
    """Link choices → the ``gma::wifi::dl::split_ratio`` record with 0/1 values (NetworkGym's qos_steer wire
    form), templated on a ``gma::dl::rate`` record; None sends ``"value": []`` (system default)."""
    return split_policy(links, template_record)


class QoSSteerEnv(NetworkGymEnv):
    """
    ## Description

    QoS traffic steering, NetworkGym's ``qos_steer`` environment re-created in process. N users each have a
    Wi-Fi and an LTE link; every measurement interval (1 s) the agent puts each user's whole flow on one of them.
    GMA tests every flow's QoS on its link in 500 ms windows: it passes when at most 2 % of its delivered packets
    exceed the 100 ms delay bound and at most 0.1 % of its packets are lost (``qos_requirement``); the interval's
    ``qos_rate`` is the rate when the interval met QoS, else 0. A failed test prohibits that link for the user
    for 5 s: an agent's move onto a prohibited link is refused (the flow stays). The **system default**
    (``env.step([])``, GMA's own steering): every user starts on Wi-Fi; at each window end a flow that failed on
    its link moves to the other link if that link passed its last test or is not prohibited. With
    ``enable_dynamic_flow_prioritization`` 70–90 % of each link's flows are served first (LTE admits a
    high-priority flow only while the cell's high-priority load stays within its capacity). Defaults
    (design.md §6): 8 users, eNB and AP at (40, 0, 3), UDP CBR 2–3 Mbps per user, LTE 25 RBs, L = 10, E = 1.

    ## Action Space

    ``MultiDiscrete([2] * N)``: per user 0 = LTE, 1 = Wi-Fi, sent as ``gma::wifi::dl::split_ratio`` with the
    values 0/1 (NetworkGym's form). ``env.step([])`` is the system default.

    ## Observation Space

    ``Box(0, inf, (3, N), float32)`` as TrafficMgmt: [LTE max rate, Wi-Fi max rate, delivered throughput] (Mbps).

    ## Rewards

    ``wifi_qos_user_num`` (NetworkGym's): the number of users whose ``gma::wifi::dl::qos_rate`` > 0.1 Mbps.

    ## Starting State, Episode End, Arguments

    As :class:`netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv` (same session rules and constructor arguments).
    Default scenario: ``scenarios/qos_steer.json``.

    ```python
    >>> import gymnasium as gym, netgym_lite
    >>> env = gym.make("netgym-lite/QoSSteer-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (3, 8)

    ```

    ## Version History

    * v0: Initial version.
    """

    NETWORKGYM_ENV = "qos_steer"
    REWARD_TYPES = REWARD_TYPES
    RECORD_KEYS = frozenset(
        {"lte::dl::max_rate", "wifi::dl::max_rate", "gma::dl::rate", "gma::wifi::dl::qos_rate"}
    )

    def __init__(self, scenario: Any = None, **kwargs: Any) -> None:
        super().__init__("qos_steer" if scenario is None else scenario, **kwargs)

    def _make_spaces(self) -> None:
        self.observation_space = spaces.Box(0.0, np.inf, (3, self.num_users), np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(self.num_users, 2))

    _template = TrafficMgmtEnv._template  # the same template record: gma::dl::rate

    def _observation(self, records: list[dict]) -> np.ndarray:
        return get_observation(records, self.num_users)

    def _reward(self, records: list[dict]) -> float:
        return get_reward(records, self.num_users, self.reward_type)

    def _validate_action(self, action: Any) -> np.ndarray | None:
        return validate_action(action, self.num_users)

    def _policy(self, links: np.ndarray | None) -> dict:
        return get_policy(links, self._template())

    def _observe_rows(self, rows: Mapping[tuple[str, str], np.ndarray],
                      num_envs: int) -> tuple[np.ndarray, np.ndarray]:
        obs = observations_of_rows(rows, OBSERVATION_RECORDS, num_envs, self.num_users)
        qos = rows.get(("gma", "wifi::dl::qos_rate"))
        if qos is None:  # record_values' fill (0.0) for a missing record: nobody counts
            return obs, np.zeros(num_envs)
        served = np.isfinite(qos) & (qos > QOS_RATE_FLOOR_MBPS)
        return obs, np.count_nonzero(served, axis=1).astype(np.float64)

    def _validate_actions(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if actions.dtype.kind not in "fiu" or actions.shape[1:] != (self.num_users,):
            return None
        links = actions.astype(np.float64)  # as validate_action converts each row
        if ((links != 0.0) & (links != 1.0)).any():
            return None
        return links, split_units(links, int(self.cfg.gma.split_burst))  # as Simulation.set_wifi_split

    render = TrafficMgmtEnv.render  # the same per-user table: ``render_mode="ansi"``
