"""NetworkGym network-stats records built from one interval's measurement table (design.md §5).

A record is ``{"source", "name", "id", "ts", "value"}``; per-user records carry user ids 1..N and one value
per user (−1 where the metric has no value this interval); per-cell records carry cell ids and one
``{"slice": [...], "value": [...]}`` object per cell, one value per slice. Units: Mbps, ms, %, metres. The
table itself is computed in numba (:mod:`netgym_lite.models.measurement`); this module only aggregates it
per slice and shapes it into dicts.
"""

from __future__ import annotations

import functools

import numpy as np

from .config_types import ScenarioConfig
from .models.measurement import ALL_METRIC_KEYS, ROW


def swap_direction(key: str) -> str:
    """A ``gma`` key with its direction swapped (``dl`` ↔ ``ul``); any other key unchanged.

    The kernels call the data direction "dl" and the ACK direction "ul". With uplink data
    (``downlink_traffic: false``) the records go out with these swapped: the data under ``gma::…ul::`` names,
    the ACKs under ``gma::…dl::``. The radio keys (``lte::dl::max_rate``, ``wifi::ul::max_rate``, …) keep their
    meaning either way.
    """
    if not key.startswith("gma::"):
        return key
    if "::dl::" in key:
        return key.replace("::dl::", "::ul::", 1)
    if "::ul::" in key:
        return key.replace("::ul::", "::dl::", 1)
    return key


#: Full key of every table row as sent, by data direction (True: downlink data); a scenario without gNBs has
#: only the first len(METRIC_KEYS) rows.
_WIRE_KEYS = {True: ALL_METRIC_KEYS, False: tuple(swap_direction(key) for key in ALL_METRIC_KEYS)}
# (source, name) of every table row, split once
_SPLIT_KEYS = {down: tuple(tuple(key.split("::", 1)) for key in keys) for down, keys in _WIRE_KEYS.items()}
#: Per-cell, per-slice records (one LTE cell, id 1), in NetworkGym's nested form (downlink data's names).
CELL_KEYS = (
    "lte::dl::cell::max_rate",
    "lte::dl::cell::rb_usage",
    "gma::dl::cell::rate",
    "gma::dl::cell::tx_rate",
    "gma::dl::cell::qos_rate",
    "gma::dl::cell::delay_violation",
    "gma::ul::cell::rate",
    "gma::ul::cell::tx_rate",
    "gma::ul::cell::qos_rate",
    "gma::ul::cell::delay_violation",
)
#: The slicing action, reported back as applied (network_slicing only): RBG counts per slice.
ALLOCATION_KEYS = ("lte::drb_allocation", "lte::prb_allocation", "lte::srb_allocation")


#: Table rows summed (or, for the first, averaged) per slice, in the order of the first five :data:`CELL_KEYS`.
_CELL_ROWS = np.array(
    [
        ROW["lte::dl::max_rate"],
        ROW["lte::dl::rb_usage"],
        ROW["gma::dl::rate"],
        ROW["gma::dl::tx_rate"],
        ROW["gma::dl::qos_rate"],
        ROW["gma::ul::rate"],
        ROW["gma::ul::tx_rate"],
        ROW["gma::ul::qos_rate"],
    ]
)
_UL_VIOLATION_ROW = ROW["gma::ul::delay_violation"]


