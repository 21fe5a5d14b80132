"""TCP receiver: cumulative ACKs, coalesced per delivery batch.

The receiver keeps the next expected sequence number and a bitmap of segments received beyond it (RFC 9293
§3.10.7.4). It ACKs once per batch of segments handed to it together (an A-MPDU, the packets of one LTE TTI,
a reordering run), as Linux's generic receive offload does, and the ACK says how many segments the batch held;
the sender counts the packets an ACK covers (appropriate byte counting, RFC 3465), so batching does not slow
slow start, and counts a duplicate ACK once per segment (as SACK would). The ACK reaches the sender after
the uplink delay of the user's ACK link (design.md: "ACK path as a delay"). Its arrival is counted as uplink
traffic of that link (``ul::*`` records): ``TCP_ACK_BYTES`` delivered after that delay.
"""

from __future__ import annotations

from ..core.events import ACK_LINK_SHIFT, ACK_SEGMENTS_SHIFT, EV_TCP_ACK, schedule
from ..core.jit import kernel
from ..core.state import TCP_WINDOW, UL_ACKS_IN, UL_ACKS_OUT

LINK_WIFI = 0
LINK_NR = 2
TCP_ACK_BYTES = 52  # IPv4 header 20 B (RFC 791) + TCP header 20 B (RFC 9293) + timestamps option 12 B (RFC 7323)


@kernel(inline="always")
def tcp_receive(s, p, t_ms: float, user: int, seq: int) -> None:
    """The receiver gets a segment from GMA; an ACK is owed (sent by :func:`tcp_flush_ack`)."""
    nxt = s.tcp_rcv_nxt[user]
    if seq == nxt:
        nxt += 1
        while s.tcp_rcv_have[user, nxt % TCP_WINDOW]:
            s.tcp_rcv_have[user, nxt % TCP_WINDOW] = False
            nxt += 1
        s.tcp_rcv_nxt[user] = nxt
    elif nxt < seq < nxt + TCP_WINDOW:
        s.tcp_rcv_have[user, seq % TCP_WINDOW] = True
    s.tcp_ack_segments[user] += 1


@kernel(inline="always")
def ack_delay_ms(p, link: int) -> float:
    """One-way delay of a TCP ACK on ``link`` (its uplink access delay plus the link's backhaul)."""
    if link == LINK_WIFI:
        return p.ack_delay_wifi_ms + p.wifi_backhaul_ms
    if link == LINK_NR:
        return p.ack_delay_nr_ms + p.nr_backhaul_ms
    return p.ack_delay_lte_ms + p.lte_backhaul_ms


@kernel(inline="always")
def count_ack_arrival(s, p, t_ms: float, user: int, link: int) -> None:
    """An ACK sent on ``link`` reached the sender: count it as that link's uplink traffic this interval
    (only when ``p.ul_stats``: a run whose records carry no key of the ACK direction skips the bookkeeping). Its delay is the
    link's fixed :func:`ack_delay_ms`, so the count is all the ``ul`` rows need."""
    if p.ul_stats:
        s.st_viol[user, UL_ACKS_IN + link] += 1


@kernel(inline="always")
def tcp_flush_ack(s, p, t_ms: float, user: int) -> None:
    """Send the owed cumulative ACK (if any) over the user's ACK link, with the batch's segment count."""
    segments = s.tcp_ack_segments[user]
    if segments == 0:
        return
    s.tcp_ack_segments[user] = 0
    link = s.ack_link[user]
    if p.ul_stats:
        s.st_viol[user, UL_ACKS_OUT + link] += 1
    schedule(s, t_ms + ack_delay_ms(p, link), EV_TCP_ACK,
             user + (link << ACK_LINK_SHIFT) + (segments << ACK_SEGMENTS_SHIFT), s.tcp_rcv_nxt[user])
