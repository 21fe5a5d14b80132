"""The NR (5G) link: PHY formulas, the TDMA round-robin MAC, the three-link GMA split and system default, NR
records, actions, and NetworkGym's unified nqos_split config (two gNBs) running a whole session."""

from __future__ import annotations

import dataclasses as dc
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import load_config
from netgym_lite.config_types import NrConfig, Position, RandomWalk, ScenarioConfig
from netgym_lite.errors import ActionError
from netgym_lite.ipc import messages as m
from netgym_lite.models import nr_phy
from netgym_lite.models.measurement import METRIC_KEYS, NR_METRIC_KEYS
from netgym_lite.sim import Simulation, burst_units

UNIFIED = Path(__file__).parent / "data" / "nqos_split_head.json"

# TS 38.214 Table 5.1.3.1-1 rows used below: (Qm, R x 1024)
MCS_11 = (4, 378)
MCS_28 = (6, 948)


# ------------------------------------------------------------------------------------------------ PHY
def test_prb_counts_follow_ts_38_101_table():
    assert nr_phy.prb_count(20, 0) == 106
    assert nr_phy.prb_count(20, 1) == 51
    assert nr_phy.prb_count(100, 1) == 273
    assert nr_phy.slot_ms(1) == 0.5


@pytest.mark.parametrize("los", [True, False])
def test_uma_path_loss_grows_with_distance(los):
    d = np.linspace(5.0, 2000.0, 400)
    pl = np.array([nr_phy.uma_path_loss_db(x, 25.0, 1.5, 3.5, los) for x in d])
    assert np.all(np.diff(pl) >= 0.0)
    assert np.all(np.diff(pl[d > 10.0]) > 0.0)


def test_nlos_loss_is_at_least_los_loss_and_matches_the_formula():
    for d in (30.0, 200.0, 900.0):
        los = nr_phy.uma_path_loss_db(d, 25.0, 1.5, 3.5, True)
        nlos = nr_phy.uma_path_loss_db(d, 25.0, 1.5, 3.5, False)
        assert nlos >= los
        d3d = math.hypot(d, 23.5)
        expected = 13.54 + 39.08 * math.log10(d3d) + 20 * math.log10(3.5)  # TR 38.901 Table 7.4.1-1, hUT 1.5
        assert nlos == pytest.approx(max(los, expected))


def test_los_probability_is_one_near_the_gnb_and_falls_with_distance():
    assert nr_phy.los_probability(10.0) == 1.0
    p = [nr_phy.los_probability(d) for d in (20.0, 50.0, 100.0, 300.0)]
    assert all(a > b for a, b in zip(p, p[1:], strict=False))


def test_bits_per_symbol_fall_with_distance_for_a_fixed_los_draw():
    draw = 0.4
    bits = []
    for d in np.linspace(10.0, 3000.0, 300):
        los = draw < nr_phy.los_probability(d)
        snr = 40.0 - 10 * math.log10(106) - nr_phy.uma_path_loss_db(d, 25.0, 1.5, 3.5, los) \
            - nr_phy.noise_per_prb_dbm(0, 5.0)
        bits.append(nr_phy.bits_per_symbol(snr, 106))
    assert np.all(np.diff(bits) <= 0) and bits[0] > bits[-1]


def test_rate_at_known_snrs_comes_from_the_38_214_tables():
    # 30 dB saturates: CQI 15 -> MCS 28 (64QAM, R 948/1024); 11 data REs per PRB per symbol, 106 PRBs
    qm, r = MCS_28
    assert nr_phy.bits_per_symbol(30.0, 106) == int(qm * r / 1024 * 11 * 106)
    # 10 dB: Shannon-gap capacity log2(1 + 10/Γ), Γ = -ln(5e-5 * 5)/1.5 -> 1.49 -> CQI 7 (1.4766) -> MCS 11
    gamma = -math.log(5 * 5e-5) / 1.5
    assert 1.4766 <= math.log2(1 + 10.0 / gamma) < 1.9141
    qm, r = MCS_11
    assert nr_phy.bits_per_symbol(10.0, 106) == int(qm * r / 1024 * 11 * 106)
    assert nr_phy.bits_per_symbol(-10.0, 106) == 0
    # the record's max rate: 13 data symbols per 1 ms slot (numerology 0)
    assert float(nr_phy.max_rate_mbps(6476, 0)) == pytest.approx(84.188)


