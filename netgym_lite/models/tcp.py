"""TCP: a loss-based Reno sender with SACK recovery, counted in packets (MSS = packet size).

Sources: slow start and congestion avoidance, fast retransmit / fast recovery (RFC 5681 §3), SACK-based loss
recovery (RFC 6675) paced by proportional rate reduction (RFC 6937), with the timer reset on the first partial
ACK only (RFC 6582 §3.2 step 5, "impatient"), retransmission
timer with SRTT/RTTVAR and exponential backoff (RFC 6298; minimum RTO 200 ms as Linux), initial window 10
(RFC 6928), HyStart's delay-based exit from slow start (as Linux, which pairs it with CUBIC). Karn's rule,
extended: no RTT sample from a retransmitted segment nor from one sent before the
latest retransmission (its ACK may have waited for the repaired hole). The sender is backlogged.

The receiver (``tcp_receiver.py``) ACKs once per delivery batch and says how many segments the batch held, so a
duplicate ACK counts for that many segments, as SACK-based loss detection counts SACKed segments against the
duplicate threshold (RFC 6675 §5); without it a loss inside one A-MPDU would never reach three duplicates.
"""

from __future__ import annotations

import numpy as np

from ..core.events import EV_TCP_PACE, EV_TCP_RTO, schedule
from ..core.jit import kernel
from ..core.state import TCP_WINDOW, TRANSPORT_BBR
from .gma_split import gma_send
from .tcp_bbr import bbr_burst, bbr_on_ack, bbr_on_sent, bbr_pacing_rate

INITIAL_CWND = 10.0
MIN_RTO_MS = 200.0
MAX_RTO_MS = 60_000.0
INITIAL_RTO_MS = 1000.0
HYSTART_LOW_WINDOW = 16.0  # Linux's hystart_low_window: no delay test on tiny windows
HYSTART_MIN_DELAY_MS = 4.0
HYSTART_MAX_DELAY_MS = 16.0
HYSTART_MIN_SAMPLES = 8


@kernel(inline="always")
def _send_segment(s, p, t_ms: float, user: int, seq: int) -> None:
    slot = seq % TCP_WINDOW
    retransmission = seq < s.tcp_high_tx[user]
    s.tcp_retx[user, slot] = retransmission
    if retransmission:
        s.tcp_last_retx_ms[user] = t_ms
    s.tcp_sent_ms[user, slot] = t_ms
    if seq + 1 > s.tcp_high_tx[user]:
        s.tcp_high_tx[user] = seq + 1
    if p.user_transport[user] == TRANSPORT_BBR:
        bbr_on_sent(s, t_ms, user, seq)
    gma_send(s, p, t_ms, user, seq)


@kernel(inline="always")
def _arm_rto(s, t_ms: float, user: int) -> None:
    """(Re)start the retransmission timer (lazy: an event is queued only when none is queued at or before
    the new deadline; a queued event that finds the deadline moved later re-queues itself)."""
    deadline = t_ms + s.tcp_rto_ms[user]
    s.tcp_rto_deadline_ms[user] = deadline
    if deadline < s.tcp_rto_event_ms[user]:
        s.tcp_rto_event_ms[user] = deadline
        schedule(s, deadline, EV_TCP_RTO, user, 0)


@kernel(inline="always")
def _sacked(s, user: int, seq: int) -> bool:
    """The receiver already holds ``seq`` (ideal SACK: the scoreboard is the receiver's own bitmap)."""
    return seq < s.tcp_rcv_nxt[user] or s.tcp_rcv_have[user, seq % TCP_WINDOW]


@kernel(inline="always")
def _send_new(s, p, t_ms: float, user: int, window: int, budget: int) -> int:
    """Send up to ``budget`` segments while the window allows; return how many left. After a timeout,
    segments the receiver already holds are skipped rather than sent again."""
    sent = 0
    while sent < budget and s.tcp_snd_nxt[user] < s.tcp_snd_una[user] + window:
        seq = s.tcp_snd_nxt[user]
        s.tcp_snd_nxt[user] = seq + 1
        if seq < s.tcp_high_tx[user] and _sacked(s, user, seq):
            continue
        _send_segment(s, p, t_ms, user, seq)
        sent += 1
    return sent


