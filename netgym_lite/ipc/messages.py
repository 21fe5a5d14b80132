"""NetworkGym northbound messages: type constants, builders, validators and action parsing.

A message is a JSON object (a Python ``dict`` here) with a ``"type"`` field (design.md §4):

================== =============== ==========================================================================
type               direction       shape
================== =============== ==========================================================================
env-start          client→server   the whole ``env_config`` dict of the scenario (its ``type`` is env-start)
env-measurement    server→client   ``{"network_stats": [records], "workload_stats": {...}}`` (stats optional)
env-action         client→server   ``{"action_list": <one record or a list of records>}``
env-error          server→client   ``{"error_msg": "..."}`` (netgym-lite adds ``error_type``, the class name)
no-available-worker server→client  optionally ``{"msg": "..."}``
env-end            worker→server   not forwarded to clients
================== =============== ==========================================================================

A record is ``{"source", "name", "id", "ts", "value"}`` (design.md §5). An action record is a copy of a
measurement record (``source``, ``id``, ``ts``) with its own ``name`` and ``value``; extra keys are ignored.
This module moves and checks messages only; it never imports the models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netgym_lite.errors import ActionError, NetgymError, ProtocolError

ENV_START = "env-start"
ENV_MEASUREMENT = "env-measurement"
ENV_ACTION = "env-action"
ENV_ERROR = "env-error"
NO_AVAILABLE_WORKER = "no-available-worker"
ENV_END = "env-end"
ENV_HELLO = "env-hello"

#: Every message type netgym-lite knows.
MESSAGE_TYPES = (ENV_START, ENV_MEASUREMENT, ENV_ACTION, ENV_ERROR, NO_AVAILABLE_WORKER, ENV_END, ENV_HELLO)

#: The five keys of a network-stats record.
RECORD_KEYS = ("source", "name", "id", "ts", "value")

#: Full keys (``source::name``) of the action records the TrafficMgmt server understands.
SPLIT_RATIO_KEY = "gma::wifi::dl::split_ratio"
SPLIT_WEIGHT_KEY = "gma::dl::split_weight"
ACTION_KEYS = (SPLIT_RATIO_KEY, SPLIT_WEIGHT_KEY)
#: With uplink data (``downlink_traffic: false``) these steer the data too, as the downlink names do (which
#: NetworkGym's clients send whatever the direction).
UPLINK_ACTION_KEYS = ("gma::wifi::ul::split_ratio", "gma::ul::split_weight")

_TIME_LAPSE_KEYS = ("time_lapse_ms", "sim_time_lapse_ms")

#: Keys of NetworkGym's 2023 measurement table (name, unit, start_ts, end_ts, direction, group, cid, user, value)
#: and of its actions (``split_ratio`` per ``cid`` with ``end_ts``), whose records nest ``{"user": [...],
#: "value": [...]}`` under the key ``""``. Out of scope (design.md §4): named in the error, never parsed.
TABLE_2023_KEYS = frozenset({"", "cid", "user", "start_ts", "end_ts", "group", "direction", "unit"})


# ----------------------------------------------------------------------------------------------- builders
def env_start(env_config: Mapping[str, Any]) -> dict:
    """Return the env-start message for ``env_config`` (a copy whose ``type`` is ``env-start``)."""
    if not isinstance(env_config, Mapping):
        raise ProtocolError(f"env_config={type(env_config).__name__} is invalid: allowed a dict")
    msg = dict(env_config)
    msg["type"] = ENV_START
    return msg


def env_measurement(network_stats: list[dict], workload_stats: Mapping[str, Any] | None = None) -> dict:
    """Return an env-measurement message; checks ``network_stats`` is a non-empty list and the stats rule."""
    msg: dict[str, Any] = {"type": ENV_MEASUREMENT, "network_stats": network_stats}
    if workload_stats is not None:
        msg["workload_stats"] = dict(workload_stats)
    _check_measurement_shape(msg)
    return msg


def env_action(action_list: dict | list[dict]) -> dict:
    """Return an env-action message carrying one action record or a list of records."""
    return {"type": ENV_ACTION, "action_list": action_list}


def env_error(error: str | BaseException) -> dict:
    """Return an env-error message; an exception contributes its message and its class name.

    ``error_type`` is a netgym-lite extension (NetworkGym's client reads only ``error_msg``): the client
    uses it to raise the same typed error on its side.
    """
    if isinstance(error, BaseException):
        etype = type(error).__name__ if isinstance(error, NetgymError) else "NetgymError"
        return {"type": ENV_ERROR, "error_msg": str(error), "error_type": etype}
    return {"type": ENV_ERROR, "error_msg": str(error)}


def no_available_worker(msg: str | None = None) -> dict:
    """Return a no-available-worker message, optionally with a human-readable ``msg``."""
    out: dict[str, Any] = {"type": NO_AVAILABLE_WORKER}
    if msg is not None:
        out["msg"] = msg
    return out


def env_end() -> dict:
    """Return the env-end message a worker/session emits when its session is over (never forwarded)."""
    return {"type": ENV_END}


# --------------------------------------------------------------------------------------------- validators
def message_type(msg: object) -> str:
    """Return the ``type`` of a message; :class:`ProtocolError` if it is not a dict with a string type."""
    if type(msg) is not dict and not isinstance(msg, Mapping):  # the exact-type test spares the ABC check
        raise ProtocolError(f"message={type(msg).__name__} is invalid: allowed a JSON object (dict)")
    mtype = msg.get("type")
    if not isinstance(mtype, str):
        raise ProtocolError(f"type={mtype!r} is invalid: allowed one of {', '.join(MESSAGE_TYPES)}")
    return mtype


def validate_message(msg: object) -> str:
    """Validate a message of any known type and return its type (:class:`ProtocolError` otherwise)."""
    mtype = message_type(msg)
    assert isinstance(msg, Mapping)
    if mtype == ENV_MEASUREMENT:
        validate_measurement(msg)
    elif mtype == ENV_ACTION:
        if "action_list" not in msg:
            raise ProtocolError(
                "action_list is missing: an env-action carries one record or a list of records"
            )
        al = msg["action_list"]
        if not isinstance(al, (Mapping, list)):
            raise ProtocolError(
                f"action_list={al!r} is invalid: allowed one record (dict) or a list of records"
            )
    elif mtype == ENV_ERROR:
        if not isinstance(msg.get("error_msg"), str):
            raise ProtocolError(f"error_msg={msg.get('error_msg')!r} is invalid: allowed a string")
    elif mtype == ENV_START:
        pass  # the env_config itself is validated by netgym_lite.config.parse_env_config
    elif mtype not in MESSAGE_TYPES:
        raise ProtocolError(f"type={mtype!r} is invalid: allowed one of {', '.join(MESSAGE_TYPES)}")
    return mtype


def _check_measurement_shape(msg: Mapping[str, Any]) -> None:
    stats = msg.get("network_stats")
    if not isinstance(stats, list) or not stats:
        raise ProtocolError(
            f"network_stats={stats!r} is invalid: allowed a non-empty list of records "
            "(NetworkGym's client treats an empty list as a failure)"
        )
    ws = msg.get("workload_stats")
    if ws is not None:
        if not isinstance(ws, Mapping):
            raise ProtocolError(f"workload_stats={ws!r} is invalid: allowed a dict")
        present = [k for k in _TIME_LAPSE_KEYS if k in ws]
        if len(present) == 1:
            raise ProtocolError(
                f"workload_stats has {present[0]} but not the other: allowed both time_lapse_ms and "
                "sim_time_lapse_ms or neither (NetworkGym's client reads sim_time_lapse_ms whenever "
                "time_lapse_ms is present)"
            )


def validate_record(record: object, where: str = "record") -> None:
    """Check one network-stats record has the five keys with sane types (:class:`ProtocolError`)."""
    if not isinstance(record, Mapping):
        raise ProtocolError(f"{where}={record!r} is invalid: allowed a dict with keys {RECORD_KEYS}")
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        if TABLE_2023_KEYS & record.keys():
            raise ProtocolError(
                f"{where} has keys {sorted(record)}: that is NetworkGym's 2023 measurement-table format (cid, user, "
                f"a nested '' column), not supported: allowed records with exactly the keys {RECORD_KEYS}"
            )
        raise ProtocolError(f"{where} lacks {missing}: a record has exactly the keys {RECORD_KEYS}")
    extra = [k for k in record if k not in RECORD_KEYS]
    if extra:
        raise ProtocolError(f"{where} has extra keys {extra}: a record has exactly the keys {RECORD_KEYS}")
    for key in ("source", "name"):
        if not isinstance(record[key], str):
            raise ProtocolError(f"{where}.{key}={record[key]!r} is invalid: allowed a string")
    if not isinstance(record["id"], list) or not isinstance(record["value"], list):
        raise ProtocolError(
            f"{where}: id and value must be lists, got {record['id']!r} and {record['value']!r}"
        )
    if len(record["id"]) != len(record["value"]):
        raise ProtocolError(
            f"{where} ({record['source']}::{record['name']}): id has {len(record['id'])} entries but "
            f"value has {len(record['value'])}: allowed one value per id"
        )
    if not _is_number(record["ts"]):
        raise ProtocolError(f"{where}.ts={record['ts']!r} is invalid: allowed a number (sim ms)")


def validate_measurement(msg: Mapping[str, Any]) -> list[dict]:
    """Validate an env-measurement (non-empty stats, every record well-formed, one ts) and return its records."""
    _check_measurement_shape(msg)
    stats = msg["network_stats"]
    ts0 = None
    for i, rec in enumerate(stats):
        validate_record(rec, f"network_stats[{i}]")
        if ts0 is None:
            ts0 = rec["ts"]
        elif rec["ts"] != ts0:
            raise ProtocolError(
                f"network_stats[{i}].ts={rec['ts']!r} differs from network_stats[0].ts={ts0!r}: "
                "allowed one ts per measurement"
            )
    return stats


def records_ts(records: Sequence[Mapping[str, Any]]) -> int:
    """The ts of a measurement (the ts of its first record) as an int."""
    if not records:
        raise ProtocolError("network_stats=[] is invalid: allowed a non-empty list of records")
    return int(records[0]["ts"])


def full_key(record: Mapping[str, Any]) -> str:
    """``source::name`` of a record (just ``name`` when there is no source or the name already has it)."""
    name = str(record.get("name", ""))
    source = record.get("source")
    if not source or name.startswith(f"{source}::"):
        return name
    return f"{source}::{name}"


# --------------------------------------------------------------------------------------------- actions
def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _as_int(x: object, field: str) -> int:
    """An integer, accepting integral floats (pandas round trips turn ids into floats)."""
    if _is_number(x):
        xf = float(x)  # type: ignore[arg-type]
        if math.isfinite(xf) and xf == int(xf):
            return int(xf)
    raise ActionError(f"{field}={x!r} is invalid: allowed an integer (integral floats count as integers)")


def _as_finite(x: object, field: str, allowed: str) -> float:
    if not _is_number(x):
        raise ActionError(f"{field}={x!r} is invalid: allowed {allowed}")
    xf = float(x)  # type: ignore[arg-type]
    if not math.isfinite(xf):
        raise ActionError(f"{field}={x!r} is invalid: allowed {allowed}")
    return xf


_ORDERED_IDS: dict[int, list[int]] = {}


def _ordered_ids(num_users: int) -> list[int]:
    ids = _ORDERED_IDS.get(num_users)
    if ids is None:
        ids = _ORDERED_IDS[num_users] = list(range(1, num_users + 1))
    return ids


def _user_index(record: Mapping[str, Any], num_users: int, where: str, n_values: int) -> list[int]:
    """Map the record's values to user indices via ``id`` (1-based); positional when there is no id."""
    ids = record.get("id")
    if ids is None:
        return list(range(n_values))
    # Fast path: the ids of a measurement record, 1..N in order (what every client sends).
    if type(ids) is list and len(ids) == n_values == num_users and all(type(u) is int for u in ids):
        if ids == _ordered_ids(num_users):
            return range(num_users)  # type: ignore[return-value]
    if not isinstance(ids, list):
        raise ActionError(f"{where}.id={ids!r} is invalid: allowed a list of user ids 1..{num_users}")
    if len(ids) != n_values:
        raise ActionError(
            f"{where}: id has {len(ids)} entries but value has {n_values}: allowed one value per id"
        )
    out = []
    seen = set()
    for j, uid in enumerate(ids):
        u = _as_int(uid, f"{where}.id[{j}]")
        if not 1 <= u <= num_users:
            raise ActionError(f"{where}.id[{j}]={uid!r} is invalid: allowed user ids 1..{num_users}")
        if u in seen:
            raise ActionError(f"{where}.id[{j}]={uid!r} is a duplicate: allowed each user id once")
        seen.add(u)
        out.append(u - 1)
    return out


def _parse_split_ratio(record: Mapping[str, Any], num_users: int, where: str) -> np.ndarray:
    value = record.get("value")
    if not isinstance(value, list):
        raise ActionError(
            f"{where}.value={value!r} is invalid: allowed a list of {num_users} Wi-Fi shares in [0, 1] "
            "(null = no action for that user) or [] (system default)"
        )
    if not value:
        return np.full(num_users, np.nan)  # system default for every user
    if len(value) != num_users:
        raise ActionError(
            f"{where}.value has {len(value)} entries: allowed exactly {num_users} (one per user) or [] "
            "(system default)"
        )
    idx = _user_index(record, num_users, where, len(value))
    shares = [math.nan] * num_users
    for j, v in enumerate(value):
        if type(v) is float and 0.0 <= v <= 1.0:  # fast path; NaN fails the comparison and is checked below
            shares[idx[j]] = v
            continue
        if v is None:
            continue
        f = _as_finite(v, f"{where}.value[{j}]", "a Wi-Fi share in [0, 1] or null")
        if not 0.0 <= f <= 1.0:
            raise ActionError(
                f"{where}.value[{j}]={v!r} is out of range: allowed a Wi-Fi share in [0, 1] or null"
            )
        shares[idx[j]] = f
    return np.array(shares, dtype=np.float64)


def _parse_split_weight(record: Mapping[str, Any], num_users: int, where: str,
                        links: tuple[str, ...] = ("wifi", "lte")) -> np.ndarray:
    """Rows of link weights → per-user shares: Wi-Fi shares ``(N,)`` for the two-link scenarios, or shares
    ``(N, 3)`` of [wifi, nr, lte] when ``links`` has "nr" (a NaN entry / row = no action for that user)."""
    value = record.get("value")
    has_nr = "nr" in links
    shares = np.full((num_users, 3), np.nan) if has_nr else np.full(num_users, np.nan)
    if has_nr:
        forms = [list(links)] + ([["wifi", "nr", "lte"]] if len(links) != 3 else [])
        allowed_row = "a row of non-negative weights " + " or ".join(
            "[" + ", ".join(f) + "]" for f in forms) + " (link-id order), or null"
    else:
        allowed_row = "a row of non-negative weights [wifi, lte] or [wifi, nr, lte] (link-id order), or null"
    if not isinstance(value, list):
        raise ActionError(
            f"{where}.value={value!r} is invalid: allowed a list of {num_users} rows, each {allowed_row}"
        )
    if not value:
        return shares
    if len(value) != num_users:
        raise ActionError(
            f"{where}.value has {len(value)} rows: allowed exactly {num_users} (one per user) or [] "
            "(system default)"
        )
    idx = _user_index(record, num_users, where, len(value))
    for j, row in enumerate(value):
        if row is None:
            continue
        if not isinstance(row, list) or len(row) not in ((len(links), 3) if has_nr else (2, 3)):
            raise ActionError(f"{where}.value[{j}]={row!r} is invalid: allowed {allowed_row}")
        w = [
            _as_finite(x, f"{where}.value[{j}][{k}]", "a non-negative finite weight")
            for k, x in enumerate(row)
        ]
        for k, x in enumerate(w):
            if x < 0:
                raise ActionError(
                    f"{where}.value[{j}][{k}]={row[k]!r} is out of range: allowed a weight >= 0"
                )
        if has_nr:
            names = links if len(row) == len(links) else ("wifi", "nr", "lte")
            full = dict.fromkeys(("wifi", "nr", "lte"), 0.0)
            full.update(zip(names, w, strict=True))
            total = sum(full.values())
            if total == 0:
                full[links[0]] = 1.0  # an all-zero row means all on the first link (Wi-Fi when there is one)
                total = 1.0
            shares[idx[j]] = [full["wifi"] / total, full["nr"] / total, full["lte"] / total]
            continue
        if len(w) == 3:
            if w[1] != 0:
                raise ActionError(
                    f"{where}.value[{j}][1]={row[1]!r} (nr weight) is invalid: allowed 0, this scenario "
                    "has no NR link"
                )
            w = [w[0], w[2]]
        total = w[0] + w[1]
        shares[idx[j]] = 1.0 if total == 0 else w[0] / total  # an all-zero row means all Wi-Fi
    return shares


_ACTION_PARSERS = {SPLIT_RATIO_KEY: _parse_split_ratio, SPLIT_WEIGHT_KEY: _parse_split_weight}


def as_record_list(action_list: object, allowed: str) -> list:
    """An env-action's ``action_list`` as a list: one record (a dict) or a list of them, both valid on the wire;
    anything else is an :class:`ActionError` naming ``allowed``."""
    if isinstance(action_list, Mapping):
        return [action_list]
    if isinstance(action_list, list):
        return action_list
    raise ActionError(f"action_list={action_list!r} is invalid: allowed {allowed}")


def missing_ts_error(record: Mapping[str, Any], where: str, last_ts: int | float | None) -> NetgymError:
    """The error for an action record without ``ts``: NetworkGym's 2023 action format is named as such."""
    if TABLE_2023_KEYS & record.keys():
        return ActionError(
            f"{where} has keys {sorted(record)}: that is NetworkGym's 2023 action format (per-cid records with "
            "end_ts and a nested {user, value}), not supported: allowed a copy of a measurement record "
            "{source, name, id, ts, value} with its own name and value"
        )
    return ProtocolError(f"{where} has no ts: allowed the ts of the last measurement ({last_ts})")


def parse_action(action_list: object, *, num_users: int, last_ts: int | float | None,
                 links: tuple[str, ...] = ("wifi", "lte"), uplink_data: bool = False) -> np.ndarray:
    """Turn an env-action's ``action_list`` into per-user Wi-Fi shares (float64 array, NaN = no action).

    Accepted records (one dict or a list of them; extra keys ignored):

    * ``gma::wifi::dl::split_ratio`` with ``value`` = N fractions in [0, 1], ``null`` for a user without
      action, or ``[]`` for the system default (all NaN);
    * ``gma::dl::split_weight`` with ``value`` = N rows of link weights ``[wifi, lte]`` or ``[wifi, nr, lte]``,
      normalised per user (an all-zero row = all Wi-Fi).

    With ``uplink_data`` (the flows run UE → network) ``gma::wifi::ul::split_ratio`` and
    ``gma::ul::split_weight`` are accepted as well: either name steers the data.

    ``links``: every user's links in link-id order; with "nr" (a scenario with gNBs) ``split_weight`` rows
    have one weight per link (or 3: [wifi, nr, lte]) and the result is ``(N, 3)`` shares [wifi, nr, lte]
    (a NaN row = no action); ``split_ratio`` still gives ``(N,)`` Wi-Fi shares (the rest on LTE).

    Values are placed by the record's ``id`` (user ids 1..N). Every record's ``ts`` must equal ``last_ts``,
    the ts of the last measurement sent (:class:`ProtocolError` naming both); bad values raise
    :class:`ActionError` naming the field, the value and the allowed range. An empty list means no action.
    """
    records = as_record_list(action_list, "one action record (dict) or a list of records")
    shares = None
    seen_key: str | None = None
    for i, rec in enumerate(records):
        where = f"action_list[{i}]" if isinstance(action_list, list) else "action_list"
        if not isinstance(rec, Mapping):
            raise ActionError(f"{where}={rec!r} is invalid: allowed an action record (dict)")
        if "ts" not in rec:
            raise missing_ts_error(rec, where, last_ts)
        ts = rec["ts"]
        if last_ts is not None and (not _is_number(ts) or float(ts) != float(last_ts)):
            raise ProtocolError(
                f"{where}.ts={ts!r} is stale: allowed only the ts of the last measurement sent ({last_ts})"
            )
        key = full_key(rec)
        if uplink_data and key in UPLINK_ACTION_KEYS:
            key = ACTION_KEYS[UPLINK_ACTION_KEYS.index(key)]
        parser = _ACTION_PARSERS.get(key)
        if parser is None:
            allowed = ACTION_KEYS + (UPLINK_ACTION_KEYS if uplink_data else ())
            hint = ("" if uplink_data or key not in UPLINK_ACTION_KEYS else
                    " (an uplink split needs downlink_traffic: false; here the uplink carries only TCP ACKs, "
                    "steered whole by uplink_mode auto)")
            raise ActionError(f"{where}.name={key!r} is invalid: allowed one of {', '.join(allowed)}{hint}")
        if seen_key is not None:
            raise ActionError(
                f"{where} ({key}) conflicts with an earlier {seen_key} record: allowed one split action per step"
            )
        seen_key = key
        shares = parser(rec, num_users, where, links) if parser is _parse_split_weight else parser(rec, num_users,
                                                                                                  where)
    return shares if shares is not None else np.full(num_users, np.nan)
