"""The PettingZoo face of TrafficMgmt: PettingZoo's own API test, per-agent rewards, the shared simulation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import parallel_api_test  # noqa: E402

from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv  # noqa: E402
from netgym_lite.errors import ActionError  # noqa: E402
from netgym_lite.multiagent import traffic_mgmt_parallel_env  # noqa: E402
from netgym_lite.multiagent.traffic_mgmt import user_utility  # noqa: E402

SMALL = {"num_users": 3, "steps_per_episode": 5, "episodes_per_session": 2}


def test_pettingzoo_parallel_api_test_passes() -> None:
    env = traffic_mgmt_parallel_env(**SMALL)
    parallel_api_test(env, num_cycles=20)
    env.close()


def test_agents_act_on_the_same_simulation_as_the_single_env() -> None:
    env = traffic_mgmt_parallel_env(**SMALL, shared_weight=0.5)
    single = TrafficMgmtEnv(**SMALL)
    obs, infos = env.reset(seed=4)
    single_obs, _ = single.reset(seed=4)
    assert env.agents == ["user_1", "user_2", "user_3"]
    np.testing.assert_array_equal(np.stack([obs[a] for a in env.agents], axis=1), single_obs)
    shares = {"user_1": [0.0], "user_2": [1.0], "user_3": [0.25]}
    for _ in range(4):
        obs, rewards, terms, truncs, infos = env.step(shares)
        single_obs, reward, term, trunc, info = single.step(np.array([0.0, 1.0, 0.25], dtype=np.float32))
        np.testing.assert_array_equal(np.stack([obs[a] for a in env.possible_agents], axis=1), single_obs)
        rate = obs["user_2"][2]
        owd = next(r for r in info["network_stats"] if r["name"] == "dl::owd" and r["source"] == "gma")["value"][1]
        assert rewards["user_2"] == pytest.approx(user_utility(float(rate), owd) + 0.5 * reward, abs=1e-5)
    assert all(truncs.values()) and not any(terms.values()) and env.agents == []
    with pytest.raises(ActionError, match="every agent is done"):
        env.step(shares)
    env.reset()  # the next episode of the same session
    with pytest.raises(ActionError, match=r"actions\['user_1'\]"):
        env.step({"user_1": [1.5]})
    env.close()
    single.close()


def test_per_agent_rewards_follow_each_users_own_utility() -> None:
    assert user_utility(4.0, 4.0) == pytest.approx(0.0)
    assert user_utility(0.0, 4.0) == pytest.approx(0.5 * -10 - 0.5 * np.log(4.0))
    assert user_utility(10.0, -1.0) == pytest.approx(0.5 * np.log(10.0) + 5.0)
