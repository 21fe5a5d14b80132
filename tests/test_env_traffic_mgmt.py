"""netgym-lite/TrafficMgmt-v0: Gymnasium API, NetworkGym session/episode rules, adapters and rewards.

Most behaviour is pinned twice: against a fake simulation behind a real in-memory Server (always runs, fast)
and against the REAL Simulation (``real_sim`` tests; they run as soon as ``netgym_lite.sim.Simulation``
exists and are skipped only while it is missing).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import netgym_lite  # noqa: F401  (registers the env)
import netgym_lite.sim
from netgym_lite.config_types import ScenarioConfig
from netgym_lite.envs.traffic_mgmt import (
    TrafficMgmtEnv,
    get_observation,
    get_policy,
    get_reward,
    validate_action,
)
from netgym_lite.errors import ActionError, ConfigError, SessionEnded
from netgym_lite.ipc import Server

ENV_ID = "netgym-lite/TrafficMgmt-v0"
HAVE_SIM = hasattr(netgym_lite.sim, "Simulation")
real_sim = pytest.mark.skipif(not HAVE_SIM, reason="netgym_lite.sim.Simulation is not implemented yet")

SMALL = {"num_users": 4, "steps_per_episode": 3, "episodes_per_session": 2}


class FakeSimulation:
    """Valid NetworkGym records drawn from the session's seed; remembers the applied shares."""

    applied: list[np.ndarray] = []

    def __init__(self, cfg: ScenarioConfig, seed: int | None = None) -> None:
        self.cfg, self.num_users, self.ts_ms = cfg, cfg.num_users, 0
        self.rng = np.random.default_rng(cfg.random_seed if seed is None else seed)

    def set_wifi_split(self, shares: np.ndarray) -> None:
        FakeSimulation.applied.append(np.array(shares))

    def advance(self) -> list[dict]:
        step = self.cfg.step_interval_ms
        self.ts_ms = self.ts_ms + step if self.ts_ms else self.cfg.measurement_start_time_ms + step
        n, ids = self.num_users, list(range(1, self.num_users + 1))

        def rec(source: str, name: str, values) -> dict:
            return {"source": source, "name": name, "id": list(ids), "ts": self.ts_ms,
                    "value": [float(v) for v in values]}

        owd = self.rng.uniform(10, 100, n)
        owd[0] = -1.0
        return [rec("lte", "dl::max_rate", self.rng.uniform(20, 40, n)),
                rec("wifi", "dl::max_rate", np.r_[-1.0, self.rng.uniform(60, 80, n - 1)]),
                rec("gma", "dl::rate", self.rng.uniform(5, 15, n)),
                rec("gma", "dl::owd", owd)]


def fake_env(**kw) -> TrafficMgmtEnv:
    server = Server(sim_factory=FakeSimulation)
    return TrafficMgmtEnv(transport=server.connect(check_json=True), **{**SMALL, **kw})


def real_env(**kw) -> TrafficMgmtEnv:
    return TrafficMgmtEnv(**{**SMALL, **kw})


BOTH = [pytest.param(fake_env, id="fake-sim"), pytest.param(real_env, id="real-sim", marks=real_sim)]


# ------------------------------------------------------------------------------------------ Gymnasium API
@pytest.mark.parametrize("make", BOTH)
def test_check_env_passes(make) -> None:
    env = make()
    check_env(env)
    env.close()


@real_sim
def test_check_env_passes_on_the_registered_env() -> None:
    env = gym.make(ENV_ID, **SMALL)
    check_env(env.unwrapped)
    env.close()


@real_sim
def test_gym_make_with_overrides_and_the_readme_snippet() -> None:
    env = gym.make(ENV_ID, num_users=4)
    assert env.spec is not None and env.spec.max_episode_steps is None
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 4) and obs.dtype == np.float32 and obs in env.observation_space
    assert info["ts"] == 1100
    obs, r, terminated, truncated, info = env.step(env.action_space.sample())
    assert math.isfinite(r) and not terminated and not truncated
    obs, r, terminated, truncated, info = env.step([])
    assert info["ts"] == 1300 and np.isfinite(obs).all()
    env.close()


def test_registration_has_no_max_episode_steps() -> None:
    spec = gym.spec(ENV_ID)
    assert spec.max_episode_steps is None
    assert spec.entry_point == "netgym_lite.envs.traffic_mgmt:TrafficMgmtEnv"


# ------------------------------------------------------------------------------------------ session rules
@pytest.mark.parametrize("make", BOTH)
def test_truncated_after_reset_plus_l_minus_1_steps(make) -> None:
    env = make(steps_per_episode=4, episodes_per_session=3)
    env.reset(seed=1)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    with pytest.raises(gym.error.ResetNeeded):
        env.step([])
    env.close()


