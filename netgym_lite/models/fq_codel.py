"""Wi-Fi queue discipline "fq_codel": FqCoDel in front of a shared MAC queue, as ns-3's Wi-Fi device queues.

ns-3 (3.44) gives a Wi-Fi device's best-effort traffic two queues in a row:
- the traffic-control layer's FqCoDelQueueDisc: one CoDel queue per flow, served by deficit round robin (RFC 8290;
  quantum = the device MTU, 2,296 bytes; 10,240 packets in all, above which the fattest flow loses up to 64
  packets from its head, until half of its bytes are gone);
- the MAC's WifiMacQueue: 500 packets shared by all stations (``wifi.ap_queue_packets``); the device stops the
  queue disc while it is full and wakes it as packets leave (acknowledged or expired). An MPDU older than 500 ms
  in it is dropped (its MaxDelay). The AP serves the station whose oldest MPDU is oldest (FcfsWifiQueueScheduler).
CoDel (RFC 8289, ns-3's CoDelQueueDisc): at each dequeue, once a flow's sojourn time has stayed above 5 ms
(target) for 100 ms (interval) with at least 1,500 bytes left queued, drop the head and enter the dropping state;
drop again at intervals of interval / sqrt(count) while the sojourn stays above the target.

Here a user's FqCoDel flow is its ring ``State.wifi_fq_buf[user]`` (head, length and bytes in its
``State.wifi_fq`` row), and its packets in the MAC queue are its Wi-Fi ring ``State.q_buf[user, 0]``, the very
queue the "fifo" discipline uses (so the TXOP code reads the same ring either way). The MAC queue's limit holds
for the AP (downlink: every user associated with it) or the station (uplink data). Each packet's time of entering
its current queue is in its row (``PKT_T_QUEUE_NS``). Flows are the users (ns-3 hashes 5-tuples
into 1,024 buckets; a collision, which this omits, would merge two users' flows). The DRR lists keep their order
by stamps from a per-simulation clock (``wifi_fq[num_users, 0]``).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import kernel
from ..core.state import PKT_SIZE, PKT_T_QUEUE_NS, PKT_USER, uplink_data
from .packets import free_packet, queue_pop, queue_push, ring_index

LINK_WIFI = 0
# ns-3.44 defaults (FqCoDelQueueDisc, CoDelQueueDisc, WifiNetDevice::Mtu, WifiMacQueue::MaxDelay)
FQ_LIMIT_PACKETS = 10240
FQ_QUANTUM_BYTES = 2296.0
FQ_DROP_BATCH = 64
CODEL_TARGET_MS = 5.0
CODEL_INTERVAL_MS = 100.0
CODEL_MIN_BYTES = 1500
MAC_MAX_DELAY_MS = 500.0

# columns of State.wifi_fq (float64[users + 1, FQ_COLUMNS]; [1, 1] when the discipline is "fifo")
FQ_HEAD = 0  # the flow's ring (wifi_fq_buf[user]): head position, packets, bytes
FQ_LEN = 1
FQ_BYTES = 2
FQ_STATUS = 3  # the flow's DRR list: INACTIVE / NEW_FLOW / OLD_FLOW
FQ_ORDER = 4  # its stamp in that list (the smallest is the head)
FQ_DEFICIT = 5  # DRR deficit, bytes
CD_FIRST_ABOVE = 6  # CoDel's first_above_time, ms (UNSET: below the target)
CD_DROP_NEXT = 7
CD_COUNT = 8
CD_LAST_COUNT = 9
CD_DROPPING = 10
FQ_COLUMNS = 11
INACTIVE, NEW_FLOW, OLD_FLOW = 0.0, 1.0, 2.0
UNSET = -1.0


def initial_state(num_users: int, enabled: bool) -> tuple[np.ndarray, np.ndarray]:
    """``State.wifi_fq`` and ``State.wifi_fq_buf`` at t = 0: every flow inactive and empty ([1, 1] placeholders
    when not enabled)."""
    if not enabled:
        return np.zeros((1, 1)), np.zeros((1, 1), np.int64)
    fq = np.zeros((num_users + 1, FQ_COLUMNS))
    fq[:num_users, CD_FIRST_ABOVE] = UNSET
    return fq, np.zeros((num_users, FQ_LIMIT_PACKETS + 2), np.int64)


@kernel(inline="always")
def enabled(s) -> bool:
    """Whether the scenario's Wi-Fi queue discipline is "fq_codel" (told by the shape of ``State.wifi_fq``)."""
    return s.wifi_fq.shape[1] == FQ_COLUMNS


