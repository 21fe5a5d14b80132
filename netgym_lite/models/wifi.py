"""Wi-Fi downlink MAC: one TXOP at a time per channel, each carrying an A-MPDU to one station.

Model (docs/models.md "Wi-Fi"): a channel that is idle starts a TXOP at once for the backlogged station with
the least bytes served (start-time fair queueing, the byte fairness ns-3's per-flow FqCoDel gives; Goyal et al.,
SIGCOMM 1996). The A-MPDU holds up to 64 MPDUs within min(max_ampdu_bytes, rate × aPPDUMaxTime); its airtime is
the fixed access overhead plus the MPDUs at the station's PHY rate, so slow stations take more airtime
(the 802.11 performance anomaly, Heusse et al., INFOCOM 2003). APs sharing a channel collide with Bianchi's
probability 1 − (1 − τ)^(n−1), τ = 2/(CWmin + 2) (Bianchi, IEEE JSAC 2000, without backoff stages);
a collided TXOP wastes its airtime and its packets stay queued. Backoff is not simulated slot by slot:
its mean is part of the overhead.

Uplink data (``core.state.uplink_data``): the stations send and the same code serves their queues. Every backlogged
station on the channel contends by DCF with its own binary exponential backoff (Bianchi, IEEE JSAC 2000): a
station at backoff stage k has the window CW = min(16·2^k, 1024) − 1 and sends in a slot with probability
τ = 2 / (CW + 2). The next TXOP goes to a station drawn with probability ∝ τ; it collides with probability
1 − Π(1 − τ_j) over the other contenders, and then one of them (drawn ∝ τ_j) collided too. A station whose
A-MPDU fails (collision, or every MPDU lost) moves one stage up, a success resets it to stage 0
(``State.wifi_dcf_stage``): stations that fail more often win the channel less often, as in ns-3, and a slow
station still takes a full TXOP per access (the performance anomaly).
"""

from __future__ import annotations

from ..core.events import EV_WIFI_TXOP_END, schedule
from ..core.jit import kernel
from ..core.rng import STREAM_CONTENTION, uniform
from ..core.state import MAX_AMPDU_MPDUS, PKT_SIZE, PKT_USER, minstrel_rate_control, uplink_data
from . import fq_codel, minstrel
from .gma_reorder import gma_receive
from .packets import free_packet, queue_peek, queue_pop, queue_push
from .tcp_receiver import tcp_flush_ack
from .wifi_phy import (
    AMPDU_DELIMITER_BYTES,
    CW_MAX,
    CW_MIN,
    MAX_PPDU_US,
    MPDU_OVERHEAD_BYTES,
)

LINK_WIFI = 0
COLLISION_TAU = 2.0 / (CW_MIN + 2.0)
DCF_MAX_STAGE = 6  # CWmax 1023 = 16·2^6 − 1


@kernel(inline="always")
def _backlogged(s, user: int) -> bool:
    """A station competes for the channel when it has packets waiting (in the MAC queue, with "fq_codel") and a
    usable rate."""
    return s.q_length[user, LINK_WIFI] > 0 and s.wifi_rate_mbps[user] > 0.0


@kernel(inline="always")
def _min_backlogged_served(s, p, channel: int, exclude: int) -> float:
    best = -1.0
    for user in range(p.num_users):
        if user == exclude or not _backlogged(s, user):
            continue
        if p.ap_channel[s.wifi_ap[user]] != channel:
            continue
        if best < 0.0 or s.wifi_served_bytes[user] < best:
            best = s.wifi_served_bytes[user]
    return best


@kernel(inline="always")
def _in_txop(s, p, user: int) -> bool:
    """The user's packets are on the air in some channel's TXOP (at most one at a time: the TXOP pops them
    from the user's queue when it ends)."""
    for channel in range(p.num_channels):
        if s.wifi_busy[channel] and s.wifi_txop_user[channel] == user:
            return True
    return False


@kernel(inline="always")
def wifi_enqueue(s, p, t_ms: float, pid: int) -> None:
    """A packet reaches the AP: queue it (or drop it when the queue is full) and wake the channel."""
    user = s.pkt[pid, PKT_USER]
    fq = fq_codel.enabled(s)
    if not fq and s.q_length[user, LINK_WIFI] >= p.wifi_queue_packets:
        s.st_drops[user, LINK_WIFI] += 1
        s.st_total_dropped[user] += 1
        free_packet(s, pid)
        return
    channel = p.ap_channel[s.wifi_ap[user]]
    if not fq and not uplink_data(p) and s.q_length[user, LINK_WIFI] == 0:  # (only the byte-fair choice reads it)
        floor = _min_backlogged_served(s, p, channel, user)
        if floor > s.wifi_served_bytes[user]:
            s.wifi_served_bytes[user] = floor
    if fq:
        fq_codel.enqueue(s, p, t_ms, pid)
    else:
        queue_push(s, user, LINK_WIFI, pid)
    if not s.wifi_busy[channel]:
        wifi_try_start(s, p, t_ms, channel)


