"""The action dialects design.md §4 promises, end to end through a server Session (in memory, recording simulation).

Every NetworkGym client form is accepted: one action record or a list of records, extra keys (pandas round trips add
some) ignored, integral floats as integers, ``gma::dl::split_weight`` rows in link-id order ``[wifi, nr, lte]``
(without NR cells the nr weight must be 0) with an all-zero row meaning all traffic on Wi-Fi. NetworkGym's 2023
per-``cid`` ``split_ratio`` actions and its measurement table are refused with an error naming that format.
Actions are built as NetworkGym's adapters build them: ``pandas.json_normalize`` of the measurement, one record
as template, ``json.loads(row.to_json())``, then name and value replaced.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netgym_lite.config import raw_env_config
from netgym_lite.errors import ProtocolError
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.server import Server

DATA = Path(__file__).parent / "data"
N = 4


class RecordingSim:
    """Records every applied action; emits gma::dl::rate per user and lte::dl::cell::max_rate per slice."""

    def __init__(self, cfg: Any) -> None:
        self.cfg, self.num_users, self.k, self.applied = cfg, cfg.num_users, 0, []

    def set_wifi_split(self, shares: np.ndarray) -> None:
        self.applied.append(np.array(shares, dtype=float))

    def set_slice_allocation(self, caps: np.ndarray | None) -> None:
        self.applied.append(None if caps is None else np.array(caps, dtype=float))

    def advance(self) -> list[dict]:
        self.k += 1
        ts = self.cfg.measurement_start_time_ms + self.k * self.cfg.step_interval_ms
        ids = list(range(1, self.num_users + 1))
        slices = list(range(max(len(self.cfg.slices), 1)))
        return [{"source": "gma", "name": "dl::rate", "id": ids, "ts": ts, "value": [1.0] * len(ids)},
                {"source": "lte", "name": "dl::cell::max_rate", "id": [1], "ts": ts,
                 "value": [{"slice": slices, "value": [10.0] * len(slices)}]}]


class Harness:
    """One in-memory server with a recording simulation per session."""

    def __init__(self, env_config: dict) -> None:
        self.sims: list[RecordingSim] = []
        self.server = Server(sim_factory=self._make)
        self.last = self.server.handle("dialect-0", env_config)[0]
        assert self.last["type"] == "env-measurement", self.last

    def _make(self, cfg: Any) -> RecordingSim:
        self.sims.append(RecordingSim(cfg))
        return self.sims[-1]

    def act(self, action_list: Any) -> dict:
        reply = self.server.handle("dialect-0", {"type": "env-action", "action_list": action_list})[0]
        if reply["type"] == "env-measurement":
            self.last = reply
        return reply

    @property
    def applied(self) -> list:
        return self.sims[-1].applied

    def template(self, source: str, name: str) -> dict:
        """NetworkGym's adapters: the record's row of ``pandas.json_normalize``, through ``row.to_json()``."""
        pd = pytest.importorskip("pandas")
        df = pd.json_normalize(self.last["network_stats"])
        row = df[(df["source"] == source) & (df["name"] == name)].iloc[0]
        return json.loads(row.to_json())


def nqos() -> Harness:
    return Harness(raw_env_config(None, num_users=N))


def shipped(name: str) -> Harness:
    whole = json.loads((DATA / f"networkgym_{name}_config.json").read_text())
    return Harness(raw_env_config(whole, env=name))


def split_ratio(h: Harness, value: list, **extra: Any) -> dict:
    rec = h.template("gma", "dl::rate")
    rec.update(name="wifi::dl::split_ratio", value=value, **extra)
    return rec


def slicing_records(h: Harness, prb: list) -> list[dict]:
    records = []
    for name, counts in (("drb_allocation", [0.0, 0.0]), ("prb_allocation", prb), ("srb_allocation", [25.0, 25.0])):
        rec = h.template("lte", "dl::cell::max_rate")
        rec["name"] = name
        for item in rec["value"]:
            item["value"] = counts
        records.append(rec)
    return records


# ------------------------------------------------------------------------------------------------- forms
def test_one_action_record_and_a_list_of_records_are_both_valid() -> None:
    h = nqos()
    assert h.act(split_ratio(h, [0.0, 0.25, 0.5, 1.0]))["type"] == "env-measurement"
    assert h.act([split_ratio(h, [0.0, 0.25, 0.5, 1.0])])["type"] == "env-measurement"
    np.testing.assert_array_equal(h.applied[0], h.applied[1])
    np.testing.assert_array_equal(h.applied[0], [0.0, 0.25, 0.5, 1.0])
    s = shipped("network_slicing")
    assert s.act(slicing_records(s, [5.0, 7.0]))["type"] == "env-measurement"
    assert s.act(slicing_records(s, [5.0, 7.0])[1])["type"] == "env-measurement"  # prb alone, as one record
    assert s.applied[0][:, 1].tolist() == s.applied[1][:, 1].tolist() == [5.0, 7.0]


def test_extra_keys_in_action_records_are_ignored() -> None:
    h = nqos()
    extra = {"unit": "%", "Unnamed: 0": 3, "cid": "All", "nested": {"a": [1, 2]}, "index": None}
    assert h.act(split_ratio(h, [0.1, 0.2, 0.3, 0.4], **extra))["type"] == "env-measurement"
    np.testing.assert_allclose(h.applied[-1], [0.1, 0.2, 0.3, 0.4])
    s = shipped("network_slicing")
    records = [dict(r, unit="rbg", group=1) for r in slicing_records(s, [3.0, 4.0])]
    assert s.act(records)["type"] == "env-measurement"
    assert s.applied[-1][:, 1].tolist() == [3.0, 4.0]


def test_integral_floats_count_as_integers() -> None:
    h = nqos()
    rec = split_ratio(h, [1.0, 0.0, 0.5, 0.25])
    rec["id"] = [float(u) for u in rec["id"]][::-1]  # ids as floats (and in another order)
    rec["ts"] = float(rec["ts"])
    assert h.act(rec)["type"] == "env-measurement"
    np.testing.assert_allclose(h.applied[-1], [0.25, 0.5, 0.0, 1.0])  # placed by id
    bad = split_ratio(h, [1.0, 0.0, 0.5, 0.25])
    bad["id"] = [1.5, 2, 3, 4]
    err = h.act(bad)
    assert err["type"] == "env-error" and "id[0]=1.5" in err["error_msg"] and "integer" in err["error_msg"]
    q = shipped("qos_steer")
    n = q.sims[-1].num_users
    as_ints = split_ratio(q, [u % 2 for u in range(n)])
    assert q.act(as_ints)["type"] == "env-measurement"
    assert q.act(split_ratio(q, [float(u % 2) for u in range(n)]))["type"] == "env-measurement"
    np.testing.assert_array_equal(q.applied[0], q.applied[1])


# -------------------------------------------------------------------------------------------- split_weight
def networkgym_split_weight(h: Harness, action: np.ndarray) -> dict:
    """NetworkGym's last nqos_split adapter: rows normalised per user, an all-zero row made [1, 0, 0]."""
    action = action.astype(np.float64).copy()
    for row in action:
        total = row.sum()
        if total == 0:
            row[0] = 1
        else:
            row[:] = row / total
    rec = h.template("gma", "dl::rate")
    rec["name"] = "dl::split_weight"
    rec["value"] = action.tolist()
    return rec


