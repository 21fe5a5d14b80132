"""The native vector envs: one numba call per step, sub-env i identical to a single env seeded s + i, across
truncation (next episode of the session) and termination (a new session), with next-step autoreset."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.envs.vector import NetworkGymVectorEnv
from netgym_lite.errors import ActionError, ConfigError

# Short sessions so that a few steps cross truncations and terminations.
CASES = {
    "netgym-lite/TrafficMgmt-v0": {"num_users": 3, "steps_per_episode": 3, "episodes_per_session": 2},
    "netgym-lite/QoSSteer-v0": {"num_users": 4, "steps_per_episode": 2, "episodes_per_session": 2},
    "netgym-lite/NetworkSlicing-v0": {"steps_per_episode": 3, "episodes_per_session": 2},
}


def _actions(space: gym.Space, steps: int, seed: int) -> list:
    space.seed(seed)
    return [space.sample() for _ in range(steps)]


def _single_run(env_id: str, overrides: dict, seed: int, actions: list) -> list:
    """What sub-env ``i`` must produce: a single env driven with next-step autoreset by hand."""
    env = gym.make(env_id, **overrides)
    obs, _ = env.reset(seed=seed)
    out = [(obs, 0.0, False, False)]
    pending = False
    for a in actions:
        if pending:
            obs, _ = env.reset()
            out.append((obs, 0.0, False, False))
            pending = False
        else:
            obs, reward, term, trunc, _ = env.step(a)
            out.append((obs, reward, term, trunc))
            pending = term or trunc
    env.close()
    return out


@pytest.mark.parametrize("env_id", list(CASES))
def test_sub_env_i_equals_a_single_env_seeded_s_plus_i(env_id: str) -> None:
    overrides = CASES[env_id]
    n, steps, seed = 3, 11, 40
    venv = gym.make_vec(env_id, num_envs=n, **overrides)
    assert isinstance(venv, NetworkGymVectorEnv)
    actions = _actions(venv.action_space, steps, seed=1)
    obs, info = venv.reset(seed=seed)
    assert info["session_seed"].tolist() == [seed, seed + 1, seed + 2]
    got = [[(obs[i], 0.0, False, False)] for i in range(n)]
    terminations = 0
    for a in actions:
        obs, rewards, term, trunc, info = venv.step(a)
        terminations += int(term.sum())
        for i in range(n):
            got[i].append((obs[i], rewards[i], bool(term[i]), bool(trunc[i])))
    assert terminations >= n  # every sub-env went through a new session at least once
    for i in range(n):
        want = _single_run(env_id, overrides, seed + i, [a[i] for a in actions])
        assert len(want) == len(got[i])
        for k, (w, g) in enumerate(zip(want, got[i], strict=True)):
            np.testing.assert_array_equal(g[0], w[0], err_msg=f"sub-env {i}, step {k}")
            assert g[1:] == (pytest.approx(w[1], abs=0, rel=0), w[2], w[3]), (i, k)
    venv.close()


def test_seeded_sessions_differ_and_repeat() -> None:
    overrides = CASES["netgym-lite/TrafficMgmt-v0"]
    venv = gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=2, **overrides)
    a, _ = venv.reset(seed=3)
    b, _ = venv.reset(seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # seeds 3 and 4


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ConfigError, match="num_envs"):
        gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=0)
    venv = gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=2, num_users=2)
    venv.reset(seed=0)
    with pytest.raises(ActionError, match=r"sub-env 1: action\[0\]=2.0"):
        venv.step(np.array([[0.5, 0.5], [2.0, 0.0]]))
    with pytest.raises(ActionError, match="shape"):
        venv.step(np.zeros((3, 2)))