# ------------------------------------------------------------------------------------------------ scenarios
ONE_GNB = (Position(0.0, 0.0, 25.0),)


def nr_cfg(xs, *, gnbs=ONE_GNB, rate_mbps=60.0, los_model="nlos", aps=True,
           transport="udp") -> ScenarioConfig:
    base = ScenarioConfig()
    return dc.replace(
        base, num_users=len(xs), measurement_start_time_ms=100,
        user_locations=tuple(Position(x, 0.0, 1.5) for x in xs),
        wifi_ap_locations=(Position(0.0, 0.0, 3.0),) if aps else (),
        lte_enb_locations=(Position(-140.0, 0.0, 3.0),),
        nr_gnb_locations=tuple(gnbs),
        user_random_walk=RandomWalk(min_speed_mps=0.0, max_speed_mps=0.0),
        traffic=dc.replace(base.traffic, transport=transport, udp_poisson_arrival=False,
                           min_udp_rate_per_user_mbps=rate_mbps, max_udp_rate_per_user_mbps=rate_mbps),
        nr=NrConfig(los_model=los_model),
    )


def run_fixed(cfg: ScenarioConfig, shares, steps: int):
    """Run with per-user link shares [wifi, nr, lte] in force from the first packet; return the snapshots."""
    sim = Simulation(cfg, 1)
    shares = np.broadcast_to(np.asarray(shares, float), (cfg.num_users, 3))
    units = burst_units(shares, cfg.gma.split_burst)
    sim.state.wifi_units[:] = units[:, 0]
    sim.state.nr_units[:] = units[:, 1]
    snaps = []
    for _ in range(steps):
        sim.set_wifi_split(shares)
        snaps.append(sim.advance_stats())
    return sim, snaps


def test_round_robin_gives_backlogged_users_equal_symbols_whatever_their_rate():
    cfg = nr_cfg((200.0, 350.0, 500.0), rate_mbps=60.0)  # NLOS: three different MCSs, all overloaded
    sim, snaps = run_fixed(cfg, (0.0, 1.0, 0.0), 12)
    bits = sim.state.nr_bits_per_symbol.copy()
    assert len(set(bits)) == 3 and bits.min() > 0
    symbols = sum(s.st.nr_symbols for s in snaps[2:])
    assert symbols.max() / symbols.min() < 1.01
    assert symbols.sum() == pytest.approx(10 * 100 * nr_phy.DATA_SYMBOLS_PER_SLOT, rel=0.01)  # every symbol used
    rate = sum(s.st.rx_bytes for s in snaps[2:])
    np.testing.assert_allclose(rate / rate.sum(), bits / bits.sum(), rtol=0.03)


def test_each_user_attaches_to_its_nearest_gnb_and_gnbs_schedule_independently():
    gnbs = (Position(0.0, 0.0, 25.0), Position(400.0, 0.0, 25.0))
    cfg = nr_cfg((20.0, 150.0, 380.0), gnbs=gnbs, rate_mbps=120.0, los_model="los")
    sim, snaps = run_fixed(cfg, (0.0, 1.0, 0.0), 6)
    np.testing.assert_array_equal(sim.state.nr_gnb, [0, 0, 1])
    symbols = sum(s.st.nr_symbols for s in snaps[1:])
    # gNB 1 serves user 2 alone: all its symbols; gNB 0 splits its symbols between users 0 and 1
    assert symbols[2] == pytest.approx(symbols[0] + symbols[1], rel=0.01)
    table = snaps[-1].table
    keys = sim.metric_keys
    np.testing.assert_array_equal(table[keys.index("nr::cell_id")], [1, 1, 2])


