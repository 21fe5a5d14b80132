"""NetworkGym's ``custom`` env: a user's own simulation (``netgym_lite.ipc.custom``) behind netgym-lite's worker.

Test data: ``tests/data/networkgym_custom_config.json`` is NetworkGym's ``network_gym_client/envs/custom/config.json``
at commit b44e3f0 (a configuration file, kept verbatim). The client here is a raw NetworkGym-style one
(``test_zmq_peers.RawClient``); its actions are built as NetworkGym's custom adapter builds them: the measurement
through ``pandas.json_normalize``, the ``test::measurement_1`` row as template, ``json.loads(row.to_json())``, then
name ``srate`` and the value replaced (``[]`` for ``env.step([])``, the system default).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from netgym_lite.errors import ConfigError
from netgym_lite.ipc.custom import CustomConfig, CustomSimulation, check_records, load_factory
from netgym_lite.ipc.server import Server

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
EXAMPLE = REPO / "examples" / "custom_worker.py"
PASSWORDS = {"admin": "admin-key", "alice": "alice-key", "bob": "bob-key", "carol": "carol-key"}


def custom_env_start(**overrides: Any) -> dict:
    """What NetworkGym's client sends for its shipped custom config: the env_config verbatim plus the keys it adds
    (``env`` and ``env_end_time_ms`` = start + interval·(L·E + 1))."""
    env_config = json.loads((DATA / "networkgym_custom_config.json").read_text())["env_config"]
    env_config = {**env_config, **overrides, "env": "custom"}
    interval = env_config["measurement_interval_ms"] + env_config["measurement_guard_interval_ms"]
    env_config["env_end_time_ms"] = env_config["measurement_start_time_ms"] + interval * (
        env_config["steps_per_episode"] * env_config["episodes_per_session"] + 1)
    return env_config


class MarkedSim(CustomSimulation):
    """A hand-checkable simulation: one record per user whose value is the step count; ``source`` names the
    simulation's owner. Optional env_config keys of the user: ``fail_on_step`` (raise there), ``malform`` (a
    kind of malformed records to return)."""

    owner = "test"
    closed: list[str] = []

    def start(self, env_config: dict) -> list[dict]:
        self.n, self.k = env_config.get("num_users", 2), 0
        self.fail_on_step, self.malform = env_config.get("fail_on_step"), env_config.get("malform")
        self.last_actions: list = []
        return self._records()

    def step(self, actions: list[dict]) -> list[dict]:
        self.k += 1
        if self.k == self.fail_on_step:
            raise RuntimeError(f"boom at step {self.k}")
        self.last_actions = actions
        return self._records()

    def close(self) -> None:
        type(self).closed.append(self.owner)

    def _records(self) -> list[dict]:
        ids = list(range(1, self.n + 1))
        recs = [{"source": self.owner, "name": "step", "id": ids, "value": [self.k] * self.n},
                {"source": self.owner, "name": "actions", "id": [0], "value": [len(self.last_actions)]}]
        return MALFORMED[self.malform](recs) if self.malform and self.k >= 1 else recs


MALFORMED = {
    "empty": lambda recs: [],
    "not_a_list": lambda recs: recs[0],
    "missing_value": lambda recs: [{k: v for k, v in recs[0].items() if k != "value"}],
    "extra_key": lambda recs: [dict(recs[0], unit="Mbps")],
    "length": lambda recs: [dict(recs[0], value=recs[0]["value"][:-1])],
    "id_not_int": lambda recs: [dict(recs[0], id=["a"] * len(recs[0]["id"]))],
    "repeated_id": lambda recs: [dict(recs[0], id=[1] * len(recs[0]["id"]))],
    "numpy": lambda recs: [dict(recs[0], value=np.array(recs[0]["value"]))],
    "nan": lambda recs: [dict(recs[0], value=[float("nan")] * len(recs[0]["id"]))],
    "wrong_ts": lambda recs: [dict(recs[0], ts=5)],
    "table_2023": lambda recs: [{"name": "rate", "unit": "mbps", "cid": "All", "": {"user": [0], "value": [1]}}],
}
EXPECTED_PROBLEM = {
    "empty": "network_stats is []", "not_a_list": "allowed a non-empty list of records",
    "missing_value": "lacks ['value']", "extra_key": "has extra keys ['unit']",
    "length": "has 2 ids but 1 values", "id_not_int": "id[0]='a': allowed an integer",
    "repeated_id": "repeats an id", "numpy": "numpy arrays: use .tolist()", "nan": "not JSON",
    "wrong_ts": "ts=5: allowed 3000", "table_2023": "2023 measurement-table format",
}


# ---------------------------------------------------------------------------------------------- in memory
def test_records_are_stamped_with_the_session_ts_and_a_correct_ts_is_accepted() -> None:
    recs = [{"source": "s", "name": "a", "id": [1.0, 2], "value": [1, None]},
            {"source": "s", "name": "b", "id": [1], "ts": 1100, "value": [{"slice": [0], "value": [3]}]}]
    out = check_records(recs, 1100)
    assert out == [{"source": "s", "name": "a", "id": [1, 2], "ts": 1100, "value": [1, None]},
                   {"source": "s", "name": "b", "id": [1], "ts": 1100, "value": [{"slice": [0], "value": [3]}]}]
    assert [list(r) for r in out] == [["source", "name", "id", "ts", "value"]] * 2


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_records_end_the_session_with_an_env_error_naming_the_problem(kind: str) -> None:
    server = Server(custom=MarkedSim)
    start = custom_env_start(num_users=2, malform=kind, steps_per_episode=2, episodes_per_session=1)
    first = server.handle("alice-0", start)[0]
    assert first["type"] == "env-measurement"  # malformed from the first step on
    action = dict(first["network_stats"][0], name="srate", value=[0.5, 0.5])
    err = server.handle("alice-0", {"type": "env-action", "action_list": action})
    assert len(err) == 1 and err[0]["type"] == "env-error", err
    msg = err[0]["error_msg"]
    assert "MarkedSim.step() returned a malformed measurement" in msg and EXPECTED_PROBLEM[kind] in msg, msg
    again = server.handle("alice-0", {"type": "env-action", "action_list": action})
    assert again[0]["type"] == "env-error" and "session ended after an error" in again[0]["error_msg"]


def test_embedded_custom_session_runs_l_times_e_measurements_and_closes_the_simulation() -> None:
    MarkedSim.closed.clear()
    server = Server(custom=MarkedSim)
    start = custom_env_start(num_users=3, steps_per_episode=2, episodes_per_session=2, measurement_interval_ms=50)
    msgs = server.handle("alice-0", start)
    for k in range(3):
        rec = dict(msgs[-1]["network_stats"][0], name="srate", value=[0.1, None, 1.0], extra="ignored")
        msgs += server.handle("alice-0", {"type": "env-action", "action_list": [rec] if k else rec})
    assert [m["type"] for m in msgs] == ["env-measurement"] * 4
    assert [m["network_stats"][0]["ts"] for m in msgs] == [1050, 1100, 1150, 1200]
    assert [m["network_stats"][0]["value"] for m in msgs] == [[k] * 3 for k in range(4)]
    assert MarkedSim.closed == ["test"]  # once, after the L·E-th measurement
    over = server.handle("alice-0", {"type": "env-action", "action_list": rec})
    assert over[0]["type"] == "env-error" and "all 4 measurements were sent" in over[0]["error_msg"]


def test_subscribed_network_stats_filter_the_records_and_an_empty_result_is_an_env_error() -> None:
    server = Server(custom=MarkedSim)
    first = server.handle("alice-0", custom_env_start(subscribed_network_stats=["test::actions"]))[0]
    assert [(r["source"], r["name"]) for r in first["network_stats"]] == [("test", "actions")]
    err = server.handle("bob-0", custom_env_start(subscribed_network_stats=["test::measurement_9"]))[0]
    assert err["type"] == "env-error" and "produced none of subscribed_network_stats" in err["error_msg"]
    assert "['test::actions', 'test::step']" in err["error_msg"]
    with pytest.raises(ConfigError, match="subscribed_network_stats"):
        CustomConfig.from_env_config(custom_env_start(subscribed_network_stats="test::step"))


def test_stale_ts_and_2023_actions_are_env_errors_and_the_embedded_session_goes_on() -> None:
    server = Server(custom=MarkedSim)
    first = server.handle("alice-0", custom_env_start(num_users=2))[0]
    stale = dict(first["network_stats"][0], name="srate", value=[1, 1], ts=1)
    err = server.handle("alice-0", {"type": "env-action", "action_list": stale})[0]
    assert err["type"] == "env-error" and "ts=1 is stale" in err["error_msg"] and "2000" in err["error_msg"]
    old = [{"name": "srate", "end_ts": 2000, "cid": "Wi-Fi", "": {"user": [0, 1], "value": [1, 1]}}]
    err = server.handle("alice-0", {"type": "env-action", "action_list": old})[0]
    assert err["type"] == "env-error" and "2023 action format" in err["error_msg"]
    ok = server.handle("alice-0", {"type": "env-action", "action_list": dict(stale, ts=2000)})[0]
    assert ok["type"] == "env-measurement" and ok["network_stats"][0]["ts"] == 3000


def test_an_exception_in_the_factory_or_start_is_an_env_error_naming_it() -> None:
    def broken_factory() -> CustomSimulation:
        raise OSError("testbed unreachable")

    class NoStep:
        def start(self, env_config: dict) -> list:
            return []

    for factory, fragment in ((broken_factory, "broken_factory raised OSError: testbed unreachable"),
                              (NoStep, "NoStep has no step() method")):
        err = Server(custom=factory).handle("alice-0", custom_env_start())[0]
        assert err["type"] == "env-error" and fragment in err["error_msg"], err


def test_without_a_custom_simulation_the_custom_env_is_refused() -> None:
    err = Server().handle("alice-0", custom_env_start())[0]
    assert err["type"] == "env-error" and "'custom'" in err["error_msg"]


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("steps_per_episode", 1, "env_config.steps_per_episode=1 is invalid: allowed an integer in 2.."),
    ("measurement_interval_ms", 2.5, "env_config.measurement_interval_ms=2.5"),
    ("env_end_time_ms", 5, "env_config.env_end_time_ms=5 is invalid: allowed measurement_start_time_ms"),
    ("env", "nqos_split", "env_config.env='nqos_split'"),
])
def test_custom_config_timing_keys_are_checked(key: str, value: Any, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        CustomConfig.from_env_config({**custom_env_start(), key: value})


def test_custom_config_follows_networkgyms_timing_and_keeps_the_users_keys() -> None:
    cfg = CustomConfig.from_env_config(custom_env_start(my_key={"a": 1}, max_wait_time_for_action_ms=-1))
    assert (cfg.measurements_per_session, cfg.step_interval_ms, cfg.ts_of(1), cfg.env_end_time_ms) == (
        20, 1000, 2000, 22000)
    assert cfg.max_wait_time_for_action_ms == 600_000 and cfg.env_config["my_key"] == {"a": 1}


def test_load_factory_resolves_modules_and_files_and_names_bad_specs() -> None:
    assert load_factory("netgym_lite.ipc.custom:CustomSimulation") is CustomSimulation
    assert load_factory(f"{EXAMPLE}:BottleneckSim").__name__ == "BottleneckSim"
    for spec, fragment in (("nocolon", "allowed 'package.module:Name'"), ("netgym_lite:Nope", "has no Nope"),
                           ("no_such_module_xyz:X", "ModuleNotFoundError"), ("missing/file.py:X", "no file")):
        with pytest.raises(ConfigError, match=re.escape(fragment)):
            load_factory(spec)


# ---------------------------------------------------------------------------------------------- over ZMQ
zmq_needed = pytest.mark.zmq


def _zmq() -> Any:
    return pytest.importorskip("zmq")


@pytest.fixture()
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    rows = [f"{name},{key},2," for name, key in PASSWORDS.items()]
    path.write_text("Identity,Password,Max_Instances,Email\n" + "\n".join(rows) + "\n")
    return path


def _server(accounts_file: Path, **kw: Any) -> Any:
    _zmq()
    from netgym_lite.ipc.zmq_server import ZmqServer

    kw = {"embedded": False, "warm": False, "worker_wait_s": 5.0, "max_message_bytes": 64 * 1024, **kw}
    server = ZmqServer(0, bind="127.0.0.1", accounts=accounts_file, **kw)
    server.start_thread()
    return server


def _client(server: Any, account: str, client_id: int = 0) -> Any:
    from test_zmq_peers import RawClient

    return RawClient(server.endpoint, account, PASSWORDS[account], client_id=client_id)


def _custom_worker(server: Any, account: str, factory: Any, worker_id: int = 0) -> Any:
    from test_zmq_peers import wait_until

    from netgym_lite.ipc.zmq_worker import ZmqWorker

    worker = ZmqWorker(server.worker_endpoint, session_name=account, session_key=PASSWORDS[account],
                       worker_id=worker_id, custom=factory, hello_interval_s=0.5)
    worker.start_thread()
    assert wait_until(lambda: worker.identity.encode() in server.workers.workers, 10.0)
    return worker


def srate_action(msg: dict, action: np.ndarray) -> dict:
    """NetworkGym's custom adapter: the test::measurement_1 row as template, name srate, value the action."""
    pd = pytest.importorskip("pandas")
    df = pd.json_normalize(msg["network_stats"])
    row = df[(df["source"] == "test") & (df["name"] == "measurement_1")].iloc[0]
    policy = json.loads(row.to_json())
    policy["name"] = "srate"
    policy["value"] = action.tolist()
    return {"type": "env-action", "action_list": policy}


