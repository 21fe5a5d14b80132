"""RMCAT: NADA media flows (RFC 8698) and optional UDP cross traffic through one trace-driven bottleneck.

NetworkGym's ``rmcat`` environment (ns-3 with cisco/ns3-rmcat) re-created at packet level. Every packet is
timestamped when sent, enters one FIFO bottleneck (drop-tail, ``queue_packets`` deep), is served at the trace's
bandwidth and delivered after the trace's propagation delay; its one-way delay is therefore queueing + service +
propagation. The trace (``time_ms, bw_kbps, delay_ms, loss``) is piecewise constant; ``loss`` is the probability
that a packet is lost on the link (drawn when it arrives at the bottleneck).

Sender side (RFC 8698 §4.3, "sender-based" variant as in the reference implementation): each NADA flow paces
packets of ``packet_bytes`` at its sending rate. The receiver's per-packet reports reach the sender after the
reverse propagation delay (the feedback path has no queue: an ideal ACK path, design.md §2). Every DELTA = 100 ms
(RFC 8698 §4.3, default) the sender computes from the reports of the last LOGWIN = 500 ms (by send time):

* ``qdel``: queuing delay d_queue = d_fwd − d_base, 15-tap minimum filter (RFC 8698 §4.2); d_base = the smallest
  one-way delay seen so far;
* ``rtt``: 15-tap minimum of per-packet RTTs (send → report back);
* ``ploss``: packets missing in the window's sequence span; ``plr`` = EWMA of the window's loss ratio with
  ALPHA = 0.1 (RFC 8698 §4.2, "p_loss");
* ``avgint``/``curint``: TFRC-style loss intervals (RFC 5348 §5.4 weights 1,1,1,1,.8,.6,.4,.2; 8 intervals);
* ``xcurr``: aggregated congestion signal x_curr = d_tilde + DLOSS·(p_loss/PLRREF)², with the non-linear warping
  d_tilde of RFC 8698 §4.2 eq. (1) while losses are recent (within MULTILOSS average loss intervals, blended back
  over one more interval), capped at XMAX = 500 ms as in the reference implementation;
* ``rrate``: receive rate over the window's packets (bits after the first / span of receive times).

Rate update (RFC 8698 §4.3): accelerated ramp-up when the window saw no loss and every queuing-delay sample stayed
below QEPS, r_ref = max(r_ref, (1+γ)·r_recv) with γ = min(GAMMA_MAX, QBOUND/(rtt + DELTA + DFILT)) (eqs. 3-4);
otherwise the gradual update of eqs. (5)-(7). r_ref is clipped to [RMIN, RMAX] = [150, 1500] kbps. The media
encoder is ideal: the sender sends at r_ref (no rate-shaping buffer, RFC 8698 §4.4, is modelled).

An agent's rate replaces NADA's for one measurement interval; NADA keeps computing r_ref every DELTA from the rate
actually in use (reported as ``nada_srate``), so control returns smoothly when the agent stops acting.

UDP cross-traffic flows are CBR at their configured rate and share the FIFO; they carry no feedback.

State lives in :class:`RmcatState` (struct of arrays), constants in :class:`RmcatParams`; one numba call
(:func:`run_rmcat_interval`) advances the whole network to the end of a measurement interval.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..core.jit import kernel
from ..core.rng import uniform

# RFC 8698 §4.3 (Figure 3) default parameters; RMIN/RMAX/RINIT as NetworkGym's adapter and ns3-rmcat use them.
PRIO = 1.0
XREF_MS = 10.0
KAPPA = 0.5
ETA = 2.0
TAU_MS = 500.0
DELTA_MS = 100.0
LOGWIN_MS = 500.0
QEPS_MS = 10.0
DFILT_MS = 120.0
GAMMA_MAX = 0.5
QBOUND_MS = 50.0
MULTILOSS = 7.0
QTH_MS = 50.0
LAMBDA = 0.5
DLOSS_MS = 10.0
PLRREF = 0.01
XMAX_MS = 500.0  # cap of x_curr (reference implementation)
ALPHA = 0.1
RMIN_BPS = 150_000.0
RMAX_BPS = 1_500_000.0
RINIT_BPS = RMIN_BPS
MIN_FILTER_TAPS = 15  # RFC 8698 §4.2: 15-tap minimum filter over delay samples
MIN_PACKET_LOGLEN = 5  # fewer reports than this in the window: keep the previous loss and rate estimates
LOSS_INTERVALS = 9  # current interval + 8 closed ones (RFC 5348 §5.4)

# Columns of RmcatState.totals (per flow, since the start).
T_SENT, T_DELIVERED, T_DROPPED_QUEUE, T_DROPPED_LINK = 0, 1, 2, 3
# Columns of RmcatState.ptr (monotone counters into the per-flow packet ring; index = counter % ring size).
P_WRITE, P_DELIVERED, P_FEEDBACK, P_WINDOW = 0, 1, 2, 3
# Rows of RmcatState.stats (NADA flows): what the records report.
(S_LOGLEN, S_QDEL, S_RTT, S_PLOSS, S_PLR, S_XCURR, S_RRATE, S_SRATE, S_NADA_SRATE, S_AVGINT, S_CURINT,
 S_XPREV, S_VALID) = range(13)
NUM_STATS = 13
# Columns of RmcatState.interval (per flow, this measurement interval only).
I_RX_BYTES, I_RX_PKTS, I_OWD_SUM_MS, I_TX_PKTS = 0, 1, 2, 3


class RmcatParams(NamedTuple):
    """Constants of one rmcat network (never written by the kernels)."""

    num_nada: int  # NADA flows 0..F-1; flows F.. are UDP cross traffic
    num_flows: int  # F + UDP flows
    packet_bits: float
    queue_packets: int  # drop-tail FIFO limit (packets in queue, the one in service included)
    trace_t_ms: np.ndarray  # float64[T], starts at 0, increasing
    trace_bw_bps: np.ndarray  # float64[T]
    trace_delay_ms: np.ndarray  # float64[T]
    trace_loss: np.ndarray  # float64[T], loss probability per packet
    flow_start_ms: np.ndarray  # float64[K]
    udp_rate_bps: np.ndarray  # float64[K] (0 for NADA flows)


class RmcatState(NamedTuple):
    """Mutable arrays of one rmcat network."""

    clock: np.ndarray  # float64[1]: simulated ms reached
    next_tick_ms: np.ndarray  # float64[1]: next NADA update time
    error: np.ndarray  # int64[1]: 1 = packet ring overflow
    rng: np.ndarray  # uint64[1, 4]
    rate_bps: np.ndarray  # float64[K]: sending rate in use
    agent_bps: np.ndarray  # float64[F]: agent's rate for this interval (< 0: none)
    next_send_ms: np.ndarray  # float64[K]
    last_send_ms: np.ndarray  # float64[K]
    seq_next: np.ndarray  # int64[K]
    q_dep_ms: np.ndarray  # float64[Q]: departure times of the packets in the FIFO (ring)
    q_state: np.ndarray  # int64[2]: head, length
    last_dep_ms: np.ndarray  # float64[1]: departure time of the last admitted packet
    h_seq: np.ndarray  # int64[K, H]: per-flow ring of admitted packets
    h_tx_ms: np.ndarray  # float64[K, H]
    h_rx_ms: np.ndarray  # float64[K, H]
    h_fb_ms: np.ndarray  # float64[K, H]: when the report of the packet reaches the sender
    ptr: np.ndarray  # int64[K, 4]
    totals: np.ndarray  # int64[K, 4]
    interval: np.ndarray  # float64[K, 4]
    base_delay_ms: np.ndarray  # float64[F]
    loss_iv: np.ndarray  # int64[F, LOSS_INTERVALS]: [0] = current interval
    loss_iv_count: np.ndarray  # int64[F]: intervals held (1..9)
    loss_expect: np.ndarray  # int64[F]: next expected sequence number (-1 = none yet)
    stats: np.ndarray  # float64[NUM_STATS, F]


# ---------------------------------------------------------------------------------------------- the link
@kernel
def trace_index(p: RmcatParams, t_ms: float) -> int:
    """Row of the trace in effect at ``t_ms`` (the last row with time <= t)."""
    times = p.trace_t_ms
    lo, hi = 0, times.shape[0] - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if times[mid] <= t_ms:
            lo = mid
        else:
            hi = mid - 1
    return lo


@kernel
def service_end_ms(p: RmcatParams, start_ms: float, bits: float) -> float:
    """When a packet of ``bits`` whose service starts at ``start_ms`` has left the link: the piecewise-constant
    trace bandwidth integrated from the start (a zero-bandwidth row stalls the link until the next row)."""
    i = trace_index(p, start_ms)
    t = start_ms
    left = bits
    last = p.trace_t_ms.shape[0] - 1
    while True:
        rate = p.trace_bw_bps[i]
        seg_end = p.trace_t_ms[i + 1] if i < last else math.inf
        if rate > 0.0:
            done = t + left / rate * 1000.0
            if done <= seg_end:
                return done
            left -= rate * (seg_end - t) / 1000.0
        if i == last:
            return math.inf  # the last row has no bandwidth: the packet never leaves
        t = seg_end
        i += 1


@kernel
def admit(s: RmcatState, p: RmcatParams, k: int, t_ms: float) -> None:
    """Flow ``k`` sends one packet at ``t_ms``: link loss, drop-tail FIFO, then service and propagation."""
    s.totals[k, T_SENT] += 1
    s.interval[k, I_TX_PKTS] += 1.0
    seq = s.seq_next[k]
    s.seq_next[k] = seq + 1
    qcap = s.q_dep_ms.shape[0]
    while s.q_state[1] > 0 and s.q_dep_ms[s.q_state[0]] <= t_ms:  # packets that left before t
        s.q_state[0] = (s.q_state[0] + 1) % qcap
        s.q_state[1] -= 1
    loss = p.trace_loss[trace_index(p, t_ms)]
    if loss > 0.0 and uniform(s.rng, 0) < loss:
        s.totals[k, T_DROPPED_LINK] += 1
        return
    if s.q_state[1] >= p.queue_packets:
        s.totals[k, T_DROPPED_QUEUE] += 1
        return
    dep = service_end_ms(p, max(t_ms, s.last_dep_ms[0]), p.packet_bits)
    s.last_dep_ms[0] = dep
    s.q_dep_ms[(s.q_state[0] + s.q_state[1]) % qcap] = dep
    s.q_state[1] += 1
    hcap = s.h_seq.shape[1]
    w = s.ptr[k, P_WRITE]
    if w - s.ptr[k, P_WINDOW] >= hcap:
        s.error[0] = 1
        return
    j = w % hcap
    rx = dep + p.trace_delay_ms[trace_index(p, dep)] if dep < math.inf else math.inf
    s.h_seq[k, j] = seq
    s.h_tx_ms[k, j] = t_ms
    s.h_rx_ms[k, j] = rx
    # the report travels back over the reverse path, whose delay is the trace's at the time of reception
    s.h_fb_ms[k, j] = rx + p.trace_delay_ms[trace_index(p, rx)] if rx < math.inf else math.inf
    s.ptr[k, P_WRITE] = w + 1


# ---------------------------------------------------------------------------------------------- the receiver
@kernel
def note_loss_interval(s: RmcatState, f: int, seq: int) -> None:
    """TFRC-style loss intervals (RFC 5348 §5.4) from the sequence numbers reported in order."""
    if s.loss_expect[f] < 0 or seq == s.loss_expect[f]:
        s.loss_iv[f, 0] += 1
    else:  # a gap: a new loss interval starts with this packet
        for i in range(LOSS_INTERVALS - 1, 0, -1):
            s.loss_iv[f, i] = s.loss_iv[f, i - 1]
        s.loss_iv[f, 0] = 1
        s.loss_iv_count[f] = min(s.loss_iv_count[f] + 1, LOSS_INTERVALS)
    s.loss_expect[f] = seq + 1


@kernel
def collect(s: RmcatState, p: RmcatParams, t_ms: float) -> None:
    """Deliver the packets received by ``t_ms`` and hand the NADA senders the reports that reached them."""
    hcap = s.h_seq.shape[1]
    for k in range(p.num_flows):
        d = s.ptr[k, P_DELIVERED]
        while d < s.ptr[k, P_WRITE] and s.h_rx_ms[k, d % hcap] <= t_ms:
            j = d % hcap
            s.totals[k, T_DELIVERED] += 1
            s.interval[k, I_RX_BYTES] += p.packet_bits / 8.0
            s.interval[k, I_RX_PKTS] += 1.0
            s.interval[k, I_OWD_SUM_MS] += s.h_rx_ms[k, j] - s.h_tx_ms[k, j]
            d += 1
        s.ptr[k, P_DELIVERED] = d
        if k >= p.num_nada:  # cross traffic: no reports, free the ring as packets arrive
            s.ptr[k, P_FEEDBACK] = d
            s.ptr[k, P_WINDOW] = d
            continue
        fb = s.ptr[k, P_FEEDBACK]
        while fb < d and s.h_fb_ms[k, fb % hcap] <= t_ms:
            j = fb % hcap
            owd = s.h_rx_ms[k, j] - s.h_tx_ms[k, j]
            if owd < s.base_delay_ms[k]:
                s.base_delay_ms[k] = owd
            note_loss_interval(s, k, s.h_seq[k, j])
            fb += 1
        s.ptr[k, P_FEEDBACK] = fb
        if fb > s.ptr[k, P_WINDOW]:  # keep LOGWIN of send time behind the newest report
            newest_tx = s.h_tx_ms[k, (fb - 1) % hcap]
            head = s.ptr[k, P_WINDOW]
            while head < fb - 1 and s.h_tx_ms[k, head % hcap] + LOGWIN_MS <= newest_tx:
                head += 1
            s.ptr[k, P_WINDOW] = head


# ---------------------------------------------------------------------------------------------- NADA
@kernel
def loss_interval_average(s: RmcatState, f: int) -> float:
    """Average loss interval (RFC 5348 §5.4): the larger of the weighted means with and without the current one."""
    n = s.loss_iv_count[f]  # closed intervals = n - 1 (>= 1 once a loss was seen)
    sum0 = 0.0
    sum1 = 0.0
    wsum = 0.0
    for i in range(n - 1):
        w = 1.0 if i < 4 else 2.0 * (8 - i) / 10.0
        sum0 += w * s.loss_iv[f, i]
        sum1 += w * s.loss_iv[f, i + 1]
        wsum += w
    return max(sum0, sum1) / wsum


@kernel
def nada_update(s: RmcatState, p: RmcatParams, f: int, delta_ms: float) -> None:
    """One NADA update of flow ``f`` (RFC 8698 §4.2-4.3) from the reports in its window; sets r_ref."""
    hcap = s.h_seq.shape[1]
    head = s.ptr[f, P_WINDOW]
    fb = s.ptr[f, P_FEEDBACK]
    n = fb - head
    st = s.stats
    if n <= 0:
        return
    base = s.base_delay_ms[f]
    qdel = math.inf
    rtt = math.inf
    taps = min(n, MIN_FILTER_TAPS)
    for i in range(fb - taps, fb):
        j = i % hcap
        qdel = min(qdel, s.h_rx_ms[f, j] - s.h_tx_ms[f, j] - base)
        rtt = min(rtt, s.h_fb_ms[f, j] - s.h_tx_ms[f, j])
    st[S_LOGLEN, f] = n
    st[S_QDEL, f] = qdel
    st[S_RTT, f] = rtt
    first = head % hcap
    last = (fb - 1) % hcap
    if n >= MIN_PACKET_LOGLEN:
        span = s.h_seq[f, last] - s.h_seq[f, first] + 1
        lost = span - n
        st[S_PLOSS, f] = lost
        st[S_PLR, f] += ALPHA * (lost / span - st[S_PLR, f])
        rx_span_ms = 0.0
        for i in range(head, fb):
            rx_span_ms = max(rx_span_ms, s.h_rx_ms[f, i % hcap] - s.h_rx_ms[f, first])
        if rx_span_ms > 0.0:
            st[S_RRATE, f] = (n - 1) * p.packet_bits * 1000.0 / rx_span_ms
    losses_seen = s.loss_iv_count[f] > 1
    if losses_seen:
        st[S_AVGINT, f] = loss_interval_average(s, f)
        st[S_CURINT, f] = s.loss_iv[f, 0]
    # aggregated congestion signal (RFC 8698 §4.2, eqs. 1-2)
    d_tilde = qdel
    if qdel > QTH_MS:
        d_tilde = QTH_MS * math.exp(-LAMBDA * (qdel - QTH_MS) / QTH_MS)
    avg = st[S_AVGINT, f]
    cur = st[S_CURINT, f]
    if losses_seen and cur < MULTILOSS * avg:
        x = d_tilde
    elif losses_seen and cur < (MULTILOSS + 1.0) * avg:
        blend = (cur - MULTILOSS * avg) / avg
        x = blend * qdel + (1.0 - blend) * d_tilde
    else:
        x = qdel
    plr0 = st[S_PLR, f] / PLRREF
    x = min(x + DLOSS_MS * plr0 * plr0, XMAX_MS)
    st[S_XPREV, f] = st[S_XCURR, f] if st[S_VALID, f] > 0 else x
    st[S_XCURR, f] = x
    # accelerated ramp-up only without loss and without queue build-up in the window (RFC 8698 §4.2, end)
    ramp_up = st[S_PLOSS, f] == 0
    i = head
    while ramp_up and i < fb:
        j = i % hcap
        if s.h_rx_ms[f, j] - s.h_tx_ms[f, j] - base >= QEPS_MS:
            ramp_up = False
        i += 1
    r = s.rate_bps[f]
    if ramp_up:  # eqs. (3)-(4)
        gamma = min(GAMMA_MAX, QBOUND_MS / (rtt + DELTA_MS + DFILT_MS))
        r = max(r, (1.0 + gamma) * st[S_RRATE, f])
    else:  # eqs. (5)-(7)
        x_offset = x - PRIO * XREF_MS * RMAX_BPS / r
        x_diff = x - st[S_XPREV, f]
        r = r - KAPPA * (delta_ms / TAU_MS) * (x_offset / TAU_MS) * r - KAPPA * ETA * (x_diff / TAU_MS) * r
    st[S_NADA_SRATE, f] = min(max(r, RMIN_BPS), RMAX_BPS)
    st[S_VALID, f] = 1.0


@kernel
def set_rate(s: RmcatState, p: RmcatParams, k: int, rate_bps: float, t_ms: float) -> None:
    """Change flow ``k``'s sending rate at ``t_ms``: the next packet leaves one new gap after the last one."""
    s.rate_bps[k] = rate_bps
    if s.seq_next[k] > 0:
        s.next_send_ms[k] = max(t_ms, s.last_send_ms[k] + p.packet_bits / rate_bps * 1000.0)