def test_split_weight_rows_are_wifi_nr_lte_and_an_all_zero_row_means_all_wifi() -> None:
    h = nqos()
    rows = np.array([[3.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    assert h.act(networkgym_split_weight(h, rows))["type"] == "env-measurement"
    np.testing.assert_allclose(h.applied[-1], [0.75, 1.0, 1.0, 0.0])
    raw = h.template("gma", "dl::rate")
    raw.update(name="dl::split_weight", value=rows.tolist())  # not normalised, all-zero row left as is
    assert h.act(raw)["type"] == "env-measurement"
    np.testing.assert_allclose(h.applied[-1], [0.75, 1.0, 1.0, 0.0])
    two = h.template("gma", "dl::rate")
    two.update(name="dl::split_weight", value=[[3, 1], [0, 0], [1, 0], [0, 2]])  # [wifi, lte] rows
    assert h.act(two)["type"] == "env-measurement"
    np.testing.assert_allclose(h.applied[-1], [0.75, 1.0, 1.0, 0.0])


def test_split_weight_nr_column_must_be_zero_in_a_scenario_without_nr() -> None:
    h = nqos()
    rows = [[0.5, 0.0, 0.5], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    rec = h.template("gma", "dl::rate")
    rec.update(name="dl::split_weight", value=rows)
    err = h.act(rec)
    assert err["type"] == "env-error", err
    msg = err["error_msg"]
    assert "value[1][1]=0.3" in msg and "nr" in msg and "allowed 0" in msg, msg
    assert len(h.applied) == 0  # nothing applied
    ok = dict(rec, value=[[0.5, 0.0, 0.5]] * N)
    assert h.act(ok)["type"] == "env-measurement"  # the session goes on


# --------------------------------------------------------------------------------------------- 2023 format
def actions_2023(end_ts: int) -> list[dict]:
    """NetworkGym's 2023 nqos_split adapter: split_ratio per cid (Wi-Fi, LTE) out of 32, nested under ''."""
    return [{"name": "split_ratio", "end_ts": end_ts, "downlink": True, "cid": cid,
             "": {"user": list(range(N)), "value": values}}
            for cid, values in (("Wi-Fi", [32, 16, 0, 8]), ("LTE", [0, 16, 32, 24]))]


def test_networkgyms_2023_actions_are_refused_naming_the_format_and_the_session_goes_on() -> None:
    h = nqos()
    ts = h.last["network_stats"][0]["ts"]
    err = h.act(actions_2023(ts))
    assert err["type"] == "env-error" and "NetworkGym's 2023 action format" in err["error_msg"], err
    assert "cid" in err["error_msg"] and "{source, name, id, ts, value}" in err["error_msg"]
    s = shipped("network_slicing")
    err = s.act(actions_2023(s.last["network_stats"][0]["ts"]))
    assert err["type"] == "env-error" and "NetworkGym's 2023 action format" in err["error_msg"], err
    assert h.act(split_ratio(h, [0.5] * N))["type"] == "env-measurement"
    missing_ts = {k: v for k, v in split_ratio(h, [0.5] * N).items() if k != "ts"}
    err = h.act(missing_ts)  # a last-release record without ts stays a plain protocol error
    assert err["type"] == "env-error" and "has no ts" in err["error_msg"] and "2023" not in err["error_msg"]


def test_the_2023_measurement_table_is_refused_naming_the_format() -> None:
    table_2023 = {"name": "rate", "unit": "mbps", "start_ts": 20000, "end_ts": 21000, "direction": "DL",
                  "group": "GMA", "cid": "All", "": {"user": [0, 1], "value": [5, 4]}}
    msg = m.env_measurement([copy.deepcopy(table_2023)])
    with pytest.raises(ProtocolError, match="2023 measurement-table format"):
        m.validate_measurement(msg)
    last_release = {"source": "gma", "name": "dl::rate", "id": [1, 2], "ts": 1100, "value": [5.0, 4.0]}
    assert m.validate_measurement(m.env_measurement([last_release])) == [last_release]
