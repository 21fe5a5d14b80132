"""Observation wrappers for netgym-lite environments.

:class:`StudyObservation` gives TrafficMgmt the 14-feature observation of the NeurIPS 2024 offline-RL study
(design.md §6), built from the raw records in ``info["network_stats"]``:

>>> from netgym_lite.envs.wrappers import StudyObservation, make_study_env
>>> env = make_study_env(steps_per_episode=3)          # scenarios/offline_rl_study.json + the wrapper
>>> obs, info = env.reset(seed=1)
>>> obs.shape
(14, 4)

or, around any TrafficMgmt env: ``StudyObservation(gym.make("netgym-lite/TrafficMgmt-v0"))``.
:class:`StudyFeatures` is the same computation without an env, for agents that keep their own observation
(for example a trained model evaluated beside the heuristics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv, record_values

#: The study's feature rows, in its order: (label, record source, record name, divisor).
#: Every value is divided by 100 as in the study, except the Wi-Fi cell id, which the study multiplied by 100
#: first ("AP id too small relative to other values"), so it appears as the id itself.
STUDY_FEATURES: tuple[tuple[str, str, str, float], ...] = (
    ("lte_max_rate", "lte", "dl::max_rate", 100.0),
    ("wifi_max_rate", "wifi", "dl::max_rate", 100.0),
    ("tx_rate", "gma", "dl::tx_rate", 100.0),
    ("lte_rate", "gma", "lte::dl::rate", 100.0),
    ("wifi_rate", "gma", "wifi::dl::rate", 100.0),
    ("lte_owd", "gma", "lte::dl::owd", 100.0),
    ("wifi_owd", "gma", "wifi::dl::owd", 100.0),
    ("lte_max_owd", "gma", "lte::dl::max_owd", 100.0),
    ("wifi_max_owd", "gma", "wifi::dl::max_owd", 100.0),
    ("wifi_cell_id", "wifi", "cell_id", 1.0),
    ("lte_traffic_ratio", "gma", "lte::dl::traffic_ratio", 100.0),
    ("wifi_traffic_ratio", "gma", "wifi::dl::traffic_ratio", 100.0),
    ("x_loc", "gma", "x_loc", 100.0),
    ("y_loc", "gma", "y_loc", 100.0),
)
#: Row labels of the study observation.
STUDY_FEATURE_NAMES: tuple[str, ...] = tuple(f[0] for f in STUDY_FEATURES)


class StudyFeatures:
    """Records → the study's ``(14, N)`` float32 observation, carrying missing values forward.

    A value is missing when the record is absent, does not cover the user, is ``null``, non-finite or negative
    (−1 = "no value this interval", design.md §5); a missing value is replaced by that feature's last valid
    value for the user, 0 before any. :meth:`reset` forgets the last values (a new session).
    """

    def __init__(self, num_users: int) -> None:
        self.num_users = num_users
        self._last = np.zeros((len(STUDY_FEATURES), num_users), dtype=np.float64)

    def reset(self) -> None:
        """Forget the carried values (all 0 again)."""
        self._last[:] = 0.0

    def __call__(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Update the carried values with one measurement and return the scaled observation."""
        for row, (_, source, name, _) in enumerate(STUDY_FEATURES):
            values = record_values(records, source, name, self.num_users)
            ok = np.isfinite(values) & (values >= 0)
            self._last[row, ok] = values[ok]
        divisors = np.array([f[3] for f in STUDY_FEATURES])[:, None]
        return (self._last / divisors).astype(np.float32)


class StudyObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """The offline-RL study's 14-feature observation for TrafficMgmt (design.md §6).

    ## Observation Space

    ``Box(0, inf, (14, N), float32)``; column ``u`` is user ``u + 1``. Each value is the record's value divided
    by 100 (Mbps/100, ms/100, %/100, m/100; the Wi-Fi cell id is not scaled, as in the study). A missing value
    (−1, or no record) is carried forward from the user's last valid value in the same session (0 before any).

    | Row | Feature                    | Record                          |
    |-----|----------------------------|---------------------------------|
    | 0   | LTE max rate               | ``lte::dl::max_rate``           |
    | 1   | Wi-Fi max rate             | ``wifi::dl::max_rate``          |
    | 2   | offered (tx) rate          | ``gma::dl::tx_rate``            |
    | 3   | LTE delivered rate         | ``gma::lte::dl::rate``          |
    | 4   | Wi-Fi delivered rate       | ``gma::wifi::dl::rate``         |
    | 5   | LTE one-way delay          | ``gma::lte::dl::owd``           |
    | 6   | Wi-Fi one-way delay        | ``gma::wifi::dl::owd``          |
    | 7   | LTE max one-way delay      | ``gma::lte::dl::max_owd``       |
    | 8   | Wi-Fi max one-way delay    | ``gma::wifi::dl::max_owd``      |
    | 9   | Wi-Fi cell (AP) id         | ``wifi::cell_id``               |
    | 10  | LTE traffic ratio          | ``gma::lte::dl::traffic_ratio`` |
    | 11  | Wi-Fi traffic ratio        | ``gma::wifi::dl::traffic_ratio``|
    | 12  | x position                 | ``gma::x_loc``                  |
    | 13  | y position                 | ``gma::y_loc``                  |

    The order (LTE before Wi-Fi in every per-link pair) is the study's. The carried values are cleared when a
    new session starts (``info["measurement"] == 1``; on every ``reset()`` for envs without that key), so
    episodes of one session share them, like the one simulation they observe. The wrapped env must put the
    records in ``info["network_stats"]`` and have ``num_users`` (TrafficMgmt does).
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        num_users = int(env.unwrapped.num_users)  # type: ignore[attr-defined]
        self.features = StudyFeatures(num_users)
        self.observation_space = spaces.Box(0.0, np.inf, (len(STUDY_FEATURES), num_users), np.float32)
        self._records: Sequence[Mapping[str, Any]] = ()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Reset the env; clear the carried values if a new session started."""
        obs, info = self.env.reset(seed=seed, options=options)
        if info.get("measurement", 1) == 1:
            self.features.reset()
        self._records = info["network_stats"]
        return self.observation(obs), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Step the env and build the observation from the new records."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._records = info["network_stats"]
        return self.observation(obs), float(reward), terminated, truncated, info

    def observation(self, observation: Any) -> np.ndarray:
        """The 14-feature observation of the last measurement (the wrapped env's own observation is unused)."""
        return self.features(self._records)


def make_study_env(scenario: Any = "offline_rl_study", **kwargs: Any) -> StudyObservation:
    """TrafficMgmt on the study's scenario (``scenarios/offline_rl_study.json``) with :class:`StudyObservation`.

    ``kwargs`` go to :class:`~netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv` (``reward_type``, env_config
    overrides such as ``steps_per_episode=100``).
    """
    return StudyObservation(TrafficMgmtEnv(scenario, **kwargs))
