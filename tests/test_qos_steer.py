"""QoSSteer-v0: QoS tests near their thresholds, prohibit timers, GMA's system-default steering, dynamic flow
prioritisation with LTE admission control, the env's adapters and wire form.

Timeline of a qos_steer simulation here: traffic starts at 1000 ms, intervals are 1000 ms (an action applies at
each boundary 2000, 3000, ...), QoS test windows end every 500 ms (1500, 2000, ...).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from test_core_vs_reference import wifi_capacity_mbps

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import load_config
from netgym_lite.envs.qos_steer import get_policy, get_reward, validate_action
from netgym_lite.errors import ActionError, ConfigError
from netgym_lite.sim import Simulation

WIFI, LTE = 0, 1
MIRROR = Path("/work/.mirror/IntelLabs+networkgym/repo")


def one_user(x: float = 60.0, **overrides):
    """qos_steer's layout (eNB and AP at (40, 0, 3)) with static users at ``x`` metres on the x axis."""
    xs = [x] if isinstance(x, (int, float)) else list(x)
    return load_config("qos_steer", num_users=len(xs), user_locations=[{"x": v, "y": 0, "z": 1.5} for v in xs],
                       user_random_walk={"min_speed_m/s": 0, "max_speed_m/s": 0}, subscribed_network_stats=[],
                       steps_per_episode=30, **overrides)


def start_on(sim: Simulation, links: list[int], rates_mbps: list[float], agent: bool = True) -> None:
    """Before the first interval: each user's flow on a link, its UDP rate, and who steers it in the first
    interval (the agent: no system-default move before the first action applies)."""
    s = sim.state
    s.qos_auto[:] = not agent
    s.wifi_units[:] = [sim.params.split_burst if link == WIFI else 0 for link in links]
    s.qos_win_link[:] = links
    s.udp_rate_mbps[:] = rates_mbps


def lte_capacity(sim: Simulation, user: int = 0) -> float:
    return sim.state.lte_bits_per_rb[user] * sim.params.lte_rbs / 1000.0


def value(records: list[dict], key: str) -> list[float]:
    source, name = key.split("::", 1)
    return next(r["value"] for r in records if r["source"] == source and r["name"] == name)


# ------------------------------------------------------------------------------------------ QoS thresholds
@pytest.mark.parametrize("link", [WIFI, LTE])
@pytest.mark.parametrize(("load", "passes"), [(0.9, True), (1.1, False)])
def test_a_flow_at_90_percent_of_capacity_passes_and_at_110_fails(link: int, load: float, passes: bool) -> None:
    sim = Simulation(one_user(60.0))
    if link == WIFI:
        capacity = wifi_capacity_mbps(sim.cfg, sim.state.wifi_rate_mbps[:1])
    else:
        capacity = lte_capacity(sim)
    start_on(sim, [link], [load * capacity])
    for _ in range(4):
        sim.set_wifi_split(np.array([1.0 if link == WIFI else 0.0]))
        records = sim.advance()
    name = "wifi" if link == WIFI else "lte"
    assert sim.state.qos_last_pass[0, link] == (1 if passes else 0)
    qos_rate = value(records, f"gma::{name}::dl::qos_rate")[0]
    rate = value(records, f"gma::{name}::dl::rate")[0]
    assert rate > 0.85 * capacity
    assert (qos_rate == rate) if passes else (qos_rate == 0.0)
    assert sim.state.qos_moves[0] == 0  # the agent kept it there


# ------------------------------------------------------------------------------------------ prohibit timer
def test_the_prohibit_timer_blocks_a_move_for_5_s_after_a_failed_test() -> None:
    sim = Simulation(one_user(60.0))
    start_on(sim, [WIFI], [1.1 * lte_capacity(sim)])  # fine on Wi-Fi, too much for LTE
    s = sim.state
    sim.advance()  # [1000, 2000) on Wi-Fi
    sim.set_wifi_split(np.array([0.0]))  # 2000: onto LTE; the windows ending 2500 and 3000 fail there
    sim.advance()
    assert s.wifi_units[0] == 0 and s.qos_last_pass[0, LTE] == 0
    sim.set_wifi_split(np.array([1.0]))  # 3000: back to Wi-Fi (allowed)
    sim.advance()
    assert s.qos_prohibit_until_ms[0, LTE] == 8000.0  # the window [2500, 3000) on LTE failed at 3000
    for boundary in (4000, 5000, 6000, 7000):  # within 5 s of the failure: refused
        sim.set_wifi_split(np.array([0.0]))
        sim.advance()
        assert s.wifi_units[0] == sim.params.split_burst, boundary
    assert s.qos_blocked[0] == 4
    sim.set_wifi_split(np.array([0.0]))  # 8000: the timer ran out
    sim.advance()
    assert s.wifi_units[0] == 0 and s.qos_blocked[0] == 4


