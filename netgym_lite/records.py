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
from .core.jit import kernel
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
_CELL_KEYS_UPLINK_DATA = tuple(map(swap_direction, CELL_KEYS))


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
    ACK has the same size, so this is the share of the slice's ACKs). Every sum equals numpy's
    ``table[row, users].sum()`` in the last bit.
    """
    out = np.empty((len(CELL_KEYS), num_slices))
    gather = np.empty((len(_CELL_ROWS) + 2, user_slice.size))
    stack, partial = np.empty((PAIRWISE_STACK, 3), np.int64), np.empty(PAIRWISE_STACK)
    _slice_cells(table, _CELL_ROWS, _UL_VIOLATION_ROW, user_slice, rx_pkts, viol_pkts, downlink, out, gather,
                 stack, partial)
    keys = CELL_KEYS if downlink else _CELL_KEYS_UPLINK_DATA
    return dict(zip(keys, out.tolist(), strict=True))


@kernel
def _pairwise_block(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise summation of ``a[lo:lo+n]`` for ``n`` ≤ 128: a plain loop below 8 values, else eight
    interleaved partial sums and the rest (``pairwise_sum`` in numpy's ``umath/loops_utils.h.src``)."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


#: Rows of the work stack :func:`_pairwise_sum` needs: the split tree of n values is ~log2(n / 128) deep.
PAIRWISE_STACK = 64


@kernel
def _pairwise_sum(a: np.ndarray, n: int, stack: np.ndarray, partial: np.ndarray) -> float:
    """Sum of ``a[:n]`` added in numpy's order, so that ``0.0 + _pairwise_sum(...)`` equals ``np.add.reduce(a[:n])``
    bit for bit. Above 128 values numpy halves the range (the left part a multiple of 8) and adds the halves'
    sums; the tree is walked here with an explicit stack (``stack``: ``(PAIRWISE_STACK, 3)`` int64, ``partial``:
    ``PAIRWISE_STACK`` float64) because numba's cache cannot hold a recursive function."""
    if n <= 128:
        return _pairwise_block(a, 0, n)
    top = 0  # frames: start, length, stage (0: left half next, 1: right half next, 2: add the two)
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, n, 0
    done = 0  # sums of finished subtrees, in order
    while top >= 0:
        lo, m, stage = stack[top, 0], stack[top, 1], stack[top, 2]
        if m <= 128:
            partial[done] = _pairwise_block(a, lo, m)
            done += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if stage == 2:
            done -= 1
            partial[done - 1] = partial[done - 1] + partial[done]
            top -= 1
            continue
        stack[top, 2] = stage + 1
        top += 1
        stack[top, 0], stack[top, 1], stack[top, 2] = (lo, half, 0) if stage == 0 else (lo + half, m - half, 0)
    return partial[0]


@kernel
def _slice_cells(table: np.ndarray, rows: np.ndarray, ack_viol_row: int, user_slice: np.ndarray,
                 rx_pkts: np.ndarray, viol_pkts: np.ndarray, downlink: bool, out: np.ndarray,
                 gather: np.ndarray, stack: np.ndarray, partial: np.ndarray) -> None:
    """:func:`slice_metrics` into ``out`` (rows in :data:`CELL_KEYS` order, one column per slice); ``gather``
    holds one slice's users per table row, then their clipped ACK rates and ACK-weighted violation shares;
    ``stack`` and ``partial`` are :func:`_pairwise_sum`'s."""
    num_rows = rows.size
    for sl in range(out.shape[1]):
        n = 0
        rx = 0
        viol = 0
        counted = True
        for u in range(user_slice.size):
            if user_slice[u] != sl:
                continue
            for r in range(num_rows):
                gather[r, n] = table[rows[r], u]
            ack = table[rows[5], u]
            share = table[ack_viol_row, u]
            counted = counted and ack >= 0.0  # the ACK rows are −1 when nothing counted them (ul_stats off)
            # np.maximum(x, 0.0): NaN and −0.0 pass through
            ack = ack if (ack >= 0.0 or ack != ack) else 0.0
            share = share if (share >= 0.0 or share != share) else 0.0
            gather[num_rows, n] = ack
            gather[num_rows + 1, n] = ack * share
            rx += rx_pkts[u]
            viol += viol_pkts[u]
            n += 1
        sums = gather[:, 0]  # reused as the sums: column 0 is read before it is written
        for r in range(num_rows + 2):
            sums[r] = 0.0 + _pairwise_sum(gather[r], n, stack, partial)
        counted = counted and n > 0
        out[0, sl] = sums[0] / n if n else 0.0
        out[1, sl] = sums[1] if downlink else -1.0
        out[2, sl] = sums[2]
        out[3, sl] = sums[3]
        out[4, sl] = sums[4]
        out[5, sl] = 100.0 * float(viol) / rx if rx else -1.0
        out[6, sl] = sums[5] if counted else -1.0
        out[7, sl] = sums[6] if counted else -1.0
        out[8, sl] = sums[7] if counted else -1.0
        weight = sums[num_rows]
        out[9, sl] = sums[num_rows + 1] / weight if counted and weight > 0 else -1.0