@zmq_needed
def test_networkgyms_custom_config_runs_a_full_session_on_the_example_worker(accounts_file: Path) -> None:
    from test_zmq_peers import wait_until

    from netgym_lite.ipc.southbound import IDLE

    server = _server(accounts_file)
    worker = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--port", str(server.worker_port), "--session-name", "alice"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1", NETGYM_LITE_SESSION_KEY=PASSWORDS["alice"],
                 PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])))
    client = _client(server, "alice")
    try:
        assert "serving env 'custom'" in worker.stdout.readline()
        assert wait_until(lambda: any(w.env_list == ["alice-custom"] for w in server.workers.workers.values()), 10)
        start = custom_env_start()
        n, interval = start["num_users"], start["measurement_interval_ms"]
        total = start["steps_per_episode"] * start["episodes_per_session"]
        rng = np.random.default_rng(3)
        client.send(start)
        msgs, sent = [client.recv()], []
        for step in range(total - 1):
            assert msgs[-1] is not None and msgs[-1]["type"] == "env-measurement", msgs[-1]
            action = np.array([]) if step % 3 == 2 else rng.uniform(0, 1, n).astype(np.float32)
            sent.append(action)
            client.send(srate_action(msgs[-1], action))
            msgs.append(client.recv())
        assert client.recv(timeout_s=0.5) is None  # L·E = 20 measurements, then nothing more
        assert wait_until(lambda: [w.state for w in server.workers.workers.values()] == [IDLE], 10)
    finally:
        client.close()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=15)
        server.stop()
    assert worker.returncode == 0, err
    assert "stopped after 1 completed sessions" in out
    assert len(msgs) == total
    for k, msg in enumerate(msgs, start=1):
        assert msg["type"] == "env-measurement" and msg["network_stats"], msg
        by_name = {f"{r['source']}::{r['name']}": r for r in msg["network_stats"]}
        assert set(by_name) == {"test::measurement_1", "test::measurement_2", "test::measurement_3"}
        for r in msg["network_stats"]:
            assert list(r) == ["source", "name", "id", "ts", "value"]
            assert r["id"] == list(range(1, n + 1)) and len(r["value"]) == n
            assert r["ts"] == start["measurement_start_time_ms"] + k * interval
        rate, delay, send = (np.array(by_name[f"test::measurement_{i}"]["value"]) for i in (1, 2, 3))
        assert np.all((rate >= 0) & (rate <= 9.0 + 1e-3) & (rate <= send + 2.0 + 1e-3))  # Mbps, ≤ capacity
        assert np.all((delay >= 20.0) & (delay <= 20.0 + 1000 * 2.0 / 3.0 + 1e-3))  # ms: base + full buffer
        # the action in effect: srate · 10 Mbps; the system default (value []) restores 5 Mbps for everyone
        expected = np.full(n, 5.0) if k == 1 or sent[k - 2].size == 0 else 10.0 * sent[k - 2]
        np.testing.assert_allclose(send, expected, atol=1e-3)


