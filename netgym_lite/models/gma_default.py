"""GMA's system-default downlink split: delay-based balancing in integer burst units.

As NetworkGym's GMA (design.md §6): all traffic starts on Wi-Fi. At each interval end, for a user the agent
left alone, take the slowest link that carries traffic and the fastest link (which may be idle) by measured
one-way delay. If their gap exceeds ``delay_threshold_ms``, move ``step = max(c − 4, 1)`` units (capped at the
slow link's share) from slow to fast, where ``c`` counts how many times in a row the slow link gave up share
(the other link's counter resets to 1). Within the threshold all counters reset to 1 and, with loss balancing,
one unit moves from the lossier link to the other. The "stable" variant moves only when the slow link's delay
is not already falling. An idle link's delay is what a probe would measure on it (its base delay).
With three links (a scenario with gNBs) the same rule runs over the links present: the slow link is the one
with the largest delay among those carrying traffic (ties: Wi-Fi, NR, LTE order), the fast one the smallest
delay among the others; every link other than the slow one has its counter reset.
"""

from __future__ import annotations

import numpy as np

from ..core.jit import kernel
from .gma_split import link_units
from .wifi_phy import MPDU_OVERHEAD_BYTES

LINK_WIFI = 0
LINK_LTE = 1
LINK_NR = 2
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
    if link == LINK_NR:
        if s.nr_bits_per_symbol[user] <= 0:
            return np.inf
        return p.nr_backhaul_ms + 1.5 * p.nr_slot_ms + p.nr_proc_delay_ms  # mean slot wait + slot + pipeline
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


@kernel(inline="always")
def _move_units(s, user: int, link: int, delta: int) -> None:
    """Add ``delta`` units to Wi-Fi or NR (LTE's share is the rest of the burst)."""
    if link == LINK_WIFI:
        s.wifi_units[user] += delta
    elif link == LINK_NR:
        s.nr_units[user] += delta


@kernel(inline="always")
def _present(p, link: int) -> bool:
    return link != LINK_WIFI or p.num_aps > 0


@kernel
def system_default_split3(
    s, p, user: int, sent: np.ndarray, rx_pkts: np.ndarray, owd_sum: np.ndarray, drops: np.ndarray
) -> None:
    """The delay-based rule over the links present when the scenario has gNBs (see module docstring)."""
    slow = -1
    d_slow = 0.0
    for link in (LINK_WIFI, LINK_NR, LINK_LTE):
        if not _present(p, link) or link_units(s, p, user, link) <= 0:
            continue
        d = link_delay_ms(s, p, user, link, sent, rx_pkts, owd_sum)
        if slow < 0 or d > d_slow:
            slow, d_slow = link, d
    fast = -1
    d_fast = 0.0
    for link in (LINK_WIFI, LINK_NR, LINK_LTE):
        if not _present(p, link) or link == slow:
            continue
        d = link_delay_ms(s, p, user, link, sent, rx_pkts, owd_sum)
        if fast < 0 or d < d_fast:
            fast, d_fast = link, d
    if slow >= 0 and fast >= 0 and d_slow - d_fast > p.gma_threshold_ms:
        falling = d_slow < s.gma_last_owd[user, slow]
        if not (p.gma_stable and falling):
            step = min(max(s.gma_counter[user, slow] - 4, 1), link_units(s, p, user, slow))
            _move_units(s, user, slow, -step)
            _move_units(s, user, fast, step)
            for link in range(3):
                if link != slow:
                    s.gma_counter[user, link] = 1
            s.gma_counter[user, slow] += 1
    else:
        for link in range(3):
            s.gma_counter[user, link] = 1
        if p.gma_loss_balancing:
            lossy = -1
            clean = -1
            for link in (LINK_WIFI, LINK_NR, LINK_LTE):
                if not _present(p, link):
                    continue
                if link_units(s, p, user, link) > 0 and (lossy < 0 or drops[user, link] > drops[user, lossy]):
                    lossy = link
                if clean < 0 or drops[user, link] < drops[user, clean]:
                    clean = link
            if lossy >= 0 and clean >= 0 and drops[user, lossy] > drops[user, clean]:
                _move_units(s, user, lossy, -1)
                _move_units(s, user, clean, 1)
    for link in range(3):
        if _present(p, link):
            s.gma_last_owd[user, link] = link_delay_ms(s, p, user, link, sent, rx_pkts, owd_sum)


@kernel
def apply_split(s, p, action_units: np.ndarray) -> None:
    """Set each user's split: the agent's units where given (≥ 0), the system default elsewhere (−1).

    ``action_units`` holds the Wi-Fi units of every user, followed (with gNBs) by the NR units of every user."""
    for user in range(p.num_users):
        if p.num_aps == 0 and p.num_gnbs == 0:
            s.wifi_units[user] = 0  # no Wi-Fi in the scenario: everything on LTE (slicing counts its own actions)
        elif action_units[user] >= 0:
            s.wifi_units[user] = action_units[user]
            if p.num_gnbs > 0:
                s.nr_units[user] = action_units[p.num_users + user]
        else:
            s.missed_action[user] += 1
            if p.num_gnbs > 0:
                system_default_split3(s, p, user, s.gma_last_tx_pkts, s.gma_last_rx_pkts, s.gma_last_owd_sum,
                                      s.gma_last_drops)
            else:
                system_default_split(s, p, user, s.gma_last_tx_pkts, s.gma_last_rx_pkts, s.gma_last_owd_sum,
                                     s.gma_last_drops)