@kernel(inline="always")
def _shares_mac_queue(s, p, a: int, b: int) -> bool:
    if uplink_data(p):
        return a == b  # each station has its own
    return s.wifi_ap[a] == s.wifi_ap[b]


@kernel(inline="always")
def _stamp(s, p, user: int) -> None:
    """Put the user's flow at the tail of its DRR list."""
    clock = s.wifi_fq[p.num_users, 0]
    s.wifi_fq[user, FQ_ORDER] = clock
    s.wifi_fq[p.num_users, 0] = clock + 1.0


@kernel(inline="always")
def _now_ns(t_ms: float) -> int:
    return int(round(t_ms * 1e6))


@kernel(inline="always")
def _flow_head(s, user: int) -> int:
    """The packet at the head of the user's FqCoDel flow, or -1."""
    if s.wifi_fq[user, FQ_LEN] == 0.0:
        return -1
    return s.wifi_fq_buf[user, int(s.wifi_fq[user, FQ_HEAD])]


@kernel(inline="always")
def _flow_pop(s, user: int) -> int:
    """Take the head packet of the user's (non-empty) flow."""
    row = s.wifi_fq[user]
    pid = s.wifi_fq_buf[user, int(row[FQ_HEAD])]
    row[FQ_HEAD] = ring_index(int(row[FQ_HEAD]) + 1, s.wifi_fq_buf.shape[1])
    row[FQ_LEN] -= 1.0
    row[FQ_BYTES] -= s.pkt[pid, PKT_SIZE]
    return pid


@kernel(inline="always")
def _drop(s, user: int, pid: int) -> None:
    s.st_drops[user, LINK_WIFI] += 1
    s.st_total_dropped[user] += 1
    free_packet(s, pid)


@kernel
def _ok_to_drop(s, user: int, pid: int, t_ms: float) -> bool:
    """CoDel's OkToDrop for the flow's head packet ``pid`` about to leave (-1: the flow is empty)."""
    row = s.wifi_fq[user]
    if pid < 0:
        row[CD_FIRST_ABOVE] = UNSET
        return False
    sojourn_ms = t_ms - s.pkt[pid, PKT_T_QUEUE_NS] / 1e6
    if sojourn_ms < CODEL_TARGET_MS or row[FQ_BYTES] - s.pkt[pid, PKT_SIZE] < CODEL_MIN_BYTES:
        row[CD_FIRST_ABOVE] = UNSET
        return False
    if row[CD_FIRST_ABOVE] == UNSET:
        row[CD_FIRST_ABOVE] = t_ms + CODEL_INTERVAL_MS
        return False
    return t_ms > row[CD_FIRST_ABOVE]