@zmq_needed
def test_a_raising_or_malformed_simulation_ends_only_its_session_and_the_worker_serves_the_next(
        accounts_file: Path) -> None:
    from test_zmq_peers import wait_until

    MarkedSim.closed.clear()
    server = _server(accounts_file)
    worker = _custom_worker(server, "alice", MarkedSim)
    client = _client(server, "alice")
    try:
        for extra, fragment in (({"fail_on_step": 2}, "MarkedSim.step() raised RuntimeError: boom at step 2"),
                                ({"malform": "length"}, "has 2 ids but 1 values"), ({}, None)):
            client.send(custom_env_start(num_users=2, steps_per_episode=2, episodes_per_session=2, **extra))
            msgs = [client.recv()]
            while msgs[-1] is not None and msgs[-1]["type"] == "env-measurement" and len(msgs) < 4:
                rec = dict(msgs[-1]["network_stats"][0], name="srate", value=[])
                client.send({"type": "env-action", "action_list": rec})
                msgs.append(client.recv())
            if fragment is None:
                assert [m["type"] for m in msgs] == ["env-measurement"] * 4
                assert client.recv(timeout_s=0.3) is None
            else:
                assert msgs[-1]["type"] == "env-error" and fragment in msgs[-1]["error_msg"], msgs[-1]
            assert wait_until(lambda: not worker.busy, 5.0)
        assert (worker.sessions_started, worker.sessions_aborted, worker.sessions_completed) == (3, 2, 1)
        assert MarkedSim.closed == ["test"] * 3  # every session's simulation was closed, however it ended
    finally:
        client.close()
        worker.stop()
        server.stop()


