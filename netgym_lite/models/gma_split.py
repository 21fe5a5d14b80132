"""GMA sender: split each user's downlink packets over Wi-Fi and LTE in integer burst units.

GMA (IETF draft "Generic Multi-Access (GMA) Convergence Encapsulation Protocols", Intel/NetworkGym) gives
each packet a per-user sequence number and steers it to a link. A split of k Wi-Fi units out of a burst of B
sends exactly k of every B consecutive packets on Wi-Fi, spread evenly (accumulator rule, as Bresenham's
line algorithm spreads k steps over B). Each packet also gets a per-link sequence number (GMA's LSN), which
lets the receiver tell a loss on a link from a late packet.
"""

from __future__ import annotations

from ..core.events import EV_LINK_ARRIVAL, schedule
from ..core.jit import kernel
from ..core.state import REORDER_SLOTS
from .lte import lte_enqueue
from .packets import alloc_packet
from .wifi import wifi_enqueue

LINK_WIFI = 0
LINK_LTE = 1


@kernel(inline="always")
def _link_up(s, user: int, link: int) -> bool:
    """A link is up while the user is in its coverage (a usable Wi-Fi MCS / LTE CQI)."""
    if link == LINK_WIFI:
        return s.wifi_rate_mbps[user] > 0.0
    return s.lte_bits_per_rb[user] > 0


@kernel(inline="always")
def choose_link(s, p, user: int) -> int:
    """Advance the user's split accumulator and return the link of its next packet. A link that is down
    (out of coverage) is skipped while the other is up, as GMA stops steering onto a link its probes lost."""
    if p.num_aps == 0:
        return LINK_LTE  # no Wi-Fi in the scenario at all
    s.gma_acc[user] += s.wifi_units[user]
    link = LINK_LTE
    if s.gma_acc[user] >= p.split_burst:
        s.gma_acc[user] -= p.split_burst
        link = LINK_WIFI
    if not _link_up(s, user, link) and _link_up(s, user, 1 - link):
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
    s.pkt_link_seq[pid] = lsn
    s.st_tx_bytes[user] += size
    s.st_tx_pkts[user, link] += 1
    s.st_total_sent[user] += 1
    backhaul = p.wifi_backhaul_ms if link == LINK_WIFI else p.lte_backhaul_ms
    if backhaul > 0.0:
        schedule(s, t_ms + backhaul, EV_LINK_ARRIVAL, pid, 0)
    else:
        link_arrival(s, p, t_ms, pid)


@kernel(inline="always")
def link_arrival(s, p, t_ms: float, pid: int) -> None:
    """The packet reaches its AP or eNB (after the backhaul)."""
    if s.pkt_link[pid] == LINK_WIFI:
        wifi_enqueue(s, p, t_ms, pid)
    else:
        lte_enqueue(s, p, pid)
