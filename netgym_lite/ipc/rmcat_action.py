"""The rmcat action on the wire: one ``rmcat::srate`` record with a sending rate per NADA flow.

NetworkGym's rmcat client copies its ``rmcat::rtt`` measurement record (source ``rmcat``, flow ids from 0, ts)
and replaces the name with ``srate`` and the value with the Gymnasium action (bps per flow). netgym-lite accepts
that record alone or in a list; values are placed by the record's ``id`` (flow ids 0..F-1; positional without
ids). ``"value": []`` is the system default (NADA for every flow), ``null`` for one flow NADA for that flow.
A rate outside NetworkGym's action space [150000, 1500000] bps is an :class:`ActionError` (never clipped
silently: NADA's own rate range is the same, RFC 8698 §4.3 RMIN/RMAX as the adapter declares them).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from netgym_lite.errors import ActionError, ProtocolError
from netgym_lite.ipc.messages import _as_finite, _as_int, _is_number, as_record_list, full_key

ACTION_KEY = "rmcat::srate"
RATE_MIN_BPS, RATE_MAX_BPS = 150_000.0, 1_500_000.0


def _flow_index(ids: object, num_flows: int, n_values: int, where: str) -> list[int]:
    if ids is None:
        return list(range(n_values))
    if not isinstance(ids, list) or len(ids) != n_values:
        raise ActionError(f"{where}.id={ids!r} is invalid: allowed a list of {n_values} flow ids 0..{num_flows - 1}"
                          ", one per value")
    out: list[int] = []
    for j, fid in enumerate(ids):
        k = _as_int(fid, f"{where}.id[{j}]")
        if not 0 <= k < num_flows or k in out:
            raise ActionError(f"{where}.id[{j}]={fid!r} is invalid: allowed each flow id 0..{num_flows - 1} once")
        out.append(k)
    return out


def parse_rmcat_action(action_list: object, *, num_flows: int, last_ts: int | float | None) -> np.ndarray:
    """An env-action's ``action_list`` → sending rate per NADA flow (float64[F], NaN = NADA decides).

    Raises :class:`ActionError` (bad name, ids or values, naming the field and the allowed range) or
    :class:`ProtocolError` (a missing or stale ``ts``)."""
    records = as_record_list(action_list, f"one {ACTION_KEY} record or a list")
    rates = np.full(num_flows, np.nan)
    seen = False
    for i, rec in enumerate(records):
        where = f"action_list[{i}]" if isinstance(action_list, list) else "action_list"
        if not isinstance(rec, Mapping):
            raise ActionError(f"{where}={rec!r} is invalid: allowed an action record (dict)")
        if "ts" not in rec:
            raise ProtocolError(f"{where} has no ts: allowed the ts of the last measurement ({last_ts})")
        ts = rec["ts"]
        if last_ts is not None and (not _is_number(ts) or float(ts) != float(last_ts)):
            raise ProtocolError(f"{where}.ts={ts!r} is stale: allowed only the ts of the last measurement sent "
                                f"({last_ts})")
        key = full_key(rec)
        if key not in (ACTION_KEY, "srate"):
            raise ActionError(f"{where}.name={key!r} is invalid: allowed {ACTION_KEY} (rmcat's action)")
        if seen:
            raise ActionError(f"{where} repeats {ACTION_KEY}: allowed one rate record per step")
        seen = True
        value = rec.get("value")
        allowed = (f"a list of {num_flows} sending rates in [{RATE_MIN_BPS:.0f}, {RATE_MAX_BPS:.0f}] bps "
                   "(null = NADA for that flow), or [] (system default)")
        if not isinstance(value, list) or (value and len(value) != num_flows):
            raise ActionError(f"{where}.value={value!r} is invalid: allowed {allowed}")
        if not value:
            continue
        for j, k in enumerate(_flow_index(rec.get("id"), num_flows, len(value), where)):
            v = value[j]
            if v is None:
                continue
            rate = _as_finite(v, f"{where}.value[{j}]", allowed)
            if not RATE_MIN_BPS <= rate <= RATE_MAX_BPS:
                raise ActionError(f"{where}.value[{j}]={v!r} is out of range: allowed a sending rate in "
                                  f"[{RATE_MIN_BPS:.0f}, {RATE_MAX_BPS:.0f}] bps or null")
            rates[k] = rate
    return rates
