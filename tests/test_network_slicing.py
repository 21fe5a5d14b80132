"""NetworkSlicing-v0: config, the per-slice RBG rules of the LTE scheduler, records, action mapping and wire form.

The scheduler rules are pinned under saturation (every user offered more than the cell can carry), where each
rule decides who gets what; the lending rule is pinned with an idle slice.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import load_config
from netgym_lite.envs.network_slicing import (
    action_to_rbgs,
    get_observation,
    get_policy,
    get_reward,
    validate_action,
)
from netgym_lite.errors import ActionError, ConfigError, ProtocolError
from netgym_lite.ipc.session import Session
from netgym_lite.ipc.slicing_action import parse_slicing_action
from netgym_lite.sim import Simulation

MIRROR = Path("/work/.mirror/IntelLabs+networkgym/repo")


def saturated(slice_list: list[dict], rate_mbps: float = 40.0, **overrides):
    """The shipped slicing scenario with fixed users 20 m from the eNB and UDP at ``rate_mbps`` each."""
    n = sum(sl["num_users"] for sl in slice_list)
    return load_config(
        "network_slicing", slice_list=slice_list, min_udp_rate_per_user_mbps=rate_mbps,
        max_udp_rate_per_user_mbps=rate_mbps, user_locations=[{"x": 40 + 20 * math.cos(k), "y": 5, "z": 1.5}
                                                                for k in range(n)],
        **overrides,
    )


def run(cfg, steps: int = 5, caps=None) -> list[dict]:
    sim = Simulation(cfg)
    out = []
    for _ in range(steps):
        sim.set_slice_allocation(caps)
        out = sim.advance()
    return out


def cell(records: list[dict], key: str) -> list[float]:
    source, name = key.split("::", 1)
    rec = next(r for r in records if r["source"] == source and r["name"] == name)
    assert rec["id"] == [1] and len(rec["value"]) == 1
    return rec["value"][0]["value"]


# ------------------------------------------------------------------------------------------------ config
def test_shipped_scenario_has_two_slices_and_no_wifi() -> None:
    cfg = load_config("network_slicing")
    assert cfg.env == "network_slicing" and cfg.num_users == 5 and cfg.wifi_ap_locations == ()
    assert [(s.num_users, s.dedicated_rbg, s.prioritized_rbg, s.shared_rbg) for s in cfg.slices] == [
        (2, 0, 13, 25), (3, 0, 12, 25)]
    assert cfg.slice_of_user == (0, 0, 1, 1, 1)


@pytest.mark.skipif(not MIRROR.exists(), reason="NetworkGym mirror not fetched")
def test_networkgym_shipped_slicing_config_loads() -> None:
    text = subprocess.check_output(["git", "-C", str(MIRROR), "show",
                                    "HEAD:network_gym_client/envs/network_slicing/config.json"])
    cfg = load_config(json.loads(text), env="network_slicing")
    assert cfg.num_users == 5 and len(cfg.slices) == 2 and cfg.lte.resource_block_num == 100


def test_per_slice_config_caps_become_slices() -> None:
    cfg = load_config(env="network_slicing", lte_enb_locations={"x": 0, "y": 0, "z": 3},
                      per_slice_config={"num_users": [1, 2], "dedicated_rbg": [3, 0], "prioritized_rbg": [0, 4],
                                        "shared_rbg": [10, 17]}, num_users=None)
    assert [(s.num_users, s.dedicated_rbg, s.prioritized_rbg, s.shared_rbg) for s in cfg.slices] == [
        (1, 3, 0, 10), (2, 0, 4, 17)]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"slice_list": [{"num_users": 2, "dedicated_rgb": 1}]}, "slice_list[0].dedicated_rgb"),
    ({"slice_list": [{"num_users": -1}]}, "slice_list[0].num_users"),
    ({"slice_list": []}, "slice_list"),
    ({"slice_list": [{"num_users": 2}], "num_users": 3}, "num_users"),
    ({"slice_list": None}, "slice_list"),
])
def test_bad_slices_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_config("network_slicing", **overrides)


# ------------------------------------------------------------------------------------------------ scheduler
def test_all_rbgs_dedicated_to_slice_0_leave_slice_1_nothing_under_saturation() -> None:
    slices = [{"num_users": 2, "dedicated_rbg": 25, "prioritized_rbg": 0, "shared_rbg": 25},
              {"num_users": 2, "dedicated_rbg": 0, "prioritized_rbg": 0, "shared_rbg": 25}]
    records = run(saturated(slices))
    rate = cell(records, "gma::dl::cell::rate")
    assert rate[1] == 0.0 and cell(records, "lte::dl::cell::rb_usage")[1] == 0.0
    assert rate[0] > 30.0  # slice 0 has the whole cell
    # one RBG fewer for slice 0 leaves one to the shared pool, and slice 1 takes it
    slices[0]["dedicated_rbg"] = 24
    rate = cell(run(saturated(slices)), "gma::dl::cell::rate")
    assert 0.0 < rate[1] < rate[0] / 10


def test_idle_prioritized_rbgs_are_lent_but_idle_dedicated_ones_are_not() -> None:
    # slice 0 has no users: all its RBGs are idle; slice 1 may not use the shared pool at all
    lend = [{"num_users": 0, "dedicated_rbg": 0, "prioritized_rbg": 25, "shared_rbg": 0},
            {"num_users": 3, "dedicated_rbg": 0, "prioritized_rbg": 0, "shared_rbg": 0}]
    lent = cell(run(saturated(lend)), "gma::dl::cell::rate")
    assert lent[0] == 0.0 and lent[1] > 30.0
    keep = [dict(lend[0], prioritized_rbg=0, dedicated_rbg=25), lend[1]]
    assert cell(run(saturated(keep)), "gma::dl::cell::rate")[1] == 0.0


def test_prioritized_counts_split_a_saturated_cell_in_proportion() -> None:
    slices = [{"num_users": 2, "dedicated_rbg": 0, "prioritized_rbg": 20, "shared_rbg": 0},
              {"num_users": 2, "dedicated_rbg": 0, "prioritized_rbg": 5, "shared_rbg": 0}]
    usage = cell(run(saturated(slices)), "lte::dl::cell::rb_usage")
    assert usage[0] == pytest.approx(80.0, abs=1.0) and usage[1] == pytest.approx(20.0, abs=1.0)


def test_shared_caps_bound_each_slice_in_the_shared_pool() -> None:
    slices = [{"num_users": 2, "shared_rbg": 5}, {"num_users": 2, "shared_rbg": 25}]
    usage = cell(run(saturated(slices)), "lte::dl::cell::rb_usage")
    assert usage[0] == pytest.approx(20.0, abs=1.0) and usage[1] == pytest.approx(80.0, abs=1.0)


def test_action_caps_override_the_configured_ones_for_one_interval() -> None:
    slices = [{"num_users": 2, "prioritized_rbg": 13, "shared_rbg": 25},
              {"num_users": 2, "prioritized_rbg": 12, "shared_rbg": 25}]
    cfg = saturated(slices)
    sim = Simulation(cfg)
    sim.advance()
    sim.set_slice_allocation(np.array([[0, 20, 0], [0, 5, 0]]))
    records = sim.advance()
    assert cell(records, "lte::prb_allocation") == [20.0, 5.0]
    assert cell(records, "lte::dl::cell::rb_usage")[0] == pytest.approx(80.0, abs=1.0)
    records = sim.advance()  # no action: back to the configured allocation
    assert cell(records, "lte::prb_allocation") == [13.0, 12.0]
    with pytest.raises(Exception, match="non-negative whole RBG counts"):
        sim.set_slice_allocation(np.array([[0, -1, 0], [0, 5, 0]]))


def test_one_slice_sharing_everything_equals_no_slicing() -> None:
    base = load_config(num_users=3, transport_protocol="udp", min_udp_rate_per_user_mbps=30,
                       max_udp_rate_per_user_mbps=30)
    sliced = load_config(num_users=None, transport_protocol="udp", min_udp_rate_per_user_mbps=30,
                         max_udp_rate_per_user_mbps=30,
                         per_slice_config={"num_users": [3], "dedicated_rbg": [0], "prioritized_rbg": [0],
                                           "shared_rbg": [17]})
    assert run(base, 6) == run(sliced, 6)


def test_slice_records_aggregate_the_per_user_ones() -> None:
    cfg = load_config("network_slicing", subscribed_network_stats=[])
    records = run(cfg, 4)
    by = {(r["source"], r["name"]): r["value"] for r in records}
    slice_id = by[("lte", "slice_id")]
    assert slice_id == [0.0, 0.0, 1.0, 1.0, 1.0]
    rates = np.array(by[("gma", "dl::rate")])
    for sl in (0, 1):
        mine = np.array(slice_id) == sl
        assert cell(records, "gma::dl::cell::rate")[sl] == pytest.approx(rates[mine].sum(), abs=1e-4)
        assert cell(records, "lte::dl::cell::rb_usage")[sl] == pytest.approx(
            np.array(by[("lte", "dl::rb_usage")])[mine].sum(), abs=1e-4)


# ------------------------------------------------------------------------------------------------ adapters
def test_softmax_only_when_the_shares_sum_over_one() -> None:
    assert action_to_rbgs(np.array([0.5, 0.5]), 25).tolist() == [13.0, 13.0]  # Σ = 1: no softmax, 12.5 → 13
    assert action_to_rbgs(np.array([0.7, 0.3]), 25).tolist() == [18.0, 8.0]  # 17.5 → 18, 7.5 → 8
    soft = action_to_rbgs(np.array([0.72, 0.3]), 25)  # Σ = 1.02: softmax → 0.6035, 0.3965
    e = np.exp([0.72, 0.3])
    assert soft.tolist() == np.floor(e / e.sum() * 25 + 0.5).tolist() == [15.0, 10.0]


def test_validate_action_names_the_bad_index() -> None:
    assert validate_action([], 2) is None
    with pytest.raises(ActionError, match=r"action\[1\]=1.5"):
        validate_action([0.2, 1.5], 2)
    with pytest.raises(ActionError, match="shape"):
        validate_action([0.2, 0.3, 0.1], 2)


def test_policy_is_networkgyms_three_records() -> None:
    template = {"source": "lte", "name": "dl::cell::max_rate", "id": [1], "ts": 1300, "value": []}
    policy = get_policy(np.array([10.0, 5.0]), template, 25, 2)
    assert [p["name"] for p in policy] == ["drb_allocation", "prb_allocation", "srb_allocation"]
    assert [p["value"][0]["value"] for p in policy] == [[0.0, 0.0], [10.0, 5.0], [25.0, 25.0]]
    assert all(p["source"] == "lte" and p["ts"] == 1300 and p["value"][0]["slice"] == [0, 1] for p in policy)
    assert [p["value"] for p in get_policy(None, template, 25, 2)] == [[], [], []]


def _cell_rec(source: str, name: str, values: list[float]) -> dict:
    return {"source": source, "name": name, "id": [1], "ts": 1, "value": [{"slice": [0, 1], "value": values}]}


def test_reward_formula() -> None:
    records = [_cell_rec("gma", "dl::cell::rate", [4.0, 3.0]), _cell_rec("gma", "dl::cell::tx_rate", [4.0, 6.0]),
               _cell_rec("gma", "dl::cell::delay_violation", [0.0, 10.0]),
               _cell_rec("lte", "dl::cell::rb_usage", [20.0, 40.0])]
    expected = (1.0 - 0 - 0.5 * 0.2) + (0.5 - 1.5 * 0.1 - 0.5 * 0.4)
    assert get_reward(records, 2) == pytest.approx(expected)
    idle = [_cell_rec("gma", "dl::cell::tx_rate", [0.0, 0.0])]  # no load: the throughput term is 1
    assert get_reward(idle, 2) == pytest.approx(2.0)


def test_observation_per_slice_delays_come_from_the_users_of_the_slice() -> None:
    records = [_cell_rec("gma", "dl::cell::rate", [4.0, 3.0]),
               {"source": "lte", "name": "slice_id", "id": [1, 2, 3], "ts": 1, "value": [0, 1, 1]},
               {"source": "gma", "name": "dl::owd", "id": [1, 2, 3], "ts": 1, "value": [5.0, 10.0, -1]},
               {"source": "gma", "name": "dl::max_owd", "id": [1, 2, 3], "ts": 1, "value": [7.0, 30.0, 12.0]}]
    obs = get_observation(records, 2, 3, (0, 1, 1))
    assert obs[:, 0].tolist() == [4.0, 0.0, 0.0, 7.0, 5.0]
    assert obs[:, 1].tolist() == [3.0, 0.0, 0.0, 30.0, 10.0]  # the -1 owd is no value


# ------------------------------------------------------------------------------------------------ env + wire
def test_check_env_and_reward_changes_with_the_action() -> None:
    env = gym.make("netgym-lite/NetworkSlicing-v0", min_udp_rate_per_user_mbps=30, max_udp_rate_per_user_mbps=30)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=4)
    rewards = {}
    for action in ([1.0, 0.0], [0.0, 1.0]):
        env.reset(seed=4)
        total = 0.0
        for _ in range(4):
            obs, r, *_ = env.step(action)
            total += r
        rewards[tuple(action)] = (total, obs[1].tolist())
    (r_a, usage_a), (r_b, usage_b) = rewards.values()
    assert r_a != r_b
    assert usage_a[0] > usage_a[1] and usage_b[1] > usage_b[0]  # the favoured slice gets the RBs


def test_same_seed_same_run() -> None:
    def episode(seed: int) -> list:
        env = gym.make("netgym-lite/NetworkSlicing-v0")
        obs, _ = env.reset(seed=seed)
        out = [obs.tolist()]
        for _ in range(5):
            out.append(env.step([0.3, 0.6])[0].tolist())
        return out
    assert episode(3) == episode(3)


def test_session_rejects_bad_allocations_and_keeps_going() -> None:
    cfg = load_config("network_slicing")
    session = Session("t")
    (first,) = session.handle(dict(cfg.raw))
    ts = first["network_stats"][0]["ts"]

    def act(action_list):
        return session.handle({"type": "env-action", "action_list": action_list})[0]

    good = {"source": "lte", "name": "prb_allocation", "id": [1], "ts": ts,
            "value": [{"slice": [0, 1], "value": [20.0, 5.0]}]}
    for bad, words in [
        (dict(good, ts=ts - 100), "stale"),
        (dict(good, name="split_ratio"), "prb_allocation"),
        (dict(good, value=[{"slice": [0, 2], "value": [1.0, 2.0]}]), "slice id 0..1"),
        (dict(good, value=[{"slice": [0, 1], "value": [-3.0, 2.0]}]), ">= 0"),
        (dict(good, value=[{"slice": [0, 1], "value": [float("nan"), 2.0]}]), "RBG count"),
        ([good, good], "once"),
    ]:
        reply = act(bad)
        assert reply["type"] == "env-error" and words in reply["error_msg"], (bad, reply)
    reply = act(good)
    assert reply["type"] == "env-measurement"
    got = {r["name"]: r["value"][0]["value"] for r in reply["network_stats"] if r["name"].endswith("_allocation")}
    assert got == {"drb_allocation": [0.0, 0.0], "prb_allocation": [20.0, 5.0], "srb_allocation": [25.0, 25.0]}


def test_parse_slicing_action_defaults() -> None:
    assert parse_slicing_action([], num_slices=2, last_ts=1100) is None
    rec = {"source": "lte", "name": "srb_allocation", "id": [1], "ts": 1100, "value": []}
    assert parse_slicing_action([rec], num_slices=2, last_ts=1100) is None
    rec["value"] = [{"slice": [0, 1], "value": []}]  # NetworkGym's system default form: empty inner lists
    assert parse_slicing_action([rec], num_slices=2, last_ts=1100) is None
    rec["value"] = [{"slice": [1], "value": [7.4]}]
    caps = parse_slicing_action(rec, num_slices=2, last_ts=1100)
    assert np.isnan(caps[0]).all() and np.isnan(caps[1, :2]).all() and caps[1, 2] == 7.0
    with pytest.raises(ProtocolError):
        parse_slicing_action([dict(rec, ts=1000)], num_slices=2, last_ts=1100)