@kernel
def nada_tick(s: RmcatState, p: RmcatParams, t_ms: float, interval_end_ms: float) -> None:
    """Every DELTA: each started NADA flow updates r_ref; flows without an agent rate send at it."""
    for f in range(p.num_nada):
        if s.seq_next[f] == 0:
            continue
        s.stats[S_SRATE, f] = s.rate_bps[f]
        nada_update(s, p, f, DELTA_MS)
        if s.stats[S_VALID, f] == 0:
            continue
        agent = s.agent_bps[f]
        if agent >= 0.0 and t_ms < interval_end_ms:
            continue  # the agent's rate holds until the end of its interval
        set_rate(s, p, f, s.stats[S_NADA_SRATE, f], t_ms)


@kernel
def run_rmcat_interval(s: RmcatState, p: RmcatParams, t_end_ms: float) -> None:
    """Advance the network from ``s.clock`` to ``t_end_ms``: every packet send and NADA update in time order
    (a NADA update at exactly ``t_end_ms`` belongs to this interval; a send at ``t_end_ms`` to the next)."""
    s.interval[:, :] = 0.0
    while True:
        k = -1
        t_send = math.inf
        for i in range(p.num_flows):
            if s.next_send_ms[i] < t_send:
                t_send = s.next_send_ms[i]
                k = i
        t_tick = s.next_tick_ms[0]
        if t_tick <= t_send and t_tick <= t_end_ms:
            collect(s, p, t_tick)
            nada_tick(s, p, t_tick, t_end_ms)
            s.next_tick_ms[0] = t_tick + DELTA_MS
            continue
        if k < 0 or t_send >= t_end_ms:
            break
        admit(s, p, k, t_send)
        s.last_send_ms[k] = t_send
        s.next_send_ms[k] = t_send + p.packet_bits / s.rate_bps[k] * 1000.0
    collect(s, p, t_end_ms)
    s.clock[0] = t_end_ms


