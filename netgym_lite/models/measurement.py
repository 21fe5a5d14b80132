"""Per-interval measurement reports, computed where the counters live (one kernel call per interval).

What NetworkGym's ns-3 modules report every measurement interval (design.md §5), as a table of
``len(METRIC_KEYS)`` rows × users: rates in Mbps (payload bytes · 8 / interval), delays in ms, shares in %,
−1 where a metric has no value this interval. :mod:`netgym_lite.records` turns the table into records.
The kernel also hands the interval's per-link counters to the GMA system default, picks each user's ACK
link for the next interval and clears the interval counters.
"""

from __future__ import annotations

import numpy as np

from ..core.jit import kernel
from ..core.state import UL_ACKS_IN, UL_ACKS_OUT
from .gma_split import link_units
from .nr_phy import DATA_SYMBOLS_PER_SLOT
from .radio import lte_dl_bits_per_rb, nr_dl_bits_per_symbol
from .tcp_receiver import TCP_ACK_BYTES, ack_delay_ms

LINK_WIFI = 0
LINK_LTE = 1
LINK_NR = 2

# Row order of the measurement table: the full NetworkGym key of each row.
METRIC_KEYS = (
    "gma::dl::rate", "gma::dl::tx_rate", "gma::dl::qos_rate", "gma::dl::owd", "gma::dl::max_owd",
    "gma::dl::delay_violation", "gma::dl::delay_test_1_violation", "gma::dl::delay_test_2_violation",
    "gma::dl::measurement_ok", "gma::dl::missed_action", "gma::x_loc", "gma::y_loc",
    "gma::wifi::dl::rate", "gma::wifi::dl::qos_rate", "gma::wifi::dl::owd", "gma::wifi::dl::max_owd",
    "gma::wifi::dl::priority", "gma::wifi::dl::traffic_ratio", "gma::wifi::dl::split_ratio",
    "gma::lte::dl::rate", "gma::lte::dl::qos_rate", "gma::lte::dl::owd", "gma::lte::dl::max_owd",
    "gma::lte::dl::priority", "gma::lte::dl::traffic_ratio", "gma::lte::dl::split_ratio",
    "lte::cell_id", "lte::slice_id", "lte::dl::max_rate", "lte::dl::rb_usage",
    "wifi::cell_id", "wifi::dl::max_rate", "wifi::ul::max_rate",
    # uplink: what the users send, i.e. the TCP ACKs of their downloads (UDP flows send nothing up)
    "gma::ul::rate", "gma::ul::tx_rate", "gma::ul::owd", "gma::ul::max_owd", "gma::ul::qos_rate",
    "gma::ul::delay_violation", "gma::ul::delay_test_1_violation", "gma::ul::delay_test_2_violation",
    "gma::ul::measurement_ok", "gma::ul::missed_action",
    "gma::wifi::ul::rate", "gma::wifi::ul::owd", "gma::wifi::ul::max_owd", "gma::wifi::ul::traffic_ratio",
    "gma::wifi::ul::qos_rate", "gma::wifi::ul::priority", "gma::wifi::ul::split_ratio",
    "gma::lte::ul::rate", "gma::lte::ul::owd", "gma::lte::ul::max_owd", "gma::lte::ul::traffic_ratio",
    "gma::lte::ul::qos_rate", "gma::lte::ul::priority", "gma::lte::ul::split_ratio",
)
#: Rows a scenario with gNBs appends to the table (and to its records): the NR link's, in the same order.
NR_METRIC_KEYS = (
    "gma::nr::dl::rate", "gma::nr::dl::qos_rate", "gma::nr::dl::owd", "gma::nr::dl::max_owd",
    "gma::nr::dl::priority", "gma::nr::dl::traffic_ratio", "gma::nr::dl::split_ratio",
    "nr::cell_id", "nr::dl::max_rate",
    "gma::nr::ul::rate", "gma::nr::ul::owd", "gma::nr::ul::max_owd", "gma::nr::ul::traffic_ratio",
    "gma::nr::ul::qos_rate", "gma::nr::ul::priority", "gma::nr::ul::split_ratio",
)
ALL_METRIC_KEYS = METRIC_KEYS + NR_METRIC_KEYS
ROW = {key: i for i, key in enumerate(ALL_METRIC_KEYS)}
# 7 rows per link, same order; indexed by link id (Wi-Fi 0, LTE 1, NR 2)
_LINK_BASE = (ROW["gma::wifi::dl::rate"], ROW["gma::lte::dl::rate"], ROW["gma::nr::dl::rate"])
# uplink: 10 rows for the user (rate, tx_rate, owd, max_owd, qos_rate, 3 violations, measurement_ok,
# missed_action), then 7 per
# link (rate, owd, max_owd, traffic_ratio, qos_rate, priority, split_ratio)
_UL_BASE = ROW["gma::ul::rate"]
_UL_USER_ROWS = ROW["gma::wifi::ul::rate"] - _UL_BASE
_UL_LINK_BASE = (ROW["gma::wifi::ul::rate"], ROW["gma::lte::ul::rate"], ROW["gma::nr::ul::rate"])
_UL_LINK_ROWS = ROW["gma::lte::ul::rate"] - ROW["gma::wifi::ul::rate"]
#: Keys whose values come from the per-ACK uplink counters (``Params.ul_stats``); ``wifi::ul::max_rate`` does not.
UL_COUNTED_KEYS = tuple(key for key in ALL_METRIC_KEYS if key.startswith("gma::") and "::ul::" in key)


