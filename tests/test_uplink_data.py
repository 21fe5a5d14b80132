"""Uplink data flows (``downlink_traffic: false``): the users send, the network receives (docs/models.md
"Uplink data"). The flows, GMA split and reordering are the downlink's run the other way; what differs is the
MAC (Wi-Fi stations contend and collide, the LTE/NR link budget is the UE's) and the records' names (the data
under ``gma::…ul::``, the ACKs of TCP data under ``gma::…dl::``). Expected values come from the model's own
parameters or from the same scenario run downlink, never from hard-coded numbers.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from test_vector_env import _actions, _single_run

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import load_config
from netgym_lite.errors import ActionError, ConfigError
from netgym_lite.ipc.messages import parse_action
from netgym_lite.models.tcp_receiver import TCP_ACK_BYTES
from netgym_lite.models.wifi_phy import CW_MAX, CW_MIN, collision_probability
from netgym_lite.sim import LTE_PROCESSING_DELAY_MS, LTE_UL_PIPELINE_MS, Simulation, wants_ul_stats


def by_key(records: list[dict]) -> dict[str, list]:
    return {f"{r['source']}::{r['name']}": r["value"] for r in records}


def run(downlink: bool, steps: int, shares: float | None = None, **overrides) -> list[dict[str, list]]:
    """``steps`` intervals of a scenario (each user's Wi-Fi share fixed when ``shares`` is given)."""
    sim = Simulation(load_config(downlink_traffic=downlink, **overrides))
    out = []
    for _ in range(steps):
        if shares is not None:
            sim.set_wifi_split(np.full(sim.num_users, shares))
        out.append(by_key(sim.advance()))
    return out


def one_ap(positions: list[tuple[float, float]], rate_mbps: float, **overrides) -> dict:
    """Users at fixed positions around one AP (and the eNB), CBR UDP at ``rate_mbps`` each."""
    return dict(
        num_users=len(positions),
        user_locations=[{"x": x, "y": y, "z": 1.5} for x, y in positions],
        user_random_walk={"min_speed_m/s": 0, "max_speed_m/s": 0},
        wifi_ap_locations=[{"x": 0, "y": 0, "z": 3}],
        lte_enb_locations={"x": 0, "y": 0, "z": 3},
        transport_protocol="udp", udp_poisson_arrival=False,
        min_udp_rate_per_user_mbps=rate_mbps, max_udp_rate_per_user_mbps=rate_mbps,
        **overrides,
    )


# ------------------------------------------------------------------------------------------------ config
@pytest.mark.parametrize("env", ["nqos_split", "qos_steer"])
def test_uplink_data_is_accepted_where_flows_are_split_or_steered(env: str) -> None:
    assert load_config(env=env, downlink_traffic=False).downlink is False
    assert load_config(env=env).downlink is True


def test_uplink_data_in_a_sliced_cell_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="downlink_traffic.*nqos_split and qos_steer"):
        load_config("network_slicing", downlink_traffic=False)


@pytest.mark.parametrize("key", ["ue_tx_power_dbm", "enb_noise_figure_db"])
def test_lte_uplink_budget_keys_are_range_checked(key: str) -> None:
    with pytest.raises(ConfigError, match=f"lte.{key}"):
        load_config(lte={key: 1e6})


# ------------------------------------------------------------------------------------------------ mirror
def test_one_user_on_wifi_sends_up_exactly_what_it_would_receive_down() -> None:
    """A lone station has no one to collide with and the same link budget both ways (equal AP and station
    powers): its uplink data is its downlink data, bit for bit, under the other direction's names."""
    scenario = one_ap([(12.0, 3.0)], 20.0)
    down = run(True, 6, shares=1.0, **scenario)
    up = run(False, 6, shares=1.0, **scenario)
    for d, u in zip(down, up, strict=True):
        for name in ("rate", "owd", "max_owd", "tx_rate"):
            assert u[f"gma::ul::{name}"] == d[f"gma::dl::{name}"], name
        for name in ("rate", "owd", "traffic_ratio", "split_ratio"):
            assert u[f"gma::wifi::ul::{name}"] == d[f"gma::wifi::dl::{name}"], name
        assert u["gma::dl::rate"] == [0.0]  # UDP: nothing comes back
        assert u["wifi::dl::max_rate"] == d["wifi::dl::max_rate"]
    assert sum(u["gma::ul::rate"][0] for u in up[1:]) > 0


