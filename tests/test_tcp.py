"""TCP (docs/models.md "Traffic"): slow start, the halving on a loss, congestion avoidance, recovery by timeout,
the retransmission timer (RFC 6298: never overdue, Karn's rule), the queueing delay a backlogged flow builds in
a drop-tail buffer, and that such a flow keeps a single link busy.

One static user downloads over one link (the Wi-Fi share forced to 1, or to 0 for LTE, every interval, so GMA
never moves traffic). Fine-grained behaviour is read from ``Simulation.state`` (``tcp_cwnd``, ``tcp_ssthresh``,
``tcp_snd_una``, ``tcp_losses``, ``tcp_timeouts``, ``tcp_in_recovery``, ``tcp_rto_deadline_ms``,
``tcp_srtt_ms``) with 1 ms measurement intervals; a Wi-Fi backhaul delay makes the round trip long compared
with that sampling step.
"""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest

from netgym_lite.config_types import LINK_LTE, LINK_WIFI, Position, ScenarioConfig
from netgym_lite.models.wifi_phy import MAX_PPDU_US, MPDU_OVERHEAD_BYTES, txop_overhead_us
from netgym_lite.sim import Simulation

BASE = ScenarioConfig()
STATIC = dc.replace(BASE.user_random_walk, min_speed_mps=0.0, max_speed_mps=0.0)
PACKET = BASE.traffic.packet_size_bytes
INITIAL_CWND = 10.0
ACK_DELAY_WIFI_MS = 0.35  # docs/models.md: an ACK's Wi-Fi uplink delay (plus the backhaul)
ACK_DELAY_LTE_MS = 4.0  # ... and LTE's (scheduling request + grant + TTI + processing)


def wifi_cfg(*, queue: int, distance_m: float = 10.0, backhaul_ms: float = 0.0, interval_ms: int = 100,
             lte_distance_m: float = 10.0) -> ScenarioConfig:
    """One static TCP user ``distance_m`` from its AP (802.11ax 20 MHz) with an ``queue``-packet AP buffer."""
    return dc.replace(
        BASE,
        num_users=1,
        user_locations=(Position(0.0, 0.0, 1.5),),
        wifi_ap_locations=(Position(distance_m, 0.0, 3.0),),
        lte_enb_locations=(Position(lte_distance_m, 0.0, 3.0),),
        user_random_walk=STATIC,
        traffic=dc.replace(BASE.traffic, transport="tcp"),
        wifi=dc.replace(BASE.wifi, ap_queue_packets=queue, backhaul_delay_ms=backhaul_ms),
        measurement_interval_ms=interval_ms,
    )


