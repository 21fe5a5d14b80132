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
    "netgym-lite/RMCAT-v0": {"nada_flows": 2, "steps_per_episode": 3, "episodes_per_session": 2},
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


def _single_run_same_step(env_id: str, overrides: dict, seed: int, actions: list) -> list:
    """Sub-env i under same-step autoreset: (obs after the step or after the reset, reward, flags, final obs)."""
    env = gym.make(env_id, **overrides)
    obs, _ = env.reset(seed=seed)
    out = []
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        final = None
        if term or trunc:
            final = obs
            obs, _ = env.reset()
        out.append((obs, reward, term, trunc, final))
    env.close()
    return out


@pytest.mark.parametrize("env_id", ["netgym-lite/TrafficMgmt-v0", "netgym-lite/NetworkSlicing-v0"])
def test_same_step_autoreset_equals_a_single_env(env_id: str) -> None:
    overrides = CASES[env_id]
    n, steps, seed = 2, 9, 7
    venv = gym.make_vec(env_id, num_envs=n, autoreset_mode="same_step", **overrides)
    actions = _actions(venv.action_space, steps, seed=2)
    venv.reset(seed=seed)
    got: list[list] = [[] for _ in range(n)]
    for a in actions:
        obs, rewards, term, trunc, info = venv.step(a)
        for i in range(n):
            final = info["final_obs"][i] if info.get("_final_obs", np.zeros(n, bool))[i] else None
            got[i].append((obs[i], rewards[i], bool(term[i]), bool(trunc[i]), final))
    for i in range(n):
        want = _single_run_same_step(env_id, overrides, seed + i, [a[i] for a in actions])
        for k, (w, g) in enumerate(zip(want, got[i], strict=True)):
            np.testing.assert_array_equal(g[0], w[0], err_msg=f"sub-env {i}, step {k}")
            assert (g[1], g[2], g[3]) == (w[1], w[2], w[3])
            assert (g[4] is None) == (w[4] is None)
            if w[4] is not None:
                np.testing.assert_array_equal(g[4], w[4])


def test_stable_baselines3_trains_on_the_native_vector_env() -> None:
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from netgym_lite.envs.sb3_vec_env import make_sb3_vec_env

    vec = make_sb3_vec_env("netgym-lite/TrafficMgmt-v0", num_envs=4, seed=0, num_users=2, steps_per_episode=4,
                           episodes_per_session=2)
    model = PPO("MlpPolicy", vec, n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
    vec.reset()
    obs, rewards, dones, infos = None, None, np.zeros(4, bool), []
    for _ in range(3):  # reset = measurement 1; the 3rd step brings measurement 4 = L: truncated
        obs, rewards, dones, infos = vec.step(np.full((4, 2), 0.5, dtype=np.float32))
    assert dones.all() and all("terminal_observation" in info for info in infos)
    assert all(info["TimeLimit.truncated"] for info in infos)  # truncated, not the session's end
    vec.close()


def test_parallel_and_serial_batches_give_the_same_results() -> None:
    overrides = CASES["netgym-lite/TrafficMgmt-v0"]
    runs = []
    for parallel in (False, True):
        venv = gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=4, parallel=parallel, **overrides)
        actions = _actions(venv.action_space, 8, seed=3)
        out = [venv.reset(seed=11)[0]]
        for a in actions:
            obs, rewards, term, trunc, _ = venv.step(a)
            out += [obs, rewards, term, trunc]
        runs.append(out)
        venv.close()
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


