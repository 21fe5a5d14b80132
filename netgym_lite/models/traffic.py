"""UDP sources: constant bit rate or Poisson arrivals per user (downlink).

A CBR source of rate r Mbps emits one packet of S bytes every S·8/(r·1000) ms; a Poisson source draws
exponential gaps with that mean (memoryless arrivals, Kleinrock, *Queueing Systems* vol. 1, §2.4).
"""

from __future__ import annotations

from ..core.events import EV_UDP_ARRIVAL, schedule
from ..core.jit import kernel
from ..core.rng import STREAM_TRAFFIC, exponential, uniform
from ..core.state import TRANSPORT_UDP
from .gma_split import gma_send


@kernel(inline="always")
def udp_gap_ms(p, user: int, rate_mbps: float) -> float:
    """Mean time between two packets of a user at ``rate_mbps``."""
    return p.user_packet_bytes[user] * 8.0 / (rate_mbps * 1000.0)


@kernel
def start_udp(s, p, t_ms: float) -> None:
    """Schedule every UDP user's first packet (CBR: after a random phase within one gap)."""
    for user in range(p.num_users):
        rate = s.udp_rate_mbps[user]
        if rate <= 0.0 or p.user_transport[user] != TRANSPORT_UDP:
            continue
        gap = udp_gap_ms(p, user, rate)
        if p.user_poisson[user]:
            first = exponential(s.rng, STREAM_TRAFFIC, gap)
        else:
            first = uniform(s.rng, STREAM_TRAFFIC) * gap
        schedule(s, t_ms + first, EV_UDP_ARRIVAL, user, 0)


@kernel(inline="always")
def on_udp_arrival(s, p, t_ms: float, user: int) -> None:
    """Emit one packet and schedule the next one."""
    gma_send(s, p, t_ms, user, -1)
    gap = udp_gap_ms(p, user, s.udp_rate_mbps[user])
    if p.user_poisson[user]:
        gap = exponential(s.rng, STREAM_TRAFFIC, gap)
    schedule(s, t_ms + gap, EV_UDP_ARRIVAL, user, 0)
