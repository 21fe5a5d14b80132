"""The event queue: a binary min-heap over numpy arrays.

An event is (time_ms, kind, a, b): ``kind`` selects the handler, ``a``/``b`` are its integer arguments
(a user, a packet id, a sequence number, a timer version...). Events are ordered by time, then by
insertion number, so events scheduled for the same instant run first-in first-out: runs are deterministic.
The heap has a fixed capacity chosen from the scenario's bounds; overflowing it sets an error flag
instead of corrupting memory (the Python wrapper turns the flag into an exception).
"""

from __future__ import annotations

import numpy as np

from .jit import kernel

# Event kinds (the engine dispatches on these).
EV_UDP_ARRIVAL = 1  # a = user: the UDP source emits its next packet
EV_LINK_ARRIVAL = 2  # a = packet id: the packet reaches the AP / eNB after the backhaul
EV_LTE_TTI = 3  # one LTE transmission time interval starts
EV_WIFI_TXOP_END = 4  # a = channel: the channel's current TXOP ends
EV_UE_ARRIVAL = 5  # a = user, b = count: the packets one LTE TTI finished reach the UE
EV_REORDER_TIMEOUT = 6  # a = user, b = timer version: GMA stops waiting for a gap
EV_TCP_ACK = 7  # a = user + (link << ACK_LINK_SHIFT) + (segments << ACK_SEGMENTS_SHIFT), b = cumulative ACK number
ACK_LINK_SHIFT = 30  # an ACK event packs the uplink it took (2 bits) above the user index
ACK_SEGMENTS_SHIFT = 32  # ... and the number of segments its batch held above that
EV_TCP_RTO = 8  # a = user, b = timer version: TCP retransmission timeout
EV_QOS_TEST = 9  # a QoS test window ends (QoSSteer): every flow is tested on its current link
EV_TCP_PACE = 20  # a = user: BBR's pacing clock lets the next burst go
EV_NR_SLOT = 21  # one NR slot starts (every gNB schedules it)
EV_NR_UE_ARRIVAL = 22  # a = user, b = count: the packets one NR slot finished reach the UE

# Indices in State.ev_counters.
C_SIZE = 0
C_NEXT_SEQ = 1
C_OVERFLOW = 2
C_PROCESSED = 3
C_TIMER_MIN = 4  # the pending timer due first (-1: none)

# Timers: events of which at most one is pending at a time (the next LTE TTI, the next NR slot, each Wi-Fi
# channel's TXOP end; almost half of all events) wait in a slot of their own instead of the heap. They draw
# their insertion number from the same counter and run when their (time, number) is the earliest, so the order
# of events is exactly the heap's; they just skip its sift-up and sift-down.
TIMER_LTE_TTI = 0
TIMER_NR_SLOT = 1
TIMER_TXOP_END = 2  # + channel


def make_event_queue(capacity: int, channels: int = 0) -> dict[str, np.ndarray]:
    """Arrays of an empty queue able to hold ``capacity`` pending events plus the timers of ``channels`` Wi-Fi
    channels (the ``ev_*`` fields of State): ``ev_counters`` = [size, next insertion number, overflow flag,
    events processed, earliest timer]."""
    return {
        "ev_t": np.zeros(capacity, np.float64),
        "ev_seq": np.zeros(capacity, np.int64),
        "ev_kind": np.zeros(capacity, np.int64),
        "ev_a": np.zeros(capacity, np.int64),
        "ev_b": np.zeros(capacity, np.int64),
        "ev_counters": np.array([0, 0, 0, 0, -1], np.int64),
        "ev_timer_t": np.full(TIMER_TXOP_END + channels, np.inf),  # inf = not pending
        "ev_timer_seq": np.zeros(TIMER_TXOP_END + channels, np.int64),
    }


@kernel(inline="always")
def _timer_slot(s, kind: int, a: int) -> int:
    """The timer slot of an event, or -1 for a heap event."""
    if kind == EV_LTE_TTI:
        return TIMER_LTE_TTI
    if kind == EV_NR_SLOT:
        return TIMER_NR_SLOT
    if kind == EV_WIFI_TXOP_END and TIMER_TXOP_END + a < s.ev_timer_t.shape[0]:
        return TIMER_TXOP_END + a
    return -1


@kernel(inline="always")
def _timer_first(s, i: int, j: int) -> bool:
    """Timer i is due before timer j."""
    return s.ev_timer_t[i] < s.ev_timer_t[j] or (s.ev_timer_t[i] == s.ev_timer_t[j]
                                                 and s.ev_timer_seq[i] < s.ev_timer_seq[j])