def test_three_link_split_is_honoured_over_time():
    cfg = nr_cfg((10.0, 30.0), rate_mbps=4.0, los_model="los")  # light load: nothing dropped
    shares = ((0.25, 0.5, 0.25), (0.0, 0.75, 0.25))
    sim, snaps = run_fixed(cfg, shares, 8)
    tx = sum(s.st.tx_pkts for s in snaps)  # per user per link [wifi, lte, nr]
    np.testing.assert_allclose(tx[:, [0, 2, 1]] / tx.sum(1, keepdims=True), shares, atol=0.01)
    keys = sim.metric_keys
    table = snaps[-1].table
    np.testing.assert_allclose(table[keys.index("gma::nr::dl::split_ratio")], [50.0, 75.0])
    np.testing.assert_allclose(table[keys.index("gma::wifi::dl::split_ratio")], [25.0, 0.0])
    np.testing.assert_allclose(table[keys.index("gma::lte::dl::split_ratio")], [25.0, 25.0])
    assert sim.conservation()["dropped"].sum() == 0
    assert (table[keys.index("gma::nr::dl::owd")] > 0).all()


def test_system_default_moves_traffic_off_the_slow_link():
    # the user sits far from the AP (slow Wi-Fi, overloaded by 30 Mbps), close to a LOS gNB
    cfg = nr_cfg((60.0,), rate_mbps=30.0, los_model="los", gnbs=(Position(70.0, 0.0, 25.0),))
    sim = Simulation(cfg, 1)
    ratios = []
    for _ in range(30):
        records = sim.advance()  # no action: GMA's delay-based default
        by_key = {r["source"] + "::" + r["name"]: r["value"] for r in records}
        ratios.append((by_key["gma::wifi::dl::split_ratio"][0], by_key["gma::nr::dl::split_ratio"][0]))
    assert ratios[0][0] == 100.0
    assert ratios[-1][0] < 75.0  # Wi-Fi gave up share to the fast cellular links ...
    assert ratios[-1][1] > 0.0  # ... NR among them
    assert by_key["gma::wifi::dl::owd"][0] < 10.0  # until its queue drained (gap within the 10 ms threshold)
    assert by_key["gma::dl::rate"][0] == pytest.approx(30.0, rel=0.05)  # all 30 Mbps delivered


