"""NetworkGym network-stats records built from one interval's measurement table (design.md §5).

A record is ``{"source", "name", "id", "ts", "value"}``; per-user records carry user ids 1..N and one value
per user (−1 where the metric has no value this interval); per-cell records carry cell ids and one
``{"slice": [...], "value": [...]}`` object per cell. Units: Mbps, ms, %, metres. The table itself is computed
in numba (:mod:`netgym_lite.models.measurement`); this module only shapes it into dicts.
"""

from __future__ import annotations

import numpy as np

from .config_types import ScenarioConfig
from .models.measurement import METRIC_KEYS, ROW

# (source, name) of every table row, split once.
_SPLIT_KEYS = tuple(tuple(key.split("::", 1)) for key in METRIC_KEYS)
CELL_KEYS = ("lte::dl::cell::max_rate", "lte::dl::cell::rb_usage")


def cell_metrics(table: np.ndarray) -> dict[str, float]:
    """LTE per-cell metrics (one cell, one slice): Σ per-user capacity / users, Σ per-user RB usage (%)."""
    return {
        "lte::dl::cell::max_rate": float(table[ROW["lte::dl::max_rate"]].mean()),
        "lte::dl::cell::rb_usage": float(table[ROW["lte::dl::rb_usage"]].sum()),
    }


def build_records(table: np.ndarray, ts_ms: int, cfg: ScenarioConfig) -> list[dict]:
    """The interval's records, filtered by ``cfg.subscribed_network_stats`` (empty = all)."""
    wanted = set(cfg.subscribed_network_stats)
    ids = list(range(1, cfg.num_users + 1))
    rows = [i for i, key in enumerate(METRIC_KEYS) if not wanted or key in wanted]
    records = []
    if rows:
        values = np.round(table[rows], 6).tolist()  # one rounding and conversion for the whole table
        for i, row_values in zip(rows, values, strict=True):
            source, name = _SPLIT_KEYS[i]
            records.append({"source": source, "name": name, "id": list(ids), "ts": ts_ms, "value": row_values})
    for key, value in cell_metrics(table).items():
        if wanted and key not in wanted:
            continue
        source, name = key.split("::", 1)
        records.append({"source": source, "name": name, "id": [1], "ts": ts_ms,
                        "value": [{"slice": [0], "value": [round(value, 6)]}]})
    return records
