"""Per-interval radio state: SNR → Wi-Fi PHY rate, LTE bits per RB and NR bits per symbol, AP association and
handover, gNB attachment (nearest gNB at the start, kept: models/nr.py).

Uses the channel formulas of ``channel.py`` and the tables of ``wifi_phy.py`` / ``lte_phy.py`` (passed in
``Params`` as arrays). Received power from AP a: P_tx − PL(d) − shadowing; with equal AP powers the strongest
AP is the nearest. With uplink data the LTE/NR link budgets are the UE's (transmit power over the band, as its
sounding reference signal, which sets its uplink MCS; the base station's noise figure: sim.py); the Wi-Fi budget is the same both ways (ns-3's AP and station powers are equal). Handover (``enable_rx_signal_based_handover``) uses a 3 dB hysteresis.
"""

from __future__ import annotations

import math

from ..core.jit import kernel
from ..core.state import minstrel_rate_control, uplink_data
from .channel import distance_3d_m, log_distance_path_loss_db
from .lte_phy import bits_per_rb
from .minstrel import C_SNR_DB
from .nr_phy import LOS_3GPP, LOS_ALWAYS, bits_per_symbol, los_probability, uma_path_loss_db
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
def _lte_bits_per_rb(s, p, user: int, tx_per_rb_dbm: float, noise_per_rb_dbm: float, uplink: bool) -> int:
    d = distance_3d_m(
        s.pos[user, 0], s.pos[user, 1], s.pos[user, 2],
        p.enb_pos[0], p.enb_pos[1], p.enb_pos[2],
    )
    pl = log_distance_path_loss_db(d, p.lte_pl[0], p.lte_pl[1], p.lte_pl[2])
    return bits_per_rb(tx_per_rb_dbm - pl - s.lte_shadow_db[user] - noise_per_rb_dbm, p.lte_rbs, uplink)


@kernel
def lte_dl_bits_per_rb(s, p, user: int, gain_db: float) -> int:
    """The user's LTE downlink bits per RB when the data flows up: the SNR is the uplink's + ``gain_db``."""
    return _lte_bits_per_rb(s, p, user, p.lte_tx_per_rb_dbm + gain_db, p.lte_noise_per_rb_dbm, False)


@kernel
def nr_dl_bits_per_symbol(s, p, user: int, gain_db: float) -> int:
    """The user's NR downlink bits per symbol from its gNB when the data flows up (uplink SNR + ``gain_db``)."""
    return _nr_bits_per_symbol(s, p, user, s.nr_gnb[user], p.nr_tx_per_prb_dbm + gain_db, p.nr_noise_per_prb_dbm)


@kernel
def _nr_bits_per_symbol(s, p, user: int, gnb: int, tx_per_prb_dbm: float, noise_per_prb_dbm: float) -> int:
    dx = s.pos[user, 0] - p.gnb_pos[gnb, 0]
    dy = s.pos[user, 1] - p.gnb_pos[gnb, 1]
    d2d = math.sqrt(dx * dx + dy * dy)
    if p.nr_los_model == LOS_3GPP:
        los = s.nr_los_draw[user, gnb] < los_probability(d2d)
    else:
        los = p.nr_los_model == LOS_ALWAYS
    pl = uma_path_loss_db(d2d, p.gnb_pos[gnb, 2], s.pos[user, 2], p.nr_frequency_ghz, los)
    snr = tx_per_prb_dbm - pl - s.nr_shadow_db[user, gnb] - noise_per_prb_dbm
    return bits_per_symbol(snr, p.nr_prbs)


@kernel
def _update_nr(s, p, user: int, initial: bool) -> None:
    """Attach to the nearest gNB (at the start only) and evaluate the user's NR rate."""
    if initial:
        best = -1
        best_d = 0.0
        for gnb in range(p.num_gnbs):
            d = distance_3d_m(s.pos[user, 0], s.pos[user, 1], s.pos[user, 2],
                              p.gnb_pos[gnb, 0], p.gnb_pos[gnb, 1], p.gnb_pos[gnb, 2])
            if best < 0 or d < best_d:
                best, best_d = gnb, d
        s.nr_gnb[user] = best
    s.nr_bits_per_symbol[user] = _nr_bits_per_symbol(s, p, user, s.nr_gnb[user], p.nr_tx_per_prb_dbm,
                                                     p.nr_noise_per_prb_dbm)


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
            if minstrel_rate_control(p):
                s.wifi_rc[user, C_SNR_DB] = snr
        s.lte_bits_per_rb[user] = _lte_bits_per_rb(s, p, user, p.lte_tx_per_rb_dbm, p.lte_noise_per_rb_dbm,
                                                   uplink_data(p))
        if p.num_gnbs > 0:
            _update_nr(s, p, user, initial)
