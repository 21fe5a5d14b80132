"""The SimPy reference model (netgym_lite.reference) against hand-computed expectations of docs/models.md.

Pins: light-load Wi-Fi owd = backhaul + TXOP overhead + one packet's airtime; saturated Wi-Fi is byte-fair;
saturated LTE PF gives equal airtime (throughput ∝ rate); light-load LTE owd = 3.5 ms + backhaul (one more
TTI when a packet needs two); a fixed split sends exactly k/B of packets on Wi-Fi; reordering releases in
sequence, closes gaps that a link's sequence numbers (LSN) prove lost at once and skips the rest after the
timeout (restarted whenever the next expected number advances); every packet is accounted for.
"""

from __future__ import annotations

import dataclasses as dc
import time

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from netgym_lite.config_types import LINK_LTE, LINK_WIFI, Position, ScenarioConfig
from netgym_lite.errors import ActionError, ConfigError
from netgym_lite.models.channel import snr_db
from netgym_lite.models.wifi_phy import (
    MPDU_OVERHEAD_BYTES,
    best_rate_mbps,
    min_snr_table_db,
    phy_rate_table_mbps,
    txop_overhead_us,
)
from netgym_lite.reference import run_reference
from netgym_lite.reference.common import Packet
from netgym_lite.reference.gma import GmaSplitter, Reorderer, wifi_units

BASE = ScenarioConfig()
USER_Z = 1.5


def make_cfg(*, distances: tuple[float, ...], rate_mbps: float, poisson: bool = False,
             wifi: dict | None = None, lte: dict | None = None, **top: object) -> ScenarioConfig:
    """UDP scenario with one AP and the eNB at (0, 0, 3) and users on the x axis at ``distances``."""
    return dc.replace(
        BASE,
        num_users=len(distances),
        user_locations=tuple(Position(d, 0.0, USER_Z) for d in distances),
        wifi_ap_locations=(Position(0.0, 0.0, 3.0),),
        lte_enb_locations=(Position(0.0, 0.0, 3.0),),
        traffic=dc.replace(BASE.traffic, transport="udp", udp_poisson_arrival=poisson,
                           min_udp_rate_per_user_mbps=rate_mbps, max_udp_rate_per_user_mbps=rate_mbps),
        wifi=dc.replace(BASE.wifi, **(wifi or {})),
        lte=dc.replace(BASE.lte, **(lte or {})),
        **top,
    )


def test_wifi_single_user_light_load_owd_is_overhead_plus_one_packet() -> None:
    cfg = make_cfg(distances=(10.0,), rate_mbps=2.0, wifi={"backhaul_delay_ms": 1.0})
    r = run_reference(cfg, wifi_share=1.0, duration_ms=1000.0)
    w = cfg.wifi
    snr = float(snr_db(np.hypot(10.0, 3.0 - USER_Z), w.tx_power_dbm, w.channel_width_mhz * 1e6,
                       w.noise_figure_db, w.path_loss.exponent, w.path_loss.reference_loss_db))
    rate = best_rate_mbps(snr, phy_rate_table_mbps(w.standard, w.channel_width_mhz, w.spatial_streams),
                          min_snr_table_db(w.standard))
    assert r.wifi_rate_mbps[0] == pytest.approx(rate)
    assert r.offered_mbps[0] == pytest.approx(2.0, rel=0.01)
    assert r.throughput_mbps[0] == pytest.approx(r.offered_mbps[0], rel=0.01)
    expected_owd = 1.0 + (txop_overhead_us(w.standard) + (1400 + MPDU_OVERHEAD_BYTES) * 8 / rate) / 1000.0
    assert r.mean_owd_ms[0] == pytest.approx(expected_owd, rel=0.05)
    assert r.link_mean_owd_ms[0, LINK_WIFI] == pytest.approx(expected_owd, rel=0.05)
    assert np.isnan(r.link_mean_owd_ms[0, LINK_LTE])
    assert r.dropped_packets.sum() == 0


