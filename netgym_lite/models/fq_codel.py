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

Here the flow of a user is its Wi-Fi ring (``State.q_buf[user, 0]``), split in two: the first
``wifi_fq[user, FQ_MAC_LEN]`` packets are in the MAC queue, the rest wait in the user's FqCoDel flow. The MAC
queue is the AP's (downlink: every user associated with it) or the station's own (uplink data). Each packet's
time of entering its current queue is in its row (``PKT_T_QUEUE_NS``). Flows are the users (ns-3 hashes 5-tuples
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
FQ_MAC_LEN = 0  # packets of the user's ring in the MAC queue (its head)
FQ_MAC_BYTES = 1
FQ_STATUS = 2  # the flow's DRR list: INACTIVE / NEW_FLOW / OLD_FLOW
FQ_ORDER = 3  # its stamp in that list (the smallest is the head)
FQ_DEFICIT = 4  # DRR deficit, bytes
CD_FIRST_ABOVE = 5  # CoDel's first_above_time, ms (UNSET: below the target)
CD_DROP_NEXT = 6
CD_COUNT = 7
CD_LAST_COUNT = 8
CD_DROPPING = 9
FQ_COLUMNS = 10
INACTIVE, NEW_FLOW, OLD_FLOW = 0.0, 1.0, 2.0
UNSET = -1.0


def initial_state(num_users: int, enabled: bool) -> np.ndarray:
    """``State.wifi_fq`` at t = 0: every flow inactive and empty (a [1, 1] placeholder when not enabled)."""
    if not enabled:
        return np.zeros((1, 1))
    fq = np.zeros((num_users + 1, FQ_COLUMNS))
    fq[:num_users, CD_FIRST_ABOVE] = UNSET
    return fq


@kernel(inline="always")
def enabled(s) -> bool:
    """Whether the scenario's Wi-Fi queue discipline is "fq_codel" (told by the shape of ``State.wifi_fq``)."""
    return s.wifi_fq.shape[1] == FQ_COLUMNS


@kernel(inline="always")
def mac_len(s, user: int) -> int:
    """Packets of the user's Wi-Fi ring in the MAC queue (those an A-MPDU may carry)."""
    return int(s.wifi_fq[user, FQ_MAC_LEN])


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


@kernel
def _drop_queued(s, user: int, k: int) -> None:
    """Drop the k-th packet of the user's Wi-Fi ring (the head of its FqCoDel flow, behind the k in the MAC queue):
    the MAC packets move up one place."""
    cap = s.q_buf.shape[2]
    head = s.q_head[user, LINK_WIFI]
    pid = s.q_buf[user, LINK_WIFI, ring_index(head + k, cap)]
    for i in range(k, 0, -1):
        s.q_buf[user, LINK_WIFI, ring_index(head + i, cap)] = s.q_buf[user, LINK_WIFI, ring_index(head + i - 1, cap)]
    s.q_head[user, LINK_WIFI] = ring_index(head + 1, cap)
    s.q_length[user, LINK_WIFI] -= 1
    s.q_nbytes[user, LINK_WIFI] -= s.pkt[pid, PKT_SIZE]
    s.st_drops[user, LINK_WIFI] += 1
    s.st_total_dropped[user] += 1
    free_packet(s, pid)


@kernel(inline="always")
def _flow_head(s, user: int) -> int:
    """The packet at the head of the user's FqCoDel flow, or -1."""
    k = mac_len(s, user)
    if s.q_length[user, LINK_WIFI] <= k:
        return -1
    return s.q_buf[user, LINK_WIFI, ring_index(s.q_head[user, LINK_WIFI] + k, s.q_buf.shape[2])]


@kernel(inline="always")
def _flow_bytes(s, user: int) -> int:
    return s.q_nbytes[user, LINK_WIFI] - int(s.wifi_fq[user, FQ_MAC_BYTES])


@kernel
def _ok_to_drop(s, user: int, pid: int, t_ms: float) -> bool:
    """CoDel's OkToDrop for the flow's head packet ``pid`` about to leave (-1: the flow is empty)."""
    row = s.wifi_fq[user]
    if pid < 0:
        row[CD_FIRST_ABOVE] = UNSET
        return False
    sojourn_ms = t_ms - s.pkt[pid, PKT_T_QUEUE_NS] / 1e6
    if sojourn_ms < CODEL_TARGET_MS or _flow_bytes(s, user) - s.pkt[pid, PKT_SIZE] < CODEL_MIN_BYTES:
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
    k = mac_len(s, user)
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
                _drop_queued(s, user, k)
                pid = _flow_head(s, user)
                if not _ok_to_drop(s, user, pid, t_ms):
                    row[CD_DROPPING] = 0.0
                else:
                    row[CD_DROP_NEXT] += CODEL_INTERVAL_MS / math.sqrt(row[CD_COUNT])
    elif ok:
        _drop_queued(s, user, k)
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
    if pid >= 0:
        row[FQ_MAC_LEN] += 1.0
        row[FQ_MAC_BYTES] += s.pkt[pid, PKT_SIZE]
        s.pkt[pid, PKT_T_QUEUE_NS] = _now_ns(t_ms)
    return pid


@kernel(inline="always")
def _list_head(s, p, member: int, status: float) -> int:
    """The flow at the head of a DRR list (``status``) of the member's queue disc, or -1."""
    best = -1
    for user in range(p.num_users):
        if s.wifi_fq[user, FQ_STATUS] != status or not _shares_mac_queue(s, p, member, user):
            continue
        if best < 0 or s.wifi_fq[user, FQ_ORDER] < s.wifi_fq[best, FQ_ORDER]:
            best = user
    return best


@kernel
def _drr_dequeue(s, p, member: int, t_ms: float) -> bool:
    """FqCoDel's dequeue (ns-3's FqCoDelQueueDisc::DoDequeue): new flows first, then old ones, each served while
    its deficit lasts; one packet moves to the MAC queue. False when every flow is empty."""
    while True:
        flow = _list_head(s, p, member, NEW_FLOW)
        while flow >= 0 and s.wifi_fq[flow, FQ_DEFICIT] <= 0.0:
            s.wifi_fq[flow, FQ_DEFICIT] += FQ_QUANTUM_BYTES
            s.wifi_fq[flow, FQ_STATUS] = OLD_FLOW
            _stamp(s, p, flow)
            flow = _list_head(s, p, member, NEW_FLOW)
        if flow < 0:
            flow = _list_head(s, p, member, OLD_FLOW)
            while flow >= 0 and s.wifi_fq[flow, FQ_DEFICIT] <= 0.0:
                s.wifi_fq[flow, FQ_DEFICIT] += FQ_QUANTUM_BYTES
                _stamp(s, p, flow)
                flow = _list_head(s, p, member, OLD_FLOW)
        if flow < 0:
            return False
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
            in_mac += mac_len(s, user)
    while in_mac < p.wifi_queue_packets and _drr_dequeue(s, p, member, t_ms):
        in_mac += 1


@kernel
def _overflow_drop(s, p, member: int) -> None:
    """Above the limit: the fattest flow loses packets from its head, up to 64 or half of its bytes
    (ns-3's FqCoDelQueueDisc::FqCoDelDrop)."""
    fat = -1
    fat_bytes = 0
    for user in range(p.num_users):
        if _shares_mac_queue(s, p, member, user) and _flow_bytes(s, user) > fat_bytes:
            fat, fat_bytes = user, _flow_bytes(s, user)
    if fat < 0:
        return
    dropped_bytes = 0
    count = 0
    while True:
        pid = _flow_head(s, fat)
        if pid < 0:
            return
        dropped_bytes += s.pkt[pid, PKT_SIZE]
        _drop_queued(s, fat, mac_len(s, fat))
        count += 1
        if count >= FQ_DROP_BATCH or dropped_bytes >= fat_bytes // 2:
            return


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
    queue_push(s, user, LINK_WIFI, pid)
    queued = 0
    for other in range(p.num_users):
        if _shares_mac_queue(s, p, user, other):
            queued += s.q_length[other, LINK_WIFI] - mac_len(s, other)
    if queued > FQ_LIMIT_PACKETS:
        _overflow_drop(s, p, user)
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
        while mac_len(s, user) > 0:
            pid = s.q_buf[user, LINK_WIFI, s.q_head[user, LINK_WIFI]]
            if t_ms - s.pkt[pid, PKT_T_QUEUE_NS] / 1e6 <= MAC_MAX_DELAY_MS:
                break
            queue_pop(s, user, LINK_WIFI)
            s.wifi_fq[user, FQ_MAC_LEN] -= 1.0
            s.wifi_fq[user, FQ_MAC_BYTES] -= s.pkt[pid, PKT_SIZE]
            s.st_drops[user, LINK_WIFI] += 1
            s.st_total_dropped[user] += 1
            free_packet(s, pid)
            dropped = True
        if dropped:
            fill_mac_queue(s, p, t_ms, user)


@kernel(inline="always")
def head_age_key(s, user: int) -> int:
    """When the user's oldest MPDU entered the MAC queue (ns; the FCFS scheduler serves the smallest first)."""
    return s.pkt[s.q_buf[user, LINK_WIFI, s.q_head[user, LINK_WIFI]], PKT_T_QUEUE_NS]


@kernel
def delivered(s, p, t_ms: float, user: int, npkts: int, nbytes: int) -> None:
    """``npkts`` MPDUs (``nbytes``) left the head of the user's MAC queue (acknowledged): refill from the flows."""
    s.wifi_fq[user, FQ_MAC_LEN] -= npkts
    s.wifi_fq[user, FQ_MAC_BYTES] -= nbytes
    fill_mac_queue(s, p, t_ms, user)


def mac_queue_share(wifi_fq: np.ndarray, q_length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packets in the MAC queue, packets in FqCoDel) per user, from the arrays (for tests and diagnostics)."""
    mac = wifi_fq[:-1, FQ_MAC_LEN].astype(np.int64)
    return mac, q_length[:, LINK_WIFI] - mac
