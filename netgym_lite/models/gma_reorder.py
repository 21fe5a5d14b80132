"""GMA receiver: per-link measurement on arrival, in-order release with a reordering timeout.

Packets of one user arrive over two links with different delays; GMA's receiver restores the sender's order
before handing them up (so TCP sees no spurious reordering). Each link is FIFO, so when a link's LSN jumps
the packets it skipped are known lost and their gaps are closed at once; a gap nothing can explain yet (the
last packet of a burst lost) is skipped after ``reordering_timeout_ms``. Per-link owd is taken on arrival; the user's owd,
max owd and delay violations after release (design.md §5: "after reordering").
"""

from __future__ import annotations

import numpy as np

from ..core.events import EV_REORDER_TIMEOUT, schedule
from ..core.jit import kernel
from ..core.state import (
    PKT_GMA_SEQ,
    PKT_LINK,
    PKT_LINK_SEQ,
    PKT_SIZE,
    PKT_TCP_SEQ,
    PKT_USER,
    REORDER_SLOTS,
    TRANSPORT_UDP,
)
from .packets import free_packet
from .tcp_receiver import tcp_flush_ack, tcp_receive

EMPTY = -1
LOST = -2


@kernel(inline="always")
def _release(s, p, t_ms: float, pid: int) -> None:
    """Hand one packet to the application: user-level statistics, then TCP."""
    user = s.pkt[pid, PKT_USER]
    owd = t_ms - s.pkt_t_gma_ms[pid]
    s.st_rx_bytes[user] += s.pkt[pid, PKT_SIZE]
    s.st_rx_pkts[user] += 1
    s.st_owd_sum[user] += owd
    if owd > s.st_owd_max[user]:
        s.st_owd_max[user] = owd
    if owd > p.user_delay_bound_ms[user]:
        s.st_viol[user, 0] += 1
        s.qos_viol_total[user] += 1
    if owd > p.user_delay_test_ms[user, 0]:
        s.st_viol[user, 1] += 1
    if owd > p.user_delay_test_ms[user, 1]:
        s.st_viol[user, 2] += 1
    s.st_total_delivered[user] += 1
    tcp_seq = s.pkt[pid, PKT_TCP_SEQ]
    free_packet(s, pid)
    if p.user_transport[user] != TRANSPORT_UDP:
        tcp_receive(s, p, t_ms, user, tcp_seq)


@kernel(inline="always")
def _release_run(s, p, t_ms: float, user: int) -> None:
    """Release the consecutive packets from the next expected sequence number on."""
    nxt = s.rx_next_seq[user]
    slot = nxt % REORDER_SLOTS
    while s.rx_slot[user, slot] != EMPTY:
        pid = s.rx_slot[user, slot]
        s.rx_slot[user, slot] = EMPTY
        nxt += 1
        s.rx_next_seq[user] = nxt
        if pid != LOST:
            s.rx_buffered[user] -= 1
            _release(s, p, t_ms, pid)
        slot = nxt % REORDER_SLOTS


@kernel(inline="always")
def _restart_timer(s, p, t_ms: float, user: int) -> None:
    if s.rx_buffered[user] == 0:
        s.rx_deadline_ms[user] = np.inf
        return
    s.rx_deadline_ms[user] = t_ms + p.reorder_timeout_ms
    if not s.rx_timer_pending[user]:
        s.rx_timer_pending[user] = True
        schedule(s, s.rx_deadline_ms[user], EV_REORDER_TIMEOUT, user, 0)


@kernel(inline="always")
def _mark_link_losses(s, user: int, link: int, lsn: int) -> None:
    """Packets the link should have delivered before this one were lost: mark their gaps as closed."""
    nxt = s.rx_next_seq[user]
    for missing in range(s.rx_link_next[user, link], lsn):
        seq = s.link_seq_map[user, link, missing % REORDER_SLOTS]
        # only an empty slot can be a loss (an old map entry may name a packet that is held or long gone)
        if seq >= nxt and seq - nxt < REORDER_SLOTS and s.rx_slot[user, seq % REORDER_SLOTS] == EMPTY:
            s.rx_slot[user, seq % REORDER_SLOTS] = LOST
    if lsn + 1 > s.rx_link_next[user, link]:
        s.rx_link_next[user, link] = lsn + 1


@kernel(inline="always")
def gma_receive(s, p, t_ms: float, pid: int) -> None:
    """A packet reaches the UE over its link."""
    user = s.pkt[pid, PKT_USER]
    link = s.pkt[pid, PKT_LINK]
    owd = t_ms - s.pkt_t_gma_ms[pid]
    s.st_link_rx_bytes[user, link] += s.pkt[pid, PKT_SIZE]
    s.st_link_rx_pkts[user, link] += 1
    s.st_link_owd_sum[user, link] += owd
    if owd > s.st_link_owd_max[user, link]:
        s.st_link_owd_max[user, link] = owd
    _mark_link_losses(s, user, link, s.pkt[pid, PKT_LINK_SEQ])
    seq = s.pkt[pid, PKT_GMA_SEQ]
    nxt = s.rx_next_seq[user]
    if seq < nxt or seq - nxt >= REORDER_SLOTS:
        _release(s, p, t_ms, pid)  # late (its gap was already skipped) or beyond the window
    else:
        s.rx_slot[user, seq % REORDER_SLOTS] = pid
        s.rx_buffered[user] += 1
    _release_run(s, p, t_ms, user)
    if s.rx_next_seq[user] != nxt or s.rx_deadline_ms[user] == np.inf:
        _restart_timer(s, p, t_ms, user)  # a new gap (or the first one) starts waiting now


@kernel(inline="always")
def on_reorder_timeout(s, p, t_ms: float, user: int) -> None:
    """Stop waiting for the current gap: skip to the next packet held, release the run."""
    s.rx_timer_pending[user] = False
    if s.rx_deadline_ms[user] == np.inf:
        return
    if s.rx_deadline_ms[user] > t_ms:
        s.rx_timer_pending[user] = True
        schedule(s, s.rx_deadline_ms[user], EV_REORDER_TIMEOUT, user, 0)
        return
    nxt = s.rx_next_seq[user]
    scanned = 0
    while s.rx_slot[user, nxt % REORDER_SLOTS] < 0 and scanned < REORDER_SLOTS:  # skip gaps and known losses
        s.rx_slot[user, nxt % REORDER_SLOTS] = EMPTY
        nxt += 1
        scanned += 1
    if scanned == REORDER_SLOTS:  # nothing held after all: never spin on an inconsistent count
        s.rx_buffered[user] = 0
    s.rx_next_seq[user] = nxt
    _release_run(s, p, t_ms, user)
    _restart_timer(s, p, t_ms, user)
    tcp_flush_ack(s, p, t_ms, user)