def round6(values: np.ndarray) -> np.ndarray:
    """``np.round(values, 6)`` (a new array, equal bit for bit), computed in one numba pass instead of numpy's
    three (scale, round half to even, unscale)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(values.shape)
    _round6(values, out)
    return out


@kernel
def _round6(values: np.ndarray, out: np.ndarray) -> None:
    # numpy's round for decimals > 0: y = x * 10**d; rint(y); y / 10**d (numpy/_core/src/multiarray/calculation.c)
    flat_in, flat_out = values.reshape(values.size), out.reshape(out.size)
    for i in range(flat_in.size):
        flat_out[i] = np.rint(flat_in[i] * 1e6) / 1e6


def rounded_cells(cell: dict[str, list[float]], subscribed: tuple[str, ...],
                  only: frozenset[str] | None) -> list[tuple[str, str, str, list[float]]]:
    """``(key, source, name, values)`` of the per-cell records of ``cell`` that pass the subscription and ``only``,
    the values rounded to 6 decimals as the records carry them."""
    sent = _cell_keys_sent(tuple(cell), subscribed, only)
    # one rounding pass over every value (Python's round: correctly rounded, as the records always were)
    rounded = [round(float(v), 6) for key, _, _ in sent for v in cell[key]]
    out = []
    start = 0
    for key, source, name in sent:
        n = len(cell[key])
        out.append((key, source, name, rounded[start:start + n]))
        start += n
    return out


def _cell_records(cell: dict[str, list[float]], ts_ms: int, subscribed: tuple[str, ...],
                  only: frozenset[str] | None) -> list[dict]:
    """The per-cell records of ``cell`` that pass the subscription and ``only``, values rounded to 6 decimals."""
    return [{
        "source": source,
        "name": name,
        "id": [1],
        "ts": ts_ms,
        "value": [{"slice": _id_list(0, len(values))[:], "value": values}],
    } for _, source, name, values in rounded_cells(cell, subscribed, only)]


@functools.lru_cache(maxsize=64)
def _cell_keys_sent(keys: tuple[str, ...], subscribed: tuple[str, ...],
                    only: frozenset[str] | None) -> tuple[tuple[str, str, str], ...]:
    """``(key, source, name)`` of the cell keys that pass the subscription and ``only`` (the same few
    combinations recur every interval)."""
    wanted = frozenset(subscribed)
    return tuple((key, *key.split("::", 1)) for key in keys
                 if (not wanted or key in wanted) and (only is None or key in only))


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
        ids = _id_list(1, cfg.num_users)
        # one rounding and conversion for the whole table (no gather when every row is sent)
        values = round6(table if every_row else table[rows]).tolist()
        for i, row_values in zip(rows, values, strict=True):
            source, name = split_keys[i]
            records.append({"source": source, "name": name, "id": ids[:], "ts": ts_ms, "value": row_values})
    if cell:
        records += _cell_records(cell, ts_ms, subscribed, only)
    return records


def sent_table_keys(cfg: ScenarioConfig, only: frozenset[str], num_rows: int) -> tuple[list[int], list[str]]:
    """The rows of a ``num_rows``-row measurement table whose records :func:`build_records` would send when
    restricted to the full keys ``only`` (names as sent), and those keys."""
    rows, _ = _table_rows(tuple(cfg.subscribed_network_stats), only, num_rows, cfg.downlink)
    return rows, [_WIRE_KEYS[cfg.downlink][i] for i in rows]


@functools.lru_cache(maxsize=64)
def _id_list(first: int, count: int) -> list[int]:
    """``[first, ..., first + count - 1]``, cached (user ids from 1, slice ids from 0); callers copy it, every
    record getting its own list."""
    return list(range(first, first + count))