def test_records_with_gnbs_add_the_nr_rows_for_every_user_and_none_without():
    cfg = nr_cfg((10.0, 30.0, 50.0), rate_mbps=2.0)
    records = Simulation(cfg, 1).advance()
    keys = [r["source"] + "::" + r["name"] for r in records]
    for key in NR_METRIC_KEYS:
        assert key in keys
    per_user = [r for r in records if r["source"] + "::" + r["name"] in METRIC_KEYS + NR_METRIC_KEYS]
    assert len(per_user) == len(METRIC_KEYS) + len(NR_METRIC_KEYS)
    for r in per_user:
        assert r["id"] == [1, 2, 3] and len(r["value"]) == 3
    plain = Simulation(dc.replace(cfg, nr_gnb_locations=()), 1).advance()
    plain_keys = [r["source"] + "::" + r["name"] for r in plain]
    assert plain_keys[:len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert not any(k.startswith(("nr::", "gma::nr::")) for k in plain_keys)


def test_nr_owd_is_minus_one_while_nr_carries_nothing():
    cfg = nr_cfg((10.0,), rate_mbps=2.0)
    records = Simulation(cfg, 1).advance()  # first interval: everything on Wi-Fi
    by_key = {r["source"] + "::" + r["name"]: r["value"] for r in records}
    assert by_key["gma::nr::dl::owd"] == [-1.0]
    assert by_key["nr::dl::max_rate"][0] > 0


# ------------------------------------------------------------------------------------------------ actions
def test_burst_units_sum_to_the_burst():
    rng = np.random.default_rng(0)
    shares = rng.dirichlet((1.0, 1.0, 1.0), 200)
    units = burst_units(shares, 32)
    assert (units.sum(1) == 32).all() and (units >= 0).all()
    assert (np.abs(units - shares * 32) < 1.0).all()


def test_split_weight_rows_over_three_links_become_link_shares():
    rec = {"source": "gma", "name": "dl::split_weight", "id": [1, 2], "ts": 1100,
           "value": [[1, 2, 1], [0, 0, 0]]}
    shares = m.parse_action(rec, num_users=2, last_ts=1100, links=("wifi", "nr", "lte"))
    np.testing.assert_allclose(shares, [[0.25, 0.5, 0.25], [1.0, 0.0, 0.0]])
    with pytest.raises(ActionError, match=r"value\[0\]"):
        m.parse_action({**rec, "value": [[1, 1], [1, 1]]}, num_users=2, last_ts=1100,
                       links=("wifi", "nr", "lte"))
    two = m.parse_action({**rec, "value": [[1, 3], [1, 1]]}, num_users=2, last_ts=1100, links=("nr", "lte"))
    np.testing.assert_allclose(two, [[0.0, 0.25, 0.75], [0.0, 0.5, 0.5]])


def test_traffic_mgmt_with_gnbs_takes_per_user_link_weights():
    # (NetworkGym's subscription has no nr::dl::max_rate: subscribe to everything for the NR observation row)
    env = gym.make("netgym-lite/TrafficMgmt-v0", scenario=UNIFIED, episodes_per_session=1, steps_per_episode=5,
                   subscribed_network_stats=[])
    assert env.action_space.shape == (5, 3)
    assert env.observation_space.shape == (4, 5)
    obs, _ = env.reset(seed=1)
    assert (obs[3] > 0).all()  # NR max rate row
    _, _, _, _, info = env.step(np.tile([0.0, 1.0, 0.0], (5, 1)).astype(np.float32))
    _, _, _, _, info = env.step(np.tile([0.0, 1.0, 0.0], (5, 1)).astype(np.float32))
    by_key = {r["source"] + "::" + r["name"]: r["value"] for r in info["network_stats"]}
    assert by_key["gma::nr::dl::split_ratio"] == [100.0] * 5
    with pytest.raises(ActionError):
        env.step(np.zeros(5, np.float32))
    env.close()


def test_unified_networkgym_config_runs_a_whole_session():
    cfg = load_config(UNIFIED, episodes_per_session=2)
    env = gym.make("netgym-lite/TrafficMgmt-v0", scenario=UNIFIED, episodes_per_session=2)
    env.reset(seed=3)
    steps = 0
    terminated = False
    while not terminated:
        action = env.action_space.sample() if steps % 2 else []
        _, reward, terminated, truncated, info = env.step(action)
        steps += 1
        if truncated and not terminated:
            env.reset()
        assert math.isfinite(reward)
    assert info["measurement"] == cfg.measurements_per_session
    keys = {r["source"] + "::" + r["name"] for r in info["network_stats"]}
    assert "gma::nr::dl::rate" in keys and "nr::cell_id" in keys
    env.close()


def test_a_batch_of_nr_simulations_matches_lone_ones():
    from netgym_lite.batch import SimulationBatch

    cfg = nr_cfg((20.0, 150.0), rate_mbps=20.0, gnbs=(Position(0.0, 0.0, 25.0), Position(300.0, 0.0, 25.0)))
    shares = np.array([[0.25, 0.5, 0.25], [0.0, 1.0, 0.0]])
    lone = [Simulation(cfg, seed) for seed in (1, 2)]
    batch = SimulationBatch([Simulation(cfg, seed) for seed in (1, 2)])
    for _ in range(4):
        for i, sim in enumerate(lone):
            sim.set_wifi_split(shares)
            batch.sims[i].set_wifi_split(shares)
            lone_table = sim.advance_stats().table
        batch.advance()
    for i, sim in enumerate(lone):
        assert batch.tables[i].shape == (len(sim.metric_keys), 2)
    np.testing.assert_array_equal(batch.tables[1], lone_table)