@kernel(inline="always")
def _timer_is_next(s) -> bool:
    """The earliest pending event is a timer (it is due before the heap's top)."""
    k = s.ev_counters[C_TIMER_MIN]
    if k < 0:
        return False
    if s.ev_counters[C_SIZE] == 0:
        return True
    return s.ev_timer_t[k] < s.ev_t[0] or (s.ev_timer_t[k] == s.ev_t[0] and s.ev_timer_seq[k] < s.ev_seq[0])


@kernel(inline="always")
def _earlier(s, i: int, t_ms: float, seq: int) -> bool:
    """Slot ``i`` holds an event due before (t_ms, seq)."""
    return s.ev_t[i] < t_ms or (s.ev_t[i] == t_ms and s.ev_seq[i] < seq)


@kernel(inline="always")
def _move(s, dst: int, src: int) -> None:
    s.ev_t[dst] = s.ev_t[src]
    s.ev_seq[dst] = s.ev_seq[src]
    s.ev_kind[dst] = s.ev_kind[src]
    s.ev_a[dst] = s.ev_a[src]
    s.ev_b[dst] = s.ev_b[src]


# Sifting moves a hole instead of swapping (one write per level instead of two, the new element written once at
# its final place): the same comparisons in the same order, so the heap ends up exactly as swapping leaves it.
@kernel(inline="always")
def schedule(s, t_ms: float, kind: int, a: int, b: int) -> None:
    """Insert an event (sift-up). Sets the overflow flag when full."""
    k = _timer_slot(s, kind, a)
    if k >= 0 and s.ev_timer_t[k] == np.inf:
        s.ev_timer_seq[k] = s.ev_counters[C_NEXT_SEQ]
        s.ev_counters[C_NEXT_SEQ] += 1
        s.ev_timer_t[k] = t_ms
        first = s.ev_counters[C_TIMER_MIN]
        if first < 0 or _timer_first(s, k, first):
            s.ev_counters[C_TIMER_MIN] = k
        return
    n = s.ev_counters[C_SIZE]
    if n >= s.ev_t.shape[0]:
        s.ev_counters[C_OVERFLOW] = 1
        return
    seq = s.ev_counters[C_NEXT_SEQ]
    s.ev_counters[C_NEXT_SEQ] = seq + 1
    s.ev_counters[C_SIZE] = n + 1
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if not (t_ms < s.ev_t[parent] or (t_ms == s.ev_t[parent] and seq < s.ev_seq[parent])):
            break
        _move(s, i, parent)
        i = parent
    s.ev_t[i] = t_ms
    s.ev_seq[i] = seq
    s.ev_kind[i] = kind
    s.ev_a[i] = a
    s.ev_b[i] = b


@kernel(inline="always")
def pop(s) -> tuple[float, int, int, int]:
    """Remove and return the earliest event as (t, kind, a, b). The queue must not be empty."""
    if _timer_is_next(s):
        k = s.ev_counters[C_TIMER_MIN]
        t = s.ev_timer_t[k]
        s.ev_timer_t[k] = np.inf
        first = -1
        for j in range(s.ev_timer_t.shape[0]):
            if s.ev_timer_t[j] != np.inf and (first < 0 or _timer_first(s, j, first)):
                first = j
        s.ev_counters[C_TIMER_MIN] = first
        s.ev_counters[C_PROCESSED] += 1
        if k == TIMER_LTE_TTI:
            return t, EV_LTE_TTI, 0, 0
        if k == TIMER_NR_SLOT:
            return t, EV_NR_SLOT, 0, 0
        return t, EV_WIFI_TXOP_END, k - TIMER_TXOP_END, 0
    t = s.ev_t[0]
    kind = s.ev_kind[0]
    a = s.ev_a[0]
    b = s.ev_b[0]
    n = s.ev_counters[C_SIZE] - 1
    s.ev_counters[C_SIZE] = n
    if n > 0:
        # the last event fills the root's hole, sifting down (its slot n keeps a stale copy, as before)
        last_t = s.ev_t[n]
        last_seq = s.ev_seq[n]
        i = 0
        while True:
            left = 2 * i + 1
            if left >= n:
                break
            smallest = left
            right = left + 1
            if right < n and _earlier(s, right, s.ev_t[left], s.ev_seq[left]):
                smallest = right
            if not _earlier(s, smallest, last_t, last_seq):
                break
            _move(s, i, smallest)
            i = smallest
        if i != n:
            _move(s, i, n)
    s.ev_counters[C_PROCESSED] += 1
    return t, kind, a, b


@kernel(inline="always")
def next_time(s) -> float:
    """Time of the earliest pending event (+inf when empty)."""
    if _timer_is_next(s):
        return s.ev_timer_t[s.ev_counters[C_TIMER_MIN]]
    if s.ev_counters[C_SIZE] == 0:
        return np.inf
    return s.ev_t[0]