@kernel(inline="always")
def _paced_send(s, p, t_ms: float, user: int, window: int) -> None:
    """BBR: a burst when the pacing clock allows, then the clock moves on by the burst's time at the pacing
    rate (Linux's earliest departure time); a pacing event wakes the sender when the window is still open."""
    while s.tcp_snd_nxt[user] < s.tcp_snd_una[user] + window:
        due = s.bbr_next_send_ms[user]
        if t_ms < due:
            if due < s.bbr_pace_event_ms[user]:
                s.bbr_pace_event_ms[user] = due
                schedule(s, due, EV_TCP_PACE, user, 0)
            return
        sent = _send_new(s, p, t_ms, user, window, bbr_burst(s, user))
        if sent == 0:
            return
        s.bbr_next_send_ms[user] = max(due, t_ms) + sent / bbr_pacing_rate(s, user)


@kernel
def tcp_try_send(s, p, t_ms: float, user: int) -> None:
    """Send while the window allows (cwnd and the receiver window), paced for BBR."""
    window = min(int(s.tcp_cwnd[user]), TCP_WINDOW - 1)
    if p.user_transport[user] == TRANSPORT_BBR:
        _paced_send(s, p, t_ms, user, window)
    else:
        _send_new(s, p, t_ms, user, window, TCP_WINDOW)
    if s.tcp_snd_nxt[user] > s.tcp_snd_una[user] and s.tcp_rto_deadline_ms[user] == np.inf:
        _arm_rto(s, t_ms, user)


@kernel(inline="always")
def _rtt_sample(s, user: int, rtt_ms: float) -> None:
    if s.tcp_srtt_ms[user] == 0.0:
        s.tcp_srtt_ms[user] = rtt_ms
        s.tcp_rttvar_ms[user] = rtt_ms / 2.0
    else:
        s.tcp_rttvar_ms[user] = 0.75 * s.tcp_rttvar_ms[user] + 0.25 * abs(s.tcp_srtt_ms[user] - rtt_ms)
        s.tcp_srtt_ms[user] = 0.875 * s.tcp_srtt_ms[user] + 0.125 * rtt_ms
    s.tcp_rto_ms[user] = min(max(MIN_RTO_MS, s.tcp_srtt_ms[user] + 4.0 * s.tcp_rttvar_ms[user]), MAX_RTO_MS)
    s.tcp_min_rtt_ms[user] = min(s.tcp_min_rtt_ms[user], rtt_ms)
    # HyStart's delay test (Ha & Rhee, Computer Networks 2011; Linux tcp_cubic): leave slow start once the
    # smallest of a round's first 8 RTT samples exceeds the minimum RTT by max(4 ms, min_rtt/8) (≤ 16 ms):
    # the bottleneck queue is filling, not just one burst passing through it.
    if s.tcp_snd_una[user] >= s.tcp_round_end[user]:  # a new round trip starts
        s.tcp_round_end[user] = s.tcp_snd_nxt[user]
        s.tcp_round_samples[user] = 0
        s.tcp_round_min_rtt_ms[user] = np.inf
    if s.tcp_round_samples[user] < HYSTART_MIN_SAMPLES:
        s.tcp_round_samples[user] += 1
        s.tcp_round_min_rtt_ms[user] = min(s.tcp_round_min_rtt_ms[user], rtt_ms)
        if (s.tcp_round_samples[user] == HYSTART_MIN_SAMPLES and s.tcp_cwnd[user] < s.tcp_ssthresh[user]
                and s.tcp_cwnd[user] >= HYSTART_LOW_WINDOW):
            threshold = min(max(HYSTART_MIN_DELAY_MS, s.tcp_min_rtt_ms[user] / 8.0), HYSTART_MAX_DELAY_MS)
            if s.tcp_round_min_rtt_ms[user] > s.tcp_min_rtt_ms[user] + threshold:
                s.tcp_ssthresh[user] = s.tcp_cwnd[user]


