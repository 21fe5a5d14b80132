"""The lean hot path changes no record, observation or reward.

The straightforward implementations below are the record builder and the adapters as they were before the hot
path was trimmed (one ``find_record`` scan per lookup, a Python loop per value, one mask per slice metric). The
tests drive real simulations and envs with random actions over several seeds and require the optimised code to
give exactly the same records, observations and rewards (``==``, not approximately).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_lite.config import load_config
from netgym_lite.envs import network_slicing as ns
from netgym_lite.envs import qos_steer as qs
from netgym_lite.envs import traffic_mgmt as tm
from netgym_lite.envs.base import RecordIndex, find_record, record_values
from netgym_lite.envs.network_slicing import NetworkSlicingEnv
from netgym_lite.envs.qos_steer import QoSSteerEnv
from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv
from netgym_lite.models.measurement import METRIC_KEYS, ROW
from netgym_lite.records import (
    ALLOCATION_KEYS,
    CELL_KEYS,
    PAIRWISE_STACK,
    _pairwise_sum,
    round6,
    slice_metrics,
    swap_direction,
)
from netgym_lite.sim import Simulation


# ---------------------------------------------------------------------------------------------- reference
def ref_find_record(records, source, name):
    for rec in records:
        if rec.get("source") == source and rec.get("name") == name:
            return rec
    return None


def ref_record_values(records, source, name, num_users, fill=-1.0):
    out = np.full(num_users, fill, dtype=np.float64)
    rec = ref_find_record(records, source, name)
    if rec is None:
        return out
    for uid, v in zip(rec.get("id", ()), rec.get("value", ()), strict=False):
        try:
            i = int(uid) - 1
        except (TypeError, ValueError):
            continue
        if 0 <= i < num_users and v is not None:
            out[i] = float(v)
    return out


def ref_slice_metrics(table, user_slice, num_slices, rx_pkts, viol_pkts):
    out = {key: [] for key in CELL_KEYS}
    for sl in range(num_slices):
        users = user_slice == sl
        rx = int(rx_pkts[users].sum())
        out["lte::dl::cell::max_rate"].append(
            float(table[ROW["lte::dl::max_rate"], users].mean()) if users.any() else 0.0
        )
        out["lte::dl::cell::rb_usage"].append(float(table[ROW["lte::dl::rb_usage"], users].sum()))
        out["gma::dl::cell::rate"].append(float(table[ROW["gma::dl::rate"], users].sum()))
        out["gma::dl::cell::tx_rate"].append(float(table[ROW["gma::dl::tx_rate"], users].sum()))
        out["gma::dl::cell::qos_rate"].append(float(table[ROW["gma::dl::qos_rate"], users].sum()))
        out["gma::dl::cell::delay_violation"].append(
            100.0 * float(viol_pkts[users].sum()) / rx if rx else -1.0
        )
        # the ACK direction: sums, −1 when uncounted; the violation share weighted by ACK rate (equal-size ACKs)
        ack_rate = table[ROW["gma::ul::rate"], users]
        counted = users.any() and bool((ack_rate >= 0).all())
        for name in ("rate", "tx_rate", "qos_rate"):
            out[f"gma::ul::cell::{name}"].append(
                float(table[ROW[f"gma::ul::{name}"], users].sum()) if counted else -1.0)
        viol = np.maximum(table[ROW["gma::ul::delay_violation"], users], 0.0)
        out["gma::ul::cell::delay_violation"].append(
            float((ack_rate * viol).sum() / ack_rate.sum()) if counted and ack_rate.sum() > 0 else -1.0)
    return out


def ref_build_records(table, ts_ms, cfg, cell=None, only=None):
    wanted = set(cfg.subscribed_network_stats)
    ids = list(range(1, cfg.num_users + 1))
    records = []
    for i, key in enumerate(METRIC_KEYS):
        if (not wanted or key in wanted) and (only is None or key in only):
            source, name = key.split("::", 1)
            values = [float(v) for v in np.round(table[i], 6)]
            records.append({"source": source, "name": name, "id": list(ids), "ts": ts_ms, "value": values})
    for key, values in (cell or {}).items():
        if (not wanted or key in wanted) and (only is None or key in only):
            source, name = key.split("::", 1)
            records.append(
                {
                    "source": source,
                    "name": name,
                    "id": [1],
                    "ts": ts_ms,
                    "value": [
                        {"slice": list(range(len(values))), "value": [round(float(v), 6) for v in values]}
                    ],
                }
            )
    return records


def ref_sim_records(sim, table, only=None):
    s = sim.state
    cell = ref_slice_metrics(table, sim.params.user_slice, sim.num_slices, s.st_rx_pkts, s.st_viol[:, 0])
    if sim.cfg.env == "network_slicing":
        for key, column in zip(ALLOCATION_KEYS, s.lte_slice_rbg.T, strict=True):
            cell[key] = column.astype(np.float64).tolist()
    return ref_build_records(table, sim.ts_ms, sim.cfg, cell, only)


def ref_tm_observation(records, num_users):
    obs = np.empty((3, num_users), dtype=np.float64)
    for row, (source, name) in enumerate(tm.OBSERVATION_RECORDS):
        obs[row] = ref_record_values(records, source, name, num_users, fill=0.0)
    obs[~np.isfinite(obs) | (obs < 0)] = 0.0
    return obs.astype(np.float32)


def ref_values(records, source, name):
    rec = ref_find_record(records, source, name)
    if rec is None:
        return np.zeros(0)
    return np.array([np.nan if v is None else float(v) for v in rec.get("value", ())], dtype=np.float64)


def ref_tm_reward(records, reward_type):
    rate = ref_values(records, "gma", "dl::rate")
    rate = np.where(np.isfinite(rate) & (rate > 0), rate, 0.0)
    owd = ref_values(records, "gma", "dl::owd")
    valid = np.isfinite(owd) & (owd >= 0)
    mean_rate = float(rate.mean()) if rate.size else 0.0
    if reward_type == "utility":
        ln_rate = math.log(mean_rate) if mean_rate > 0 else -10.0
        mean_owd = float(owd[valid].mean()) if valid.any() else 0.0
        ln_owd = math.log(mean_owd) if mean_owd > 0 else -10.0
        return float(np.clip(0.5 * ln_rate - 0.5 * ln_owd, -10.0, 10.0))
    if reward_type == "normalized_utility":
        n = rate.size
        cap = np.zeros(n)
        for arr in (ref_values(records, "lte", "dl::max_rate"), ref_values(records, "wifi", "dl::max_rate")):
            if arr.size == n:
                cap += np.where(np.isfinite(arr) & (arr > 0), arr, 0.0)
        ratio = np.divide(rate, cap, out=np.zeros(n), where=cap > 0)
        mean_ratio = float(ratio.mean()) if n else 0.0
        owd_all = np.where(valid, owd, 1000.0) if owd.size else np.full(n, 1000.0)
        mean_owd_s = float(owd_all.mean()) / 1000.0 if owd_all.size else 1.0
        return float(math.log(max(1e-9, mean_ratio)) - math.log(max(1e-9, mean_owd_s)))
    if reward_type == "throughput":
        return mean_rate
    return -float(owd[valid].mean()) if valid.any() else -1000.0


def ref_cell_values(records, source, name, num_slices, fill=-1.0):
    out = np.full(num_slices, fill, dtype=np.float64)
    rec = ref_find_record(records, source, name)
    if rec is None:
        return out
    for cell_id, entry in zip(rec.get("id", ()), rec.get("value", ()), strict=False):
        if cell_id != 1 or not isinstance(entry, dict):
            continue
        for sl, v in zip(entry.get("slice", ()), entry.get("value", ()), strict=False):
            if isinstance(sl, (int, float)) and 0 <= int(sl) < num_slices and v is not None:
                out[int(sl)] = float(v)
    return out


def ref_ns_observation(records, num_slices, num_users, slice_of_user):
    obs = np.zeros((5, num_slices), dtype=np.float64)
    obs[0] = ref_cell_values(records, "gma", "dl::cell::rate", num_slices, fill=0.0)
    obs[1] = ref_cell_values(records, "lte", "dl::cell::rb_usage", num_slices, fill=0.0) / 100.0
    obs[2] = ref_cell_values(records, "gma", "dl::cell::delay_violation", num_slices, fill=0.0) / 100.0
    reported = ref_record_values(records, "lte", "slice_id", num_users, fill=-1.0)
    slices = np.where(reported >= 0, reported, np.asarray(slice_of_user, dtype=np.float64)).astype(np.int64)
    max_owd = ref_record_values(records, "gma", "dl::max_owd", num_users)
    owd = ref_record_values(records, "gma", "dl::owd", num_users)
    for sl in range(num_slices):
        mine = slices == sl
        valid_max = max_owd[mine & np.isfinite(max_owd) & (max_owd >= 0)]
        valid = owd[mine & np.isfinite(owd) & (owd >= 0)]
        obs[3, sl] = valid_max.max() if valid_max.size else 0.0
        obs[4, sl] = valid.mean() if valid.size else 0.0
    obs[~np.isfinite(obs) | (obs < 0)] = 0.0
    return obs.astype(np.float32)


def ref_ns_reward(records, num_slices, lam=1.5, gamma=0.5):
    thr = ref_cell_values(records, "gma", "dl::cell::rate", num_slices, fill=0.0)
    load = ref_cell_values(records, "gma", "dl::cell::tx_rate", num_slices, fill=0.0)
    viol = (
        np.clip(ref_cell_values(records, "gma", "dl::cell::delay_violation", num_slices, fill=0.0), 0, None)
        / 100
    )
    usage = (
        np.clip(ref_cell_values(records, "lte", "dl::cell::rb_usage", num_slices, fill=0.0), 0, None) / 100
    )
    served = np.divide(np.clip(thr, 0, None), load, out=np.ones(num_slices), where=load > 0)
    return float(np.sum(served - lam * viol - gamma * usage))


def ref_qos_reward(records, num_users):
    qos = ref_record_values(records, "gma", "wifi::dl::qos_rate", num_users, fill=0.0)
    return float(int(np.count_nonzero(np.isfinite(qos) & (qos > 0.1))))


# ---------------------------------------------------------------------------------------------- records
SCENARIOS = [
    ("nqos_split", None, {"num_users": 4}),
    ("nqos_split", None, {"num_users": 16}),
    ("qos_steer", "qos_steer", {}),
    ("network_slicing", "network_slicing", {}),
    ("network_slicing", "network_slicing", {"subscribed_network_stats": []}),
]


@pytest.mark.parametrize(("env", "scenario", "overrides"), SCENARIOS)
def test_simulation_records_equal_the_reference_builder(env: str, scenario, overrides: dict) -> None:
    cfg = load_config(scenario, env=env, **overrides)
    for seed in (0, 7):
        sim = Simulation(cfg, seed=seed)
        rng = np.random.default_rng(seed)
        for step in range(12):
            if env == "network_slicing":
                caps = np.column_stack(
                    [
                        np.zeros(sim.num_slices),
                        rng.integers(0, 26, sim.num_slices),
                        np.full(sim.num_slices, 25),
                    ]
                ).astype(float)
                sim.set_slice_allocation(None if step % 4 == 0 else caps)
            else:
                sim.set_wifi_split(None if step % 4 == 0 else rng.random(sim.num_users))
            table = sim._advance_measured()  # the interval's counters stay open while its records are built
            assert sim.records(table) == ref_sim_records(sim, table)
            only = frozenset({"gma::dl::rate", "gma::dl::owd", "gma::dl::cell::rate", "lte::prb_allocation"})
            assert sim.records(table, only) == ref_sim_records(sim, table, only)


@pytest.mark.parametrize("num_users", [1, 3, 8, 9, 17, 64, 100, 257])
def test_slice_metrics_equal_the_reference_bit_for_bit(num_users: int) -> None:
    rng = np.random.default_rng(num_users)
    for num_slices in (1, 2, 3):
        table = rng.random((len(METRIC_KEYS), num_users)) * rng.choice([1e-3, 1.0, 1e4], size=(1, num_users))
        user_slice = (
            rng.integers(0, num_slices, num_users) if num_slices > 1 else np.zeros(num_users, np.int64)
        )
        rx = rng.integers(0, 3, num_users)
        viol = np.minimum(rng.integers(0, 3, num_users), rx)
        got = slice_metrics(table, user_slice, num_slices, rx, viol)
        want = ref_slice_metrics(table, user_slice, num_slices, rx, viol)
        assert list(got) == list(want)
        for key in want:
            assert got[key] == want[key], key  # exact: same summation order
            assert all(type(v) is float for v in got[key])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=1100),
       st.sampled_from([1.0, 1e-300, 1e300]))
def test_pairwise_sum_adds_in_numpys_order(values: list[float], scale: float) -> None:
    with np.errstate(all="ignore"):
        a = np.array(values, dtype=np.float64) * scale if values else np.zeros(0)
        want = np.add.reduce(a)
        got = 0.0 + _pairwise_sum(a, a.size, np.empty((PAIRWISE_STACK, 3), np.int64), np.empty(PAIRWISE_STACK))
    assert np.float64(got).tobytes() == np.float64(want).tobytes() or (np.isnan(got) and np.isnan(want))


_REWARD_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.none(),
                           st.sampled_from([0.0, -0.0, -1.0, 1e-300, 5.0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_REWARD_VALUES, max_size=11), st.lists(_REWARD_VALUES, max_size=11))
def test_utility_reward_of_few_users_equals_the_reference(rates: list, owds: list) -> None:
    # below 8 users the utility is computed with Python floats: it must still be numpy's value, bit for bit
    records = [
        {"source": "gma", "name": "dl::rate", "id": list(range(1, len(rates) + 1)), "ts": 1, "value": rates},
        {"source": "gma", "name": "dl::owd", "id": list(range(1, len(owds) + 1)), "ts": 1, "value": owds},
    ]
    for index in (records, RecordIndex(records)):
        for reward_type in tm.REWARD_TYPES:
            with np.errstate(all="ignore"):
                got, want = tm.get_reward(index, reward_type), ref_tm_reward(records, reward_type)
            assert np.float64(got).tobytes() == np.float64(want).tobytes() or (math.isnan(got) and math.isnan(want))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=60))
def test_round6_equals_numpys_round(values: list[float]) -> None:
    table = np.array(values).reshape(1, -1)
    with np.errstate(all="ignore"):
        assert round6(table).tobytes() == np.round(table, 6).tobytes()
        assert round6(table[:, ::2]).tobytes() == np.round(table[:, ::2], 6).tobytes()  # a strided view too


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 136, 255, 256, 257, 1000, 1024, 5000])
def test_pairwise_sum_follows_numpys_split_tree(n: int) -> None:
    a = np.random.default_rng(n).standard_normal(n) * 10.0 ** np.random.default_rng(n + 1).uniform(-8, 8, n)
    got = 0.0 + _pairwise_sum(a, n, np.empty((PAIRWISE_STACK, 3), np.int64), np.empty(PAIRWISE_STACK))
    assert np.float64(got).tobytes() == np.add.reduce(a).tobytes()


def test_slice_metrics_of_uplink_data_and_uncounted_acks() -> None:
    rng = np.random.default_rng(5)
    table = rng.random((len(METRIC_KEYS), 6))
    user_slice = np.array([0, 1, 0, 1, 1, 0])
    rx, viol = np.array([3, 0, 2, 0, 0, 1]), np.array([1, 0, 0, 0, 0, 1])
    table[ROW["gma::ul::rate"], 1] = -1.0  # slice 1's ACKs uncounted: its ul cell values are -1
    got = slice_metrics(table, user_slice, 2, rx, viol, downlink=False)
    want = ref_slice_metrics(table, user_slice, 2, rx, viol)
    assert list(got) == [swap_direction(key) for key in want]
    for key, values in want.items():
        expected = [-1.0] * 2 if key == "lte::dl::cell::rb_usage" else values
        assert got[swap_direction(key)] == expected, key
    assert got["gma::dl::cell::rate"] == [-1.0, -1.0] or got["gma::dl::cell::rate"][1] == -1.0
    assert got["gma::ul::cell::delay_violation"] == [100.0 * 2 / 6, -1.0]


# ---------------------------------------------------------------------------------------------- adapters
def test_record_values_and_index_match_the_reference_on_odd_records() -> None:
    odd = [
        {"source": "gma", "name": "dl::rate", "id": [1, 2, 3], "value": [1.5, None, float("nan")]},
        {
            "source": "gma",
            "name": "dl::rate",
            "id": [1, 2, 3],
            "value": [9.0, 9.0, 9.0],
        },  # shadowed duplicate
        {"source": "gma", "name": "dl::owd", "id": [3, 1, 2], "value": [30, 10, 20]},
        {"source": "gma", "name": "x_loc", "id": [1.0, "2", None], "value": ["4.5", True, 3.0]},
        {"source": "gma", "name": "y_loc", "id": [1, 2], "value": [1.0, 2.0, 3.0]},
        {"source": "lte", "name": "dl::max_rate", "id": [1, 2, 3], "value": [[1.0], 2.0, 3.0]},
        {"source": ["not", "hashable"], "name": "dl::rate", "id": [1], "value": [5.0]},
        {"source": "wifi", "name": "dl::max_rate", "id": [1, 2, 3, 4], "value": [1.0, 2.0, 3.0, 4.0]},
    ]
    index = RecordIndex(odd)
    assert list(index) == odd
    for source, name in [
        ("gma", "dl::rate"),
        ("gma", "dl::owd"),
        ("gma", "x_loc"),
        ("gma", "y_loc"),
        ("wifi", "dl::max_rate"),
        ("nr", "dl::rate"),
    ]:
        assert find_record(index, source, name) is ref_find_record(odd, source, name)
        for records in (odd, index):
            got = record_values(records, source, name, 3, fill=-7.0)
            np.testing.assert_array_equal(got, ref_record_values(odd, source, name, 3, fill=-7.0))
    with pytest.raises(TypeError):  # a nested value fails as before
        ref_record_values(odd, "lte", "dl::max_rate", 3)
    with pytest.raises(TypeError):
        record_values(index, "lte", "dl::max_rate", 3)


def _tm_actions(env, rng, step):
    if step % 5 == 0:
        return []
    return rng.random(env.num_users).astype(np.float32)


@pytest.mark.parametrize("num_users", [4, 16])
def test_traffic_mgmt_obs_and_rewards_equal_the_reference(num_users: int) -> None:
    for seed in (1, 5):
        env = TrafficMgmtEnv(num_users=num_users, steps_per_episode=8, episodes_per_session=2)
        rng = np.random.default_rng(seed)
        obs, info = env.reset(seed=seed)
        np.testing.assert_array_equal(obs, ref_tm_observation(info["network_stats"], num_users))
        for step in range(15):
            if step == 7:
                obs, info = env.reset()
                reward = None
            else:
                obs, reward, _, _, info = env.step(_tm_actions(env, rng, step))
            records = info["network_stats"]
            assert type(records) is list and len(records) == len(METRIC_KEYS) + len(CELL_KEYS)
            np.testing.assert_array_equal(obs, ref_tm_observation(records, num_users))
            if reward is not None:
                assert reward == ref_tm_reward(records, "utility")
            for reward_type in tm.REWARD_TYPES:
                want = ref_tm_reward(records, reward_type)
                assert tm.get_reward(records, reward_type) == want
                assert tm.get_reward(RecordIndex(records), reward_type) == want
            np.testing.assert_array_equal(
                tm.get_observation(RecordIndex(records), num_users), ref_tm_observation(records, num_users)
            )
        env.close()


def test_qos_steer_obs_and_rewards_equal_the_reference() -> None:
    env = QoSSteerEnv()
    rng = np.random.default_rng(3)
    obs, info = env.reset(seed=3)
    for step in range(9):
        action = [] if step == 0 else rng.integers(0, 2, env.num_users)
        obs, reward, _, _, info = env.step(action)
        records = info["network_stats"]
        np.testing.assert_array_equal(obs, ref_tm_observation(records, env.num_users))
        assert reward == ref_qos_reward(records, env.num_users)
        assert qs.get_reward(RecordIndex(records), env.num_users) == reward
    env.close()


def test_network_slicing_obs_and_rewards_equal_the_reference() -> None:
    env = NetworkSlicingEnv()
    rng = np.random.default_rng(4)
    obs, info = env.reset(seed=4)
    for step in range(9):
        action = [] if step == 0 else rng.random(env.num_slices).astype(np.float32)
        obs, reward, _, _, info = env.step(action)
        records = info["network_stats"]
        want_obs = ref_ns_observation(records, env.num_slices, env.num_users, env.cfg.slice_of_user)
        np.testing.assert_array_equal(obs, want_obs)
        assert reward == ref_ns_reward(records, env.num_slices)
        assert ns.get_reward(RecordIndex(records), env.num_slices) == reward
    env.close()