def test_tcp_acks_come_down_under_the_dl_names_with_the_fixed_ack_delay() -> None:
    sim = Simulation(load_config(downlink_traffic=False, num_users=4, transport_protocol="tcp"))
    p = sim.params
    ack_delay = {"wifi": p.ack_delay_wifi_ms + p.wifi_backhaul_ms, "lte": p.ack_delay_lte_ms + p.lte_backhaul_ms}
    for step in range(8):
        r = by_key(sim.advance())
        for u in range(4):
            data, acks = r["gma::ul::rate"][u], r["gma::dl::rate"][u]
            # one ACK (52 bytes) per delivery batch of ≥ 1 data segment
            assert 0 <= acks <= data * TCP_ACK_BYTES / 1400 + 1e-9
            for link in ("wifi", "lte"):
                owd = r[f"gma::{link}::dl::owd"][u]
                assert owd == -1 or owd == pytest.approx(ack_delay[link])
        assert r["lte::dl::rb_usage"] == [-1.0] * 4  # the downlink's RBs carry only ACKs: not simulated
        if step >= 2:
            assert sum(r["gma::ul::rate"]) > 10 * sum(r["gma::dl::rate"]) > 0


def test_radio_records_keep_their_meaning_in_either_direction() -> None:
    """``lte::dl::max_rate`` stays the downlink's capacity (from the eNB's budget), whatever the data's
    direction: the same users at the same places report the same values."""
    down = run(True, 3, num_users=3)
    up = run(False, 3, num_users=3)
    for d, u in zip(down, up, strict=True):
        for key in ("lte::dl::max_rate", "wifi::dl::max_rate", "wifi::ul::max_rate", "gma::x_loc", "lte::cell_id"):
            assert u[key] == d[key], key


# ------------------------------------------------------------------------------------------------ Wi-Fi MAC
def test_collision_probability_solves_bianchis_fixed_point() -> None:
    w, m = CW_MIN + 1, int(np.log2((CW_MAX + 1) / (CW_MIN + 1)))
    previous = 0.0
    assert collision_probability(1) == 0.0
    for n in (2, 3, 5, 10, 20, 50, 100):
        p = collision_probability(n)
        tau = 2 * (1 - 2 * p) / ((1 - 2 * p) * (w + 1) + p * w * (1 - (2 * p) ** m))
        assert p == pytest.approx(1 - (1 - tau) ** (n - 1), abs=1e-9)
        assert previous < p < 1
        previous = p


def test_two_equal_stations_lose_bianchis_share_of_their_txops_to_collisions() -> None:
    """Two saturated stations side by side: downlink (one sender, the AP) and uplink get the same airtime
    per TXOP, but about p(2) of the uplink's TXOPs collide and carry nothing."""
    scenario = one_ap([(10.0, 0.0), (10.0, 0.0)], 200.0)
    down = run(True, 12, shares=1.0, **scenario)[4:]
    up = run(False, 12, shares=1.0, **scenario)[4:]
    agg_down = sum(sum(r["gma::dl::rate"]) for r in down)
    agg_up = sum(sum(r["gma::ul::rate"]) for r in up)
    lost = 1 - agg_up / agg_down
    assert lost == pytest.approx(collision_probability(2), abs=0.04)


def test_wifi_stations_share_by_channel_access_not_by_bytes() -> None:
    """Near and far saturated stations: the AP serves them byte-fair (equal throughput), while as stations they
    win the channel equally often, so the fast one sends more (the 802.11 performance anomaly)."""
    scenario = one_ap([(3.0, 0.0), (45.0, 0.0)], 200.0)
    down = run(True, 12, shares=1.0, **scenario)[4:]
    up = run(False, 12, shares=1.0, **scenario)[4:]
    phy = down[-1]["wifi::dl::max_rate"]
    assert phy[0] > 2 * phy[1]  # the layout gives two clearly different PHY rates
    dl = np.sum([r["gma::dl::rate"] for r in down], axis=0)
    ul = np.sum([r["gma::ul::rate"] for r in up], axis=0)
    assert dl[0] / dl[1] == pytest.approx(1.0, abs=0.1)
    assert ul[0] / ul[1] > 1.5