def metric_keys(has_nr: bool) -> tuple[str, ...]:
    """The table's rows (and the records' keys) of a scenario with or without gNBs."""
    return ALL_METRIC_KEYS if has_nr else METRIC_KEYS


_NR_CELL_ROW = ROW["nr::cell_id"]


@kernel(inline="always")
def _ratio_or_missing(num: float, den: float) -> float:
    return num / den if den > 0 else -1.0


@kernel
def measure_interval(s, p, table: np.ndarray) -> None:
    """Fill ``table`` (rows of ``metric_keys(p.num_gnbs > 0)`` × users) from this interval's counters."""
    to_mbps = 8.0 / (p.interval_ms * 1000.0)
    links = s.st_tx_pkts.shape[1]
    for u in range(p.num_users):
        rx = s.st_rx_pkts[u]
        sent = s.st_tx_pkts[u, 0] + s.st_tx_pkts[u, 1]
        dropped = s.st_drops[u, 0] + s.st_drops[u, 1]
        if links > 2:
            sent += s.st_tx_pkts[u, LINK_NR]
            dropped += s.st_drops[u, LINK_NR]
        rate = s.st_rx_bytes[u] * to_mbps
        viol = _ratio_or_missing(100.0 * s.st_viol[u, 0], rx)
        loss = _ratio_or_missing(dropped, sent)
        qos_met = rx > 0 and viol <= 100.0 * p.user_viol_target[u] and loss <= p.user_loss_target[u]
        table[0, u] = rate
        table[1, u] = s.st_tx_bytes[u] * to_mbps
        table[2, u] = rate if qos_met else 0.0
        table[3, u] = _ratio_or_missing(s.st_owd_sum[u], rx)
        table[4, u] = s.st_owd_max[u] if rx > 0 else -1.0
        table[5, u] = viol
        table[6, u] = _ratio_or_missing(100.0 * s.st_viol[u, 1], rx)
        table[7, u] = _ratio_or_missing(100.0 * s.st_viol[u, 2], rx)
        table[8, u] = 1.0
        table[9, u] = s.missed_action[u]
        table[10, u] = s.pos[u, 0]
        table[11, u] = s.pos[u, 1]
        for link in range(links):
            base = _LINK_BASE[link]
            got = s.st_link_rx_pkts[u, link]
            link_rate = s.st_link_rx_bytes[u, link] * to_mbps
            units = link_units(s, p, u, link)
            table[base, u] = link_rate
            table[base + 1, u] = link_rate if qos_met else 0.0
            table[base + 2, u] = _ratio_or_missing(s.st_link_owd_sum[u, link], got)
            table[base + 3, u] = s.st_link_owd_max[u, link] if got > 0 else -1.0
            table[base + 4, u] = s.user_prio[u]  # 1 = high priority (dynamic flow prioritisation, qos_steer)
            table[base + 5, u] = _ratio_or_missing(100.0 * s.st_tx_pkts[u, link], sent)
            table[base + 6, u] = 100.0 * units / p.split_burst
        table[26, u] = 1.0
        table[27, u] = p.user_slice[u]
        # (with uplink data these two rows, and NR's max rate, are rewritten by fill_downlink_capacity)
        table[28, u] = s.lte_bits_per_rb[u] * p.lte_rbs / 1000.0  # Mbps with every RB, 1 ms TTIs
        table[29, u] = 100.0 * s.st_rbs[u] / (p.lte_rbs * p.interval_ms)
        table[30, u] = s.wifi_ap[u] + 1.0
        table[31, u] = s.wifi_rate_mbps[u]
        table[32, u] = s.wifi_rate_mbps[u]  # uplink PHY rate: same link budget (reciprocity, AP tx power)
        if links > 2:
            table[_NR_CELL_ROW, u] = s.nr_gnb[u] + 1.0
            # Mbps with every data symbol of every slot
            table[_NR_CELL_ROW + 1, u] = s.nr_bits_per_symbol[u] * DATA_SYMBOLS_PER_SLOT / (p.nr_slot_ms * 1000.0)
        _measure_uplink(s, p, table, u, links, to_mbps)


