"""Hypothesis properties of the simulation over random small scenarios.

For any scenario (1–6 users, UDP CBR/Poisson or TCP, random rates, queue and buffer sizes, backhauls, radios,
static or walking users, shared or separate Wi-Fi channels) and any sequence of splits (NaN = system default):

* packet conservation: sent == delivered + dropped + in_system per user, after every interval, and the
  per-interval counters add up to the totals;
* owd ≥ propagation + transmission time: Wi-Fi ≥ backhaul + TXOP overhead + one packet's airtime at the user's
  PHY rate; LTE ≥ backhaul + 3 ms (next TTI ≥ arrival, 1 ms TTI, 2 ms processing);
* delivered ≤ offered (cumulative, per user and per link) and ≤ what the link's PHY could carry;
* a fixed split k/B is honoured within one packet in every interval (k of any B consecutive packets), and a
  link out of coverage is skipped while the other is up;
* the env's observation and reward are finite under random actions, for every reward type;
* configuration and action errors name the offending field / action index.
"""

from __future__ import annotations

import dataclasses as dc
import json
import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import netgym_lite  # noqa: F401  (registers the env)
from netgym_lite.config import DEFAULT_SCENARIO, SECTION_KEYS, TOP_LEVEL_KEYS, load_config
from netgym_lite.config_types import LINK_LTE, LINK_WIFI, Position, ScenarioConfig
from netgym_lite.envs.traffic_mgmt import REWARD_TYPES, TrafficMgmtEnv
from netgym_lite.errors import ActionError, ConfigError
from netgym_lite.models.wifi_phy import MPDU_OVERHEAD_BYTES, phy_rate_table_mbps, txop_overhead_us
from netgym_lite.sim import Simulation

ENV_ID = "netgym-lite/TrafficMgmt-v0"
BASE = ScenarioConfig()
DEFAULT_DICT = json.loads(DEFAULT_SCENARIO.read_text())
LTE_MIN_DELAY_MS = 3.0  # a packet enters a TTI at or after its arrival, + 1 ms TTI + 2 ms processing
EPS_MS = 1e-6

SIM_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def scenarios(draw) -> ScenarioConfig:
    n = draw(st.integers(1, 6))
    lo = draw(st.one_of(st.just(0.0), st.floats(0.1, 40.0)))
    hi = lo + draw(st.floats(0.0, 30.0))
    moving = draw(st.booleans())
    walk = BASE.user_random_walk if moving else dc.replace(BASE.user_random_walk, min_speed_mps=0.0,
                                                           max_speed_mps=0.0)
    area = BASE.user_location_range
    if draw(st.booleans()):
        locations = None  # uniform in the default 55 m × 10 m area
    else:  # anywhere up to 150 m away: some users out of Wi-Fi range, some at the LTE cell edge
        locations = tuple(Position(draw(st.floats(0.0, 150.0)), draw(st.floats(0.0, 10.0)), area.z)
                          for _ in range(n))
        area = dc.replace(area, max_x=150.0)
    standard = draw(st.sampled_from(["802.11ax", "802.11ac"]))
    return dc.replace(
        BASE,
        num_users=n,
        user_locations=locations,
        user_location_range=area,
        user_random_walk=walk,
        traffic=dc.replace(
            BASE.traffic,
            transport=draw(st.sampled_from(["udp", "tcp"])),
            udp_poisson_arrival=draw(st.booleans()),
            min_udp_rate_per_user_mbps=lo,
            max_udp_rate_per_user_mbps=hi,
            packet_size_bytes=draw(st.sampled_from([200, 1000, 1400, 1500])),
        ),
        wifi=dc.replace(
            BASE.wifi,
            standard=standard,
            channel_width_mhz=draw(st.sampled_from([20, 40, 80])),
            ap_queue_packets=draw(st.integers(1, 600)),
            backhaul_delay_ms=draw(st.sampled_from([0.0, 0.5, 3.0])),
            ap_share_same_band=draw(st.booleans()),
        ),
        lte=dc.replace(
            BASE.lte,
            resource_block_num=draw(st.sampled_from([6, 15, 25, 50, 75, 100])),
            rlc_buffer_bytes=draw(st.integers(1500, 200_000)),
            backhaul_delay_ms=draw(st.sampled_from([0.0, 1.0, 4.0])),
        ),
        gma=dc.replace(BASE.gma, delay_threshold_ms=draw(st.sampled_from([5.0, 10.0]))),
    )