def test_a_station_that_failed_backs_off_and_wins_the_channel_less_often() -> None:
    """DCF per station: stage 0 sends in a slot with τ = 2/17, stage 3 (after three failures) with 2/129. Drawn
    from the kernel: the winner ∝ τ, and the winner collides when the other's backoff ends in the same slot."""
    from netgym_lite.models import wifi
    from netgym_lite.models.packets import alloc_packet, queue_push

    sim = Simulation(load_config(downlink_traffic=False, **one_ap([(10.0, 0.0), (10.0, 0.0)], 1.0)))
    s, p = sim.state_ref, sim.params_ref
    for user in (0, 1):  # one packet queued at each station: both contend
        queue_push(s, user, 0, alloc_packet(s, user, 0, 0, -1, 1400, 0.0))
    taus = [wifi.dcf_tau(0), wifi.dcf_tau(3)]
    assert taus == [2 / 17, 2 / 129] and wifi.dcf_tau(9) == 2 / 1025  # the window stops at CWmax = 1023
    draws = 6000
    wins = np.zeros(2)
    collisions = np.zeros(2)
    for _ in range(draws):
        sim.state.wifi_dcf_stage[:] = (0, 3)
        winner, collided = wifi._dcf_contend(s, p, 0)
        wins[winner] += 1
        collisions[winner] += collided
        if collided:  # the other station collided too: one stage up
            assert sim.state.wifi_dcf_stage[1 - winner] == (1, 4)[1 - winner]
    share = taus[0] / sum(taus)
    assert wins[0] / draws == pytest.approx(share, abs=4 * np.sqrt(share * (1 - share) / draws))
    assert collisions[0] / wins[0] == pytest.approx(taus[1], abs=0.01)
    assert collisions[1] / wins[1] == pytest.approx(taus[0], abs=0.05)


# ------------------------------------------------------------------------------------------------ LTE
def test_lte_uplink_capacity_follows_the_ue_power_and_pays_the_grant_delay() -> None:
    far = [(150.0, 0.0), (170.0, 0.0), (190.0, 0.0), (210.0, 0.0)]
    strong = run(False, 8, shares=0.0, **one_ap(far, 50.0))[3:]
    weak = run(False, 8, shares=0.0, **one_ap(far, 50.0, lte={"ue_tx_power_dbm": 0.0}))[3:]
    assert sum(sum(r["gma::ul::rate"]) for r in strong) > 1.3 * sum(sum(r["gma::ul::rate"]) for r in weak)
    assert strong[-1]["lte::dl::max_rate"] == weak[-1]["lte::dl::max_rate"]  # the downlink's, unchanged
    # unloaded: an uplink packet takes ns-3's BSR/grant pipeline instead of the downlink's processing delay
    near = [(20.0, 0.0), (25.0, 0.0), (30.0, 0.0), (35.0, 0.0)]
    light_down = run(True, 6, shares=0.0, **one_ap(near, 0.5))[2:]
    light_up = run(False, 6, shares=0.0, **one_ap(near, 0.5))[2:]
    owd_down = np.mean([r["gma::dl::owd"] for r in light_down])
    owd_up = np.mean([r["gma::ul::owd"] for r in light_up])
    assert owd_up - owd_down == pytest.approx(LTE_UL_PIPELINE_MS - LTE_PROCESSING_DELAY_MS, abs=0.3)


# ------------------------------------------------------------------------------------------------ actions
def test_uplink_split_names_steer_the_data_only_when_it_flows_up() -> None:
    rec = {"source": "gma", "name": "wifi::ul::split_ratio", "id": [1, 2], "ts": 5, "value": [0.25, 1.0]}
    assert parse_action(rec, num_users=2, last_ts=5, uplink_data=True).tolist() == [0.25, 1.0]
    with pytest.raises(ActionError, match="downlink_traffic: false"):
        parse_action(rec, num_users=2, last_ts=5)