# The batch path (NetworkGymEnv._observe_rows / _validate_actions) against the record path it replaces, on the
# same sub-envs at every step: configurations that reach each branch of the adapters.
BATCH_CASES = [
    ("netgym-lite/TrafficMgmt-v0", {"num_users": 3}),
    ("netgym-lite/TrafficMgmt-v0", {"num_users": 9, "reward_type": "normalized_utility"}),  # numpy's pairwise sums
    ("netgym-lite/TrafficMgmt-v0", {"num_users": 4, "reward_type": "delay", "transport_protocol": "udp"}),
    ("netgym-lite/TrafficMgmt-v0", {"num_users": 12, "reward_type": "throughput"}),
    ("netgym-lite/TrafficMgmt-v0", {"num_users": 3, "downlink_traffic": False}),  # adapters read swapped names
    # records left out by the subscription: the observation's Wi-Fi row and the reward's owd are missing
    ("netgym-lite/TrafficMgmt-v0", {"num_users": 3, "subscribed_network_stats": ["gma::dl::rate", "lte::dl::max_rate"]}),
    ("netgym-lite/QoSSteer-v0", {"num_users": 5}),
    ("netgym-lite/QoSSteer-v0", {"num_users": 5, "subscribed_network_stats": ["gma::dl::rate"]}),
    ("netgym-lite/RMCAT-v0", {"nada_flows": 3, "udp_flows": 1}),
    ("netgym-lite/RMCAT-v0", {"nada_flows": 2, "subscribed_network_stats": ["rmcat::rtt", "rmcat::rrate"]}),
    ("netgym-lite/NetworkSlicing-v0", {}),
    ("netgym-lite/NetworkSlicing-v0", {"violation_weight": 0.25, "rb_usage_weight": 2.0}),
    # 9 users: each slice's mean delay summed in numpy's pairwise order (the per-row path)
    ("netgym-lite/NetworkSlicing-v0", {"slice_list": [
        {"num_users": 4, "dedicated_rbg": 0, "prioritized_rbg": 5, "shared_rbg": 25},
        {"num_users": 5, "dedicated_rbg": 0, "prioritized_rbg": 5, "shared_rbg": 25}]}),
    # per-user records left out: the slices come from the scenario, the delay rows are 0
    ("netgym-lite/NetworkSlicing-v0", {"subscribed_network_stats": [
        "gma::dl::cell::rate", "lte::dl::cell::rb_usage", "gma::dl::cell::tx_rate"]}),
]


def _pending(sim: object) -> np.ndarray:
    """What a simulation will apply next interval: its slice allocation (slicing) and its action units."""
    return np.concatenate([sim._allocation.ravel(), sim.action_units])


@pytest.mark.parametrize(("env_id", "overrides"), BATCH_CASES)
def test_batch_path_equals_the_record_path(env_id: str, overrides: dict) -> None:
    overrides = {"steps_per_episode": 4, "episodes_per_session": 2, **overrides}
    venv = gym.make_vec(env_id, num_envs=3, **overrides)
    assert venv._batch_rows
    venv.reset(seed=5)
    actions = _actions(venv.action_space, 9, seed=4)
    if env_id == "netgym-lite/NetworkSlicing-v0":
        actions[2][1] = np.array([0.9, 0.8], dtype=np.float32)  # over 1 in all: the softmax rule
    seen = set()
    for k, a in enumerate(actions):
        batch = venv.face._validate_actions(np.asarray(a))
        for i in range(3 if batch is not None else 0):  # what the per-sub-env path would pend
            validated, pending = batch
            np.testing.assert_array_equal(validated[i], venv.face._validate_action(a[i]))
            sim = venv._batch.sims[i]
            venv.face._apply_pending(pending[i], sim)
            got = _pending(sim)
            venv.face._apply_to_sim(validated[i], sim)
            np.testing.assert_array_equal(got, _pending(sim))
        venv.step(a)
        obs, rewards = venv._observe_many(np.arange(3))
        for i in range(3):
            want_obs, want_reward = venv._observe(i)
            np.testing.assert_array_equal(obs[i], want_obs, err_msg=f"sub-env {i}, step {k}")
            assert rewards[i] == want_reward or (np.isnan(rewards[i]) and np.isnan(want_reward)), (i, k)
            seen.add((obs[i].tobytes(), float(rewards[i])))
    assert len(seen) > 9  # the measurements moved
    venv.close()


def test_an_invalid_action_in_a_batch_is_named_per_sub_env() -> None:
    venv = gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=3, **CASES["netgym-lite/TrafficMgmt-v0"])
    venv.reset(seed=0)
    actions = np.full((3, 3), 0.5)
    actions[2, 1] = 1.5
    assert venv.face._validate_actions(actions) is None  # the batch path declines; the per-sub-env one names it
    with pytest.raises(ActionError, match=r"sub-env 2: action\[1\]=1.5 is invalid"):
        venv.step(actions)
    venv.close()