def wifi_goodput_mbps(rate_mbps: float, standard: str = "802.11ax", max_ampdu: int = 65535) -> float:
    """Saturated single-station goodput of the Wi-Fi model (docs/models.md): full A-MPDUs back to back."""
    limit = min(max_ampdu, rate_mbps * MAX_PPDU_US / 8.0)
    npkts = min(64, int(limit // (PACKET + MPDU_OVERHEAD_BYTES)))
    duration_us = txop_overhead_us(standard) + npkts * (PACKET + MPDU_OVERHEAD_BYTES) * 8.0 / rate_mbps
    return npkts * PACKET * 8.0 / duration_us


def trace(cfg: ScenarioConfig, steps: int, share: float = 1.0, seed: int = 1) -> dict[str, np.ndarray]:
    """Advance ``steps`` intervals with a fixed Wi-Fi share; the sender's state after each one."""
    sim = Simulation(cfg, seed)
    rows = []
    for _ in range(steps):
        sim.set_wifi_split(np.array([share]))
        snap = sim.advance_stats()
        s = sim.state
        rows.append((snap.ts_ms, s.tcp_cwnd[0], s.tcp_ssthresh[0], s.tcp_snd_una[0], s.tcp_losses[0],
                     s.tcp_timeouts[0], s.tcp_in_recovery[0], snap.st.drops[0].sum(), snap.st.rx_pkts[0]))
    cols = np.array(rows, dtype=np.float64).T
    return dict(zip(("t", "cwnd", "ssthresh", "una", "losses", "timeouts", "recovery", "drops", "rx"), cols,
                    strict=True))


# ---------------------------------------------------------------------------------------------- slow start
def test_cwnd_grows_in_slow_start_doubling_every_round_trip() -> None:
    backhaul = 20.0
    cfg = wifi_cfg(queue=2000, backhaul_ms=backhaul, interval_ms=1)
    tr = trace(cfg, 260)
    assert tr["losses"][-1] == 0 and tr["drops"].sum() == 0
    # slow start: +1 packet per packet ACKed, exactly (docs/models.md: "slow start (+1 per ACKed packet)"),
    # until HyStart sees the queue grow (ssthresh becomes finite) — not before the window passed 160
    slow = np.isinf(tr["ssthresh"])
    np.testing.assert_array_equal(tr["cwnd"][slow], INITIAL_CWND + tr["una"][slow])
    assert slow.all() or tr["cwnd"][~slow][0] >= 16 * INITIAL_CWND
    # the window is ≫ 10 after the first round trips...
    assert tr["cwnd"][tr["t"] == cfg.measurement_start_time_ms + 200][0] >= 8 * INITIAL_CWND
    # ... because it doubles every round trip: 10 → 20 → 40 → 80 → 160, each step one RTT apart.
    # Base RTT = data backhaul + one-packet TXOP + the ACK path: the shorter uplink, here LTE's 4 ms (no backhaul)
    # rather than Wi-Fi's 0.35 ms behind its 20 ms backhaul (docs/models.md, "ACK path as a delay").
    air_ms = (txop_overhead_us(cfg.wifi.standard) + (PACKET + MPDU_OVERHEAD_BYTES) * 8 / 129.0) / 1000.0
    rtt = backhaul + air_ms + min(ACK_DELAY_WIFI_MS + backhaul, ACK_DELAY_LTE_MS)
    start = float(cfg.measurement_start_time_ms)
    reached = [start] + [tr["t"][np.argmax(tr["cwnd"] >= INITIAL_CWND * 2**k)] for k in range(1, 5)]
    steps = np.diff(reached)
    assert np.all(steps >= 0.9 * rtt) and np.all(steps <= 1.3 * rtt), (steps, rtt)


# ---------------------------------------------------------------------------------------------- loss
def loss_trace() -> dict[str, np.ndarray]:
    """A 100-packet AP buffer and a 10 ms round trip: slow start overflows the buffer at ~300 packets."""
    return trace(wifi_cfg(queue=100, backhaul_ms=5.0, interval_ms=1), 2500)


@pytest.fixture(scope="module")
def lossy() -> dict[str, np.ndarray]:
    return loss_trace()


def test_window_halves_at_the_first_fast_retransmit(lossy) -> None:
    tr = lossy
    first = int(np.argmax(tr["losses"] >= 1))
    assert first > 0 and tr["losses"][first] == 1
    assert tr["drops"][:first].sum() > 0  # the buffer overflowed first
    assert tr["timeouts"][first] == 0 and tr["recovery"][first] == 1  # fast retransmit, not a timeout
    before = tr["cwnd"][first - 1]
    assert before > 100  # a real window (slow start got far)
    # ssthresh = half the window at the loss (ACKs arriving within the same 1 ms step may have grown it a bit)
    assert 0.45 * before <= tr["ssthresh"][first] <= 0.6 * before, (before, tr["ssthresh"][first])
    # the window itself came down with it (NewReno: ssthresh + 3 + inflation; PRR: ssthresh)
    assert tr["ssthresh"][first] <= tr["cwnd"][first] <= 0.75 * before, (before, tr["cwnd"][first])


def test_window_deflates_to_the_halved_ssthresh_when_recovery_ends(lossy) -> None:
    tr = lossy
    first = int(np.argmax(tr["losses"] >= 1))
    halved = tr["ssthresh"][first]
    rec = tr["recovery"].astype(bool)
    ends = np.flatnonzero(rec[:-1] & ~rec[1:]) + 1
    assert ends.size, "the first fast recovery never ended"
    end = int(ends[0])
    assert tr["timeouts"][end] == 0, "the first recovery ended by a timeout, not by a full ACK"
    assert tr["ssthresh"][end] == halved
    # full ACK: cwnd = ssthresh (plus at most the congestion-avoidance growth of the rest of that 1 ms step)
    assert halved <= tr["cwnd"][end] <= halved + 1.0, (tr["cwnd"][end], halved)


def test_congestion_avoidance_adds_one_packet_per_window_of_acks(lossy) -> None:
    tr = lossy
    ca = (tr["ssthresh"] < np.inf) & (tr["recovery"] == 0) & (tr["cwnd"] >= tr["ssthresh"])
    # consecutive samples both in congestion avoidance with no loss or timeout in between
    pair = ca[:-1] & ca[1:] & (np.diff(tr["losses"]) == 0) & (np.diff(tr["timeouts"]) == 0)
    acked = np.diff(tr["una"])[pair]
    grew = np.diff(tr["cwnd"])[pair]
    cwnd = tr["cwnd"][:-1][pair]
    assert acked.sum() > 2 * cwnd.max(), "too little congestion avoidance observed"
    # cwnd += 1/cwnd per ACKed packet: one packet per window, i.e. about one per round trip
    np.testing.assert_allclose(grew, acked / cwnd, rtol=0.05, atol=1e-9)


# ---------------------------------------------------------------------------------------------- timeout
def test_timeout_restarts_delivery_after_a_burst_of_losses() -> None:
    # The user downloads over Wi-Fi (AP 10 m away; the eNB 5 km away: no LTE coverage). For 300 ms it stands
    # out of Wi-Fi coverage too (moved 5 km the other way between two intervals: with both links down GMA keeps
    # steering to Wi-Fi), so the packets in flight are lost or stuck at the AP, no (duplicate) ACK comes back,
    # and only the retransmission timer can restart the flow once the user is back in coverage.
    cfg = wifi_cfg(queue=500, lte_distance_m=5000.0)
    sim = Simulation(cfg, 1)
    home = sim.state.pos[0].copy()
    rates, timeouts, coverage, air = [], [], [], []
    cut = range(10, 13)
    for i in range(40):
        sim.state.pos[0, 0] = home[0] - (5000.0 if i in cut else 0.0)  # takes effect at the interval start
        sim.set_wifi_split(np.array([1.0]))
        snap = sim.advance_stats()
        assert snap.lte_bits_per_rb[0] == 0
        coverage.append(snap.wifi_rate_mbps[0] > 0)
        air.append(int(snap.st.link_rx_pkts[0].sum()))
        rates.append(snap.st.rx_bytes[0] * 8 / (cfg.measurement_interval_ms * 1000.0))
        timeouts.append(int(sim.state.tcp_timeouts[0]))
    assert coverage == [i not in cut for i in range(40)]
    rates = np.array(rates)
    before = rates[3:10].mean()
    assert before > 30.0  # a healthy flow before the cut
    assert air[11:13] == [0, 0]  # the cut really cut (interval 10 still ends the A-MPDU on the air at its start)
    assert timeouts[-1] > timeouts[9], timeouts  # the RTO fired
    resumed = [i for i in range(13, 40) if rates[i] > 0]
    assert resumed, "delivery never resumed"
    # the flow restarts within one backed-off RTO of the return to coverage (≤ 2 × 400 ms after the cut)
    assert resumed[0] <= 13 + 8, rates.tolist()
    # and gets its throughput back
    assert rates[-10:].mean() >= 0.5 * before, rates.tolist()


# ---------------------------------------------------------------------------------------------- RTO timer
@pytest.fixture(scope="module")
def small_buffer_run() -> list[dict]:
    """Slow start into a 50-packet AP buffer on a ~1 ms path (80 drops in the first 15 ms), 1 ms samples."""
    cfg = wifi_cfg(queue=50, distance_m=10.0, interval_ms=1)
    sim = Simulation(cfg, 1)
    rows, max_owd = [], 0.0
    for _ in range(1500):
        sim.set_wifi_split(np.array([1.0]))
        snap = sim.advance_stats()
        s = sim.state
        if snap.st.rx_pkts[0]:  # owd after GMA reordering: when the TCP receiver gets the segment
            max_owd = max(max_owd, float(snap.st.owd_max[0]))
        rows.append({"t": float(snap.ts_ms), "deadline": float(s.tcp_rto_deadline_ms[0]),
                     "rto": float(s.tcp_rto_ms[0]), "srtt": float(s.tcp_srtt_ms[0]),
                     "timeouts": int(s.tcp_timeouts[0]), "max_owd": max_owd})
    return rows


def test_retransmission_timer_is_never_overdue(small_buffer_run) -> None:
    """RFC 6298 §5: when the timer expires, retransmit. At no sample may the armed deadline lie in the past."""
    overdue = [r for r in small_buffer_run if r["deadline"] < r["t"]]
    assert not overdue, (f"{len(overdue)} samples with an expired, unserved RTO deadline; first: "
                         f"{overdue[0]}, the timeout fired at t = "
                         f"{next(r['t'] for r in small_buffer_run if r['timeouts'] > 0)} ms")


def test_rtt_samples_obey_karns_rule(small_buffer_run) -> None:
    """RFC 6298 §3 (Karn): no RTT sample from an ACK covering retransmitted data. Every valid sample is at most
    the largest one-way delay seen so far plus the ACK's return (0.35 ms here), so SRTT can never exceed it."""
    for r in small_buffer_run:
        bound = r["max_owd"] + ACK_DELAY_WIFI_MS + 1.0
        assert r["srtt"] <= bound, (r, bound)


# ---------------------------------------------------------------------------------------------- queueing delay
@pytest.mark.parametrize("queue, distance_m", [(100, 40.0), (400, 10.0)])
def test_backlogged_queueing_delay_settles_near_buffer_over_link_rate(queue: int, distance_m: float) -> None:
    """Mean Wi-Fi owd ≈ N·1400·8 / rate. Tolerance: with a buffer N ≫ BDP (~10 packets here), NewReno's
    sawtooth keeps the queue between ~N/2 (after a halving) and N (a loss needs a full buffer), so the mean
    queueing delay lies in [0.5, 1.0]·N/R; the owd adds at most one A-MPDU's TXOP (≤ 5.7 ms) on top."""
    cfg = wifi_cfg(queue=queue, distance_m=distance_m)
    sim = Simulation(cfg, 1)
    owd_sum = owd_n = rx_bytes = 0.0
    owd_max = []  # every interval's, slow start included
    warmup, intervals = 50, 150
    for i in range(intervals):
        sim.set_wifi_split(np.array([1.0]))
        snap = sim.advance_stats()
        st = snap.st
        assert st.tx_pkts[0, LINK_LTE] == 0
        owd_max.append(st.link_owd_max[0, LINK_WIFI])
        if i >= warmup:
            owd_sum += st.link_owd_sum[0, LINK_WIFI]
            owd_n += st.link_rx_pkts[0, LINK_WIFI]
            rx_bytes += st.link_rx_bytes[0, LINK_WIFI]
    rate_mbps = rx_bytes * 8 / ((intervals - warmup) * cfg.measurement_interval_ms * 1000.0)
    phy = float(snap.wifi_rate_mbps[0])
    assert rate_mbps >= 0.8 * wifi_goodput_mbps(phy), (rate_mbps, phy)  # the link is kept busy
    drain_ms = queue * PACKET * 8 / (rate_mbps * 1000.0)
    txop_ms = (txop_overhead_us(cfg.wifi.standard) + MAX_PPDU_US) / 1000.0
    mean_owd = owd_sum / owd_n
    assert 0.5 * drain_ms <= mean_owd <= drain_ms + txop_ms, (mean_owd, drain_ms)
    # the buffer does fill up (HyStart leaves slow start early, then congestion avoidance grows the window
    # until the buffer overflows: that is what makes Reno lose packets) and never holds more than N packets
    assert max(owd_max) >= 0.9 * drain_ms
    assert max(owd_max) <= 1.05 * drain_ms + txop_ms


# ---------------------------------------------------------------------------------------------- utilisation
BUSY_CASES = [("wifi", q, d) for d in (10.0, 40.0) for q in (50, 100, 200, 500)] + [
    ("lte", rlc, 10.0) for rlc in (50_000, 100_000)]


@pytest.mark.parametrize("link, buffer, distance_m", BUSY_CASES)
def test_backlogged_flow_keeps_a_single_link_busy(link: str, buffer: int, distance_m: float) -> None:
    """A bulk download over one clean link whose buffer is ≥ the bandwidth-delay product must keep that link
    busy once slow start is over: no interval far below the link's goodput. Wi-Fi: BDP ≈ 10 packets (~1 ms
    round trip), buffers of 50–500 packets. LTE (the eNB 10 m away, 36.6 Mbps; the first interval runs on
    Wi-Fi, before any action): BDP ≈ 30 packets (~9 ms round trip with LTE ACKs), RLC buffers of 35 and 71
    packets."""
    if link == "wifi":
        cfg = wifi_cfg(queue=buffer, distance_m=distance_m)
        share, index = 1.0, LINK_WIFI
    else:
        cfg = wifi_cfg(queue=500, lte_distance_m=distance_m)
        cfg = dc.replace(cfg, lte=dc.replace(cfg.lte, rlc_buffer_bytes=buffer))
        share, index = 0.0, LINK_LTE
    sim = Simulation(cfg, 1)
    rates, timeouts = [], []
    for _ in range(40):
        sim.set_wifi_split(np.array([share]))
        snap = sim.advance_stats()
        rates.append(snap.st.link_rx_bytes[0, index] * 8 / (cfg.measurement_interval_ms * 1000.0))
        timeouts.append(int(sim.state.tcp_timeouts[0]))
    if link == "wifi":
        goodput = wifi_goodput_mbps(float(snap.wifi_rate_mbps[0]))
    else:
        goodput = float(snap.lte_bits_per_rb[0]) * cfg.lte.resource_block_num / 1000.0
    rates = np.array(rates[10:])
    detail = f"goodput {goodput:.1f} Mbps, per-interval Mbps {np.round(rates, 1).tolist()}, timeouts {timeouts}"
    assert rates.mean() >= 0.8 * goodput, detail
    assert rates.min() >= 0.5 * goodput, detail
