"""BBR-like congestion control ("TcpBbr"): a paced sender driven by a model of the path, not by losses.

Sources: Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue 14(5), 2016; IETF
draft-cardwell-iccrg-bbr-congestion-control-00 (BBR v1, the version ns-3's TcpBbr implements); delivery-rate
samples per draft-cheng-iccrg-delivery-rate-estimation-00; constants as Linux's tcp_bbr.c.

The model: the bottleneck bandwidth is the windowed maximum of delivery-rate samples over the last 10 round
trips, the propagation delay the minimum RTT over 10 s. The sender paces at ``pacing_gain × btl_bw`` and caps
its flight at ``cwnd_gain × btl_bw × min_rtt`` (+ 3 segments for ACK batching). Modes: STARTUP (gain 2/ln 2
until the bandwidth stops growing 25 % per round for 3 rounds), DRAIN (the inverse gain until the flight is
down to one BDP), PROBE_BW (an 8-phase gain cycle 1.25, 0.75, 1 × 6, one min-RTT each) and PROBE_RTT (4 segments
for 200 ms when the min-RTT sample is 10 s old). Losses are repaired by the SACK recovery of ``tcp.py`` with
packet conservation (one segment out per segment delivered), as BBR v1 does, not by halving the window.
Counted in segments (MSS = the user's packet size); rates in segments per ms. Pacing sends bursts of about
1 ms of data (at least 2 segments, at most 64 KB), as Linux's TSO autosizing does.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import kernel
from ..core.state import TCP_WINDOW

BBR_STARTUP = 0
BBR_DRAIN = 1
BBR_PROBE_BW = 2
BBR_PROBE_RTT = 3

HIGH_GAIN = 2.0 / math.log(2.0)  # smallest gain that doubles the delivery rate each round (draft §4.3.2.1)
DRAIN_GAIN = 1.0 / HIGH_GAIN
CWND_GAIN = 2.0
BW_WINDOW_ROUNDS = 10  # s.bbr_bw_ring has this many columns
MIN_RTT_WINDOW_MS = 10_000.0
PROBE_RTT_MS = 200.0
MIN_CWND = 4.0
FULL_BW_GROWTH = 1.25
FULL_BW_ROUNDS = 3
CYCLE_LENGTH = 8
ACK_BATCH_SEGMENTS = 3.0  # Linux adds 3 TSO quanta to the target window for delayed / stretched ACKs
INITIAL_CWND = 10.0
MAX_BURST_SEGMENTS = 45  # 64 KB of 1400-byte segments
PACING_QUANTUM_MS = 1.0


@kernel(inline="always")
def bbr_pacing_gain(s, user: int) -> float:
    mode = s.bbr_mode[user]
    if mode == BBR_STARTUP:
        return HIGH_GAIN
    if mode == BBR_DRAIN:
        return DRAIN_GAIN
    if mode == BBR_PROBE_RTT:
        return 1.0
    phase = s.bbr_cycle_idx[user]
    if phase == 0:
        return 1.25
    if phase == 1:
        return 0.75
    return 1.0


@kernel(inline="always")
def bbr_bdp(s, user: int, gain: float) -> float:
    """``gain`` × the estimated bandwidth-delay product in segments (the initial window before any sample)."""
    if s.bbr_min_rtt_ms[user] == np.inf or s.bbr_btl_bw[user] <= 0.0:
        return gain * INITIAL_CWND
    return gain * s.bbr_btl_bw[user] * s.bbr_min_rtt_ms[user]


@kernel(inline="always")
def bbr_pacing_rate(s, user: int) -> float:
    """Segments per ms; before the first bandwidth sample, the initial window per (smoothed or 1 ms) RTT."""
    bw = s.bbr_btl_bw[user]
    if bw <= 0.0:
        rtt = s.tcp_srtt_ms[user] if s.tcp_srtt_ms[user] > 0.0 else 1.0
        bw = INITIAL_CWND / rtt
    return bbr_pacing_gain(s, user) * bw


@kernel(inline="always")
def bbr_burst(s, user: int) -> int:
    """Segments per pacing tick: ~1 ms of data, at least 2, at most 64 KB."""
    return min(max(int(bbr_pacing_rate(s, user) * PACING_QUANTUM_MS), 2), MAX_BURST_SEGMENTS)


@kernel(inline="always")
def bbr_on_sent(s, t_ms: float, user: int, seq: int) -> None:
    """Remember the delivery state a segment left with (delivery-rate estimation, draft-cheng §3.2)."""
    if s.tcp_snd_nxt[user] <= s.tcp_snd_una[user] + 1:  # nothing else in flight: the clock restarts now
        s.bbr_delivered_ms[user] = t_ms
    slot = seq % TCP_WINDOW
    s.bbr_tx_delivered[user, slot] = s.bbr_delivered[user]
    s.bbr_tx_delivered_ms[user, slot] = s.bbr_delivered_ms[user]


@kernel(inline="always")
def _enter_probe_bw(s, user: int, t_ms: float) -> None:
    s.bbr_mode[user] = BBR_PROBE_BW
    # a pseudo-random phase other than the 0.75 one (Linux draws it; a hash keeps runs reproducible)
    phase = (user * 5 + s.bbr_round[user]) % (CYCLE_LENGTH - 1)
    s.bbr_cycle_idx[user] = 0 if phase == 0 else phase + 1
    s.bbr_cycle_stamp_ms[user] = t_ms


@kernel
def bbr_on_ack(s, t_ms: float, user: int, segments: int, sample_slot: int, rtt_ms: float,
               in_recovery: bool) -> None:
    """Update the path model and the window after an ACK that reported ``segments`` newly delivered segments.

    ``sample_slot`` is the ring slot of the newest segment the ACK acknowledged cumulatively (−1 = no rate
    sample: a duplicate ACK or a retransmitted segment), ``rtt_ms`` its RTT (−1 = none)."""
    s.bbr_delivered[user] += segments
    s.bbr_delivered_ms[user] = t_ms
    inflight = float(s.tcp_snd_nxt[user] - s.tcp_snd_una[user])
    round_start = False
    if sample_slot >= 0:
        if s.bbr_tx_delivered[user, sample_slot] >= s.bbr_next_round_delivered[user]:
            s.bbr_next_round_delivered[user] = s.bbr_delivered[user]
            s.bbr_round[user] += 1
            round_start = True
            s.bbr_bw_ring[user, s.bbr_round[user] % BW_WINDOW_ROUNDS] = 0.0
        interval = t_ms - s.bbr_tx_delivered_ms[user, sample_slot]
        # a sample over less than one min RTT overestimates the rate (ACK compression); Linux drops it too
        if interval > 0.0 and (s.bbr_min_rtt_ms[user] == np.inf or interval >= s.bbr_min_rtt_ms[user]):
            rate = (s.bbr_delivered[user] - s.bbr_tx_delivered[user, sample_slot]) / interval
            k = s.bbr_round[user] % BW_WINDOW_ROUNDS
            if rate > s.bbr_bw_ring[user, k]:
                s.bbr_bw_ring[user, k] = rate
            best = 0.0
            for j in range(BW_WINDOW_ROUNDS):
                best = max(best, s.bbr_bw_ring[user, j])
            s.bbr_btl_bw[user] = best
    # PROBE_BW: next phase after one min RTT (the 1.25 phase also needs the flight to reach 1.25 BDP, the
    # 0.75 phase may end early once the flight is down to one BDP)
    if s.bbr_mode[user] == BBR_PROBE_BW:
        gain = bbr_pacing_gain(s, user)
        elapsed = t_ms - s.bbr_cycle_stamp_ms[user] > s.bbr_min_rtt_ms[user]
        if gain > 1.0:
            advance = elapsed and (inflight >= bbr_bdp(s, user, gain) or in_recovery)
        elif gain < 1.0:
            advance = elapsed or inflight <= bbr_bdp(s, user, 1.0)
        else:
            advance = elapsed
        if advance:
            s.bbr_cycle_idx[user] = (s.bbr_cycle_idx[user] + 1) % CYCLE_LENGTH
            s.bbr_cycle_stamp_ms[user] = t_ms
    # STARTUP ends when three rounds in a row grew the bandwidth by less than 25 %
    if round_start and not s.bbr_filled_pipe[user]:
        if s.bbr_btl_bw[user] >= s.bbr_full_bw[user] * FULL_BW_GROWTH:
            s.bbr_full_bw[user] = s.bbr_btl_bw[user]
            s.bbr_full_bw_rounds[user] = 0
        else:
            s.bbr_full_bw_rounds[user] += 1
            if s.bbr_full_bw_rounds[user] >= FULL_BW_ROUNDS:
                s.bbr_filled_pipe[user] = True
    if s.bbr_mode[user] == BBR_STARTUP and s.bbr_filled_pipe[user]:
        s.bbr_mode[user] = BBR_DRAIN
    if s.bbr_mode[user] == BBR_DRAIN and inflight <= bbr_bdp(s, user, 1.0):
        _enter_probe_bw(s, user, t_ms)
    # min RTT over 10 s; when it is stale, PROBE_RTT drains the queue to re-measure it
    expired = t_ms > s.bbr_min_rtt_stamp_ms[user] + MIN_RTT_WINDOW_MS
    if rtt_ms >= 0.0 and (rtt_ms <= s.bbr_min_rtt_ms[user] or expired):
        s.bbr_min_rtt_ms[user] = rtt_ms
        s.bbr_min_rtt_stamp_ms[user] = t_ms
    if expired and s.bbr_mode[user] != BBR_PROBE_RTT:
        s.bbr_mode[user] = BBR_PROBE_RTT
        s.bbr_probe_rtt_done_ms[user] = np.inf
    if s.bbr_mode[user] == BBR_PROBE_RTT:
        if s.bbr_probe_rtt_done_ms[user] == np.inf and inflight <= MIN_CWND:
            s.bbr_probe_rtt_done_ms[user] = t_ms + PROBE_RTT_MS
        elif t_ms >= s.bbr_probe_rtt_done_ms[user]:
            s.bbr_min_rtt_stamp_ms[user] = t_ms
            if s.bbr_filled_pipe[user]:
                _enter_probe_bw(s, user, t_ms)
            else:
                s.bbr_mode[user] = BBR_STARTUP
    # the window: grow by what was delivered up to the target (packet conservation in recovery, tcp.py)
    if not in_recovery:
        startup = s.bbr_mode[user] == BBR_STARTUP or s.bbr_mode[user] == BBR_DRAIN
        target = bbr_bdp(s, user, HIGH_GAIN if startup else CWND_GAIN)
        target += ACK_BATCH_SEGMENTS
        cwnd = s.tcp_cwnd[user]
        if s.bbr_filled_pipe[user]:
            cwnd = min(cwnd + segments, target)
        elif cwnd < target or s.bbr_delivered[user] < INITIAL_CWND:
            cwnd += segments
        s.tcp_cwnd[user] = max(cwnd, MIN_CWND)
    if s.bbr_mode[user] == BBR_PROBE_RTT:
        s.tcp_cwnd[user] = min(s.tcp_cwnd[user], MIN_CWND)