@kernel
def wifi_try_start(s, p, t_ms: float, channel: int) -> None:
    """If the channel is idle and someone is backlogged, start a TXOP for the most deserving station."""
    if s.wifi_busy[channel]:
        return
    fq = fq_codel.enabled(s)
    if fq:
        fq_codel.expire(s, p, t_ms, channel)
    fcfs = fq and not uplink_data(p)  # the AP serves the station whose oldest MPDU is oldest (ns-3's FCFS)
    chosen = -1
    collided = False
    if uplink_data(p):  # the stations contend (DCF)
        chosen, collided = _dcf_contend(s, p, channel)
    else:
        for user in range(p.num_users):
            if not _backlogged(s, user):
                continue
            if p.ap_channel[s.wifi_ap[user]] != channel:
                continue
            if p.handover and _in_txop(s, p, user):
                continue  # handed over mid-TXOP: its queue is still being served on the old AP's channel
            if chosen < 0 or s.user_prio[user] > s.user_prio[chosen]:
                chosen = user  # high-priority flows first (dynamic flow prioritisation)
            elif s.user_prio[user] == s.user_prio[chosen]:
                if fcfs:
                    if fq_codel.head_age_key(s, user) < fq_codel.head_age_key(s, chosen):
                        chosen = user
                elif s.wifi_served_bytes[user] < s.wifi_served_bytes[chosen]:
                    chosen = user  # byte-fair
    if chosen < 0:
        return
    if minstrel_rate_control(p):  # the station's learned rate
        minstrel.start_txop(s.wifi_rc[chosen], p.wifi_rc_table, p.wifi_rates_mbps.shape[0], t_ms)
        rate = minstrel.tx_rate_mbps(s.wifi_rc[chosen], p.wifi_rc_table)
    else:
        rate = s.wifi_rate_mbps[chosen]
    limit = min(p.wifi_max_ampdu_bytes, rate * MAX_PPDU_US / 8.0)
    npkts = 0
    nbytes = 0
    air_bytes = 0.0
    qlen = s.q_length[chosen, LINK_WIFI]
    while npkts < qlen and npkts < MAX_AMPDU_MPDUS:
        size = s.pkt[queue_peek(s, chosen, LINK_WIFI, npkts), PKT_SIZE]
        if npkts > 0 and air_bytes + size + MPDU_OVERHEAD_BYTES > limit:
            break
        air_bytes += size + MPDU_OVERHEAD_BYTES
        nbytes += size
        npkts += 1
    if not uplink_data(p) and p.num_channels < p.num_aps:  # channels are shared: count the other APs with backlog
        contenders = _backlogged_aps(s, p, channel)
        if contenders >= 2:
            p_collision = 1.0 - (1.0 - COLLISION_TAU) ** (contenders - 1)
            collided = uniform(s.rng, STREAM_CONTENTION) < p_collision
    duration_us = p.wifi_overhead_us + air_bytes * 8.0 / rate
    s.wifi_busy[channel] = True
    s.wifi_txop_user[channel] = chosen
    s.wifi_txop_npkts[channel] = npkts
    s.wifi_txop_bytes[channel] = nbytes
    s.wifi_txop_collided[channel] = collided
    schedule(s, t_ms + duration_us / 1000.0, EV_WIFI_TXOP_END, channel, 0)


@kernel(inline="always")
def _contends(s, p, user: int, channel: int, prio: int) -> bool:
    """The station has data for the channel, is not on the air elsewhere (handed over mid-TXOP), and its flow has
    priority ``prio`` (high-priority flows first, as the AP's MAC: dynamic flow prioritisation)."""
    return (_backlogged(s, user) and p.ap_channel[s.wifi_ap[user]] == channel
            and not (p.handover and _in_txop(s, p, user)) and s.user_prio[user] == prio)


@kernel(inline="always")
def dcf_tau(stage: int) -> float:
    """Per-slot transmission probability at a backoff stage: 2 / (CW + 2), CW = min(16·2^k, 1024) − 1."""
    return 2.0 / (min((CW_MIN + 1) << stage, CW_MAX + 1) + 1.0)


@kernel
def _dcf_draw(s, p, channel: int, prio: int, exclude: int, total: float) -> int:
    """A contender other than ``exclude`` drawn with probability ∝ its τ (``total``: their sum)."""
    x = uniform(s.rng, STREAM_CONTENTION) * total
    last = -1
    for user in range(p.num_users):
        if user == exclude or not _contends(s, p, user, channel, prio):
            continue
        last = user
        x -= dcf_tau(s.wifi_dcf_stage[user])
        if x < 0.0:
            return user
    return last  # (rounding)