# ---------------------------------------------------------------------------------------------- building
def ring_size(params: RmcatParams, max_rate_bps: float) -> int:
    """Per-flow packet ring size that holds every packet a flow can have between send and the end of its report
    window: the FIFO, the packets propagating and a report window, at the highest rate (power of two)."""
    max_delay_s = float(np.max(params.trace_delay_ms)) / 1000.0
    pps = max_rate_bps / params.packet_bits
    need = params.queue_packets + pps * (2.0 * max_delay_s + LOGWIN_MS / 1000.0 + 2.0 * DELTA_MS / 1000.0) + 64
    return 1 << int(math.ceil(math.log2(need)))


def make_state(params: RmcatParams, rng: np.ndarray, ring: int) -> RmcatState:
    """The state at t = 0: NADA flows at RINIT, cross traffic at its rate, each flow sending from its start."""
    k, f = params.num_flows, params.num_nada
    z = np.zeros
    rate = params.udp_rate_bps.copy()
    rate[:f] = RINIT_BPS
    return RmcatState(
        clock=z(1), next_tick_ms=z(1), error=z(1, np.int64), rng=rng,
        rate_bps=rate, agent_bps=np.full(f, -1.0),
        next_send_ms=np.where(rate > 0, params.flow_start_ms, np.inf).astype(np.float64),
        last_send_ms=np.full(k, -np.inf), seq_next=z(k, np.int64),
        q_dep_ms=z(params.queue_packets + 1), q_state=z(2, np.int64), last_dep_ms=z(1),
        h_seq=z((k, ring), np.int64), h_tx_ms=z((k, ring)), h_rx_ms=z((k, ring)), h_fb_ms=z((k, ring)),
        ptr=z((k, 4), np.int64), totals=z((k, 4), np.int64), interval=z((k, 4)),
        base_delay_ms=np.full(f, np.inf), loss_iv=z((f, LOSS_INTERVALS), np.int64),
        loss_iv_count=np.ones(f, np.int64), loss_expect=np.full(f, -1, np.int64),
        stats=z((NUM_STATS, f)),
    )