@kernel(inline="always")
def _needs_repair(s, t_ms: float, user: int, seq: int) -> bool:
    """A hole to (re)send: the receiver lacks it, and it was sent before this recovery began, or its
    retransmission has had a round trip plus a quarter of the minimum RTT to arrive (RACK, RFC 8985)."""
    if _sacked(s, user, seq):
        return False
    sent = s.tcp_sent_ms[user, seq % TCP_WINDOW]
    return sent < s.tcp_recovery_start_ms[user] or t_ms - sent > s.tcp_srtt_ms[user] + s.tcp_min_rtt_ms[user] / 4.0


@kernel
def _recovery_send(s, p, t_ms: float, user: int, delivered: int) -> None:
    """SACK loss recovery (RFC 6675) paced by proportional rate reduction (RFC 6937): every delivered segment
    earns ssthresh/flight_at_loss of a transmission; holes below ``recover`` go first, then new data. A hole
    whose retransmission was lost too is sent again once RACK's timer says so (no RTO needed)."""
    s.tcp_prr_credit[user] += delivered * s.tcp_ssthresh[user] / max(s.tcp_recover_flight[user], 1.0)
    una = s.tcp_snd_una[user]
    recover = s.tcp_recover[user]
    limit = una + TCP_WINDOW - 1
    while s.tcp_prr_credit[user] >= 1.0:
        seq = max(s.tcp_hole_next[user], una)
        while seq <= recover and not _needs_repair(s, t_ms, user, seq):
            seq += 1
        if seq > recover and _needs_repair(s, t_ms, user, una):
            seq = una  # a second pass for lost retransmissions
            while seq <= recover and not _needs_repair(s, t_ms, user, seq):
                seq += 1
        if seq <= recover:
            s.tcp_hole_next[user] = seq + 1
            _send_segment(s, p, t_ms, user, seq)
        elif s.tcp_snd_nxt[user] < limit:
            _send_segment(s, p, t_ms, user, s.tcp_snd_nxt[user])
            s.tcp_snd_nxt[user] += 1
        else:
            break
        s.tcp_prr_credit[user] -= 1.0


