"""NetworkGym message validation and action parsing (design.md §4), without the real simulator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netgym_lite.config_types import ScenarioConfig
from netgym_lite.errors import ActionError, ProtocolError
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.session import Session
from netgym_lite.ipc.transport import InProcTransport, TransportTimeout, copy_message, json_roundtrip

N = 4
TS = 1200


class FakeSimulation:
    """Minimal stand-in for netgym_lite.sim.Simulation: one gma::dl::rate record per interval."""

    def __init__(self, cfg: ScenarioConfig) -> None:
        self.cfg, self.num_users, self.ts_ms, self.shares = cfg, cfg.num_users, 0, []

    def set_wifi_split(self, shares: np.ndarray) -> None:
        self.shares.append(shares)

    def advance(self) -> list[dict]:
        self.ts_ms = self.ts_ms + self.cfg.step_interval_ms if self.ts_ms else 1100
        ids = list(range(1, self.num_users + 1))
        return [{"source": "gma", "name": "dl::rate", "id": ids, "ts": self.ts_ms, "value": [1.0] * self.num_users}]


def ratio(value, **kw) -> dict:
    rec = {"source": "gma", "name": "wifi::dl::split_ratio", "id": [1, 2, 3, 4], "ts": TS, "value": value}
    rec.update(kw)
    return rec


def parse(action_list, num_users=N, last_ts=TS) -> np.ndarray:
    return m.parse_action(action_list, num_users=num_users, last_ts=last_ts)


# ------------------------------------------------------------------------------------ action parsing
def test_split_ratio_fractions_become_shares() -> None:
    np.testing.assert_array_equal(parse(ratio([0.0, 0.25, 0.5, 1.0])), [0.0, 0.25, 0.5, 1.0])


@pytest.mark.parametrize("action_list", [ratio([]), [ratio([])], []], ids=["record", "list-of-record", "no-record"])
def test_system_default_forms_mean_all_nan(action_list) -> None:
    assert np.isnan(parse(action_list)).all()


def test_null_entry_means_no_action_for_that_user() -> None:
    shares = parse(ratio([0.5, None, 1, None]))
    np.testing.assert_array_equal(np.isnan(shares), [False, True, False, True])
    assert shares[0] == 0.5 and shares[2] == 1.0


def test_values_are_placed_by_user_id() -> None:
    shares = parse(ratio([0.1, 0.2, 0.3, 0.4], id=[4, 3, 2, 1]))
    np.testing.assert_array_equal(shares, [0.4, 0.3, 0.2, 0.1])


def test_extra_keys_are_ignored_and_integral_floats_accepted() -> None:
    rec = ratio([1, 0, 1.0, 0.0], id=[1.0, 2.0, 3.0, 4.0], ts=float(TS), index=7, **{"Unnamed: 0": 3})
    np.testing.assert_array_equal(parse(rec), [1, 0, 1, 0])


def test_full_name_without_source_is_accepted() -> None:
    rec = ratio([0.5] * 4)
    del rec["source"]
    rec["name"] = "gma::wifi::dl::split_ratio"
    np.testing.assert_array_equal(parse(rec), [0.5] * 4)


def test_stale_ts_is_a_protocol_error_naming_both_ts() -> None:
    with pytest.raises(ProtocolError, match=r"ts=1100.*1200"):
        parse(ratio([0.5] * 4, ts=1100))


def test_missing_ts_is_a_protocol_error() -> None:
    rec = ratio([0.5] * 4)
    del rec["ts"]
    with pytest.raises(ProtocolError, match="ts"):
        parse(rec)


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ([0.5, 1.5, 0, 0], r"value\[1\]=1\.5 is out of range: allowed a Wi-Fi share in \[0, 1\]"),
        ([0.5, -0.1, 0, 0], r"value\[1\]=-0\.1 is out of range"),
        ([0.5, float("nan"), 0, 0], r"value\[1\]=nan is invalid"),
        ([0.5, float("inf"), 0, 0], r"value\[1\]=inf is invalid"),
        ([0.5, "0.5", 0, 0], r"value\[1\]='0\.5' is invalid"),
        ([0.5, True, 0, 0], r"value\[1\]=True is invalid"),
        ([0.5, 0.5, 0.5], r"value has 3 entries: allowed exactly 4"),
        ([0.5] * 5, r"value has 5 entries: allowed exactly 4"),
        (0.5, r"value=0\.5 is invalid"),
    ],
)
def test_bad_split_ratio_values_raise_action_error_naming_field_value_and_range(value, pattern) -> None:
    with pytest.raises(ActionError, match=pattern):
        parse(ratio(value))


def test_bad_ids_raise_action_error() -> None:
    with pytest.raises(ActionError, match=r"id\[3\]=5 is invalid: allowed user ids 1\.\.4"):
        parse(ratio([0.5] * 4, id=[1, 2, 3, 5]))
    with pytest.raises(ActionError, match="duplicate"):
        parse(ratio([0.5] * 4, id=[1, 1, 2, 3]))
    with pytest.raises(ActionError, match=r"id\[0\]=1\.5"):
        parse(ratio([0.5] * 4, id=[1.5, 2, 3, 4]))


def test_unknown_action_name_is_an_action_error_listing_the_allowed_ones() -> None:
    with pytest.raises(ActionError, match=r"name='gma::dl::bogus'.*split_ratio.*split_weight"):
        parse(ratio([0.5] * 4, name="dl::bogus"))


def test_two_split_records_conflict() -> None:
    with pytest.raises(ActionError, match="conflicts"):
        parse([ratio([0.5] * 4), ratio([0.2] * 4)])


def test_action_list_of_wrong_type_is_an_action_error() -> None:
    with pytest.raises(ActionError, match="action_list"):
        parse("split")
    with pytest.raises(ActionError, match=r"action_list\[0\]"):
        parse([3])


def weight(value) -> dict:
    return {"source": "gma", "name": "dl::split_weight", "id": [1, 2, 3, 4], "ts": TS, "value": value}


def test_split_weight_rows_are_normalised_per_user_and_all_zero_means_wifi() -> None:
    shares = parse(weight([[1, 1], [3, 1], [0, 0], [0, 5]]))
    np.testing.assert_allclose(shares, [0.5, 0.75, 1.0, 0.0])


def test_split_weight_with_three_links_in_wifi_nr_lte_order() -> None:
    shares = parse(weight([[96, 0, 32], [0, 0, 0], [0, 0, 128], None]))
    np.testing.assert_allclose(shares[:3], [0.75, 1.0, 0.0])
    assert np.isnan(shares[3])
    with pytest.raises(ActionError, match=r"value\[0\]\[1\]=1.*nr weight"):
        parse(weight([[1, 1, 1]] * 4))


def test_split_weight_errors_name_the_field() -> None:
    with pytest.raises(ActionError, match=r"value\[2\]\[0\]=-1 is out of range"):
        parse(weight([[1, 1], [1, 1], [-1, 1], [1, 1]]))
    with pytest.raises(ActionError, match=r"value\[0\]=\[1\] is invalid"):
        parse(weight([[1], [1, 1], [1, 1], [1, 1]]))
    assert np.isnan(parse(weight([]))).all()


@given(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=N, max_size=N))
def test_any_valid_split_ratio_survives_json_and_parses_to_the_same_shares(values) -> None:
    rec = json_roundtrip(m.env_action(ratio(values)))["action_list"]
    shares = parse(rec)
    expected = np.array([np.nan if v is None else v for v in values])
    np.testing.assert_array_equal(shares, expected)


# ------------------------------------------------------------------------------------ messages
def test_measurement_builder_refuses_empty_network_stats() -> None:
    with pytest.raises(ProtocolError, match="network_stats"):
        m.env_measurement([])


def test_measurement_needs_both_time_lapses_or_neither() -> None:
    rec = {"source": "gma", "name": "dl::rate", "id": [1], "ts": 1100, "value": [1.0]}
    assert "workload_stats" not in m.env_measurement([rec])
    ok = m.env_measurement([rec], {"time_lapse_ms": 1.0, "sim_time_lapse_ms": 100})
    assert m.validate_message(ok) == "env-measurement"
    for only in ("time_lapse_ms", "sim_time_lapse_ms"):
        with pytest.raises(ProtocolError, match=only):
            m.env_measurement([rec], {only: 1})


def test_validate_measurement_checks_records() -> None:
    good = {"source": "gma", "name": "dl::rate", "id": [1, 2], "ts": 1100, "value": [1.0, 2.0]}
    assert m.validate_measurement({"type": "env-measurement", "network_stats": [good]}) == [good]
    for bad, pattern in [
        ({k: v for k, v in good.items() if k != "ts"}, "lacks"),
        ({**good, "extra": 1}, "extra keys"),
        ({**good, "value": [1.0]}, "one value per id"),
        ({**good, "source": 3}, "source"),
        ({**good, "ts": "x"}, "ts"),
    ]:
        with pytest.raises(ProtocolError, match=pattern):
            m.validate_measurement({"type": "env-measurement", "network_stats": [bad]})
    with pytest.raises(ProtocolError, match="one ts per measurement"):
        m.validate_measurement({"type": "env-measurement", "network_stats": [good, {**good, "ts": 1200}]})


def test_message_type_validation() -> None:
    assert m.validate_message(m.env_start({"env": "nqos_split"})) == "env-start"
    assert m.validate_message(m.env_action([])) == "env-action"
    assert m.validate_message(m.env_error("x")) == "env-error"
    assert m.validate_message(m.no_available_worker("busy")) == "no-available-worker"
    assert m.validate_message(m.env_end()) == "env-end"
    for bad in [{"type": "env-frobnicate"}, {"type": 3}, {}, "x", None]:
        with pytest.raises(ProtocolError, match="type|message"):
            m.validate_message(bad)
    with pytest.raises(ProtocolError, match="action_list"):
        m.validate_message({"type": "env-action"})
    with pytest.raises(ProtocolError, match="error_msg"):
        m.validate_message({"type": "env-error"})


def test_env_error_carries_the_error_class() -> None:
    msg = m.env_error(ActionError("value[1]=2 is out of range"))
    assert msg == {"type": "env-error", "error_msg": "value[1]=2 is out of range", "error_type": "ActionError"}
    assert m.env_error(RuntimeError("x"))["error_type"] == "NetgymError"


def test_env_start_is_a_copy_typed_env_start() -> None:
    cfg = {"env": "nqos_split", "type": "whatever"}
    msg = m.env_start(cfg)
    assert msg["type"] == "env-start" and cfg["type"] == "whatever"


# ------------------------------------------------------------------------------------ transport
def test_inproc_transport_delivers_copies_and_queues_replies() -> None:
    seen = []

    def handler(identity: str, msg: dict) -> list[dict]:
        seen.append((identity, msg))
        return [{"type": "env-error", "error_msg": "a"}, {"type": "env-error", "error_msg": "b"}]

    t = InProcTransport(handler, "me-0")
    sent = {"type": "env-action", "action_list": [{"id": (1, 2)}]}
    t.send(sent)
    assert seen[0][0] == "me-0"
    assert seen[0][1] == {"type": "env-action", "action_list": [{"id": [1, 2]}]}
    assert seen[0][1] is not sent and seen[0][1]["action_list"] is not sent["action_list"]
    assert [t.recv()["error_msg"], t.recv()["error_msg"]] == ["a", "b"]
    with pytest.raises(TransportTimeout):
        t.recv(0.1)


def test_json_check_refuses_what_a_socket_could_not_carry() -> None:
    t = InProcTransport(lambda i, msg: [], check_json=True)
    with pytest.raises(ProtocolError, match="JSON"):
        t.send({"type": "env-action", "action_list": {"value": [float("nan")]}})
    with pytest.raises(ProtocolError, match="JSON"):
        t.send({"type": "env-action", "action_list": {"value": np.zeros(2)}})
    msg = {"a": [1, {"b": (2, 3)}]}
    assert copy_message(msg) == json.loads(json.dumps(msg))


def test_session_with_fake_sim_echoes_ts_and_applies_shares() -> None:
    session = Session("t-0", sim_factory=FakeSimulation,
                      config_parser=lambda d: ScenarioConfig(num_users=2, steps_per_episode=2, episodes_per_session=1))
    first = session.handle({"type": "env-start"})[0]
    assert first["network_stats"][0]["ts"] == 1100
    rec = dict(first["network_stats"][0], name="wifi::dl::split_ratio", value=[0.3, None])
    second = session.handle({"type": "env-action", "action_list": rec})[0]
    assert second["type"] == "env-measurement" and second["network_stats"][0]["ts"] == 1200
    np.testing.assert_array_equal(session.sim.shares[0], [0.3, np.nan])
    assert session.state == "ended"


def test_inproc_transport_without_copy_hands_over_the_same_dicts() -> None:
    seen = []
    t = InProcTransport(lambda i, msg: seen.append(msg) or [msg], copy=False)
    msg = {"type": "env-action", "action_list": []}
    t.send(msg)
    assert seen[0] is msg and t.recv() is msg


def test_client_retries_env_start_once_after_networkgym_mapping_exits() -> None:
    from netgym_lite.ipc.client import NetworkGymClient

    starts = []
    rec = {"source": "gma", "name": "dl::rate", "id": [1], "ts": 1100, "value": [1.0]}

    def networkgym_broker(identity: str, msg: dict) -> list[dict]:
        starts.append(msg)
        if len(starts) == 1:
            return [{"type": "env-error", "error_msg": f"{identity} Mapping Exits! Drop the mapping."}]
        return [m.env_measurement([rec])]

    client = NetworkGymClient(InProcTransport(networkgym_broker, "alice-0"), retry_delay_s=0.0)
    assert client.connect({"env": "nqos_split"}) == [rec]
    assert len(starts) == 2 and client.last_ts == 1100


def test_ipc_never_imports_the_models() -> None:
    import subprocess
    import sys

    code = ("import sys, netgym_lite.ipc, netgym_lite.ipc.messages, netgym_lite.ipc.session;"
            "bad = [m for m in sys.modules if m.startswith(('netgym_lite.models', 'netgym_lite.sim', 'netgym_lite.core'))];"
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
