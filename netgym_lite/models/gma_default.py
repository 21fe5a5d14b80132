"""GMA's system-default downlink split: delay-based balancing in integer burst units.

As NetworkGym's GMA (design.md §6): all traffic starts on Wi-Fi. At each interval end, for a user the agent
left alone, take the slowest link that carries traffic and the fastest link (which may be idle) by measured
one-way delay. If their gap exceeds ``delay_threshold_ms``, move ``step = max(c − 4, 1)`` units (capped at the
slow link's share) from slow to fast, where ``c`` counts how many times in a row the slow link gave up share
(the other link's counter resets to 1). Within the threshold all counters reset to 1 and, with loss balancing,
one unit moves from the lossier link to the other. The "stable" variant moves only when the slow link's delay
is not already falling. An idle link's delay is what a probe would measure on it (its base delay).
"""

from __future__ import annotations

import numpy as np

from ..core.jit import kernel
from .wifi_phy import MPDU_OVERHEAD_BYTES

LINK_WIFI = 0
LINK_LTE = 1
LTE_BASE_DELAY_MS = 3.5  # mean TTI wait 0.5 + TTI 1 + processing 2 (models/lte.py)


@kernel
def link_delay_ms(s, p, user: int, link: int, sent: np.ndarray, rx_pkts: np.ndarray, owd_sum: np.ndarray) -> float:
    """The delay the algorithm sees on one link: measured, probe (idle), or infinite (nothing got through)."""
    if rx_pkts[user, link] > 0:
        return owd_sum[user, link] / rx_pkts[user, link]
    if sent[user, link] > 0:
        return np.inf
    if link == LINK_WIFI:
        rate = s.wifi_rate_mbps[user]
        if rate <= 0.0:
            return np.inf
        return p.wifi_backhaul_ms + (p.wifi_overhead_us + (p.user_packet_bytes[user] + MPDU_OVERHEAD_BYTES) * 8.0 / rate) / 1000.0
    if s.lte_bits_per_rb[user] <= 0:
        return np.inf
    return p.lte_backhaul_ms + LTE_BASE_DELAY_MS


@kernel
def system_default_split(
    s, p, user: int, sent: np.ndarray, rx_pkts: np.ndarray, owd_sum: np.ndarray, drops: np.ndarray
) -> None:
    """Update one user's Wi-Fi units from the last interval's per-link measurements."""
    burst = p.split_burst
    wifi_units = s.wifi_units[user]
    d_wifi = link_delay_ms(s, p, user, LINK_WIFI, sent, rx_pkts, owd_sum)
    d_lte = link_delay_ms(s, p, user, LINK_LTE, sent, rx_pkts, owd_sum)
    if wifi_units > 0 and (wifi_units == burst or d_wifi >= d_lte):
        slow, d_slow, d_fast, slow_units = LINK_WIFI, d_wifi, d_lte, wifi_units
    else:
        slow, d_slow, d_fast, slow_units = LINK_LTE, d_lte, d_wifi, burst - wifi_units
    fast = 1 - slow
    if d_slow - d_fast > p.gma_threshold_ms:
        falling = d_slow < s.gma_last_owd[user, slow]
        if not (p.gma_stable and falling):
            step = min(max(s.gma_counter[user, slow] - 4, 1), slow_units)
            wifi_units += -step if slow == LINK_WIFI else step
            s.gma_counter[user, slow] += 1
            s.gma_counter[user, fast] = 1
    else:
        s.gma_counter[user, 0] = 1
        s.gma_counter[user, 1] = 1
        if p.gma_loss_balancing:
            if drops[user, LINK_WIFI] > drops[user, LINK_LTE] and wifi_units > 0:
                wifi_units -= 1
            elif drops[user, LINK_LTE] > drops[user, LINK_WIFI] and wifi_units < burst:
                wifi_units += 1
    s.gma_last_owd[user, LINK_WIFI] = d_wifi
    s.gma_last_owd[user, LINK_LTE] = d_lte
    s.wifi_units[user] = wifi_units


@kernel
def apply_split(s, p, action_units: np.ndarray) -> None:
    """Set each user's split: the agent's units where given (≥ 0), the system default elsewhere (−1)."""
    for user in range(p.num_users):
        if p.num_aps == 0:
            s.wifi_units[user] = 0  # no Wi-Fi in the scenario: everything on LTE (slicing counts its own actions)
        elif action_units[user] >= 0:
            s.wifi_units[user] = action_units[user]
        else:
            s.missed_action[user] += 1
            system_default_split(s, p, user, s.gma_last_tx_pkts, s.gma_last_rx_pkts, s.gma_last_owd_sum,
                                 s.gma_last_drops)
