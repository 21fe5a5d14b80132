"""Per-interval radio state: SNR → Wi-Fi PHY rate and LTE bits per RB, AP association and handover.

Uses the channel formulas of ``channel.py`` and the tables of ``wifi_phy.py`` / ``lte_phy.py`` (passed in
``Params`` as arrays). Received power from AP a: P_tx − PL(d) − shadowing; with equal AP powers the strongest
AP is the nearest. Handover (``enable_rx_signal_based_handover``) uses a 3 dB hysteresis.
"""

from __future__ import annotations

from ..core.jit import kernel
from .channel import distance_3d_m, log_distance_path_loss_db
from .lte_phy import bits_per_rb
from .wifi_phy import best_rate_mbps

HANDOVER_HYSTERESIS_DB = 3.0


@kernel
def _wifi_rx_dbm(s, p, user: int, ap: int) -> float:
    d = distance_3d_m(
        s.pos[user, 0], s.pos[user, 1], s.pos[user, 2],
        p.ap_pos[ap, 0], p.ap_pos[ap, 1], p.ap_pos[ap, 2],
    )
    pl = log_distance_path_loss_db(d, p.wifi_pl[0], p.wifi_pl[1], p.wifi_pl[2])
    return p.wifi_tx_power_dbm - pl - s.wifi_shadow_db[user, ap]


@kernel
def _lte_bits_per_rb(s, p, user: int) -> int:
    d = distance_3d_m(
        s.pos[user, 0], s.pos[user, 1], s.pos[user, 2],
        p.enb_pos[0], p.enb_pos[1], p.enb_pos[2],
    )
    pl = log_distance_path_loss_db(d, p.lte_pl[0], p.lte_pl[1], p.lte_pl[2])
    return bits_per_rb(p.lte_tx_per_rb_dbm - pl - s.lte_shadow_db[user] - p.lte_noise_per_rb_dbm)


@kernel
def update_radio(s, p, initial: bool) -> None:
    """Re-evaluate association (initially, or by handover) and every user's link rates."""
    for user in range(p.num_users):
        best_ap = s.wifi_ap[user]
        current = _wifi_rx_dbm(s, p, user, best_ap) if best_ap >= 0 else -1e9
        best_power = current
        for ap in range(p.num_aps):
            power = _wifi_rx_dbm(s, p, user, ap)
            if initial or p.handover:
                margin = 0.0 if initial else HANDOVER_HYSTERESIS_DB
                if power > best_power + margin or (initial and power > best_power):
                    best_ap = ap
                    best_power = power
        if initial or p.handover:
            s.wifi_ap[user] = best_ap
        if s.wifi_ap[user] < 0:  # a scenario without APs (network slicing): no Wi-Fi link
            s.wifi_rate_mbps[user] = 0.0
        else:
            snr = _wifi_rx_dbm(s, p, user, s.wifi_ap[user]) - p.wifi_noise_dbm
            s.wifi_rate_mbps[user] = best_rate_mbps(snr, p.wifi_rates_mbps, p.wifi_min_snr_db)
        s.lte_bits_per_rb[user] = _lte_bits_per_rb(s, p, user)
