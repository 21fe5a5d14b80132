"""TCP: a loss-based NewReno sender and a cumulative-ACK receiver, counted in packets (MSS = packet size).

Sources: slow start and congestion avoidance, fast retransmit / fast recovery (RFC 5681 §3), NewReno partial
ACKs (RFC 6582), retransmission timer with SRTT/RTTVAR, Karn's rule and exponential backoff (RFC 6298;
minimum RTO 200 ms as Linux), initial window 10 (RFC 6928). The sender is backlogged (a bulk download).
The receiver is in ``tcp_receiver.py``.
"""

from __future__ import annotations

import numpy as np

from ..core.events import EV_TCP_RTO, schedule
from ..core.jit import kernel
from ..core.state import TCP_WINDOW
from .gma_split import gma_send

INITIAL_CWND = 10.0
MIN_RTO_MS = 200.0
MAX_RTO_MS = 60_000.0
INITIAL_RTO_MS = 1000.0


@kernel(inline="always")
def _send_segment(s, p, t_ms: float, user: int, seq: int) -> None:
    slot = seq % TCP_WINDOW
    s.tcp_retx[user, slot] = seq < s.tcp_high_tx[user]
    s.tcp_sent_ms[user, slot] = t_ms
    if seq + 1 > s.tcp_high_tx[user]:
        s.tcp_high_tx[user] = seq + 1
    gma_send(s, p, t_ms, user, seq)


@kernel(inline="always")
def _arm_rto(s, t_ms: float, user: int) -> None:
    """(Re)start the retransmission timer; at most one timer event per user is queued (lazy timer)."""
    s.tcp_rto_deadline_ms[user] = t_ms + s.tcp_rto_ms[user]
    if not s.tcp_rto_pending[user]:
        s.tcp_rto_pending[user] = True
        schedule(s, s.tcp_rto_deadline_ms[user], EV_TCP_RTO, user, 0)


@kernel
def tcp_try_send(s, p, t_ms: float, user: int) -> None:
    """Send new segments while the window allows (cwnd and the receiver window)."""
    window = min(int(s.tcp_cwnd[user]), TCP_WINDOW - 1)
    while s.tcp_snd_nxt[user] < s.tcp_snd_una[user] + window:
        _send_segment(s, p, t_ms, user, s.tcp_snd_nxt[user])
        s.tcp_snd_nxt[user] += 1
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


@kernel(inline="always")
def on_tcp_ack(s, p, t_ms: float, user: int, ackno: int) -> None:
    """A cumulative ACK (next expected sequence) reaches the sender."""
    if ackno < 0:  # start of the download
        tcp_try_send(s, p, t_ms, user)
        return
    una = s.tcp_snd_una[user]
    if ackno > una:
        acked = ackno - una
        slot = (ackno - 1) % TCP_WINDOW
        if not s.tcp_retx[user, slot]:
            _rtt_sample(s, user, t_ms - s.tcp_sent_ms[user, slot])
        s.tcp_snd_una[user] = ackno
        if s.tcp_snd_nxt[user] < ackno:
            s.tcp_snd_nxt[user] = ackno
        s.tcp_dupacks[user] = 0
        if s.tcp_in_recovery[user]:
            if ackno > s.tcp_recover[user]:  # full ACK: leave recovery, deflate the window
                s.tcp_in_recovery[user] = False
                s.tcp_cwnd[user] = s.tcp_ssthresh[user]
            else:  # partial ACK: the next hole was lost too
                _send_segment(s, p, t_ms, user, ackno)
                s.tcp_cwnd[user] = max(s.tcp_cwnd[user] - acked + 1.0, 1.0)
        elif s.tcp_cwnd[user] < s.tcp_ssthresh[user]:
            s.tcp_cwnd[user] += acked
        else:
            s.tcp_cwnd[user] += acked / s.tcp_cwnd[user]
        if s.tcp_snd_una[user] < s.tcp_snd_nxt[user]:
            _arm_rto(s, t_ms, user)
        else:
            s.tcp_rto_deadline_ms[user] = np.inf
    elif ackno == una and s.tcp_snd_nxt[user] > una:
        s.tcp_dupacks[user] += 1
        if s.tcp_in_recovery[user]:
            s.tcp_cwnd[user] += 1.0  # window inflation: one more segment has left the network
        elif s.tcp_dupacks[user] == 3 and una > s.tcp_recover[user]:
            flight = s.tcp_snd_nxt[user] - una
            s.tcp_ssthresh[user] = max(flight / 2.0, 2.0)
            s.tcp_cwnd[user] = s.tcp_ssthresh[user] + 3.0
            s.tcp_in_recovery[user] = True
            s.tcp_recover[user] = s.tcp_snd_nxt[user] - 1
            s.tcp_losses[user] += 1
            _send_segment(s, p, t_ms, user, una)
    tcp_try_send(s, p, t_ms, user)


@kernel(inline="always")
def on_tcp_rto(s, p, t_ms: float, user: int) -> None:
    """The lazy RTO event fires: re-queue it if the deadline moved, otherwise time out (go-back-N)."""
    s.tcp_rto_pending[user] = False
    deadline = s.tcp_rto_deadline_ms[user]
    if deadline == np.inf:
        return
    if deadline > t_ms:
        s.tcp_rto_pending[user] = True
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