@pytest.mark.parametrize("make", BOTH)
def test_whole_session_ts_and_terminated_with_truncated_at_the_end(make) -> None:
    env = make()  # L=3, E=2
    ts, flags = [], []
    obs, info = env.reset(seed=3)
    ts.append(info["ts"])
    for episode in range(2):
        if episode:
            obs, info = env.reset()
            ts.append(info["ts"])
            assert info["episode_index"] == 2 and info["step"] == 1
        for _ in range(2):
            obs, r, terminated, truncated, info = env.step(env.action_space.sample())
            ts.append(info["ts"])
            flags.append((terminated, truncated))
    assert ts == [1100, 1200, 1300, 1400, 1500, 1600]
    assert flags == [(False, False), (False, True), (False, False), (True, True)]
    assert info["measurement"] == 6
    with pytest.raises(SessionEnded, match="reset"):
        env.step(env.action_space.sample())
    obs, info = env.reset()  # new session, seed drawn from the env's RNG
    assert info["ts"] == 1100 and info["episode_index"] == 1 and info["session_seed"] != 3
    env.close()


def test_reset_without_seed_resends_the_last_action_on_the_new_ts() -> None:
    FakeSimulation.applied = []
    env = fake_env()
    env.reset(seed=5)
    env.step([0.1, 0.2, 0.3, 0.4])
    env.step([0.5, 0.5, 0.5, 0.5])
    env.reset()
    assert len(FakeSimulation.applied) == 3
    np.testing.assert_allclose(FakeSimulation.applied[-1], [0.5] * 4)
    env.step([])
    env.reset(seed=5)  # a new session: the first step's default is the system default
    env.reset()
    assert np.isnan(FakeSimulation.applied[-1]).all()


def test_first_reset_without_seed_uses_the_scenario_seed() -> None:
    a, b = fake_env(random_seed=7), fake_env()
    obs_a, info_a = a.reset()
    obs_b, info_b = b.reset(seed=7)
    assert info_a["session_seed"] == 7
    np.testing.assert_array_equal(obs_a, obs_b)


def test_step_before_reset_is_a_clear_error() -> None:
    with pytest.raises(gym.error.ResetNeeded):
        fake_env().step([])


@pytest.mark.parametrize("make", BOTH)
def test_same_seed_same_run_different_seed_different_run(make) -> None:
    def run(seed: int) -> tuple[list[np.ndarray], list[float]]:
        env = make()
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        observations, rewards = [obs], []
        for _ in range(2):
            obs, r, *_ = env.step(rng.uniform(0, 1, 4).astype(np.float32))
            observations.append(obs)
            rewards.append(r)
        env.close()
        return observations, rewards

    o1, r1 = run(11)
    o2, r2 = run(11)
    o3, r3 = run(12)
    assert all(np.array_equal(a, b) for a, b in zip(o1, o2, strict=True)) and r1 == r2
    assert not all(np.array_equal(a, b) for a, b in zip(o1, o3, strict=True))


@pytest.mark.parametrize("make", BOTH)
def test_empty_action_is_the_system_default(make) -> None:
    env = make()  # L=3
    env.reset(seed=0)
    obs, r, terminated, truncated, info = env.step([])
    assert obs in env.observation_space and math.isfinite(r) and info["ts"] == 1200
    obs, r, terminated, truncated, info = env.step(np.array([]))
    assert truncated and info["ts"] == 1300
    env.reset()
    obs, r, terminated, truncated, info = env.step(np.zeros(0, dtype=np.float32))
    assert obs in env.observation_space and info["ts"] == 1500
    env.close()


@pytest.mark.parametrize("make", BOTH)
def test_bad_actions_raise_action_error(make) -> None:
    env = make()
    env.reset(seed=0)
    for bad, pattern in [
        ([0.5, 0.5, 0.5], r"shape \(3,\)"),
        (np.ones((2, 4)), r"shape \(2, 4\)"),
        ([0.5, np.nan, 0.5, 0.5], r"action\[1\]=nan"),
        ([0.5, 0.5, 1.2, 0.5], r"action\[2\]=1\.2"),
        ([-0.1, 0.5, 0.5, 0.5], r"action\[0\]=-0\.1"),
        (["a", "b", "c", "d"], "action"),
        (None, "action=None"),
    ]:
        with pytest.raises(ActionError, match=pattern):
            env.step(bad)
    # the session is untouched by refused actions
    obs, r, terminated, truncated, info = env.step([1, 1, 1, 1])
    assert info["ts"] == 1200
    env.close()


@real_sim
def test_real_sim_records_survive_json_and_info_carries_them() -> None:
    server = Server()
    env = TrafficMgmtEnv(transport=server.connect(check_json=True), **SMALL)
    obs, info = env.reset(seed=4)
    names = {(r["source"], r["name"]) for r in info["network_stats"]}
    assert {("lte", "dl::max_rate"), ("wifi", "dl::max_rate"), ("gma", "dl::rate")} <= names
    obs, r, *_ , info = env.step(env.action_space.sample())
    assert all(r_["ts"] == info["ts"] == 1200 for r_ in info["network_stats"])
    env.close()


def test_bad_reward_type_and_render_mode_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="reward_type"):
        fake_env(reward_type="happiness")
    with pytest.raises(ConfigError, match="render_mode"):
        fake_env(render_mode="rgb_array")


