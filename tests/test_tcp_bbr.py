"""TcpBbr (models/tcp_bbr.py) against the loss-based sender on the same layouts, and per-slice traffic / QoS."""

from __future__ import annotations

import numpy as np
import pytest

from netgym_lite.config import load_config
from netgym_lite.core.state import TRANSPORT_BBR, TRANSPORT_TCP, TRANSPORT_UDP
from netgym_lite.models.measurement import ROW
from netgym_lite.models.tcp_bbr import BBR_PROBE_BW, BBR_STARTUP
from netgym_lite.sim import Simulation


def _run(transport: str, wifi_share: float, steps: int, seed: int = 1, **overrides) -> tuple[Simulation, np.ndarray]:
    """The default 4-user layout (2 APs, 2 users each) with every user's traffic on one link; tables per step."""
    cfg = load_config("traffic_mgmt", transport_protocol=transport, steps_per_episode=steps, episodes_per_session=1,
                      **overrides)
    sim = Simulation(cfg, seed=seed)
    tables = []
    for _ in range(steps):
        sim.set_wifi_split(np.full(cfg.num_users, wifi_share))
        tables.append(sim.advance_stats().table)
    return sim, np.array(tables)


@pytest.fixture(scope="module")
def wifi_runs() -> dict[str, tuple[Simulation, np.ndarray]]:
    return {t: _run(t, 1.0, 60) for t in ("tcp", "TcpBbr")}


def test_bbr_keeps_the_wifi_queue_short_where_reno_fills_it(wifi_runs) -> None:
    """Reno fills the AP's 500-packet queue (tens of ms); BBR paces at its bandwidth estimate with ~1 BDP in
    flight, so the delay stays near the unloaded delay, at most a modest throughput cost (smaller A-MPDUs)."""
    reno, bbr = wifi_runs["tcp"][1][30:], wifi_runs["TcpBbr"][1][30:]
    owd = ROW["gma::dl::owd"], ROW["gma::dl::rate"]
    assert reno[:, owd[0]].mean() > 30.0
    assert bbr[:, owd[0]].mean() < 10.0
    reno_total, bbr_total = reno[:, owd[1]].sum(1).mean(), bbr[:, owd[1]].sum(1).mean()
    assert 0.7 * reno_total < bbr_total < 1.05 * reno_total, (reno_total, bbr_total)


def test_bbr_leaves_startup_for_probe_bw_without_losses(wifi_runs) -> None:
    sim = wifi_runs["TcpBbr"][0]
    assert np.all(sim.state.bbr_mode == BBR_PROBE_BW)
    assert np.all(sim.state.bbr_filled_pipe)
    assert sim.state.tcp_losses.sum() == 0 and sim.state.tcp_timeouts.sum() == 0
    assert np.all(sim.params.user_transport == TRANSPORT_BBR)


def test_two_bbr_flows_on_one_ap_converge_after_probe_rtt() -> None:
    """BBR v1's late-comer overestimates the min RTT (it measures the queue of the first flow) and takes more
    than its share until PROBE_RTT (every 10 s) drains the queue and both see the true min RTT."""
    sim, tables = _run("TcpBbr", 1.0, 250)
    rate = tables[:, ROW["gma::dl::rate"]]
    late = rate[150:].mean(0)
    for a, b in ((0, 1), (2, 3)):  # users 0, 1 on AP 0; 2, 3 on AP 1
        assert sim.state.wifi_ap[a] == sim.state.wifi_ap[b]
        assert abs(late[a] - late[b]) < 0.2 * max(late[a], late[b]), late


def test_bbr_on_lte_fills_the_cell_with_fewer_losses_than_reno() -> None:
    """LTE's 10 KB RLC buffer drops Reno's bursts; BBR delivers as much with a fraction of the losses."""
    reno_sim, reno = _run("tcp", 0.0, 40)
    bbr_sim, bbr = _run("TcpBbr", 0.0, 40)
    rate = ROW["gma::dl::rate"]
    assert bbr[20:, rate].sum(1).mean() > 0.9 * reno[20:, rate].sum(1).mean()
    assert bbr_sim.state.tcp_losses.sum() < 0.25 * reno_sim.state.tcp_losses.sum()