@kernel
def _dcf_contend(s, p, channel: int) -> tuple[int, bool]:
    """Uplink data: (the station whose backoff ends first, whether another one's ends in the same slot)."""
    prio = -1
    for user in range(p.num_users):
        if _contends(s, p, user, channel, s.user_prio[user]):
            prio = max(prio, s.user_prio[user])
    total = 0.0
    all_idle = 1.0  # probability that no contender sends in a given slot
    for user in range(p.num_users):
        if _contends(s, p, user, channel, prio):
            tau = dcf_tau(s.wifi_dcf_stage[user])
            total += tau
            all_idle *= 1.0 - tau
    if total == 0.0:
        return -1, False
    winner = _dcf_draw(s, p, channel, prio, -1, total)
    tau_winner = dcf_tau(s.wifi_dcf_stage[winner])
    idle = all_idle / (1.0 - tau_winner)  # ... none of the others sends in the winner's slot
    if total == tau_winner or uniform(s.rng, STREAM_CONTENTION) >= 1.0 - idle:
        return winner, False
    other = _dcf_draw(s, p, channel, prio, winner, total - tau_winner)
    s.wifi_dcf_stage[other] = min(s.wifi_dcf_stage[other] + 1, DCF_MAX_STAGE)  # it collided too
    return winner, True


@kernel(inline="always")
def _backlogged_aps(s, p, channel: int) -> int:
    count = 0
    for ap in range(p.num_aps):
        if p.ap_channel[ap] != channel:
            continue
        for user in range(p.num_users):
            if s.wifi_ap[user] == ap and _backlogged(s, user):
                count += 1
                break
    return count


@kernel
def _minstrel_outcome(s, p, t_ms: float, channel: int, user: int) -> int:
    """Minstrel-HT: how many of the TXOP's MPDUs arrived (drawn at its rate's error rate), told to rate control;
    with downlink data their bytes count as served. Not inlined into the event loop: the ideal path stays as it
    was (every line inlined there shifts the whole loop's optimisation)."""
    npkts = s.wifi_txop_npkts[channel]
    collided = s.wifi_txop_collided[channel]
    mpdu_bytes = s.wifi_txop_bytes[channel] / npkts + MPDU_OVERHEAD_BYTES - AMPDU_DELIMITER_BYTES
    rc = s.wifi_rc[user]  # the station's Minstrel-HT row (the kernels take it, not the whole State)
    delivered = minstrel.received_mpdus(rc, p.wifi_rc_table, s.rng, npkts, mpdu_bytes, collided)
    minstrel.txop_outcome(rc, p.wifi_rc_table, p.wifi_rates_mbps.shape[0], t_ms, npkts, delivered)
    if not collided and not uplink_data(p):
        for i in range(delivered):
            s.wifi_served_bytes[user] += s.pkt[queue_peek(s, user, LINK_WIFI, i), PKT_SIZE]
    return delivered


@kernel(inline="always")
def on_txop_end(s, p, t_ms: float, channel: int) -> None:
    """The TXOP ends: its A-MPDU reaches the station (unless it collided); the channel serves the next."""
    s.wifi_busy[channel] = False
    user = s.wifi_txop_user[channel]
    delivered = s.wifi_txop_npkts[channel]
    if minstrel_rate_control(p):  # MPDUs may fail: the lost ones stay queued for a retransmission
        delivered = _minstrel_outcome(s, p, t_ms, channel, user)
    if uplink_data(p):  # no Block Ack: the station doubles its window; one comes back: it starts over
        failed = s.wifi_txop_collided[channel] or delivered == 0
        s.wifi_dcf_stage[user] = min(s.wifi_dcf_stage[user] + 1, DCF_MAX_STAGE) if failed else 0
    if not s.wifi_txop_collided[channel]:
        if not uplink_data(p) and not minstrel_rate_control(p):
            s.wifi_served_bytes[user] += s.wifi_txop_bytes[channel]
        for _ in range(delivered):
            gma_receive(s, p, t_ms, queue_pop(s, user, LINK_WIFI))
        if fq_codel.enabled(s):  # room in the MAC queue: the queue disc refills it
            fq_codel.fill_mac_queue(s, p, t_ms, user)
        tcp_flush_ack(s, p, t_ms, user)
    wifi_try_start(s, p, t_ms, channel)
    now_on = p.ap_channel[s.wifi_ap[user]]
    if p.handover and now_on != channel:
        wifi_try_start(s, p, t_ms, now_on)  # handed over during the TXOP: its new AP may serve it now