@kernel
def _codel_dequeue(s, user: int, t_ms: float) -> int:
    """CoDel's dequeue on the user's flow: the packet that moves to the MAC queue (-1 if the flow ran empty);
    drops the heads CoDel's control law asks for on the way (ns-3's CoDelQueueDisc::DoDequeue, without ECN)."""
    row = s.wifi_fq[user]
    pid = _flow_head(s, user)
    if pid < 0:
        row[CD_DROPPING] = 0.0
        return -1
    ok = _ok_to_drop(s, user, pid, t_ms)
    if row[CD_DROPPING] != 0.0:
        if not ok:
            row[CD_DROPPING] = 0.0
        elif t_ms >= row[CD_DROP_NEXT]:
            while row[CD_DROPPING] != 0.0 and t_ms >= row[CD_DROP_NEXT]:
                row[CD_COUNT] += 1.0
                _drop(s, user, _flow_pop(s, user))
                pid = _flow_head(s, user)
                if not _ok_to_drop(s, user, pid, t_ms):
                    row[CD_DROPPING] = 0.0
                else:
                    row[CD_DROP_NEXT] += CODEL_INTERVAL_MS / math.sqrt(row[CD_COUNT])
    elif ok:
        _drop(s, user, _flow_pop(s, user))
        pid = _flow_head(s, user)
        _ok_to_drop(s, user, pid, t_ms)
        row[CD_DROPPING] = 1.0
        # re-entering soon after leaving: resume near the drop rate that controlled the queue last time
        delta = row[CD_COUNT] - row[CD_LAST_COUNT]
        if delta > 1.0 and t_ms - row[CD_DROP_NEXT] < 16.0 * CODEL_INTERVAL_MS:
            row[CD_COUNT] = delta
        else:
            row[CD_COUNT] = 1.0
        row[CD_LAST_COUNT] = row[CD_COUNT]
        row[CD_DROP_NEXT] = t_ms + CODEL_INTERVAL_MS / math.sqrt(row[CD_COUNT])
    if pid >= 0:  # on to the MAC queue
        _flow_pop(s, user)
        s.pkt[pid, PKT_T_QUEUE_NS] = _now_ns(t_ms)
        queue_push(s, user, LINK_WIFI, pid)
    return pid


@kernel(inline="always")
def _list_heads(s, p, member: int) -> tuple[int, int]:
    """The flows at the heads of the new and the old DRR list of the member's queue disc (-1: empty list)."""
    new_head = -1
    old_head = -1
    for user in range(p.num_users):
        status = s.wifi_fq[user, FQ_STATUS]
        if status == INACTIVE or not _shares_mac_queue(s, p, member, user):
            continue
        if status == NEW_FLOW:
            if new_head < 0 or s.wifi_fq[user, FQ_ORDER] < s.wifi_fq[new_head, FQ_ORDER]:
                new_head = user
        elif old_head < 0 or s.wifi_fq[user, FQ_ORDER] < s.wifi_fq[old_head, FQ_ORDER]:
            old_head = user
    return new_head, old_head


@kernel
def _drr_dequeue(s, p, member: int, t_ms: float) -> bool:
    """FqCoDel's dequeue (ns-3's FqCoDelQueueDisc::DoDequeue): new flows first, then old ones, each served while
    its deficit lasts; one packet moves to the MAC queue. False when every flow is empty."""
    while True:
        new_head, old_head = _list_heads(s, p, member)
        flow = new_head if new_head >= 0 else old_head
        if flow < 0:
            return False
        if s.wifi_fq[flow, FQ_DEFICIT] <= 0.0:  # its turn is used up: more credit, to the old list's tail
            s.wifi_fq[flow, FQ_DEFICIT] += FQ_QUANTUM_BYTES
            s.wifi_fq[flow, FQ_STATUS] = OLD_FLOW
            _stamp(s, p, flow)
            continue
        was_new = s.wifi_fq[flow, FQ_STATUS] == NEW_FLOW
        pid = _codel_dequeue(s, flow, t_ms)
        if pid >= 0:
            s.wifi_fq[flow, FQ_DEFICIT] -= s.pkt[pid, PKT_SIZE]
            return True
        if was_new:  # an emptied new flow goes to the old list's tail (it stays "active" for one more round)
            s.wifi_fq[flow, FQ_STATUS] = OLD_FLOW
            _stamp(s, p, flow)
        else:
            s.wifi_fq[flow, FQ_STATUS] = INACTIVE


@kernel
def fill_mac_queue(s, p, t_ms: float, member: int) -> None:
    """While the member's MAC queue has room, the queue disc hands it packets (the device queue is awake)."""
    in_mac = 0
    for user in range(p.num_users):
        if _shares_mac_queue(s, p, member, user):
            in_mac += s.q_length[user, LINK_WIFI]
    while in_mac < p.wifi_queue_packets and _drr_dequeue(s, p, member, t_ms):
        in_mac += 1


