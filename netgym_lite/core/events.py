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
EV_TCP_ACK = 7  # a = user + (segments << ACK_SEGMENTS_SHIFT), b = cumulative ACK number: an ACK arrives
ACK_SEGMENTS_SHIFT = 32  # an ACK event packs the number of segments its batch held above the user index
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


def make_event_queue(capacity: int) -> dict[str, np.ndarray]:
    """Arrays of an empty queue able to hold ``capacity`` pending events (the ``ev_*`` fields of State):
    ``ev_counters`` = [size, next insertion number, overflow flag, events processed]."""
    return {
        "ev_t": np.zeros(capacity, np.float64),
        "ev_seq": np.zeros(capacity, np.int64),
        "ev_kind": np.zeros(capacity, np.int64),
        "ev_a": np.zeros(capacity, np.int64),
        "ev_b": np.zeros(capacity, np.int64),
        "ev_counters": np.zeros(4, np.int64),
    }


@kernel(inline="always")
def _before(s, i: int, j: int) -> bool:
    return s.ev_t[i] < s.ev_t[j] or (s.ev_t[i] == s.ev_t[j] and s.ev_seq[i] < s.ev_seq[j])


@kernel(inline="always")
def _swap(s, i: int, j: int) -> None:
    s.ev_t[i], s.ev_t[j] = s.ev_t[j], s.ev_t[i]
    s.ev_seq[i], s.ev_seq[j] = s.ev_seq[j], s.ev_seq[i]
    s.ev_kind[i], s.ev_kind[j] = s.ev_kind[j], s.ev_kind[i]
    s.ev_a[i], s.ev_a[j] = s.ev_a[j], s.ev_a[i]
    s.ev_b[i], s.ev_b[j] = s.ev_b[j], s.ev_b[i]


@kernel(inline="always")
def schedule(s, t_ms: float, kind: int, a: int, b: int) -> None:
    """Insert an event (sift-up). Sets the overflow flag when full."""
    n = s.ev_counters[C_SIZE]
    if n >= s.ev_t.shape[0]:
        s.ev_counters[C_OVERFLOW] = 1
        return
    s.ev_t[n] = t_ms
    s.ev_seq[n] = s.ev_counters[C_NEXT_SEQ]
    s.ev_kind[n] = kind
    s.ev_a[n] = a
    s.ev_b[n] = b
    s.ev_counters[C_NEXT_SEQ] += 1
    s.ev_counters[C_SIZE] = n + 1
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if _before(s, i, parent):
            _swap(s, i, parent)
            i = parent
        else:
            break


@kernel(inline="always")
def pop(s) -> tuple[float, int, int, int]:
    """Remove and return the earliest event as (t, kind, a, b). The queue must not be empty."""
    t = s.ev_t[0]
    kind = s.ev_kind[0]
    a = s.ev_a[0]
    b = s.ev_b[0]
    n = s.ev_counters[C_SIZE] - 1
    s.ev_counters[C_SIZE] = n
    if n > 0:
        s.ev_t[0] = s.ev_t[n]
        s.ev_seq[0] = s.ev_seq[n]
        s.ev_kind[0] = s.ev_kind[n]
        s.ev_a[0] = s.ev_a[n]
        s.ev_b[0] = s.ev_b[n]
        i = 0
        while True:
            left = 2 * i + 1
            if left >= n:
                break
            smallest = left
            right = left + 1
            if right < n and _before(s, right, left):
                smallest = right
            if _before(s, smallest, i):
                _swap(s, i, smallest)
                i = smallest
            else:
                break
    s.ev_counters[C_PROCESSED] += 1
    return t, kind, a, b


@kernel(inline="always")
def next_time(s) -> float:
    """Time of the earliest pending event (+inf when empty)."""
    if s.ev_counters[C_SIZE] == 0:
        return np.inf
    return s.ev_t[0]