def test_wifi_saturated_users_share_bytes_fairly() -> None:
    cfg = make_cfg(distances=(10.0, 20.0, 35.0, 50.0), rate_mbps=100.0,
                   wifi={"standard": "802.11ac", "channel_width_mhz": 40})
    start = time.perf_counter()
    r = run_reference(cfg, wifi_share=1.0, duration_ms=1000.0)
    wall = time.perf_counter() - start
    print(f"saturated Wi-Fi: {r.events} events in {wall:.2f} s = {r.events / wall:,.0f} events/s")
    assert len(set(r.wifi_rate_mbps)) == 4  # really different rates
    assert r.throughput_mbps.max() / r.throughput_mbps.min() < 1.1
    assert 50.0 < r.throughput_mbps.sum() < 70.0
    assert np.all(r.dropped_packets[:, LINK_WIFI] > 0)  # saturated: the AP queues overflow
    assert r.wifi_collisions == 0  # one AP: no contention


def test_lte_saturated_pf_gives_equal_airtime() -> None:
    cfg = make_cfg(distances=(50.0, 70.0, 90.0, 300.0), rate_mbps=30.0, lte={"resource_block_num": 25})
    r = run_reference(cfg, wifi_share=0.0, duration_ms=1000.0)
    near = r.throughput_mbps[:3]
    assert near.max() / near.min() < 1.05
    assert 0.35 < r.throughput_mbps[3] / near.mean() < 0.65
    assert 13.0 < r.throughput_mbps.sum() < 19.0
    assert np.all(r.link_throughput_mbps[:, LINK_WIFI] == 0.0)


def test_lte_light_load_owd_is_tti_plus_processing_plus_backhaul() -> None:
    cfg = make_cfg(distances=(50.0, 70.0, 90.0, 300.0), rate_mbps=1.0,
                   lte={"resource_block_num": 25, "backhaul_delay_ms": 1.0})
    r = run_reference(cfg, wifi_share=0.0, duration_ms=1000.0)
    # Wait for the next TTI (0.5 ms on average) + 1 ms TTI + 2 ms processing + 1 ms backhaul.
    np.testing.assert_allclose(r.mean_owd_ms[:3], 4.5, atol=0.6)
    # At 300 m the whole cell carries 25·360 = 9000 bits per TTI < one 1400-byte packet: two TTIs.
    assert r.lte_bits_per_rb[3] * 25 < 1400 * 8
    assert r.mean_owd_ms[3] == pytest.approx(5.5, abs=0.6)
    one_packet_mbps = 1400 * 8 / (1000.0 * 1e3)  # window edges: ±1 packet of the ~89 in the window
    np.testing.assert_allclose(r.throughput_mbps, r.offered_mbps, atol=1.01 * one_packet_mbps)


@pytest.mark.parametrize("share", [0.0, 0.25, 0.4, 0.75, 1.0])
def test_fixed_split_sends_k_of_b_packets_on_wifi(share: float) -> None:
    cfg = make_cfg(distances=(10.0, 30.0), rate_mbps=5.0, poisson=True)
    r = run_reference(cfg, wifi_share=share, duration_ms=1000.0, warmup_ms=50.0)
    k = round(share * cfg.gma.split_burst)
    assert np.all(r.wifi_units == k)
    frac = r.sent_link_packets[:, LINK_WIFI] / r.sent_packets
    np.testing.assert_allclose(frac, k / cfg.gma.split_burst, atol=0.01)
    np.testing.assert_array_equal(r.sent_link_packets.sum(1), r.sent_packets)
    np.testing.assert_allclose(r.throughput_mbps, r.offered_mbps, rtol=0.02)  # light load: all delivered


@settings(max_examples=50, deadline=None)
@given(k=st.integers(0, 32), n=st.integers(1, 200))
def test_split_accumulator_puts_exactly_k_of_any_b_consecutive_on_wifi(k: int, n: int) -> None:
    splitter = GmaSplitter(np.array([k]), 32)
    links = np.array([splitter.choose_link(0) for _ in range(n + 32)])
    wifi = np.convolve(links == LINK_WIFI, np.ones(32, dtype=int), mode="valid")
    assert np.all(wifi == k)