def test_bbr_run_is_reproducible() -> None:
    a = _run("TcpBbr", 0.5, 15, seed=3)[1]
    b = _run("TcpBbr", 0.5, 15, seed=3)[1]
    np.testing.assert_array_equal(a, b)


def test_bbr_pacing_starts_in_startup_and_sends_no_more_than_the_window() -> None:
    cfg = load_config("traffic_mgmt", transport_protocol="TcpBbr")
    sim = Simulation(cfg, seed=1)
    assert np.all(sim.state.bbr_mode == BBR_STARTUP)
    sim.set_wifi_split(np.full(cfg.num_users, 1.0))
    for _ in range(3):
        sim.advance_stats()
        s = sim.state
        assert np.all(s.tcp_snd_nxt - s.tcp_snd_una <= np.maximum(s.tcp_cwnd, 1.0) + 1)


# ------------------------------------------------------------------------------- per-slice traffic and QoS
_TRAFFIC_KEYS = ("transport_protocol", "udp_poisson_arrival", "min_udp_rate_per_user_mbps",
                 "max_udp_rate_per_user_mbps", "num_users")


def _sliced(steps: int, **per_slice):
    """The default layout with two slices (1 + 3 users) whose traffic comes from ``per_slice_config`` only."""
    return load_config("traffic_mgmt", per_slice_config=_two_slices(**per_slice), steps_per_episode=steps,
                       episodes_per_session=1, **dict.fromkeys(_TRAFFIC_KEYS))


def _two_slices(**per_slice) -> dict:
    base = {"num_users": [1, 3], "shared_rbg": [25, 25], "transport_protocol": ["udp", "udp"],
            "min_udp_rate_per_user_mbps": [2, 2], "max_udp_rate_per_user_mbps": [2, 2],
            "udp_poisson_arrival": [False, False]}
    return {**base, **per_slice}


def test_slices_send_their_own_traffic() -> None:
    cfg = _sliced(30, transport_protocol=["udp", "TcpBbr"], min_udp_rate_per_user_mbps=[3, 2],
                  max_udp_rate_per_user_mbps=[3, 2])
    sim = Simulation(cfg, seed=2)
    assert list(sim.params.user_transport) == [TRANSPORT_UDP] + [TRANSPORT_BBR] * 3
    tables = np.array([sim.advance_stats().table for _ in range(30)])[10:]
    rate = tables[:, ROW["gma::dl::rate"]].mean(0)
    assert rate[0] == pytest.approx(3.0, rel=0.03)  # the UDP slice's CBR rate is delivered
    assert np.all(rate[1:] > 10.0)  # backlogged BBR downloads take the rest


def test_slices_are_held_to_their_own_qos_targets() -> None:
    """Same traffic, different delay bounds: the slice whose bound no packet can meet has every packet in
    violation and qos_rate 0; the lax slice's qos_rate is its rate."""
    cfg = _sliced(10, qos_delay_requirement_ms=[0.01, 1000])
    sim = Simulation(cfg, seed=2)
    tables = np.array([sim.advance_stats().table for _ in range(10)])[3:]
    viol, qos, rate = (tables[:, ROW[k]] for k in ("gma::dl::delay_violation", "gma::dl::qos_rate", "gma::dl::rate"))
    assert np.all(viol[:, 0] == 100.0) and np.all(qos[:, 0] == 0.0)
    assert np.all(viol[:, 1:] == 0.0) and np.allclose(qos[:, 1:], rate[:, 1:])


def test_scenario_wide_transport_still_applies_to_every_user() -> None:
    sim = Simulation(load_config("traffic_mgmt"), seed=1)
    assert np.all(sim.params.user_transport == TRANSPORT_TCP)
