"""Packet pool and per-user, per-link FIFO queues (numba kernels).

A packet is an index into the pool arrays; queues are rings of packet ids. Tail drop: a packet that does
not fit its queue (Wi-Fi: ``ap_queue_packets`` packets; LTE: ``rlc_buffer_bytes`` bytes, as ns-3's RLC UM
transmit buffer) is dropped on arrival.
"""

from __future__ import annotations

from ..core.jit import kernel
from ..core.state import PKT_GMA_SEQ, PKT_LINK, PKT_SIZE, PKT_TCP_SEQ, PKT_USER


@kernel(inline="always")
def ring_index(i: int, cap: int) -> int:
    """``i % cap`` for a ring position 0 <= i (head + offset, at most a lap or two past the end): a compare and
    a subtraction instead of the integer division ``%`` costs on a capacity known only at run time."""
    while i >= cap:
        i -= cap
    return i


@kernel(inline="always")
def alloc_packet(s, user: int, link: int, gma_seq: int, tcp_seq: int, size: int, t_ms: float) -> int:
    """Take a free packet id and fill it; -1 (and the overflow flag) when the pool is exhausted."""
    n_free = s.pkt_counters[0]
    if n_free == 0:
        s.pkt_counters[1] = 1
        return -1
    pid = s.pkt_free[n_free - 1]
    s.pkt_counters[0] = n_free - 1
    row = s.pkt[pid]
    row[PKT_USER] = user
    row[PKT_LINK] = link
    row[PKT_GMA_SEQ] = gma_seq
    row[PKT_TCP_SEQ] = tcp_seq
    row[PKT_SIZE] = size
    s.pkt_t_gma_ms[pid] = t_ms
    s.pkt_in_system[user] += 1
    return pid


@kernel(inline="always")
def free_packet(s, pid: int) -> None:
    """Return a packet id to the pool."""
    s.pkt_in_system[s.pkt[pid, PKT_USER]] -= 1
    s.pkt_free[s.pkt_counters[0]] = pid
    s.pkt_counters[0] += 1


@kernel(inline="always")
def queue_push(s, user: int, link: int, pid: int) -> None:
    """Append a packet to the tail of the user's queue on ``link`` (caller checked the limit)."""
    s.q_buf[user, link, ring_index(s.q_head[user, link] + s.q_length[user, link], s.q_buf.shape[2])] = pid
    s.q_length[user, link] += 1
    s.q_nbytes[user, link] += s.pkt[pid, PKT_SIZE]


@kernel(inline="always")
def queue_peek(s, user: int, link: int, k: int) -> int:
    """The k-th packet id from the head (0 = head)."""
    return s.q_buf[user, link, ring_index(s.q_head[user, link] + k, s.q_buf.shape[2])]


@kernel(inline="always")
def queue_pop(s, user: int, link: int) -> int:
    """Remove and return the head packet id."""
    pid = s.q_buf[user, link, s.q_head[user, link]]
    s.q_head[user, link] = ring_index(s.q_head[user, link] + 1, s.q_buf.shape[2])
    s.q_length[user, link] -= 1
    s.q_nbytes[user, link] -= s.pkt[pid, PKT_SIZE]
    return pid
