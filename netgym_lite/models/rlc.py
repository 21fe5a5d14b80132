"""RLC UM transmit buffer and the air-interface pipeline shared by the LTE and NR MACs.

A cellular link holds each user's packets in a byte-limited RLC buffer at the base station (tail drop, as ns-3's
RLC UM transmit buffer); its scheduler takes bytes from the head (a packet may be segmented across TTIs/slots);
packets whose last byte was sent travel to the UE together and reach it after the MAC/PHY pipeline delay, in
order (a per-user FIFO ring of packets "on the air"). The functions take the link's own arrays (head-packet
remainder, air ring) so that both MACs use one implementation.
"""

from __future__ import annotations

from ..core.events import schedule
from ..core.jit import kernel
from ..core.state import PKT_SIZE, PKT_USER
from .gma_reorder import gma_receive
from .packets import free_packet, queue_pop, queue_push, ring_index
from .tcp_receiver import tcp_flush_ack

# What the air interface and the RLC buffer carry per packet beyond its payload: the IPv4 (20) and UDP (8)
# headers and the PDCP header (2 bytes, 12-bit SN; TS 36.323 §6.2.3, TS 38.323 §6.2.2.1) -- Wi-Fi's MPDU
# overhead counts the same IP/UDP bytes. RLC UM and MAC subheaders (1-3 bytes per PDU per TTI) are left out.
PDCP_SDU_OVERHEAD_BYTES = 20 + 8 + 2


@kernel(inline="always")
def pdcp_bytes(s, pid: int) -> int:
    """Bytes one packet occupies in the RLC buffer and on the air (payload + headers)."""
    return s.pkt[pid, PKT_SIZE] + PDCP_SDU_OVERHEAD_BYTES


@kernel(inline="always")
def rlc_enqueue(s, pid: int, link: int, head_left, limit_bytes: int) -> None:
    """A packet reaches the base station: into the user's RLC buffer on ``link``, or dropped when it would
    overflow ``limit_bytes``. ``head_left[user]``: bytes of the head packet not yet scheduled."""
    user = s.pkt[pid, PKT_USER]
    stored = s.q_nbytes[user, link] + s.q_length[user, link] * PDCP_SDU_OVERHEAD_BYTES
    if stored + pdcp_bytes(s, pid) > limit_bytes:
        s.st_drops[user, link] += 1
        s.st_total_dropped[user] += 1
        free_packet(s, pid)
        return
    if s.q_length[user, link] == 0:
        head_left[user] = pdcp_bytes(s, pid)
    queue_push(s, user, link, pid)


@kernel(inline="always")
def rlc_unscheduled_bytes(s, user: int, link: int, head_left) -> int:
    """Bytes of the user's buffer not yet scheduled: the head packet's remainder plus the rest of the queue
    (the queue must not be empty)."""
    queued = s.q_nbytes[user, link] + s.q_length[user, link] * PDCP_SDU_OVERHEAD_BYTES
    left = queued - pdcp_bytes(s, s.q_buf[user, link, s.q_head[user, link]])
    return left + head_left[user]


@kernel
def rlc_transmit(s, user: int, nbytes: int, link: int, head_left, air_buf, air_head, air_len, arrive_ms: float,
                 ev_kind: int) -> None:
    """Take ``nbytes`` from the head of the user's buffer; the packets finished travel to the UE together and
    arrive at ``arrive_ms`` (one ``ev_kind`` event with a = user, b = count)."""
    cap = air_buf.shape[1]
    done = 0
    while nbytes > 0 and s.q_length[user, link] > 0:
        if nbytes >= head_left[user]:
            nbytes -= head_left[user]
            pid = queue_pop(s, user, link)
            air_buf[user, ring_index(air_head[user] + air_len[user], cap)] = pid
            air_len[user] += 1
            done += 1
            if s.q_length[user, link] > 0:
                nxt = s.q_buf[user, link, s.q_head[user, link]]
                head_left[user] = pdcp_bytes(s, nxt)
        else:
            head_left[user] -= nbytes
            # the rest of the head packet waits for the next TTI / slot (RLC UM segmentation)
            nbytes = 0
    if done > 0:
        schedule(s, arrive_ms, ev_kind, user, done)


@kernel(inline="always")
def air_deliver(s, p, t_ms: float, user: int, count: int, air_buf, air_head, air_len) -> None:
    """The packets one TTI / slot finished for a user reach the UE (in order), then the owed TCP ACK leaves."""
    cap = air_buf.shape[1]
    for _ in range(count):
        pid = air_buf[user, air_head[user]]
        air_head[user] = ring_index(air_head[user] + 1, cap)
        air_len[user] -= 1
        gma_receive(s, p, t_ms, pid)
    tcp_flush_ack(s, p, t_ms, user)