def share_lists(n: int):
    one = st.one_of(st.just(math.nan), st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0]))
    return st.lists(st.lists(one, min_size=n, max_size=n), min_size=1, max_size=6)


def run_checked(cfg: ScenarioConfig, seed: int, splits: list[list[float]], check) -> Simulation:
    """Advance one interval per split (NaN = system default), calling ``check(sim, snap, prev)`` each time."""
    sim = Simulation(cfg, seed)
    prev = None
    for shares in splits:
        sim.set_wifi_split(np.array(shares))
        snap = sim.advance_stats()
        check(sim, snap, prev)
        prev = snap
    return sim


@SIM_SETTINGS
@given(data=st.data(), cfg=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_packets_are_conserved_after_every_interval(data, cfg: ScenarioConfig, seed: int) -> None:
    splits = data.draw(share_lists(cfg.num_users))
    sums = {"sent": 0, "delivered": 0, "dropped": 0}

    def check(sim: Simulation, snap, prev) -> None:
        c = sim.conservation()
        np.testing.assert_array_equal(c["sent"], c["delivered"] + c["dropped"] + c["in_system"])
        assert np.all(c["in_system"] >= 0) and np.all(c["dropped"] >= 0)
        s = snap.st
        sums["sent"] = sums["sent"] + s.tx_pkts.sum(axis=1)
        sums["delivered"] = sums["delivered"] + s.rx_pkts
        sums["dropped"] = sums["dropped"] + s.drops.sum(axis=1)
        for k, v in sums.items():  # the interval counters records are built from add up to the totals
            np.testing.assert_array_equal(v, c[k], err_msg=k)
        # everything still queued at the AP / eNB or waiting in the reordering buffer is "in the system"
        state = sim.state
        held = state.q_length.sum(axis=1) + state.rx_buffered
        assert np.all(c["in_system"] >= held), (c["in_system"], held)

    run_checked(cfg, seed, splits, check)


def wifi_min_owd_ms(cfg: ScenarioConfig, rate_mbps: np.ndarray) -> np.ndarray:
    air_us = (cfg.traffic.packet_size_bytes + MPDU_OVERHEAD_BYTES) * 8.0 / np.where(rate_mbps > 0, rate_mbps, np.nan)
    return cfg.wifi.backhaul_delay_ms + (txop_overhead_us(cfg.wifi.standard) + air_us) / 1000.0


@SIM_SETTINGS
@given(data=st.data(), cfg=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_owd_is_at_least_propagation_plus_transmission_time(data, cfg: ScenarioConfig, seed: int) -> None:
    splits = data.draw(share_lists(cfg.num_users))

    def check(sim: Simulation, snap, prev) -> None:
        s = snap.st
        # A TXOP that started in the previous interval used the previous PHY rate: take the faster of the two.
        rate = snap.wifi_rate_mbps if prev is None else np.maximum(snap.wifi_rate_mbps, prev.wifi_rate_mbps)
        bound = {LINK_WIFI: wifi_min_owd_ms(cfg, rate),
                 LINK_LTE: np.full(cfg.num_users, cfg.lte.backhaul_delay_ms + LTE_MIN_DELAY_MS)}
        for link, lb in bound.items():
            got = s.link_rx_pkts[:, link] > 0
            assert np.all(~np.isnan(lb[got])), "a link without PHY rate delivered packets"
            mean = s.link_owd_sum[got, link] / s.link_rx_pkts[got, link]
            assert np.all(mean >= lb[got] - EPS_MS), (link, mean, lb[got])
            assert np.all(s.link_owd_max[got, link] >= mean - EPS_MS)
        # after reordering: no faster than the faster link could have been
        overall = np.fmin(bound[LINK_WIFI], bound[LINK_LTE])
        got = s.rx_pkts > 0
        mean = s.owd_sum[got] / s.rx_pkts[got]
        assert np.all(mean >= overall[got] - EPS_MS), (mean, overall[got])
        assert np.all(s.owd_max[got] >= mean - EPS_MS)

    run_checked(cfg, seed, splits, check)


@SIM_SETTINGS
@given(data=st.data(), cfg=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_delivered_never_exceeds_offered_or_the_link_capacity(data, cfg: ScenarioConfig, seed: int) -> None:
    splits = data.draw(share_lists(cfg.num_users))
    tot = {"tx": np.zeros((cfg.num_users, 2)), "link_rx": np.zeros((cfg.num_users, 2)),
           "tx_bytes": np.zeros(cfg.num_users), "rx_bytes": np.zeros(cfg.num_users)}
    interval = float(cfg.step_interval_ms)
    wifi_peak = phy_rate_table_mbps(cfg.wifi.standard, cfg.wifi.channel_width_mhz, cfg.wifi.spatial_streams)[-1]

    def check(sim: Simulation, snap, prev) -> None:
        s = snap.st
        tot["tx"] += s.tx_pkts
        tot["link_rx"] += s.link_rx_pkts
        tot["tx_bytes"] += s.tx_bytes
        tot["rx_bytes"] += s.rx_bytes
        assert np.all(tot["link_rx"] <= tot["tx"]), (tot["link_rx"], tot["tx"])
        assert np.all(tot["rx_bytes"] <= tot["tx_bytes"] + 1e-6)
        # a link cannot deliver faster than its PHY: Wi-Fi (+ one 5.5 ms TXOP straddling the interval start),
        # LTE all RBs (+ the 3 ms of TTIs in the processing pipeline at the interval start)
        w_rate = snap.wifi_rate_mbps if prev is None else np.maximum(snap.wifi_rate_mbps, prev.wifi_rate_mbps)
        assert np.all(w_rate <= wifi_peak + 1e-9)
        w_cap_bytes = w_rate * 1000.0 * (interval + 5.5) / 8.0
        assert np.all(s.link_rx_bytes[:, LINK_WIFI] <= w_cap_bytes + 1e-6), (s.link_rx_bytes, w_rate)
        bits = snap.lte_bits_per_rb if prev is None else np.maximum(snap.lte_bits_per_rb, prev.lte_bits_per_rb)
        l_cap_bytes = bits * cfg.lte.resource_block_num * (interval + 4.0) / 8.0
        assert np.all(s.link_rx_bytes[:, LINK_LTE] <= l_cap_bytes + cfg.traffic.packet_size_bytes), (
            s.link_rx_bytes, l_cap_bytes)
        # the whole cell's RBs are shared: Σ RB·ms used ≤ RBs × interval
        assert s.rbs.sum() <= cfg.lte.resource_block_num * interval + 1e-6

    run_checked(cfg, seed, splits, check)


@SIM_SETTINGS
@given(data=st.data(), cfg=scenarios(), seed=st.integers(0, 2**31 - 1))
def test_a_fixed_split_is_honoured_within_one_packet_every_interval(data, cfg: ScenarioConfig, seed: int) -> None:
    n = cfg.num_users
    burst = cfg.gma.split_burst
    splits = data.draw(st.lists(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n), min_size=1, max_size=5))
    sim = Simulation(cfg, seed)
    sim.advance_stats()  # the first interval precedes any action
    for shares in splits:
        sim.set_wifi_split(np.array(shares))
        snap = sim.advance_stats()
        k = np.rint(np.array(shares) * burst)
        np.testing.assert_array_equal(snap.wifi_units, k)
        sent = snap.st.tx_pkts.sum(axis=1)
        wifi_up = snap.wifi_rate_mbps > 0
        lte_up = snap.lte_bits_per_rb > 0
        both = wifi_up == lte_up  # both up (or both down): the split applies as configured
        wifi = snap.st.tx_pkts[:, LINK_WIFI]
        assert np.all(np.abs(wifi - sent * k / burst)[both] < 1.0), (snap.st.tx_pkts, k, wifi_up, lte_up)
        # docs/models.md: a link that is down (out of coverage) is skipped while the other one is up
        assert np.all(wifi[~wifi_up & lte_up] == 0)
        assert np.all(snap.st.tx_pkts[wifi_up & ~lte_up, LINK_LTE] == 0)


# ---------------------------------------------------------------------------------------------- the env
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    num_users=st.integers(1, 5),
    reward_type=st.sampled_from(REWARD_TYPES),
    transport=st.sampled_from(["tcp", "udp"]),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_obs_and_reward_are_finite_under_random_actions(num_users, reward_type, transport, seed, data) -> None:
    env = gym.make(ENV_ID, num_users=num_users, reward_type=reward_type, transport_protocol=transport,
                   steps_per_episode=3, episodes_per_session=2)
    try:
        obs, info = env.reset(seed=seed)
        assert obs.shape == (3, num_users) and np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
        for _ in range(5):
            if data.draw(st.booleans(), label="system default"):
                action = []
            else:
                action = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=num_users,
                                                     max_size=num_users)), dtype=np.float32)
            obs, reward, terminated, truncated, info = env.step(action)
            assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
            assert isinstance(reward, float) and math.isfinite(reward)
            if reward_type == "utility":
                assert -10.0 <= reward <= 10.0
            if terminated or truncated:
                if terminated:
                    break
                env.reset()
    finally:
        env.close()