# ------------------------------------------------------------------------------------------ system default
def test_system_default_moves_a_failing_flow_to_the_other_link_and_keeps_it_there() -> None:
    sim = Simulation(one_user(60.0, wifi={"tx_power_dbm": -5}))  # a weak AP: ~8 Mbps of Wi-Fi
    wifi_cap = wifi_capacity_mbps(sim.cfg, sim.state.wifi_rate_mbps[:1])
    assert 0 < wifi_cap < 0.5 * lte_capacity(sim)
    start_on(sim, [WIFI], [2.0 * wifi_cap], agent=False)
    for _ in range(4):
        sim.set_wifi_split(None)  # system default every interval
        records = sim.advance()
    s = sim.state
    assert s.wifi_units[0] == 0 and s.qos_moves[0] == 1  # moved to LTE after the first failed window
    assert s.qos_last_pass[0, WIFI] == 0 and s.qos_last_pass[0, LTE] == 1
    assert value(records, "gma::lte::dl::qos_rate")[0] > 0


def test_system_default_does_not_return_to_a_link_within_its_prohibit_period() -> None:
    sim = Simulation(one_user(60.0, wifi={"tx_power_dbm": -5}))
    start_on(sim, [WIFI], [1.5 * lte_capacity(sim)], agent=False)  # too much for both links
    s = sim.state
    moves_at = []
    for _ in range(10):
        sim.set_wifi_split(None)
        before = int(s.qos_moves[0])
        sim.advance()
        if s.qos_moves[0] > before:
            moves_at.append(sim.ts_ms)
    # 1500: Wi-Fi fails → LTE. LTE fails every window from 2000, but Wi-Fi stays prohibited until 6500, so the
    # flow goes back at the first failed LTE window from 6500 (the one ending at 6500), then LTE is prohibited.
    assert moves_at[:2] == [2000, 7000]


# ------------------------------------------------------------------------------------------ priorities
@pytest.mark.parametrize("dfp", [True, False])
def test_dynamic_flow_prioritisation_serves_admitted_flows_first_on_lte(dfp: bool) -> None:
    cfg = one_user([50.0, 55.0, 60.0, 65.0], GMA={"enable_dynamic_flow_prioritization": dfp})
    sim = Simulation(cfg)
    cap = lte_capacity(sim)
    start_on(sim, [LTE] * 4, [0.3 * cap] * 4)  # 1.2 x the cell; 3 flows fit under admission control
    sim.state.dfp_fraction[0] = 0.9  # quota ceil(3.6) = 4: admission control must stop the 4th
    for _ in range(4):
        sim.set_wifi_split(np.zeros(4))
        records = sim.advance()
    rate = np.array(value(records, "gma::lte::dl::rate"))
    prio = value(records, "gma::lte::dl::priority")
    if dfp:
        assert prio == [1.0, 1.0, 1.0, 0.0]
        assert np.all(rate[:3] > 0.97 * 0.3 * cap) and rate[3] < 0.5 * 0.3 * cap
    else:
        assert prio == [0.0] * 4
        assert np.all(rate < 0.95 * 0.3 * cap)  # proportional fair: everyone short


def test_dynamic_flow_prioritisation_on_wifi_marks_the_configured_share() -> None:
    cfg = one_user([45.0, 46.0, 47.0, 48.0], GMA={"enable_dynamic_flow_prioritization": True})
    sim = Simulation(cfg)
    cap = wifi_capacity_mbps(sim.cfg, sim.state.wifi_rate_mbps)
    start_on(sim, [WIFI] * 4, [0.3 * cap] * 4)
    sim.state.dfp_fraction[0] = 0.75  # ceil(3.0) = 3 flows high priority (Wi-Fi has no admission control)
    for _ in range(4):
        sim.set_wifi_split(np.ones(4))
        records = sim.advance()
    rate = np.array(value(records, "gma::wifi::dl::rate"))
    assert value(records, "gma::wifi::dl::priority") == [1.0, 1.0, 1.0, 0.0]
    assert np.all(rate[:3] > 0.97 * 0.3 * cap) and rate[3] < 0.5 * 0.3 * cap