@kernel
def _overflow_drop(s, p, member: int) -> None:
    """Above the limit: the fattest flow loses packets from its head, up to 64 or half of its bytes
    (ns-3's FqCoDelQueueDisc::FqCoDelDrop)."""
    fat = -1
    fat_bytes = 0.0
    for user in range(p.num_users):
        if _shares_mac_queue(s, p, member, user) and s.wifi_fq[user, FQ_BYTES] > fat_bytes:
            fat, fat_bytes = user, s.wifi_fq[user, FQ_BYTES]
    if fat < 0:
        return
    threshold = int(fat_bytes) // 2
    dropped_bytes = 0
    count = 0
    while s.wifi_fq[fat, FQ_LEN] > 0.0:
        pid = _flow_pop(s, fat)
        dropped_bytes += s.pkt[pid, PKT_SIZE]
        _drop(s, fat, pid)
        count += 1
        if count >= FQ_DROP_BATCH or dropped_bytes >= threshold:
            break


@kernel
def enqueue(s, p, t_ms: float, pid: int) -> None:
    """A packet reaches the Wi-Fi transmitter: into its user's flow (activated if idle), trim on overflow, then
    on to the MAC queue if it has room."""
    user = s.pkt[pid, PKT_USER]
    row = s.wifi_fq[user]
    if row[FQ_STATUS] == INACTIVE:
        row[FQ_STATUS] = NEW_FLOW
        row[FQ_DEFICIT] = FQ_QUANTUM_BYTES
        _stamp(s, p, user)
    s.pkt[pid, PKT_T_QUEUE_NS] = _now_ns(t_ms)
    s.wifi_fq_buf[user, ring_index(int(row[FQ_HEAD] + row[FQ_LEN]), s.wifi_fq_buf.shape[1])] = pid
    row[FQ_LEN] += 1.0
    row[FQ_BYTES] += s.pkt[pid, PKT_SIZE]
    if s.pkt_free.shape[0] - s.pkt_counters[0] > FQ_LIMIT_PACKETS:  # (fewer packets exist: no need to count)
        queued = 0.0
        for other in range(p.num_users):
            if _shares_mac_queue(s, p, user, other):
                queued += s.wifi_fq[other, FQ_LEN]
        if queued > FQ_LIMIT_PACKETS:
            _overflow_drop(s, p, user)
    if p.handover or row[FQ_LEN] == 1.0:
        # (a flow that held packets means a full MAC queue: every departure refills it at once; a handover moves
        # MAC packets between APs, so there the count decides)
        fill_mac_queue(s, p, t_ms, user)


@kernel(inline="always")
def _on_air(s, p, user: int) -> bool:
    """The user's head MPDUs are in a TXOP (on another channel after a handover): not to be expired."""
    for channel in range(p.num_channels):
        if s.wifi_busy[channel] and s.wifi_txop_user[channel] == user:
            return True
    return False


@kernel
def expire(s, p, t_ms: float, channel: int) -> None:
    """Drop the MPDUs that waited over MaxDelay at the heads of the MAC queues on the channel, and refill."""
    for user in range(p.num_users):
        if s.wifi_ap[user] < 0 or p.ap_channel[s.wifi_ap[user]] != channel or _on_air(s, p, user):
            continue
        dropped = False
        while s.q_length[user, LINK_WIFI] > 0:
            pid = s.q_buf[user, LINK_WIFI, s.q_head[user, LINK_WIFI]]
            if t_ms - s.pkt[pid, PKT_T_QUEUE_NS] / 1e6 <= MAC_MAX_DELAY_MS:
                break
            _drop(s, user, queue_pop(s, user, LINK_WIFI))
            dropped = True
        if dropped:
            fill_mac_queue(s, p, t_ms, user)


@kernel(inline="always")
def head_age_key(s, user: int) -> int:
    """When the user's oldest MPDU entered the MAC queue (ns; the FCFS scheduler serves the smallest first)."""
    return s.pkt[s.q_buf[user, LINK_WIFI, s.q_head[user, LINK_WIFI]], PKT_T_QUEUE_NS]


def mac_queue_share(wifi_fq: np.ndarray, q_length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packets in the MAC queue, packets in FqCoDel) per user, from the arrays (for tests and diagnostics)."""
    return q_length[:, LINK_WIFI].copy(), wifi_fq[:-1, FQ_LEN].astype(np.int64)
