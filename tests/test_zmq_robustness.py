"""``ZmqServer`` hardening: malformed input, fuzzing, authentication and caps, concurrency.

Every malformed message gets one env-error for its sender only, and the server keeps serving: a well-formed
session afterwards yields exactly the records of the same session run on an in-memory Server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

zmq = pytest.importorskip("zmq")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_zmq_peers import (  # noqa: E402
    SMALL,
    RawClient,
    action_for,
    action_plan,
    baseline,
    run_raw_session,
    serve_in_thread,
)

from netgym_lite.config import raw_env_config  # noqa: E402
from netgym_lite.ipc.zmq_server import Account, ZmqServer, load_accounts  # noqa: E402

pytestmark = pytest.mark.zmq


@pytest.fixture(scope="module")
def zserver() -> Iterator[ZmqServer]:
    yield from serve_in_thread()

ENV_CONFIG = raw_env_config(None, **SMALL)
PLAN = action_plan(5, seed=2)
EXPECTED = baseline(ENV_CONFIG, PLAN)


def _check_good_session(endpoint: str, name: str = "good", client_id: int = 0) -> None:
    client = RawClient(endpoint, name, client_id=client_id)
    try:
        replies = run_raw_session(client, ENV_CONFIG, PLAN)
        assert [r["network_stats"] for r in replies] == EXPECTED
    finally:
        client.close()


def _error(client: RawClient) -> str:
    reply = client.recv(5.0)
    assert reply is not None, "no reply"
    assert reply["type"] == "env-error", reply
    return reply["error_msg"]


# ---------------------------------------------------------------------------------------------- malformed
def _action_text(ts: int, value: str) -> bytes:
    return (f'{{"type":"env-action","action_list":{{"source":"gma","name":"wifi::dl::split_ratio",'
            f'"id":[1,2,3,4],"ts":{ts},"value":{value}}}}}').encode()


MALFORMED = [
    ("not json", b"hello", "not valid JSON"),
    ("not utf-8", b"\xff\xfe{", "UTF-8"),
    ("json array", b"[1, 2]", "JSON object"),
    ("type not a string", b'{"type": 5}', "type=5"),
    ("unknown type", b'{"type": "env-bogus"}', "env-bogus"),
    ("measurement from a client", b'{"type": "env-measurement", "network_stats": []}', "env-measurement"),
    ("missing action_list", b'{"type": "env-action"}', "action_list is missing"),
    ("action_list wrong type", b'{"type": "env-action", "action_list": 3}', "action_list=3"),
    ("stale ts", _action_text(1000, "[0.5,0.5,0.5,0.5]"), "stale"),
    ("missing ts", b'{"type":"env-action","action_list":{"name":"wifi::dl::split_ratio","value":[]}}', "no ts"),
    ("wrong shape", _action_text(1100, "[0.5]"), "exactly 4"),
    ("wrong value type", _action_text(1100, '"abc"'), "invalid"),
    ("out of range", _action_text(1100, "[2,0,0,0]"), "out of range"),
    ("NaN", _action_text(1100, "[NaN,0,0,0]"), "NaN"),
    ("Infinity", _action_text(1100, "[Infinity,0,0,0]"), "Infinity"),
    ("unknown action name", b'{"type":"env-action","action_list":{"name":"x","ts":1100,"value":[]}}', "'x'"),
    ("nested too deep", b"[" * 30000 + b"]" * 30000, "nested too deeply"),
    ("oversized", b'{"type":"env-action","pad":"' + b"x" * 70000 + b'"}', "too large"),
]


def test_malformed_messages_get_env_error_and_the_session_survives(zserver: ZmqServer) -> None:
    client = RawClient(zserver.endpoint, "mal", client_id=0)
    try:
        client.send(ENV_CONFIG)
        first = client.recv()
        assert first["type"] == "env-measurement"
        for label, data, needle in MALFORMED:
            client.send_bytes(data)
            msg = _error(client)
            assert needle in msg, (label, msg)
        client.sock.send_multipart([b"{}", b"{}"])  # two frames
        assert "frames" in _error(client)
        # Config errors on a fresh env-start name the key; they replace (and end) the session.
        client.send({"type": "env-start", "bogus_key": 1})
        assert "bogus_key" in _error(client)
        client.send(dict(ENV_CONFIG, num_users="four"))
        assert "num_users" in _error(client)
        # The same identity then runs a correct session with the records of the in-memory run.
        replies = run_raw_session(client, ENV_CONFIG, PLAN)
        assert [r["network_stats"] for r in replies] == EXPECTED
    finally:
        client.close()


def test_bad_identities_are_answered_and_do_not_disturb_others(zserver: ZmqServer) -> None:
    for identity, needle in ((b"noclientid", "identity"), (b"\xff-0", "UTF-8"), (b"bob-0", "belongs to account")):
        c = RawClient(zserver.endpoint, "alice", identity=identity)
        try:
            c.send(ENV_CONFIG)
            assert needle in _error(c)
        finally:
            c.close()
    _check_good_session(zserver.endpoint)


def test_frame_over_the_hard_limit_drops_only_that_connection() -> None:
    with ZmqServer(0, max_message_bytes=2048, warm=False) as srv:
        big = RawClient(srv.endpoint, "big")
        try:
            big.send_bytes(b"x" * (2048 * 4 + 10))  # above ZMQ_MAXMSGSIZE: ZMQ disconnects, no reply address
            assert big.recv(0.3) is None
        finally:
            big.close()
        small = RawClient(srv.endpoint, "small")
        try:
            small.send_bytes(b"x" * 3000)  # above the soft limit: env-error
            assert "too large" in _error(small)
        finally:
            small.close()


# ---------------------------------------------------------------------------------------------- fuzz
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_json = st.recursive(_json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                         st.dictionaries(st.text(max_size=6), kids, max_size=4)),
                     max_leaves=12)
_types = st.sampled_from(["env-start", "env-action", "env-measurement", "env-error", "env-hello", "env-end",
                          "", "ENV-ACTION"])
_record = st.fixed_dictionaries(
    {"source": st.sampled_from(["gma", "wifi", 3]),
     "name": st.sampled_from(["wifi::dl::split_ratio", "dl::split_weight", "dl::rate", ""]),
     "ts": st.one_of(st.integers(0, 2000), st.text(max_size=3), st.none()),
     "id": st.one_of(st.lists(st.integers(-1, 6), max_size=5), _json),
     "value": st.one_of(st.lists(st.one_of(st.floats(-2, 2), st.none(), st.lists(st.floats(0, 1), max_size=3)),
                                 max_size=5), _json)},
    optional={"extra": _json})
_message = st.one_of(
    st.binary(max_size=64),
    _json.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda t, extra: json.dumps(dict(extra, type=t)).encode(), _types,
              st.dictionaries(st.text(max_size=8), _json, max_size=3)),
    st.builds(lambda al: json.dumps({"type": "env-action", "action_list": al}).encode(),
              st.one_of(_record, st.lists(_record, max_size=3), _json)),
    st.sampled_from([b"NaN", b'{"type":"env-action","action_list":{"ts":NaN}}', b"\x00", b"{" * 50]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(_message, min_size=1, max_size=20))
def test_fuzz_every_message_gets_one_reply_and_the_server_keeps_serving(zserver: ZmqServer, batch) -> None:
    client = RawClient(zserver.endpoint, "fuzz")
    try:
        for data in batch:
            client.send_bytes(data)
            reply = client.recv(5.0)
            assert reply is not None, data
            assert reply["type"] in ("env-error", "env-measurement"), reply
        assert client.recv(0.0) is None  # exactly one reply per message
    finally:
        client.close()


def test_after_fuzzing_a_session_yields_the_same_records(zserver: ZmqServer) -> None:
    # Runs after the fuzz test in file order; also valid on its own.
    _check_good_session(zserver.endpoint, "good", 1)


# ---------------------------------------------------------------------------------------------- accounts
ACCOUNTS_CSV = "Identity,Password,Max_Instances,Email\nalice,secret,2,a@example.com\nbob,bpw,1,b@example.com\n"


def test_accounts_csv_is_loaded(tmp_path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS_CSV)
    accounts = load_accounts(path)
    assert accounts["alice"] == Account("alice", "secret", 2, "a@example.com")
    assert accounts["bob"].max_instances == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("Name,Pass\nx,y\n")
    with pytest.raises(Exception, match="header"):
        load_accounts(bad)


def test_passwords_caps_and_identity_ownership(tmp_path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS_CSV)
    with ZmqServer(0, bind="127.0.0.1", accounts=path, warm=False) as srv:
        # Wrong password and unknown account: the handshake is refused, nothing is ever answered.
        for name, key in (("alice", "wrong"), ("carol", "secret")):
            c = RawClient(srv.endpoint, name, key)
            try:
                try:
                    c.send(ENV_CONFIG)
                except zmq.Again:  # the refusal may close the only pipe before the send: nothing to send to
                    pass
                assert c.recv(0.5) is None
            finally:
                c.close()
        assert srv._zap is not None and srv._zap.refused >= 2
        assert not srv.server.sessions
        # client_id over the account's cap: refused with a message naming the cap.
        c = RawClient(srv.endpoint, "alice", "secret", client_id=2)
        try:
            c.send(ENV_CONFIG)
            msg = _error(c)
            assert "Max_Instances=2" in msg and "client_id" in msg
        finally:
            c.close()
        # alice runs a session; bob (authenticated) cannot act in it, neither with a fresh identity
        # "alice-1" nor by claiming the live identity "alice-0" (ZMQ hands the identity over, as with
        # NetworkGym's ROUTER_HANDOVER, but the User-Id check refuses bob's message).
        alice = RawClient(srv.endpoint, "alice", "secret", client_id=0)
        try:
            alice.send(ENV_CONFIG)
            first = alice.recv()
            assert first["type"] == "env-measurement"
            for identity in (b"alice-1", b"alice-0"):
                intruder = RawClient(srv.endpoint, "bob", "bpw", identity=identity)
                try:
                    intruder.send(action_for(first, 2))
                    assert "belongs to account 'alice'" in _error(intruder)
                    assert intruder.recv(0.2) is None
                finally:
                    intruder.close()
            session = srv.server.sessions.get("alice-0")
            assert session is None or session.measurements_sent == 1  # never advanced by bob
        finally:
            alice.close()
        # alice's account still works normally afterwards.
        alice = RawClient(srv.endpoint, "alice", "secret", client_id=1)
        try:
            replies = run_raw_session(alice, ENV_CONFIG, PLAN)
            assert [r["network_stats"] for r in replies] == EXPECTED
        finally:
            alice.close()


# ---------------------------------------------------------------------------------------------- concurrency
def test_64_concurrent_sessions_have_no_cross_talk(zserver: ZmqServer) -> None:
    n = 64
    cfgs = [raw_env_config(None, num_users=2 + i % 3, steps_per_episode=3, episodes_per_session=2,
                           random_seed=100 + i) for i in range(n)]
    plans = [action_plan(5, seed=i) for i in range(n)]
    results: list[list | None] = [None] * n
    errors: list[BaseException] = []
    barrier = threading.Barrier(n, timeout=30)

    def run(i: int) -> None:
        client = RawClient(zserver.endpoint, "conc", client_id=i)
        try:
            barrier.wait()
            results[i] = [r["network_stats"] for r in run_raw_session(client, cfgs[i], plans[i])]
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    for i in range(n):
        assert results[i] == baseline(cfgs[i], plans[i]), i