# ---------------------------------------------------------------------------------------------- errors
# (override, the field the message must name): each value is outside what the field allows.
BAD_CONFIG = [
    ({"min_udp_rate_per_user_mbps": -1.0}, "min_udp_rate_per_user_mbps"),
    ({"max_udp_rate_per_user_mbps": -0.5}, "max_udp_rate_per_user_mbps"),
    ({"lte": {"resource_block_num": 7}}, "resource_block_num"),
    ({"steps_per_episode": 1}, "steps_per_episode"),
    ({"num_users": 0}, "num_users"),
    ({"user_random_walk": {"min_speed_m/s": -1}}, "min_speed_m/s"),
    ({"transport_protocol": "sctp"}, "transport_protocol"),
    ({"wifi": {"standard": "802.11b"}}, "standard"),
    ({"wifi": {"channel_width_mhz": 30}}, "channel_width_mhz"),
    ({"wifi": {"ap_queue_packets": 0}}, "ap_queue_packets"),
    ({"lte": {"measurement_interval_ms": 50}}, "measurement_interval_ms"),
    ({"user_location_range": {"min_x": 10, "max_x": 5}}, "min_x"),
    ({"gma": {"delay_threshold_ms": -3}}, "delay_threshold_ms"),
]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(case=st.sampled_from(BAD_CONFIG))
def test_config_errors_name_the_field(case) -> None:
    overrides, field = case
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_DICT, **overrides)
    assert field in str(err.value)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=20),
       section=st.sampled_from([None, "gma", "wifi", "lte"]))