def test_dynamic_flow_prioritisation_is_refused_outside_qos_steer() -> None:
    with pytest.raises(ConfigError, match="enable_dynamic_flow_prioritization"):
        load_config(GMA={"enable_dynamic_flow_prioritization": True})


# ------------------------------------------------------------------------------------------ adapters + env
@pytest.mark.skipif(not MIRROR.exists(), reason="NetworkGym mirror not fetched")
def test_networkgyms_shipped_qos_steer_config_runs() -> None:
    text = subprocess.check_output(["git", "-C", str(MIRROR), "show",
                                    "HEAD:network_gym_client/envs/qos_steer/config.json"])
    whole = json.loads(text)
    env = gym.make("netgym-lite/QoSSteer-v0", scenario=whole, steps_per_episode=3)
    assert env.unwrapped.reward_type == "wifi_qos_user_num" and env.unwrapped.cfg.qos.test_duration_ms == 500
    env.reset(seed=1)
    assert env.step(np.ones(8, dtype=np.int64))[1] == 8.0


def test_shipped_scenario_matches_the_design_defaults() -> None:
    cfg = load_config("qos_steer")
    assert (cfg.env, cfg.num_users, cfg.step_interval_ms, cfg.lte.resource_block_num) == ("qos_steer", 8, 1000, 25)
    assert [(p.x, p.y, p.z) for p in (*cfg.lte_enb_locations, *cfg.wifi_ap_locations)] == [(40, 0, 3)] * 2
    assert (cfg.traffic.transport, cfg.traffic.udp_poisson_arrival) == ("udp", False)
    assert (cfg.traffic.min_udp_rate_per_user_mbps, cfg.traffic.max_udp_rate_per_user_mbps) == (2, 3)
    assert (cfg.steps_per_episode, cfg.episodes_per_session, cfg.random_seed) == (10, 1, 2)



def test_reward_counts_users_with_wifi_qos_rate_over_0_1_mbps() -> None:
    records = [{"source": "gma", "name": "wifi::dl::qos_rate", "id": [1, 2, 3, 4], "ts": 1,
                "value": [0.0, 0.1, 0.11, 2.5]}]
    assert get_reward(records, 4) == 2.0
    assert get_reward([], 4) == 0.0


def test_validate_action_and_the_wire_form() -> None:
    assert validate_action([], 3) is None
    links = validate_action(np.array([1, 0, 1]), 3)
    template = {"source": "gma", "name": "dl::rate", "id": [1, 2, 3], "ts": 2000, "value": [1.0, 2.0, 3.0]}
    policy = get_policy(links, template)
    assert policy == {"source": "gma", "name": "wifi::dl::split_ratio", "id": [1, 2, 3], "ts": 2000,
                      "value": [1.0, 0.0, 1.0]}
    with pytest.raises(ActionError, match=r"action\[1\]=0.5"):
        validate_action([1, 0.5, 0], 3)
    with pytest.raises(ActionError, match="shape"):
        validate_action([1, 0], 3)


def test_check_env_and_the_action_changes_the_reward() -> None:
    env = gym.make("netgym-lite/QoSSteer-v0")
    check_env(env.unwrapped, skip_render_check=True)
    totals = {}
    for link in (0, 1):
        env.reset(seed=5)
        totals[link] = sum(env.step(np.full(8, link))[1] for _ in range(4))
    assert totals[0] == 0.0  # everyone on LTE: no Wi-Fi qos users by definition
    assert totals[1] > 20.0  # everyone on Wi-Fi: light 2-3 Mbps flows meet QoS
    obs, info = env.reset(seed=5)
    assert obs.shape == (3, 8) and env.unwrapped.reward_type == "wifi_qos_user_num"


def test_same_seed_same_run() -> None:
    def run(seed: int) -> list:
        env = gym.make("netgym-lite/QoSSteer-v0", steps_per_episode=6)
        out = [env.reset(seed=seed)[0].tolist()]
        for k in range(5):
            out.append(env.step(np.array([k % 2] * 4 + [1] * 4))[:2])
        return [o if isinstance(o, list) else (o[0].tolist(), o[1]) for o in out]
    assert run(9) == run(9)