def test_packet_conservation_under_overload_with_contention_and_reordering() -> None:
    cfg = dc.replace(
        BASE,
        traffic=dc.replace(BASE.traffic, transport="udp", min_udp_rate_per_user_mbps=20.0,
                           max_udp_rate_per_user_mbps=60.0),
        wifi=dc.replace(BASE.wifi, ap_share_same_band=True, backhaul_delay_ms=2.0, ap_queue_packets=50),
        lte=dc.replace(BASE.lte, backhaul_delay_ms=1.0),
    )
    r = run_reference(cfg, wifi_share=np.array([0.3, 0.5, 0.7, 0.9]), duration_ms=400.0)
    c = r.conservation
    assert c is not None
    np.testing.assert_array_equal(c.unaccounted(), 0)
    # Per link: sent = arrived at the UE + dropped + on the backhaul + queued (+ on the LTE air).
    in_flight = c.in_backhaul + c.in_queue
    in_flight[:, LINK_LTE] += c.in_lte_air
    np.testing.assert_array_equal(c.sent_per_link, c.arrived + c.dropped + in_flight)
    # Every arrival is either released or still waiting in the reordering buffer.
    np.testing.assert_array_equal(c.arrived.sum(1), c.released + c.held)
    # The scenario exercised what it should: drops on both links, collisions, reordering, packets in flight.
    assert np.all(c.dropped.sum(0) > 0) and c.held.sum() > 0 and in_flight.sum() > 0
    assert r.wifi_collisions > 0
    # Both APs always backlogged: collision share ≈ 1 − (1 − 2/17) = 2/17.
    assert r.wifi_collisions / r.wifi_txops == pytest.approx(2 / 17, abs=0.04)


def _reorder_run(arrivals: list[tuple[int, float]], *, wifi_units_of_32: int | None = None,
                 timeout_ms: float = 20.0) -> tuple[list[tuple[int, float]], Reorderer]:
    """Feed one user's receiver packets ``(seq, arrival time)``. With ``wifi_units_of_32`` the packets get
    links and LSNs from a GmaSplitter numbering seq 0, 1, 2, … (so LSN jumps reveal losses); without it,
    loss detection is off. Returns the (seq, release time) list and the receiver."""
    env = simpy.Environment()
    released: list[tuple[int, float]] = []
    packets: dict[int, Packet] = {}
    lookup = None
    if wifi_units_of_32 is not None:
        splitter = GmaSplitter(np.array([wifi_units_of_32]), 32)
        for seq in range(max(s for s, _ in arrivals) + 1):
            link = splitter.choose_link(0)
            packets[seq] = Packet(0, splitter.new_sequence(0), 100, 0.0, link=link)
            packets[seq].lsn = splitter.new_link_sequence(0, link, seq)
        lookup = lambda link, lsn: splitter.take_link_seq(0, link, lsn)  # noqa: E731
    rx = Reorderer(env, timeout_ms, lambda p, now: released.append((p.seq, now)), lookup)

    def arrive(seq: int, at: float) -> None:
        def proc():  # type: ignore[no-untyped-def]
            yield env.timeout(at)
            rx.on_arrival(packets.get(seq) or Packet(0, seq, 100, 0.0))
        env.process(proc())

    for seq, at in arrivals:
        arrive(seq, at)
    env.run(until=200.0)
    return released, rx


def test_reorderer_timer_restarts_when_the_next_expected_advances() -> None:
    released, rx = _reorder_run([
        (0, 1.0),
        (2, 2.0),  # waits for 1: timer 2 + 20 = 22
        (1, 5.0),  # fills the gap: 1 and 2 released at 5, nothing held: timer stops
        (4, 6.0),  # 3 missing: timer 6 + 20 = 26
        (6, 10.0),  # 5 missing too; the timer keeps its deadline 26 (next expected did not move)
        (3, 40.0),  # late (skipped at 26): released at once
    ])
    # At 26 the receiver skips 3 and releases 4; 6 is still held, so the timer restarts: 26 + 20 = 46,
    # i.e. 6 waits 36 ms (the timeout counts from the last advance, not from 6's own arrival).
    assert released == [(0, 1.0), (1, 5.0), (2, 5.0), (4, 26.0), (3, 40.0), (6, 46.0)]
    assert rx.num_held == 0 and rx.next_expected == 7 and rx.skips == 2