def test_ack_bookkeeping_is_on_when_the_acks_names_are_subscribed() -> None:
    assert wants_ul_stats(("gma::ul::rate",), downlink=True)
    assert not wants_ul_stats(("gma::ul::rate",), downlink=False)  # with uplink data that is the data
    assert wants_ul_stats(("gma::dl::owd",), downlink=False)
    assert wants_ul_stats((), downlink=False)


# ------------------------------------------------------------------------------------------------ envs
def test_traffic_mgmt_observes_the_uplink_data_and_passes_check_env() -> None:
    env = gym.make("netgym-lite/TrafficMgmt-v0", downlink_traffic=False, transport_protocol="udp",
                   steps_per_episode=3, episodes_per_session=2)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=3)  # the first measurement of the episode
    for _ in range(2):
        obs, reward, _, _, info = env.step(env.action_space.sample())
        stats = by_key(info["network_stats"])
        np.testing.assert_array_equal(obs[2], np.maximum(np.float32(stats["gma::ul::rate"]), 0))
        assert max(stats["gma::ul::rate"]) > 0 and max(stats["gma::dl::rate"]) == 0  # UDP: no ACKs
    env.close()


def test_vector_env_with_uplink_data_equals_single_envs() -> None:
    env_id, overrides = "netgym-lite/TrafficMgmt-v0", {
        "num_users": 3, "steps_per_episode": 3, "episodes_per_session": 1, "downlink_traffic": False}
    venv = gym.make_vec(env_id, num_envs=2, **overrides)
    actions = _actions(venv.action_space, 5, seed=2)
    obs, _ = venv.reset(seed=9)
    got = [[(obs[i], 0.0)] for i in range(2)]
    for a in actions:
        obs, rewards, *_ = venv.step(a)
        for i in range(2):
            got[i].append((obs[i], rewards[i]))
    venv.close()
    for i in range(2):
        want = _single_run(env_id, overrides, 9 + i, [a[i] for a in actions])
        for (g_obs, g_rew), (w_obs, w_rew, *_) in zip(got[i], want, strict=True):
            np.testing.assert_array_equal(g_obs, w_obs)
            assert g_rew == w_rew
        assert any(o[2].sum() > 0 for o, _ in got[i])  # the delivered uplink data is observed


def test_per_slice_ack_direction_stats_sum_their_users() -> None:
    """The ``gma::ul::cell::*`` records (network slicing, TCP downloads): per-slice sums of the users' ACK
    rates, and the ACK-weighted share over the delay bound."""
    sim = Simulation(load_config("network_slicing", transport_protocol="tcp",
                                 subscribed_network_stats=[]))
    slices = np.array(sim.params.user_slice)
    for _ in range(4):
        r = by_key(sim.advance())
    cell = {k: v[0]["value"] for k, v in r.items() if "::cell::" in k}
    rates = np.array(r["gma::ul::rate"])
    for sl in range(sim.num_slices):
        assert cell["gma::ul::cell::rate"][sl] == pytest.approx(rates[slices == sl].sum(), abs=1e-5)
        assert cell["gma::ul::cell::rate"][sl] > 0
        assert 0 <= cell["gma::ul::cell::delay_violation"][sl] <= 100


def test_qos_steer_rewards_the_users_whose_uplink_meets_qos_on_wifi() -> None:
    env = gym.make("netgym-lite/QoSSteer-v0", downlink_traffic=False, num_users=4, steps_per_episode=4,
                   episodes_per_session=1)
    # the scenario subscribes the dl names (written for downlink data): the env adds the ul ones it reads
    subscribed = env.unwrapped.env_config["subscribed_network_stats"]
    assert "gma::wifi::ul::qos_rate" in subscribed and "gma::wifi::dl::qos_rate" in subscribed
    env.reset(seed=1)
    rewards = []
    for _ in range(3):
        _, reward, _, _, info = env.step(np.ones(4, dtype=np.int64))  # every flow on Wi-Fi
        stats = by_key(info["network_stats"])
        assert reward == sum(v > 0.1 for v in stats["gma::wifi::ul::qos_rate"])
        rewards.append(reward)
    assert max(rewards) > 0  # light uplink flows on one AP meet QoS
    env.close()
