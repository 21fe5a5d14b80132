"""The network-slicing action on the wire: ``drb_allocation`` / ``prb_allocation`` / ``srb_allocation`` records.

NetworkGym's slicing client sends three records templated on ``lte::dl::cell::max_rate`` (design.md §6), each
with ``value = [{"slice": [0, 1, ...], "value": [counts as floats]}]`` for the one LTE cell: dedicated,
prioritized and shared RBGs per slice. netgym-lite accepts any subset (a slice or a kind left out keeps the
scenario's configured count), rounds non-integral counts to the nearest integer, and treats counts above the
cell's RBGs as "all". ``[]``, records whose ``value`` is ``[]``, or whose cell entry has an empty ``value`` list
(``[{"slice": [0, 1], "value": []}]``) are the system default (the configured static allocation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from netgym_lite.errors import ActionError, ProtocolError
from netgym_lite.ipc.messages import (
    _as_finite,
    _as_int,
    _is_number,
    as_record_list,
    full_key,
    missing_ts_error,
)

#: Record name → column of the (S, 3) allocation: dedicated, prioritized, shared RBGs.
ALLOCATION_NAMES = {"drb_allocation": 0, "prb_allocation": 1, "srb_allocation": 2}
_ALLOWED = ", ".join(f"lte::{n}" for n in ALLOCATION_NAMES)


def _name(record: Mapping[str, Any]) -> str:
    key = full_key(record)
    return key[len("lte::"):] if key.startswith("lte::") else key


def _parse_cell(entry: object, num_slices: int, where: str, out: np.ndarray, column: int) -> None:
    if not isinstance(entry, Mapping):
        raise ActionError(f"{where}={entry!r} is invalid: allowed {{\"slice\": [...], \"value\": [...]}}")
    slices, values = entry.get("slice"), entry.get("value")
    if isinstance(slices, list) and values == []:
        return  # NetworkGym's system default form: the cell's entry with an empty value list
    if not isinstance(slices, list) or not isinstance(values, list) or len(slices) != len(values):
        raise ActionError(f"{where} is invalid: allowed equally long lists \"slice\" (slice ids 0..{num_slices - 1}) "
                          "and \"value\" (RBG counts)")
    seen: set[int] = set()
    for j, (sl, v) in enumerate(zip(slices, values, strict=True)):
        k = _as_int(sl, f"{where}.slice[{j}]")
        if not 0 <= k < num_slices or k in seen:
            raise ActionError(f"{where}.slice[{j}]={sl!r} is invalid: allowed each slice id 0..{num_slices - 1} once")
        seen.add(k)
        count = _as_finite(v, f"{where}.value[{j}]", "an RBG count >= 0")
        if count < 0:
            raise ActionError(f"{where}.value[{j}]={v!r} is out of range: allowed an RBG count >= 0")
        out[k, column] = float(np.rint(count))


def parse_slicing_action(action_list: object, *, num_slices: int, last_ts: int | float | None) -> np.ndarray | None:
    """An env-action's ``action_list`` → per-slice RBG caps ``float64[S, 3]`` (NaN = keep the configured count),
    or None for the system default. Raises :class:`ActionError` / :class:`ProtocolError` (stale ``ts``) naming
    the field and what is allowed."""
    records = as_record_list(action_list, f"a list of {_ALLOWED} records")
    caps = np.full((num_slices, 3), np.nan)
    given = False
    seen: set[str] = set()
    for i, rec in enumerate(records):
        where = f"action_list[{i}]" if isinstance(action_list, list) else "action_list"
        if not isinstance(rec, Mapping):
            raise ActionError(f"{where}={rec!r} is invalid: allowed an action record (dict)")
        if "ts" not in rec:
            raise missing_ts_error(rec, where, last_ts)
        ts = rec["ts"]
        if last_ts is not None and (not _is_number(ts) or float(ts) != float(last_ts)):
            raise ProtocolError(f"{where}.ts={ts!r} is stale: allowed only the ts of the last measurement sent "
                                f"({last_ts})")
        name = _name(rec)
        if name not in ALLOCATION_NAMES:
            raise ActionError(f"{where}.name={full_key(rec)!r} is invalid: allowed one of {_ALLOWED} "
                              "(network_slicing's action)")
        if name in seen:
            raise ActionError(f"{where} repeats {name}: allowed each allocation record once per step")
        seen.add(name)
        value = rec.get("value")
        if not isinstance(value, list) or len(value) > 1:
            raise ActionError(f"{where}.value={value!r} is invalid: allowed [] (system default) or one "
                              "{\"slice\": [...], \"value\": [...]} object for the one LTE cell")
        if value:
            ids = rec.get("id", [1])
            if not isinstance(ids, list) or len(ids) != 1 or not _is_number(ids[0]) or float(ids[0]) != 1.0:
                raise ActionError(f"{where}.id={ids!r} is invalid: allowed [1] (the one LTE cell)")
            _parse_cell(value[0], num_slices, f"{where}.value[0]", caps, ALLOCATION_NAMES[name])
            given = given or not np.isnan(caps[:, ALLOCATION_NAMES[name]]).all()
    return caps if given else None