@kernel(inline="always")
def _measure_uplink(s, p, table: np.ndarray, u: int, links: int, to_mbps: float) -> None:
    """The ``ul`` rows of user ``u``: uplink bytes delivered (Mbps) and their one-way delay, per link and in
    all (−1 delay where nothing arrived); bytes sent (Mbps) and the % of packets sent on each link. The uplink
    carries TCP ACKs, each with its link's fixed delay, so the delay violations follow from the per-link ACK
    counts; ACKs are never lost, so ``qos_rate`` = rate when the violations are within the user's target. Without
    ``p.ul_stats`` (no key of the ACK direction subscribed) nothing was counted and every row is −1. Counts: ``st_viol`` columns
    ``UL_ACKS_IN + link`` (arrived) and ``UL_ACKS_OUT + link`` (sent)."""
    if not p.ul_stats:
        for k in range(_UL_USER_ROWS):
            table[_UL_BASE + k, u] = -1.0
        for link in range(links):
            for k in range(_UL_LINK_ROWS):
                table[_UL_LINK_BASE[link] + k, u] = -1.0
        table[_UL_BASE + 9, u] = 0.0  # no action steers the ACKs: none is ever missed
        return
    ul_bytes = 0.0
    ul_pkts = 0.0
    sent = 0.0
    owd_sum = 0.0
    owd_max = 0.0
    over_bound = 0.0
    over_test_1 = 0.0
    over_test_2 = 0.0
    for link in range(links):
        got = float(s.st_viol[u, UL_ACKS_IN + link])
        delay = ack_delay_ms(p, link)
        ul_bytes += got * TCP_ACK_BYTES
        ul_pkts += got
        sent += s.st_viol[u, UL_ACKS_OUT + link]
        if got > 0:
            owd_sum += got * delay
            owd_max = max(owd_max, delay)
        if delay > p.user_delay_bound_ms[u]:
            over_bound += got
        if delay > p.user_delay_test_ms[u, 0]:
            over_test_1 += got
        if delay > p.user_delay_test_ms[u, 1]:
            over_test_2 += got
    viol = _ratio_or_missing(100.0 * over_bound, ul_pkts)
    qos_met = ul_pkts > 0 and viol <= 100.0 * p.user_viol_target[u]
    rate = ul_bytes * to_mbps
    table[_UL_BASE, u] = rate
    table[_UL_BASE + 1, u] = sent * TCP_ACK_BYTES * to_mbps
    table[_UL_BASE + 2, u] = _ratio_or_missing(owd_sum, ul_pkts)
    table[_UL_BASE + 3, u] = owd_max if ul_pkts > 0 else -1.0
    table[_UL_BASE + 4, u] = rate if qos_met else 0.0
    table[_UL_BASE + 5, u] = viol
    table[_UL_BASE + 6, u] = _ratio_or_missing(100.0 * over_test_1, ul_pkts)
    table[_UL_BASE + 7, u] = _ratio_or_missing(100.0 * over_test_2, ul_pkts)
    table[_UL_BASE + 8, u] = 1.0
    table[_UL_BASE + 9, u] = 0.0
    for link in range(links):
        base = _UL_LINK_BASE[link]
        got = float(s.st_viol[u, UL_ACKS_IN + link])
        link_rate = got * TCP_ACK_BYTES * to_mbps
        delay = ack_delay_ms(p, link) if got > 0 else -1.0  # every ACK on the link takes its fixed delay
        table[base, u] = link_rate
        table[base + 1, u] = delay
        table[base + 2, u] = delay
        table[base + 3, u] = _ratio_or_missing(100.0 * s.st_viol[u, UL_ACKS_OUT + link], sent)
        table[base + 4, u] = link_rate if qos_met else 0.0
        table[base + 5, u] = s.user_prio[u]  # the flow's priority (its ACKs are not scheduled apart from it)
        # uplink_mode "auto": this interval's ACKs all go on the one ACK link (close_interval chose it)
        table[base + 6, u] = 100.0 if s.ack_link[u] == link else 0.0


