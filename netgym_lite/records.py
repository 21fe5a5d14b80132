"""NetworkGym network-stats records built from one interval's measurement table (design.md §5).

A record is ``{"source", "name", "id", "ts", "value"}``; per-user records carry user ids 1..N and one value
per user (−1 where the metric has no value this interval); per-cell records carry cell ids and one
``{"slice": [...], "value": [...]}`` object per cell, one value per slice. Units: Mbps, ms, %, metres. The
table itself is computed in numba (:mod:`netgym_lite.models.measurement`); this module only aggregates it
per slice and shapes it into dicts.
"""

from __future__ import annotations

import numpy as np

from .config_types import ScenarioConfig
from .models.measurement import METRIC_KEYS, ROW

# (source, name) of every table row, split once.
_SPLIT_KEYS = tuple(tuple(key.split("::", 1)) for key in METRIC_KEYS)
#: Per-cell, per-slice records (one LTE cell, id 1), in NetworkGym's nested form.
CELL_KEYS = (
    "lte::dl::cell::max_rate", "lte::dl::cell::rb_usage",
    "gma::dl::cell::rate", "gma::dl::cell::tx_rate", "gma::dl::cell::qos_rate", "gma::dl::cell::delay_violation",
)
#: The slicing action, reported back as applied (network_slicing only): RBG counts per slice.
ALLOCATION_KEYS = ("lte::drb_allocation", "lte::prb_allocation", "lte::srb_allocation")


def slice_metrics(table: np.ndarray, user_slice: np.ndarray, num_slices: int, rx_pkts: np.ndarray,
                  viol_pkts: np.ndarray) -> dict[str, list[float]]:
    """Per-slice values of :data:`CELL_KEYS` from the per-user table and the interval's packet counters.

    Rates (Mbps) and RB usage (% of the cell's RBs × TTIs) are sums over the slice's users; ``max_rate`` is the
    mean of their LTE capacities (Mbps with every RB); ``delay_violation`` is the share of the slice's
    delivered packets over the delay bound (%, −1 when none was delivered).
    """
    out: dict[str, list[float]] = {key: [] for key in CELL_KEYS}
    for sl in range(num_slices):
        users = user_slice == sl
        rx = int(rx_pkts[users].sum())
        out["lte::dl::cell::max_rate"].append(float(table[ROW["lte::dl::max_rate"], users].mean()) if users.any()
                                              else 0.0)
        out["lte::dl::cell::rb_usage"].append(float(table[ROW["lte::dl::rb_usage"], users].sum()))
        out["gma::dl::cell::rate"].append(float(table[ROW["gma::dl::rate"], users].sum()))
        out["gma::dl::cell::tx_rate"].append(float(table[ROW["gma::dl::tx_rate"], users].sum()))
        out["gma::dl::cell::qos_rate"].append(float(table[ROW["gma::dl::qos_rate"], users].sum()))
        out["gma::dl::cell::delay_violation"].append(100.0 * float(viol_pkts[users].sum()) / rx if rx else -1.0)
    return out


def _cell_record(key: str, ts_ms: int, values: list[float]) -> dict:
    source, name = key.split("::", 1)
    return {"source": source, "name": name, "id": [1], "ts": ts_ms,
            "value": [{"slice": list(range(len(values))), "value": [round(float(v), 6) for v in values]}]}


def build_records(table: np.ndarray, ts_ms: int, cfg: ScenarioConfig,
                  cell: dict[str, list[float]] | None = None, only: frozenset[str] | None = None) -> list[dict]:
    """The interval's records, filtered by ``cfg.subscribed_network_stats`` (empty = all).

    ``cell``: per-slice values by full key (:func:`slice_metrics`, plus the allocation records for slicing).
    ``only``: further restrict to these full keys (the vector envs' fast path builds just what their
    observation and reward read, with exactly the values the full records would carry).
    """
    wanted = set(cfg.subscribed_network_stats)
    ids = list(range(1, cfg.num_users + 1))
    rows = [i for i, key in enumerate(METRIC_KEYS)
            if (not wanted or key in wanted) and (only is None or key in only)]
    records = []
    if rows:
        values = np.round(table[rows], 6).tolist()  # one rounding and conversion for the whole table
        for i, row_values in zip(rows, values, strict=True):
            source, name = _SPLIT_KEYS[i]
            records.append({"source": source, "name": name, "id": list(ids), "ts": ts_ms, "value": row_values})
    for key, values in (cell or {}).items():
        if (not wanted or key in wanted) and (only is None or key in only):
            records.append(_cell_record(key, ts_ms, values))
    return records
