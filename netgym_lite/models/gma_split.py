"""GMA sender: split each user's downlink packets over Wi-Fi, LTE and NR in integer burst units.

GMA (IETF draft "Generic Multi-Access (GMA) Convergence Encapsulation Protocols", Intel/NetworkGym) gives
each packet a per-user sequence number and steers it to a link. A split of k Wi-Fi units out of a burst of B
sends exactly k of every B consecutive packets on Wi-Fi, spread evenly (accumulator rule, as Bresenham's
line algorithm spreads k steps over B). With three links (a scenario with gNBs) every link keeps an accumulator
that grows by its units per packet, the packet goes to the link with the largest one, which then gives back B
(smooth weighted round robin, as nginx's upstream balancer): again exactly k_l of every B packets on link l,
spread evenly. Each packet also gets a per-link sequence number (GMA's LSN), which
lets the receiver tell a loss on a link from a late packet.
"""

from __future__ import annotations

from ..core.events import EV_LINK_ARRIVAL, schedule
from ..core.jit import kernel
from ..core.state import PKT_LINK, PKT_LINK_SEQ, REORDER_SLOTS
from .lte import lte_enqueue
from .nr import nr_enqueue
from .packets import alloc_packet
from .wifi import wifi_enqueue

LINK_WIFI = 0
LINK_LTE = 1
LINK_NR = 2


@kernel(inline="always")
def link_up(s, user: int, link: int) -> bool:
    """A link is up while the user is in its coverage (a usable Wi-Fi MCS / LTE or NR CQI)."""
    if link == LINK_WIFI:
        return s.wifi_rate_mbps[user] > 0.0
    if link == LINK_NR:
        return s.nr_bits_per_symbol[user] > 0
    return s.lte_bits_per_rb[user] > 0


@kernel(inline="always")
def link_units(s, p, user: int, link: int) -> int:
    """The user's split units on a link (LTE carries what Wi-Fi and NR do not)."""
    if link == LINK_WIFI:
        return s.wifi_units[user]
    if link == LINK_NR:
        return s.nr_units[user]
    return p.split_burst - s.wifi_units[user] - s.nr_units[user]


@kernel(inline="always")
def _choose_link3(s, p, user: int) -> int:
    """Three-link split (smooth weighted round robin over the burst units); a link that is down passes its
    packet to the up link with the most units."""
    best = -1
    for link in (LINK_WIFI, LINK_NR, LINK_LTE):
        s.gma_acc_link[user, link] += link_units(s, p, user, link)
        if best < 0 or s.gma_acc_link[user, link] > s.gma_acc_link[user, best]:
            best = link
    s.gma_acc_link[user, best] -= p.split_burst
    if link_up(s, user, best):
        return best
    alt = -1
    for link in (LINK_WIFI, LINK_NR, LINK_LTE):
        if link != best and link_up(s, user, link) and (
                alt < 0 or link_units(s, p, user, link) > link_units(s, p, user, alt)):
            alt = link
    return best if alt < 0 else alt


@kernel(inline="always")
def choose_link(s, p, user: int) -> int:
    """Advance the user's split accumulator and return the link of its next packet. A link that is down
    (out of coverage) is skipped while the other is up, as GMA stops steering onto a link its probes lost."""
    if p.num_gnbs > 0:
        return _choose_link3(s, p, user)
    if p.num_aps == 0:
        return LINK_LTE  # no Wi-Fi in the scenario at all
    s.gma_acc[user] += s.wifi_units[user]
    link = LINK_LTE
    if s.gma_acc[user] >= p.split_burst:
        s.gma_acc[user] -= p.split_burst
        link = LINK_WIFI
    if not link_up(s, user, link) and link_up(s, user, 1 - link):
        return 1 - link
    return link


@kernel(inline="always")
def gma_send(s, p, t_ms: float, user: int, tcp_seq: int) -> None:
    """A data packet enters GMA at the sender: number it, split it, put it on the link's backhaul."""
    link = choose_link(s, p, user)
    seq = s.gma_tx_seq[user]
    s.gma_tx_seq[user] = seq + 1
    size = p.user_packet_bytes[user]
    pid = alloc_packet(s, user, link, seq, tcp_seq, size, t_ms)
    if pid < 0:
        return
    lsn = s.link_seq_tx[user, link]
    s.link_seq_tx[user, link] = lsn + 1
    s.link_seq_map[user, link, lsn % REORDER_SLOTS] = seq
    s.pkt[pid, PKT_LINK_SEQ] = lsn
    s.st_tx_bytes[user] += size
    s.st_tx_pkts[user, link] += 1
    s.st_total_sent[user] += 1
    backhaul = p.wifi_backhaul_ms if link == LINK_WIFI else (p.nr_backhaul_ms if link == LINK_NR else p.lte_backhaul_ms)
    if backhaul > 0.0:
        schedule(s, t_ms + backhaul, EV_LINK_ARRIVAL, pid, 0)
    else:
        link_arrival(s, p, t_ms, pid)


@kernel(inline="always")
def link_arrival(s, p, t_ms: float, pid: int) -> None:
    """The packet reaches its AP, gNB or eNB (after the backhaul)."""
    link = s.pkt[pid, PKT_LINK]
    if link == LINK_WIFI:
        wifi_enqueue(s, p, t_ms, pid)
    elif link == LINK_NR:
        nr_enqueue(s, p, pid)
    else:
        lte_enqueue(s, p, pid)