def slice_metrics(
    table: np.ndarray, user_slice: np.ndarray, num_slices: int, rx_pkts: np.ndarray, viol_pkts: np.ndarray,
    downlink: bool = True,
) -> dict[str, list[float]]:
    """Per-slice values of :data:`CELL_KEYS` from the per-user table and the interval's packet counters, keyed
    by their names as sent (``downlink`` False: uplink data, the ``gma`` names swapped).

    Rates (Mbps) and RB usage (% of the cell's RBs × TTIs) are sums over the slice's users (RB usage −1 with
    uplink data: the downlink's RBs are not simulated); ``max_rate`` is the mean of their LTE capacities (Mbps
    with every RB); ``delay_violation`` is the share of the slice's delivered data packets over the delay bound
    (%, −1 when none was delivered); for the ACK direction the users' shares weighted by their ACK rates (every
    ACK has the same size, so this is the share of the slice's ACKs).
    """
    out: dict[str, list[float]] = {key: [] for key in CELL_KEYS}
    rows = table[_CELL_ROWS]  # one gather for the rows; each row then reduces as a contiguous 1-D array
    ack_viol = table[_UL_VIOLATION_ROW]
    for sl in range(num_slices):
        users = user_slice == sl
        n = int(np.count_nonzero(users))
        mine = rows if n == users.size else rows[:, users]
        # Row by row on contiguous rows: numpy's pairwise summation then adds in exactly the order of
        # table[row, users].sum(), so the values do not change in the last bit.
        sums = [float(np.add.reduce(row)) for row in mine]
        rx_users, viol_users = (rx_pkts, viol_pkts) if n == users.size else (rx_pkts[users], viol_pkts[users])
        rx = int(rx_users.sum())
        out["lte::dl::cell::max_rate"].append(float(np.float64(sums[0]) / n) if n else 0.0)
        out["lte::dl::cell::rb_usage"].append(sums[1] if downlink else -1.0)
        out["gma::dl::cell::rate"].append(sums[2])
        out["gma::dl::cell::tx_rate"].append(sums[3])
        out["gma::dl::cell::qos_rate"].append(sums[4])
        out["gma::dl::cell::delay_violation"].append(100.0 * float(viol_users.sum()) / rx if rx else -1.0)
        # the ACK rows are −1 when nothing counted them (Params.ul_stats off): the cell's then too
        ack_rate = np.maximum(mine[5], 0.0)
        weight = float(np.add.reduce(ack_rate))
        mine_viol = ack_viol if n == users.size else ack_viol[users]
        counted = bool(np.all(mine[5] >= 0.0)) if n else False
        out["gma::ul::cell::rate"].append(sums[5] if counted else -1.0)
        out["gma::ul::cell::tx_rate"].append(sums[6] if counted else -1.0)
        out["gma::ul::cell::qos_rate"].append(sums[7] if counted else -1.0)
        out["gma::ul::cell::delay_violation"].append(
            float(np.add.reduce(ack_rate * np.maximum(mine_viol, 0.0))) / weight if counted and weight > 0
            else -1.0)
    if downlink:
        return out
    return {swap_direction(key): values for key, values in out.items()}


_SPLIT: dict[str, tuple[str, str]] = {}


def _split_key(key: str) -> tuple[str, str]:
    """``(source, name)`` of a full key, cached (the same few keys every interval)."""
    parts = _SPLIT.get(key)
    if parts is None:
        source, name = key.split("::", 1)
        parts = _SPLIT[key] = (source, name)
    return parts


def _cell_record(key: str, ts_ms: int, values: list[float]) -> dict:
    source, name = _split_key(key)
    return {
        "source": source,
        "name": name,
        "id": [1],
        "ts": ts_ms,
        "value": [{"slice": list(range(len(values))), "value": [round(float(v), 6) for v in values]}],
    }


@functools.lru_cache(maxsize=64)
def _table_rows(subscribed: tuple[str, ...], only: frozenset[str] | None, num_rows: int,
                downlink: bool = True) -> tuple[list[int], bool]:
    """Rows of a ``num_rows``-row measurement table to send for this subscription and ``only`` filter (both by
    the names as sent), and whether that is every row (the same few combinations recur every interval)."""
    wanted = set(subscribed)
    rows = [
        i
        for i, key in enumerate(_WIRE_KEYS[downlink][:num_rows])
        if (not wanted or key in wanted) and (only is None or key in only)
    ]
    return rows, len(rows) == num_rows


def build_records(
    table: np.ndarray,
    ts_ms: int,
    cfg: ScenarioConfig,
    cell: dict[str, list[float]] | None = None,
    only: frozenset[str] | None = None,
) -> list[dict]:
    """The interval's records, filtered by ``cfg.subscribed_network_stats`` (empty = all).

    ``cell``: per-slice values by full key (:func:`slice_metrics`, plus the allocation records for slicing).
    ``only``: further restrict to these full keys (the vector envs' fast path builds just what their
    observation and reward read, with exactly the values the full records would carry).
    """
    subscribed = tuple(cfg.subscribed_network_stats)
    rows, every_row = _table_rows(subscribed, only, table.shape[0], cfg.downlink)
    split_keys = _SPLIT_KEYS[cfg.downlink]
    records = []
    if rows:
        ids = _ordered_ids(cfg.num_users)
        # one rounding and conversion for the whole table (no gather when every row is sent)
        values = np.round(table if every_row else table[rows], 6).tolist()
        for i, row_values in zip(rows, values, strict=True):
            source, name = split_keys[i]
            records.append({"source": source, "name": name, "id": ids[:], "ts": ts_ms, "value": row_values})
    if cell:
        wanted = frozenset(subscribed)
        for key, values in cell.items():
            if (not wanted or key in wanted) and (only is None or key in only):
                records.append(_cell_record(key, ts_ms, values))
    return records


_IDS: dict[int, list[int]] = {}


def _ordered_ids(num_users: int) -> list[int]:
    """``[1, ..., num_users]``, cached; every record gets its own copy."""
    ids = _IDS.get(num_users)
    if ids is None:
        ids = _IDS[num_users] = list(range(1, num_users + 1))
    return ids