def test_reorderer_link_sequence_jumps_close_gaps_without_waiting() -> None:
    # k = 16 of 32: seq 0, 2, 4, 6 on LTE (LSN 0..3), seq 1, 3, 5, 7 on Wi-Fi (LSN 0..3).
    released, rx = _reorder_run([
        (1, 1.0), (3, 2.0),  # Wi-Fi, held: seq 0 (LTE) is missing; timer 1 + 20 = 21
        (2, 3.0),  # LTE LSN 1 while LSN 0 expected: seq 0 is lost, so 1, 2, 3 are released at once
        (7, 5.0),  # Wi-Fi LSN 3 while LSN 2 expected: seq 5 lost; 4 (LTE) still missing: timer 25
        (4, 8.0),  # releases 4, passes lost 5; 6 missing (the timer restarts: 28)
    ], wifi_units_of_32=16)
    assert released == [(1, 3.0), (2, 3.0), (3, 3.0), (4, 8.0), (7, 28.0)]
    assert rx.lost_marked == 2 and rx.skips == 1 and rx.num_held == 0 and not rx.lost


def test_reorderer_expiry_skips_gaps_and_known_losses_to_the_next_held_packet() -> None:
    # Seq 0 (LTE) and 2 (LTE) never arrive, 1 (Wi-Fi) is lost, 3 (Wi-Fi) reveals it at 1 ms.
    released, rx = _reorder_run([(3, 1.0)], wifi_units_of_32=16)
    # Expiry at 21 skips 0, the known-lost 1 and 2 up to the held 3: one timeout, as in the core.
    assert released == [(3, 21.0)]
    assert rx.skips == 1


def test_out_of_scope_inputs_are_refused() -> None:
    cfg = make_cfg(distances=(10.0,), rate_mbps=1.0)
    with pytest.raises(ConfigError, match="transport"):
        run_reference(dc.replace(cfg, traffic=dc.replace(cfg.traffic, transport="tcp")), wifi_share=1.0,
                      duration_ms=10.0)
    with pytest.raises(ActionError, match="wifi_share"):
        run_reference(cfg, wifi_share=1.5, duration_ms=10.0)
    with pytest.raises(ActionError):
        wifi_units(np.array([0.5, 0.5]), 3, 32)


def test_given_udp_rates_replace_the_drawn_ones() -> None:
    cfg = make_cfg(distances=(10.0, 30.0), rate_mbps=5.0)
    r = run_reference(cfg, wifi_share=1.0, duration_ms=1000.0, udp_rate_mbps=np.array([2.0, 8.0]))
    np.testing.assert_array_equal(r.udp_rate_mbps, [2.0, 8.0])
    np.testing.assert_allclose(r.offered_mbps, [2.0, 8.0], rtol=0.02)
    with pytest.raises(ConfigError, match="udp_rate_mbps"):
        run_reference(cfg, wifi_share=1.0, duration_ms=10.0, udp_rate_mbps=np.array([1.0]))


def test_same_seed_same_result_and_static_random_users() -> None:
    cfg = dc.replace(BASE, traffic=dc.replace(BASE.traffic, transport="udp"))
    a = run_reference(cfg, wifi_share=0.5, duration_ms=200.0, warmup_ms=50.0)
    b = run_reference(cfg, wifi_share=0.5, duration_ms=200.0, warmup_ms=50.0)
    c = run_reference(cfg, wifi_share=0.5, duration_ms=200.0, warmup_ms=50.0, seed=cfg.random_seed + 1)
    np.testing.assert_array_equal(a.throughput_mbps, b.throughput_mbps)
    assert a.events == b.events
    area = cfg.user_location_range
    assert np.all((a.user_xyz[:, 0] >= area.min_x) & (a.user_xyz[:, 0] <= area.max_x))
    assert np.all((a.user_xyz[:, 1] >= area.min_y) & (a.user_xyz[:, 1] <= area.max_y))
    assert not np.array_equal(a.user_xyz, c.user_xyz)
