"""The numba core against the SimPy reference on loaded UDP scenarios with the NR link: all traffic on NR, and a
three-link split (Wi-Fi, NR, LTE). Same set-up as tests/test_core_vs_reference.py (static users on a line, fixed
split from the first packet, per-user UDP rates written into both, the core's counters summed over the window);
here one gNB 400 m away in NLOS gives the users different MCSs. Both are overloaded on NR so queues build and
the RLC buffers tail-drop. Requirement: mean throughput within 2 %, mean delay within 5 %."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest
from test_core_vs_reference import DURATION_MS, SEED, WARMUP_MS, Scenario, make_cfg, rel_diff

from netgym_lite.config_types import LINK_NR, NrConfig, Position
from netgym_lite.reference import run_reference
from netgym_lite.sim import Simulation, burst_units

GNB = Position(-400.0, 0.0, 25.0)
CASES = {
    # name: (per-user UDP Mbps, link shares [wifi, nr, lte]); NR capacity ~15 Mbps shared by the four users
    "nr_only": ((2.0, 4.0, 6.0, 8.0), (0.0, 1.0, 0.0)),
    "three_links": ((8.0, 12.0, 16.0, 24.0), (0.25, 0.5, 0.25)),
}


def nr_case(name: str):
    rates, shares = CASES[name]
    base = make_cfg(Scenario(name, rates, 0.0, True, ()))
    cfg = dc.replace(base, nr_gnb_locations=(GNB,), nr=NrConfig(los_model="nlos", backhaul_delay_ms=1.0))
    return cfg, np.array(rates), np.array(shares)


def run_core_nr(cfg, rates, shares):
    sim = Simulation(cfg, SEED)
    n = cfg.num_users
    all_shares = np.tile(shares, (n, 1))
    units = burst_units(all_shares, cfg.gma.split_burst)
    sim.state.wifi_units[:] = units[:, 0]
    sim.state.nr_units[:] = units[:, 1]
    sim.state.udp_rate_mbps[:] = rates
    interval = cfg.step_interval_ms
    n_warm, n_win = round(WARMUP_MS / interval), round(DURATION_MS / interval)
    totals: dict[str, np.ndarray] = {}
    for i in range(n_warm + n_win):
        sim.set_wifi_split(all_shares)
        snap = sim.advance_stats()
        if i >= n_warm:
            for f in snap.st._fields:
                totals[f] = totals.get(f, 0.0) + np.asarray(getattr(snap.st, f), dtype=np.float64)
    return sim, totals, units


@pytest.mark.parametrize("name", list(CASES))
def test_core_and_reference_agree_with_nr(name):
    cfg, rates, shares = nr_case(name)
    sim, totals, units = run_core_nr(cfg, rates, shares)
    ref = run_reference(cfg, wifi_share=shares[0], nr_share=shares[1], duration_ms=DURATION_MS,
                        warmup_ms=WARMUP_MS, seed=SEED, udp_rate_mbps=rates)
    # same inputs
    np.testing.assert_array_equal(sim.state.nr_bits_per_symbol, ref.nr_bits_per_symbol)
    np.testing.assert_array_equal(sim.state.nr_gnb, ref.nr_gnb)
    np.testing.assert_array_equal(units[:, 1], ref.nr_units)
    assert len(set(ref.nr_bits_per_symbol)) > 1
    # loaded: the NR RLC buffers drop in both
    assert totals["drops"][:, LINK_NR].sum() > 0 and ref.dropped_packets[:, LINK_NR].sum() > 0
    to_mbps = 8.0 / (DURATION_MS * 1e3)
    core_tp = totals["rx_bytes"] * to_mbps
    core_owd = totals["owd_sum"] / totals["rx_pkts"]
    print(f"\n{name}: throughput core {np.round(core_tp, 3)} ref {np.round(ref.throughput_mbps, 3)}; "
          f"owd core {np.round(core_owd, 2)} ref {np.round(ref.mean_owd_ms, 2)}")
    assert abs(rel_diff(core_tp.mean(), ref.throughput_mbps.mean())) < 0.02
    assert abs(rel_diff(core_owd.mean(), ref.mean_owd_ms.mean())) < 0.05
    link_owd = totals["link_owd_sum"][:, LINK_NR] / totals["link_rx_pkts"][:, LINK_NR]
    np.testing.assert_allclose(link_owd, ref.link_mean_owd_ms[:, LINK_NR], rtol=0.10)
    np.testing.assert_allclose(totals["link_rx_bytes"][:, LINK_NR] * to_mbps,
                               ref.link_throughput_mbps[:, LINK_NR], rtol=0.05)
    assert (ref.conservation.unaccounted() == 0).all()