class AliceSim(MarkedSim):
    owner = "alice"


class BobSim(MarkedSim):
    owner = "bob"


class OperatorSim(MarkedSim):
    owner = "operator"


@zmq_needed
def test_custom_is_routed_to_the_clients_own_account_never_to_another_accounts_worker(
        accounts_file: Path) -> None:
    server = _server(accounts_file, embedded=True, custom=OperatorSim, worker_wait_s=0.5)
    alice_w = _custom_worker(server, "alice", AliceSim)
    bob_w = _custom_worker(server, "bob", BobSim)
    clients = {name: _client(server, name) for name in ("alice", "bob", "carol")}
    alice2 = _client(server, "alice", client_id=1)
    try:
        assert sorted(w.env_list[0] for w in server.workers.workers.values()) == ["alice-custom", "bob-custom"]
        owners = {}
        for name, client in clients.items():
            client.send(custom_env_start(num_users=2))
            reply = client.recv()
            assert reply["type"] == "env-measurement", reply
            owners[name] = reply["network_stats"][0]["source"]
        # each account reaches its own worker; carol, without one, the server's embedded custom simulation
        assert owners == {"alice": "alice", "bob": "bob", "carol": "operator"}
        # alice's only worker is busy: her second client waits for it, and gets neither bob's nor the embedded one
        alice2.send(custom_env_start(num_users=2))
        reply = alice2.recv()
        assert reply["type"] == "no-available-worker" and "alice-custom" in reply["msg"], reply
        assert (alice_w.sessions_started, bob_w.sessions_started) == (1, 1)
    finally:
        for client in (*clients.values(), alice2):
            client.close()
        alice_w.stop()
        bob_w.stop()
        server.stop()


