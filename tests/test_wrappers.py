"""The offline-RL study's 14-feature observation (StudyObservation / StudyFeatures)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from netgym_lite.envs.wrappers import (
    STUDY_FEATURE_NAMES,
    STUDY_FEATURES,
    StudyFeatures,
    StudyObservation,
    make_study_env,
)


def full_records(n: int, base: float) -> list[dict]:
    """Every study record; feature row k of user u has value base + 10·k + u (cell id: u + 1)."""
    out = []
    for k, (_, source, name, _) in enumerate(STUDY_FEATURES):
        values = [float(u + 1) if name == "cell_id" else base + 10.0 * k + u for u in range(n)]
        out.append({"source": source, "name": name, "id": list(range(1, n + 1)), "ts": 1100, "value": values})
    return out


def test_feature_order_is_the_studys() -> None:
    assert STUDY_FEATURE_NAMES == (
        "lte_max_rate",
        "wifi_max_rate",
        "tx_rate",
        "lte_rate",
        "wifi_rate",
        "lte_owd",
        "wifi_owd",
        "lte_max_owd",
        "wifi_max_owd",
        "wifi_cell_id",
        "lte_traffic_ratio",
        "wifi_traffic_ratio",
        "x_loc",
        "y_loc",
    )


def test_values_are_divided_by_100_except_the_cell_id() -> None:
    obs = StudyFeatures(2)(full_records(2, 100.0))
    assert obs.shape == (14, 2) and obs.dtype == np.float32
    for k, (_, _, name, _) in enumerate(STUDY_FEATURES):
        for u in range(2):
            want = float(u + 1) if name == "cell_id" else (100.0 + 10.0 * k + u) / 100.0
            assert obs[k, u] == pytest.approx(want), (name, u)


def test_missing_values_are_carried_forward_and_zero_before_any() -> None:
    feats = StudyFeatures(2)
    first = [r for r in full_records(2, 100.0) if r["name"] != "x_loc"]  # x missing altogether
    first = [dict(r, value=[-1.0, r["value"][1]]) if r["name"] == "wifi::dl::owd" else r for r in first]
    obs1 = feats(first)
    row_owd, row_x = STUDY_FEATURE_NAMES.index("wifi_owd"), STUDY_FEATURE_NAMES.index("x_loc")
    assert obs1[row_owd, 0] == 0.0 and obs1[row_owd, 1] == pytest.approx((100 + 60 + 1) / 100)
    assert obs1[row_x].tolist() == [0.0, 0.0]
    second = full_records(2, 500.0)
    second = [dict(r, value=[r["value"][0], -1.0]) if r["name"] == "wifi::dl::owd" else r for r in second]
    obs2 = feats(second)
    assert obs2[row_owd, 0] == pytest.approx((500 + 60) / 100)
    assert obs2[row_owd, 1] == pytest.approx((100 + 60 + 1) / 100)  # carried from the first measurement
    feats.reset()
    assert feats([])[row_owd].tolist() == [0.0, 0.0]


class ScriptedEnv(gym.Env):
    """Returns the given measurements in turn; info like TrafficMgmt's (network_stats, measurement, episode)."""

    def __init__(self, measurements: list[list[dict]], num_users: int) -> None:
        self.measurements, self.num_users, self.i = measurements, num_users, 0
        self.observation_space = spaces.Box(0.0, np.inf, (3, num_users), np.float32)
        self.action_space = spaces.Box(0.0, 1.0, (num_users,), np.float32)

    def _info(self, measurement: int) -> dict:
        return {"network_stats": self.measurements[self.i], "measurement": measurement, "episode": 1}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.i = 0
        return np.zeros((3, self.num_users), np.float32), self._info(1)

    def step(self, action):
        self.i += 1
        return np.zeros((3, self.num_users), np.float32), 1.0, False, self.i == 2, self._info(self.i + 1)


def test_wrapper_builds_from_info_records_and_clears_on_a_new_session() -> None:
    m0 = full_records(1, 100.0)
    m1 = [r for r in full_records(1, 300.0) if r["name"] != "dl::tx_rate"]
    env = StudyObservation(ScriptedEnv([m0, m1, []], 1))
    assert env.observation_space.shape == (14, 1)
    obs, _ = env.reset()
    assert env.observation_space.contains(obs)
    assert obs[2, 0] == pytest.approx(1.2)  # tx_rate (row 2): 100 + 20
    obs, reward, *_ = env.step(np.ones(1, np.float32))
    assert obs[0, 0] == pytest.approx(3.0) and obs[2, 0] == pytest.approx(1.2)  # tx_rate carried forward
    obs, _ = env.reset()  # measurement 1 again: a new session
    assert obs[2, 0] == pytest.approx(1.2)
    env.unwrapped.measurements[0] = []
    obs, _ = env.reset()
    assert obs.tolist() == [[0.0]] * 14


def test_episode_statistics_wrapper_runs_on_traffic_mgmt() -> None:
    """TrafficMgmt's episode counter is ``info["episode_index"]``, so Gymnasium's statistics own ``episode``."""
    env = gym.wrappers.RecordEpisodeStatistics(make_study_env(steps_per_episode=3, episodes_per_session=2))
    try:
        _, info = env.reset(seed=1)
        assert info["episode_index"] == 1 and "episode" not in info
        rewards = []
        for _ in range(2):
            *_, reward, _, truncated, info = env.step([])
            rewards.append(reward)
        assert truncated and info["episode"]["l"] == 2
        assert info["episode"]["r"] == pytest.approx(sum(rewards), rel=1e-5)
        _, info = env.reset()
        assert info["episode_index"] == 2
    finally:
        env.close()


def test_study_env_on_the_study_scenario() -> None:
    env = make_study_env(steps_per_episode=3)
    try:
        obs, info = env.reset(seed=1)
        assert obs.shape == (14, 4) and env.observation_space.contains(obs)
        assert env.unwrapped.reward_type == "normalized_utility"
        y = obs[STUDY_FEATURE_NAMES.index("y_loc")]
        assert y.tolist() == [0.0] * 4  # users on the line y = 0
        x0 = obs[STUDY_FEATURE_NAMES.index("x_loc")].copy()
        obs, *_ = env.step([])
        x1 = obs[STUDY_FEATURE_NAMES.index("x_loc")]
        assert np.abs(x1 - x0) == pytest.approx(np.full(4, 0.001), abs=1e-5)  # 1 m/s · 0.1 s, scaled by 1/100
        cell = obs[STUDY_FEATURE_NAMES.index("wifi_cell_id")]
        assert set(cell.tolist()) <= {1.0, 2.0}
    finally:
        env.close()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_gymnasium_check_env_accepts_the_wrapped_env() -> None:
    from gymnasium.utils.env_checker import check_env

    env = make_study_env(steps_per_episode=20)
    try:
        check_env(env, skip_render_check=True)
        env.reset(seed=0)
        obs, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
    finally:
        env.close()
