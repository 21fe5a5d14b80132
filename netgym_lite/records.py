"""NetworkGym network-stats records built from one interval's statistics (design.md §5).

A record is ``{"source", "name", "id", "ts", "value"}``; per-user records carry user ids 1..N and one value
per user (−1 where the metric has no value this interval); per-cell records carry cell ids and one
``{"slice": [...], "value": [...]}`` object per cell. Units: Mbps, ms, %, metres.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config_types import LINK_LTE, LINK_WIFI, ScenarioConfig

if TYPE_CHECKING:
    from .sim import IntervalStats

LINKS = (("wifi", LINK_WIFI), ("lte", LINK_LTE))


def _mean_or_missing(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), -1.0)


def metric_arrays(snap: IntervalStats, cfg: ScenarioConfig) -> dict[str, np.ndarray]:
    """Every per-user metric as an array, keyed by its full ``source::name``."""
    st = snap.st
    n = cfg.num_users
    to_mbps = 8.0 / (snap.interval_ms * 1000.0)
    rx_rate = st.rx_bytes * to_mbps
    link_rate = st.link_rx_bytes * to_mbps
    sent = st.tx_pkts.sum(axis=1)
    viol_pct = 100.0 * _mean_or_missing(st.viol.astype(np.float64), st.rx_pkts[:, None])
    viol_pct = np.where(st.rx_pkts[:, None] > 0, viol_pct, -1.0)
    loss = _mean_or_missing(st.drops.sum(axis=1).astype(np.float64), sent)
    qos_met = (st.rx_pkts > 0) & (viol_pct[:, 0] <= 100.0 * cfg.qos.delay_violation_target) & (
        loss <= cfg.qos.loss_target
    )
    burst = cfg.gma.split_burst
    split_pct = {"wifi": 100.0 * snap.wifi_units / burst, "lte": 100.0 * (burst - snap.wifi_units) / burst}
    lte_max_rate = snap.lte_bits_per_rb * cfg.lte.resource_block_num / 1000.0
    rb_usage = 100.0 * st.rbs / (cfg.lte.resource_block_num * snap.interval_ms)
    m: dict[str, np.ndarray] = {
        "gma::dl::rate": rx_rate,
        "gma::dl::tx_rate": st.tx_bytes * to_mbps,
        "gma::dl::qos_rate": np.where(qos_met, rx_rate, 0.0),
        "gma::dl::owd": _mean_or_missing(st.owd_sum, st.rx_pkts),
        "gma::dl::max_owd": np.where(st.rx_pkts > 0, st.owd_max, -1.0),
        "gma::dl::delay_violation": viol_pct[:, 0],
        "gma::dl::delay_test_1_violation": viol_pct[:, 1],
        "gma::dl::delay_test_2_violation": viol_pct[:, 2],
        "gma::dl::measurement_ok": np.ones(n),
        "gma::dl::missed_action": snap.missed_action.astype(np.float64),
        "gma::x_loc": snap.pos[:, 0],
        "gma::y_loc": snap.pos[:, 1],
    }
    for name, link in LINKS:
        got = st.link_rx_pkts[:, link]
        m[f"gma::{name}::dl::rate"] = link_rate[:, link]
        m[f"gma::{name}::dl::qos_rate"] = np.where(qos_met, link_rate[:, link], 0.0)
        m[f"gma::{name}::dl::owd"] = _mean_or_missing(st.link_owd_sum[:, link], got)
        m[f"gma::{name}::dl::max_owd"] = np.where(got > 0, st.link_owd_max[:, link], -1.0)
        m[f"gma::{name}::dl::priority"] = np.zeros(n)
        m[f"gma::{name}::dl::traffic_ratio"] = np.where(
            sent > 0, 100.0 * st.tx_pkts[:, link] / np.maximum(sent, 1), -1.0
        )
        m[f"gma::{name}::dl::split_ratio"] = split_pct[name]
    m.update({
        "lte::cell_id": np.ones(n),
        "lte::slice_id": np.zeros(n),
        "lte::dl::max_rate": lte_max_rate,
        "lte::dl::rb_usage": rb_usage,
        "wifi::cell_id": (snap.wifi_ap + 1).astype(np.float64),
        "wifi::dl::max_rate": snap.wifi_rate_mbps,
        "wifi::ul::max_rate": snap.wifi_rate_mbps,
    })
    return m


def _cell_metrics(snap: IntervalStats, cfg: ScenarioConfig, m: dict[str, np.ndarray]) -> dict[str, float]:
    """LTE per-cell metrics (one cell, one slice): Σ per-user capacity / users, Σ per-user RB usage."""
    return {
        "lte::dl::cell::max_rate": float(m["lte::dl::max_rate"].sum() / cfg.num_users),
        "lte::dl::cell::rb_usage": float(m["lte::dl::rb_usage"].sum()),
    }


def build_records(snap: IntervalStats, cfg: ScenarioConfig) -> list[dict]:
    """The interval's records, filtered by ``cfg.subscribed_network_stats`` (empty = all)."""
    wanted = set(cfg.subscribed_network_stats)
    ids = list(range(1, cfg.num_users + 1))
    m = metric_arrays(snap, cfg)
    records = []
    for key, values in m.items():
        if wanted and key not in wanted:
            continue
        source, name = key.split("::", 1)
        records.append({"source": source, "name": name, "id": ids, "ts": snap.ts_ms,
                        "value": np.round(values, 6).tolist()})
    for key, value in _cell_metrics(snap, cfg, m).items():
        if wanted and key not in wanted:
            continue
        source, name = key.split("::", 1)
        records.append({"source": source, "name": name, "id": [1], "ts": snap.ts_ms,
                        "value": [{"slice": [0], "value": [round(value, 6)]}]})
    return records