@kernel
def fill_downlink_capacity(s, p, table: np.ndarray, lte_gain_db: float, nr_gain_db: float) -> None:
    """With uplink data, called from Python after the interval: the ``lte::dl::max_rate`` and ``nr::dl::max_rate``
    rows from the downlink's link budget (its SNR is the data direction's + ``*_gain_db``: sim._dl_gains) instead
    of the uplink's, and ``lte::dl::rb_usage`` −1 (the downlink's RBs carry only ACKs, modelled as a delay)."""
    for u in range(p.num_users):
        table[28, u] = lte_dl_bits_per_rb(s, p, u, lte_gain_db) * p.lte_rbs / 1000.0
        table[29, u] = -1.0
        if p.num_gnbs > 0:
            bits = nr_dl_bits_per_symbol(s, p, u, nr_gain_db)
            table[_NR_CELL_ROW + 1, u] = bits * DATA_SYMBOLS_PER_SLOT / (p.nr_slot_ms * 1000.0)


@kernel
def close_interval(s, p) -> None:
    """Hand the counters to the GMA system default, choose ACK links, clear the interval counters."""
    for u in range(p.num_users):
        # uplink "auto": ACKs go whole on the up link with the shorter uplink delay (access + backhaul); the
        # downlink queues do not delay ACKs, so downlink owd is no guide here (it made the choice flap)
        wifi_up = s.wifi_rate_mbps[u] > 0.0
        lte_up = s.lte_bits_per_rb[u] > 0
        wifi_ack = p.ack_delay_wifi_ms + p.wifi_backhaul_ms
        lte_ack = p.ack_delay_lte_ms + p.lte_backhaul_ms
        s.ack_link[u] = LINK_WIFI if wifi_up and (wifi_ack <= lte_ack or not lte_up) else LINK_LTE
        if p.num_gnbs > 0:
            nr_ack = p.ack_delay_nr_ms + p.nr_backhaul_ms
            best_ack = lte_ack if lte_up else np.inf
            if s.nr_bits_per_symbol[u] > 0 and nr_ack < best_ack:
                best_ack = nr_ack
                s.ack_link[u] = LINK_NR
            if wifi_up and wifi_ack <= best_ack:
                s.ack_link[u] = LINK_WIFI
        for link in range(s.st_tx_pkts.shape[1]):
            s.gma_last_tx_pkts[u, link] = s.st_tx_pkts[u, link]
            s.gma_last_rx_pkts[u, link] = s.st_link_rx_pkts[u, link]
            s.gma_last_owd_sum[u, link] = s.st_link_owd_sum[u, link]
            s.gma_last_drops[u, link] = s.st_drops[u, link]
            s.st_tx_pkts[u, link] = 0
            s.st_link_rx_bytes[u, link] = 0.0
            s.st_link_rx_pkts[u, link] = 0
            s.st_link_owd_sum[u, link] = 0.0
            s.st_link_owd_max[u, link] = 0.0
            s.st_drops[u, link] = 0
        s.st_tx_bytes[u] = 0.0
        s.st_rx_bytes[u] = 0.0
        s.st_rx_pkts[u] = 0
        s.st_owd_sum[u] = 0.0
        s.st_owd_max[u] = 0.0
        s.st_rbs[u] = 0.0
        s.st_nr_symbols[u] = 0
        for k in range(s.st_viol.shape[1]):  # dl violations and ul ACK counts
            s.st_viol[u, k] = 0