def test_unknown_config_keys_are_named(name: str, section: str | None) -> None:
    known = set(DEFAULT_DICT["env_config"]) | set(DEFAULT_DICT["env_config"].get(section or "", {}))
    assume(name not in known and name not in TOP_LEVEL_KEYS and name not in SECTION_KEYS.get(section or "", ()))
    assume(name not in {"gma", "wifi", "lte", "nr", "env"})
    overrides = {name: 1} if section is None else {section: {name: 1}}
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_DICT, **overrides)
    assert name in str(err.value)


@st.composite
def bad_actions(draw, n: int):
    kind = draw(st.sampled_from(["shape", "nan", "inf", "low", "high"]))
    if kind == "shape":
        shape = draw(st.sampled_from([(n + 1,), (n - 1,), (1, n), (n, 2)]).filter(lambda s: math.prod(s) > 0))
        return kind, None, np.full(shape, 0.5)
    action = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    i = draw(st.integers(0, n - 1))
    action[i] = {"nan": math.nan, "inf": math.inf, "low": -draw(st.floats(1e-3, 10.0)),
                 "high": 1.0 + draw(st.floats(1e-3, 10.0))}[kind]
    return kind, i, action


_ENV: dict[str, TrafficMgmtEnv] = {}


def action_env() -> TrafficMgmtEnv:
    if "env" not in _ENV:
        env = TrafficMgmtEnv(num_users=3, steps_per_episode=1000, episodes_per_session=1)
        env.reset(seed=0)
        _ENV["env"] = env
    return _ENV["env"]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(case=bad_actions(3))
def test_action_errors_name_the_action(case) -> None:
    env = action_env()
    kind, index, action = case
    ts_before = env.client.last_ts
    with pytest.raises(ActionError) as err:
        env.step(action)
    msg = str(err.value)
    assert "action" in msg
    if kind == "shape":
        assert str(tuple(action.shape)) in msg
    else:
        assert f"action[{index}]" in msg
    assert env.client.last_ts == ts_before  # a refused action does not advance the session
