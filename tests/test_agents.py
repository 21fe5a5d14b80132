"""Agents: the link heuristics' rules on hand-made records, make_agent, a custom callable agent."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gymnasium import spaces

from netgym_lite.agents import (
    AGENTS,
    ArgmaxAgent,
    ArgminAgent,
    RandomAgent,
    SystemDefaultAgent,
    UtilityArgmaxAgent,
    UtilityLogisticAgent,
    make_agent,
)
from netgym_lite.agents.heuristics import link_utilities, num_users_of
from netgym_lite.errors import ConfigError


def rec(source: str, name: str, values: list) -> dict:
    return {"source": source, "name": name, "id": list(range(1, len(values) + 1)), "ts": 1100, "value": values}


def records(*, lte_max=None, wifi_max=None, wifi_rate=None, lte_rate=None, wifi_owd=None, lte_owd=None) -> list:
    out = []
    for (source, name), v in {("lte", "dl::max_rate"): lte_max, ("wifi", "dl::max_rate"): wifi_max,
                              ("gma", "wifi::dl::rate"): wifi_rate, ("gma", "lte::dl::rate"): lte_rate,
                              ("gma", "wifi::dl::owd"): wifi_owd, ("gma", "lte::dl::owd"): lte_owd}.items():
        if v is not None:
            out.append(rec(source, name, v))
    n = max(len(r["value"]) for r in out)
    out.append(rec("gma", "dl::rate", [1.0] * n))
    return out


def info_of(recs: list) -> dict:
    return {"network_stats": recs}


def test_argmax_picks_the_larger_max_rate_and_wifi_on_a_tie() -> None:
    recs = records(lte_max=[30.0, 80.0, 50.0, 20.0], wifi_max=[70.0, 60.0, 50.0, -1.0])
    act = ArgmaxAgent()(None, info_of(recs))
    assert act.dtype == np.float32 and act.shape == (4,)
    assert act.tolist() == [1.0, 0.0, 1.0, 0.0]  # missing Wi-Fi max rate (−1) loses


def test_argmin_is_the_opposite_of_argmax() -> None:
    recs = records(lte_max=[30.0, 80.0, 50.0, 20.0], wifi_max=[70.0, 60.0, 50.0, -1.0])
    assert ArgminAgent()(None, info_of(recs)).tolist() == [0.0, 1.0, 0.0, 1.0]


def test_link_utility_is_log1p_rate_minus_log1p_owd_and_missing_owd_is_minus_inf() -> None:
    recs = records(wifi_rate=[10.0, 5.0], lte_rate=[3.0, -1.0], wifi_owd=[20.0, -1.0], lte_owd=[5.0, 8.0])
    u_wifi, u_lte = link_utilities(recs, 2)
    assert u_wifi[0] == pytest.approx(math.log(11.0) - math.log(21.0))
    assert u_lte[0] == pytest.approx(math.log(4.0) - math.log(6.0))
    assert u_wifi[1] == -np.inf
    assert u_lte[1] == pytest.approx(0.0 - math.log(9.0))  # a rate of −1 counts as 0


def test_utility_argmax_gives_everything_to_the_better_link() -> None:
    # user 1: wifi ln(51)-ln(11)=1.53 > lte ln(11)-ln(6)=0.61 → Wi-Fi; user 2: wifi has a huge delay → LTE
    recs = records(wifi_rate=[50.0, 50.0], lte_rate=[10.0, 10.0], wifi_owd=[10.0, 900.0], lte_owd=[5.0, 5.0])
    assert UtilityArgmaxAgent()(None, info_of(recs)).tolist() == [1.0, 0.0]


def test_utility_argmax_a_link_without_owd_loses_and_neither_means_wifi() -> None:
    recs = records(wifi_rate=[50.0, 0.0, 0.0], lte_rate=[0.0, 1.0, 0.0],
                   wifi_owd=[-1.0, 900.0, -1.0], lte_owd=[5.0, -1.0, -1.0])
    assert UtilityArgmaxAgent()(None, info_of(recs)).tolist() == [0.0, 1.0, 1.0]


def test_utility_logistic_is_the_sigmoid_of_the_utility_difference() -> None:
    recs = records(wifi_rate=[50.0, 10.0], lte_rate=[10.0, 10.0], wifi_owd=[10.0, 5.0], lte_owd=[5.0, 5.0])
    d = (math.log(51.0) - math.log(11.0)) - (math.log(11.0) - math.log(6.0))
    act = UtilityLogisticAgent()(None, info_of(recs))
    assert act[0] == pytest.approx(1.0 / (1.0 + math.exp(-d)), rel=1e-6)
    assert act[1] == pytest.approx(0.5)  # equal utilities


def test_utility_logistic_missing_owd_rules() -> None:
    recs = records(wifi_rate=[50.0, 10.0, 0.0], lte_rate=[10.0, 0.0, 0.0],
                   wifi_owd=[-1.0, 30.0, -1.0], lte_owd=[5.0, -1.0, -1.0])
    assert UtilityLogisticAgent()(None, info_of(recs)).tolist() == [0.0, 1.0, 0.5]


def test_heuristics_read_the_number_of_users_from_the_records_or_take_it_fixed() -> None:
    recs = records(lte_max=[30.0, 30.0, 30.0], wifi_max=[70.0, 10.0, 70.0])
    assert num_users_of(recs) == 3
    assert ArgmaxAgent(num_users=4)(None, info_of(recs)).tolist() == [1.0, 0.0, 1.0, 1.0]  # user 4: −1 vs −1


def test_heuristics_ignore_the_observation() -> None:
    recs = records(lte_max=[30.0], wifi_max=[70.0])
    assert ArgmaxAgent()(np.zeros((14, 1)), info_of(recs)).tolist() == [1.0]
    assert ArgmaxAgent()("anything", info_of(recs)).tolist() == [1.0]


def test_make_agent_builds_every_name_with_the_env_user_count() -> None:
    class FakeEnv:
        action_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        num_users = 2

        @property
        def unwrapped(self) -> FakeEnv:
            return self

    env = FakeEnv()
    assert set(AGENTS) == {"system_default", "random", "argmax", "argmin", "utility_argmax", "utility_logistic"}
    assert isinstance(make_agent("system_default", env), SystemDefaultAgent)
    assert isinstance(make_agent("random", env, seed=1), RandomAgent)
    agent = make_agent("utility_logistic", env)
    assert isinstance(agent, UtilityLogisticAgent) and agent.num_users == 2
    with pytest.raises(ConfigError, match="agent='nope' is invalid"):
        make_agent("nope", env)


def test_system_default_and_random_agents() -> None:
    assert SystemDefaultAgent()(None, {}) == []
    space = spaces.Box(0.0, 1.0, (4,), np.float32)
    a, b = RandomAgent(space, seed=7), RandomAgent(space, seed=7)
    x, y = a(None, {}), b(None, {})
    assert np.array_equal(x, y) and space.contains(x)


@pytest.mark.parametrize("name", ["argmax", "argmin", "utility_argmax", "utility_logistic"])
def test_heuristics_drive_the_real_env(name: str) -> None:
    from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv

    env = TrafficMgmtEnv(steps_per_episode=4, episodes_per_session=1)
    try:
        agent = make_agent(name, env)
        obs, info = env.reset(seed=1)
        done = False
        while not done:
            action = agent(obs, info)
            assert env.action_space.contains(action)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
    finally:
        env.close()