@zmq_needed
def test_serve_without_a_custom_simulation_answers_custom_with_no_available_worker(accounts_file: Path) -> None:
    server = _server(accounts_file, embedded=True, worker_wait_s=0.3)
    client = _client(server, "alice")
    try:
        client.send(custom_env_start())
        reply = client.recv()
        assert reply["type"] == "no-available-worker" and "alice-custom" in reply["msg"], reply
        assert not server.server.sessions  # no embedded netgym-lite session was tried
    finally:
        client.close()
        server.stop()


@zmq_needed
def test_worker_command_serves_a_custom_simulation_and_serve_rejects_bad_custom_options(
        accounts_file: Path) -> None:
    server = _server(accounts_file)
    env = dict(os.environ, PYTHONUNBUFFERED="1", NETGYM_LITE_SESSION_KEY=PASSWORDS["bob"])
    worker = subprocess.Popen(
        [sys.executable, "-m", "netgym_lite.cli", "worker", "--server", server.worker_endpoint,
         "--session-name", "bob", "--custom", f"{EXAMPLE}:BottleneckSim"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    client = _client(server, "bob")
    try:
        assert "serving custom" in worker.stdout.readline()
        client.send(custom_env_start(steps_per_episode=2, episodes_per_session=1))
        first = client.recv()
        assert first["type"] == "env-measurement", first
        client.send(srate_action(first, np.ones(5)))
        last = client.recv()
        assert last["type"] == "env-measurement"
        assert next(r for r in last["network_stats"] if r["name"] == "measurement_3")["value"] == [10.0] * 5
        time.sleep(0.2)
    finally:
        client.close()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=15)
        server.stop()
    assert worker.returncode == 0 and "stopped after 1 completed" in out, err
    for extra, fragment in ((["--custom", "no_such_module_xyz:Sim"], "--custom='no_such_module_xyz:Sim'"),
                            (["--custom", f"{EXAMPLE}:BottleneckSim", "--no-embedded"], "--no-embedded")):
        proc = subprocess.run([sys.executable, "-m", "netgym_lite.cli", "serve", "--port", "0", *extra],
                              capture_output=True, text=True, cwd=REPO, timeout=60)
        assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr


def test_example_simulation_honours_srate_and_the_system_default() -> None:
    sim = load_factory(f"{EXAMPLE}:BottleneckSim")()
    first = sim.start(custom_env_start(num_users=3))
    assert [r["value"] for r in first if r["name"] == "measurement_3"] == [[5.0] * 3]
    out = sim.step([{"source": "test", "name": "srate", "id": [1, 2, 3], "ts": 2000, "value": [0.0, None, 1.0]}])
    assert next(r for r in out if r["name"] == "measurement_3")["value"] == [0.0, 5.0, 10.0]
    out = sim.step([{"source": "test", "name": "srate", "id": [1, 2, 3], "ts": 3000, "value": []}])
    assert next(r for r in out if r["name"] == "measurement_3")["value"] == [5.0] * 3
    with pytest.raises(Exception, match=re.escape("action_list[0].value=[1.5, 0, 0] is invalid")):
        sim.step([{"source": "test", "name": "srate", "id": [1, 2, 3], "ts": 4000, "value": [1.5, 0, 0]}])