def test_ansi_render_is_a_table() -> None:
    env = fake_env(render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "rate_mbps" in text and len(text.splitlines()) == 2 + 4


# ------------------------------------------------------------------------------------------ adapters
def records(rate, owd, lte=(30.0, 30.0), wifi=(70.0, 70.0), ts=1100) -> list[dict]:
    ids = list(range(1, len(rate) + 1))
    return [
        {"source": "lte", "name": "dl::max_rate", "id": ids, "ts": ts, "value": list(lte)},
        {"source": "wifi", "name": "dl::max_rate", "id": ids, "ts": ts, "value": list(wifi)},
        {"source": "gma", "name": "dl::rate", "id": ids, "ts": ts, "value": list(rate)},
        {"source": "gma", "name": "dl::owd", "id": ids, "ts": ts, "value": list(owd)},
    ]


def test_observation_rows_and_minus_one_mapped_to_zero() -> None:
    recs = records(rate=[10.0, -1.0], owd=[5, 5], lte=[30.0, -1.0], wifi=[-1.0, 70.5])
    obs = get_observation(recs, 2)
    assert obs.dtype == np.float32 and obs.shape == (3, 2)
    np.testing.assert_array_equal(obs, [[30.0, 0.0], [0.0, 70.5], [10.0, 0.0]])


def test_observation_places_values_by_user_id_and_fills_missing_records() -> None:
    recs = [{"source": "gma", "name": "dl::rate", "id": [2, 1], "ts": 1100, "value": [2.0, 1.0]}]
    np.testing.assert_array_equal(get_observation(recs, 2), [[0, 0], [0, 0], [1.0, 2.0]])


def test_utility_reward_matches_hand_computation() -> None:
    # mean rate 10 (users 8, 12), mean owd over valid users only: (20 + 80) / 2 = 50
    r = get_reward(records(rate=[8.0, 12.0, 10.0], owd=[20.0, 80.0, -1.0], lte=[1] * 3, wifi=[1] * 3), "utility")
    assert r == pytest.approx(0.5 * math.log(10.0) - 0.5 * math.log(50.0))
    # no valid owd: ln(empty mean) -> -10; zero rate: ln -> -10; clipped to [-10, 10]
    assert get_reward(records(rate=[0.0, 0.0], owd=[-1.0, -1.0]), "utility") == pytest.approx(0.0)
    assert get_reward(records(rate=[4.0, 4.0], owd=[-1.0, -1.0]), "utility") == pytest.approx(
        0.5 * math.log(4.0) + 5.0)
    assert get_reward(records(rate=[1e30, 1e30], owd=[-1.0, -1.0]), "utility") == 10.0


def test_normalized_utility_reward_matches_hand_computation() -> None:
    recs = records(rate=[10.0, 20.0], owd=[100.0, -1.0], lte=[30.0, 0.0], wifi=[70.0, 0.0])
    # user 1: 10 / 100 = 0.1; user 2: zero capacity counts as infinite -> 0; mean 0.05
    # owd: user 2 missing -> 1000 ms; mean (100 + 1000) / 2 = 550 ms = 0.55 s
    expected = math.log(0.05) - math.log(0.55)
    assert get_reward(recs, "normalized_utility") == pytest.approx(expected)
    zero = records(rate=[0.0, 0.0], owd=[1.0, 1.0])
    assert get_reward(zero, "normalized_utility") == pytest.approx(math.log(1e-9) - math.log(0.001))


def test_throughput_and_delay_rewards_match_hand_computation() -> None:
    recs = records(rate=[8.0, 12.0, 1.0], owd=[20.0, 80.0, -1.0], lte=[1] * 3, wifi=[1] * 3)
    assert get_reward(recs, "throughput") == pytest.approx(7.0)
    assert get_reward(recs, "delay") == pytest.approx(-50.0)
    assert get_reward(records(rate=[1.0], owd=[-1.0], lte=[1], wifi=[1]), "delay") == -1000.0


def test_unknown_reward_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="reward_type='x'"):
        get_reward(records(rate=[1.0], owd=[1.0], lte=[1], wifi=[1]), "x")


def test_policy_is_a_split_ratio_record_templated_on_the_rate_record() -> None:
    tmpl = {"source": "gma", "name": "dl::rate", "id": [1, 2, 3], "ts": 1300, "value": [1.0, 2.0, 3.0]}
    pol = get_policy(np.array([0.25, 0.5, 1.0], dtype=np.float32), tmpl)
    assert pol == {"source": "gma", "name": "wifi::dl::split_ratio", "id": [1, 2, 3], "ts": 1300,
                   "value": [0.25, 0.5, 1.0]}
    assert pol["id"] is not tmpl["id"]
    assert get_policy([], tmpl)["value"] == []
    assert get_policy(None, tmpl)["value"] == []
    # values follow the template's id order
    assert get_policy([0.1, 0.2, 0.3], {**tmpl, "id": [3, 1, 2]})["value"] == pytest.approx([0.3, 0.1, 0.2])


def test_validate_action_accepts_lists_and_arrays() -> None:
    np.testing.assert_array_equal(validate_action([0, 1], 2), [0.0, 1.0])
    assert validate_action([], 2) is None
    assert validate_action(np.array([], dtype=np.float32), 2) is None