@kernel(inline="always")
def on_tcp_ack(s, p, t_ms: float, user: int, ackno: int, segments: int) -> None:
    """A cumulative ACK (next expected sequence) for a batch of ``segments`` segments reaches the sender."""
    if ackno < 0:  # start of the download
        tcp_try_send(s, p, t_ms, user)
        return
    bbr = p.user_transport[user] == TRANSPORT_BBR
    sample_slot = -1
    rtt = -1.0
    una = s.tcp_snd_una[user]
    if ackno > una:
        acked = ackno - una
        slot = (ackno - 1) % TCP_WINDOW
        if not s.tcp_retx[user, slot]:
            sample_slot = slot
            if s.tcp_sent_ms[user, slot] >= s.tcp_last_retx_ms[user]:
                rtt = t_ms - s.tcp_sent_ms[user, slot]
                _rtt_sample(s, user, rtt)
        s.tcp_snd_una[user] = ackno
        if s.tcp_snd_nxt[user] < ackno:
            s.tcp_snd_nxt[user] = ackno
        s.tcp_dupacks[user] = 0
        if s.tcp_in_recovery[user]:
            rearm = False
            if ackno > s.tcp_recover[user]:  # full ACK: leave recovery, deflate the window
                s.tcp_in_recovery[user] = False
                s.tcp_cwnd[user] = s.tcp_ssthresh[user]
                rearm = True
            else:  # partial ACK: more holes to repair
                _recovery_send(s, p, t_ms, user, segments)
                rearm = not s.tcp_partial_acked[user]  # impatient: only the first partial ACK resets
                s.tcp_partial_acked[user] = True
        elif bbr:
            rearm = True  # the window follows the path model (bbr_on_ack below)
        else:
            rearm = True
            # appropriate byte counting (RFC 3465 §2.2, L = 2): an ACK grows the window by at most two segments
            # per segment its batch delivered, so an ACK that jumps over a repaired hole cannot burst
            grow = min(acked, 2 * max(segments, 1))
            if s.tcp_cwnd[user] < s.tcp_ssthresh[user]:
                s.tcp_cwnd[user] += grow
            else:
                s.tcp_cwnd[user] += grow / s.tcp_cwnd[user]
        if s.tcp_snd_una[user] >= s.tcp_snd_nxt[user]:
            s.tcp_rto_deadline_ms[user] = np.inf
        elif rearm:
            _arm_rto(s, t_ms, user)
    elif ackno == una and s.tcp_snd_nxt[user] > una:
        s.tcp_dupacks[user] += segments
        if s.tcp_in_recovery[user]:
            _recovery_send(s, p, t_ms, user, segments)
        elif s.tcp_dupacks[user] >= 3 and una > s.tcp_recover[user]:
            flight = s.tcp_snd_nxt[user] - una
            # Reno halves the window; BBR keeps its flight and repairs with packet conservation
            s.tcp_ssthresh[user] = max(flight if bbr else flight / 2.0, 2.0)
            s.tcp_cwnd[user] = s.tcp_ssthresh[user]
            s.tcp_in_recovery[user] = True
            s.tcp_partial_acked[user] = False
            s.tcp_recover[user] = s.tcp_snd_nxt[user] - 1
            s.tcp_recover_flight[user] = flight
            s.tcp_hole_next[user] = una
            s.tcp_recovery_start_ms[user] = t_ms
            s.tcp_prr_credit[user] = 1.0  # fast retransmit: the first hole goes at once
            s.tcp_losses[user] += 1
            _recovery_send(s, p, t_ms, user, 0)
    if bbr:
        bbr_on_ack(s, t_ms, user, segments, sample_slot, rtt, s.tcp_in_recovery[user])
    tcp_try_send(s, p, t_ms, user)


@kernel(inline="always")
def on_tcp_rto(s, p, t_ms: float, user: int) -> None:
    """An RTO event fires: stale ones are ignored, a moved deadline re-queues, otherwise time out (go-back-N)."""
    if t_ms != s.tcp_rto_event_ms[user]:
        return  # superseded by an earlier event queued after a re-arm
    s.tcp_rto_event_ms[user] = np.inf
    deadline = s.tcp_rto_deadline_ms[user]
    if deadline == np.inf:
        return
    if deadline > t_ms:
        s.tcp_rto_event_ms[user] = deadline
        schedule(s, deadline, EV_TCP_RTO, user, 0)
        return
    flight = s.tcp_snd_nxt[user] - s.tcp_snd_una[user]
    s.tcp_ssthresh[user] = max(flight / 2.0, 2.0)
    s.tcp_cwnd[user] = 1.0
    s.tcp_in_recovery[user] = False
    s.tcp_recover[user] = s.tcp_snd_nxt[user] - 1
    s.tcp_dupacks[user] = 0
    s.tcp_snd_nxt[user] = s.tcp_snd_una[user]
    s.tcp_rto_ms[user] = min(s.tcp_rto_ms[user] * 2.0, MAX_RTO_MS)
    s.tcp_losses[user] += 1
    s.tcp_timeouts[user] += 1
    s.tcp_rto_deadline_ms[user] = np.inf
    tcp_try_send(s, p, t_ms, user)
    if s.tcp_rto_deadline_ms[user] == np.inf:
        _arm_rto(s, t_ms, user)


@kernel(inline="always")
def on_tcp_pace(s, p, t_ms: float, user: int) -> None:
    """BBR's pacing clock allows the next burst (stale events, superseded by an earlier one, are ignored)."""
    if t_ms != s.bbr_pace_event_ms[user]:
        return
    s.bbr_pace_event_ms[user] = np.inf
    tcp_try_send(s, p, t_ms, user)
