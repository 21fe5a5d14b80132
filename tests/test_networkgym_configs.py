"""NetworkGym's own shipped configs, verbatim, through `serve` with a raw NetworkGym-style client whose actions are
built the way NetworkGym's adapters build them: the measurement through ``pandas.json_normalize``, one row as
template, ``json.loads(row.to_json())``, then name and value replaced.

Test data: ``tests/data/networkgym_{qos_steer,network_slicing,rmcat}_config.json`` are NetworkGym's
``network_gym_client/envs/<env>/config.json`` at commit b44e3f0 (configuration files, kept verbatim), and
``networkgym_rmcat_bw_trace.csv`` is its ``envs/rmcat/bw_trace.csv`` at the same commit.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("zmq")
pd = pytest.importorskip("pandas")

from test_zmq_peers import RawClient, serve_in_thread  # noqa: E402

from netgym_lite.config import load_config, raw_env_config  # noqa: E402
from netgym_lite.ipc.zmq_server import ZmqServer  # noqa: E402
from netgym_lite.sim import Simulation  # noqa: E402

pytestmark = pytest.mark.zmq
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def zserver() -> Iterator[ZmqServer]:
    yield from serve_in_thread()


def env_start(name: str, **overrides) -> dict:
    """What NetworkGym's client sends for its shipped config: env_config plus the keys the client adds (env, the
    interval keys, num_users, env_end_time_ms), in the config's own dialect."""
    whole = json.loads((DATA / f"networkgym_{name}_config.json").read_text())
    return raw_env_config(whole, env=name, **overrides)


def row(msg: dict, source: str, name: str) -> Any:
    df = pd.json_normalize(msg["network_stats"])
    return df[(df["source"] == source) & (df["name"] == name)].iloc[0]


def qos_steer_action(msg: dict, step: int) -> dict:
    """NetworkGym's qos_steer adapter: gma::dl::rate as template, name wifi::dl::split_ratio, value the
    MultiDiscrete action (ints 0/1); every third step the system default (``env.step([])``)."""
    policy = json.loads(row(msg, "gma", "dl::rate").to_json())
    policy["name"] = "wifi::dl::split_ratio"
    n = len(policy["id"])
    policy["value"] = [] if step % 3 == 2 else np.array([(u + step) % 2 for u in range(n)]).tolist()
    return {"type": "env-action", "action_list": policy}


def slicing_action(msg: dict, step: int, rbg_num: float = 25.0) -> dict:
    """NetworkGym's network_slicing adapter: three copies of lte::dl::cell::max_rate named drb/prb/srb_allocation,
    the counts as floats per cell entry; every third step the system default with empty inner lists."""
    template = row(msg, "lte", "dl::cell::max_rate")
    scaled = np.round(np.interp([0.8, 0.4] if step % 2 else [0.2, 0.9], (0, 1), (0, rbg_num / 2)))
    policies = []
    for name, values in (("drb_allocation", np.zeros(2).tolist()), ("prb_allocation", scaled.tolist()),
                         ("srb_allocation", list(np.ones(2) * rbg_num))):
        policy = json.loads(template.to_json())
        policy["name"] = name
        for item in policy["value"]:
            item["value"] = [] if step % 3 == 2 else values
        policies.append(policy)
    return {"type": "env-action", "action_list": policies}


CASES = {"qos_steer": qos_steer_action, "network_slicing": slicing_action}


@pytest.mark.parametrize("name", list(CASES))
def test_networkgyms_shipped_config_runs_a_full_session(zserver: ZmqServer, name: str) -> None:
    start = env_start(name, steps_per_episode=4, episodes_per_session=2)
    if name == "network_slicing":  # also subscribe to the applied allocation, to see the action take effect
        start["subscribed_network_stats"] += ["lte::drb_allocation", "lte::prb_allocation", "lte::srb_allocation"]
    subscribed = set(start["subscribed_network_stats"])
    interval = start["measurement_interval_ms"]
    client = RawClient(zserver.endpoint, "ngym", client_id=7)
    try:
        client.send(start)
        msgs = [client.recv()]
        for step in range(7):
            assert msgs[-1] is not None and msgs[-1]["type"] == "env-measurement", msgs[-1]
            client.send(CASES[name](msgs[-1], step))
            msgs.append(client.recv())
        assert client.recv(timeout_s=0.5) is None  # L·E = 8 measurements, then nothing more
    finally:
        client.close()
    n = start["num_users"]
    for k, msg in enumerate(msgs):
        assert msg["type"] == "env-measurement", msg
        stats = msg["network_stats"]
        assert stats, "network_stats must never be empty"
        keys = {f"{r['source']}::{r['name']}" for r in stats}
        assert keys == subscribed  # every stat NetworkGym's config subscribes to comes back, nothing else
        by = {f"{r['source']}::{r['name']}": r["value"] for r in stats}
        if "gma::ul::rate" in by and "gma::dl::rate" in by:
            # the uplink carries TCP's ACKs (≤ 52 bytes per downlink segment), nothing for UDP flows
            for dl, ul in zip(by["gma::dl::rate"], by["gma::ul::rate"], strict=True):
                assert 0 <= ul <= dl * 0.05 + 0.05
            assert (max(by["gma::ul::rate"]) > 0) == ("tcp" in json.dumps(start.get("transport_protocol")).lower()
                                                      or "tcp" in json.dumps(start.get("per_slice_config")).lower())
        for r in stats:
            assert r["ts"] == start["measurement_start_time_ms"] + (k + 1) * interval
            if "::cell::" in r["name"] or r["name"].endswith("_allocation"):
                assert r["id"] == [1] and len(r["value"]) == 1 and len(r["value"][0]["slice"]) == len(
                    r["value"][0]["value"])
            else:
                assert r["id"] == list(range(1, n + 1)) and len(r["value"]) == n
                assert all(v == -1 or v >= 0 for v in r["value"]), r  # -1 = no value, as NetworkGym
    if name == "network_slicing":  # the action took effect, and the system default restored the config
        prb = [next(r for r in m["network_stats"] if r["name"] == "prb_allocation")["value"][0]["value"]
               for m in msgs]
        assert prb[1] == [2.0, 11.0] and prb[2] == [10.0, 5.0] and prb[3] == [13.0, 12.0]
    else:
        split = [next(r for r in m["network_stats"] if r["name"] == "wifi::dl::split_ratio")["value"] for m in msgs]
        assert split[1] == [100.0 * ((u + 0) % 2) for u in range(n)]


def networkgym_rmcat_start(steps: int, episodes: int) -> dict:
    """What NetworkGym's client sends for its rmcat config: the env_config verbatim (L and E shortened), plus the
    keys its client adds: ``env``, ``env_end_time_ms`` and ``bw_trace``, the trace CSV read column by column into
    floats (its rmcat adapter)."""
    env_config = json.loads((DATA / "networkgym_rmcat_config.json").read_text())["env_config"]
    env_config.update(steps_per_episode=steps, episodes_per_session=episodes, env="rmcat")
    env_config["env_end_time_ms"] = int(env_config["measurement_start_time_ms"]
                                        + env_config["measurement_interval_ms"] * (steps * episodes + 1))
    trace: dict[str, list[float]] = {}
    with (DATA / "networkgym_rmcat_bw_trace.csv").open(encoding="utf-8") as f:
        for line in csv.DictReader(f):
            for key, value in line.items():
                trace.setdefault(key, []).append(float(value))
    env_config["bw_trace"] = trace
    return env_config


def rmcat_rate(step: int) -> float | None:
    """The agent's sending rate at ``step`` (bps), None every third step (``env.step([])``, NADA)."""
    return None if step % 3 == 2 else 300_000.0 + 200_000.0 * step


def rmcat_action(msg: dict, step: int) -> dict:
    """NetworkGym's rmcat adapter: rmcat::rtt as template, name srate, value the Box action's ``tolist()``."""
    policy = json.loads(row(msg, "rmcat", "rtt").to_json())
    policy["name"] = "srate"
    rate = rmcat_rate(step)
    policy["value"] = [] if rate is None else np.array([rate], dtype=np.float32).tolist()
    return {"type": "env-action", "action_list": policy}


@pytest.fixture(scope="module")
def rmcat_server() -> Iterator[ZmqServer]:
    """A server without the multi-access warm-up (rmcat runs on its own small kernels; the first session compiles
    them if they are not cached yet)."""
    server = ZmqServer(0, bind="127.0.0.1", max_message_bytes=64 * 1024, warm=False)
    server.start_thread()
    try:
        yield server
    finally:
        server.stop()


def test_networkgyms_rmcat_config_runs_a_full_session(rmcat_server: ZmqServer) -> None:
    zserver = rmcat_server
    start = networkgym_rmcat_start(steps=4, episodes=2)
    subscribed = set(start["subscribed_network_stats"])
    interval = start["measurement_interval_ms"]
    client = RawClient(zserver.endpoint, "ngym", client_id=8)
    try:
        client.send(start)
        msgs = [client.recv(timeout_s=120)]  # the first rmcat session may compile its kernels
        for step in range(7):
            assert msgs[-1] is not None and msgs[-1]["type"] == "env-measurement", msgs[-1]
            client.send(rmcat_action(msgs[-1], step))
            msgs.append(client.recv())
        assert client.recv(timeout_s=0.5) is None  # L·E = 8 measurements, then nothing more
    finally:
        client.close()
    stats = []
    for k, msg in enumerate(msgs):
        assert msg["type"] == "env-measurement", msg
        assert msg["network_stats"], "network_stats must never be empty"
        by_name = {r["name"]: r for r in msg["network_stats"]}
        assert {f"{r['source']}::{r['name']}" for r in msg["network_stats"]} == subscribed
        for r in msg["network_stats"]:
            assert set(r) == {"source", "name", "id", "ts", "value"}
            assert r["id"] == [0] and len(r["value"]) == 1  # one NADA flow, flow ids from 0
            assert r["ts"] == start["measurement_start_time_ms"] + (k + 1) * interval
        v = {name: rec["value"][0] for name, rec in by_name.items()}
        assert 20.0 <= v["rtt"] < 1000.0 and 0.0 <= v["qdel"] < v["rtt"]  # ms; 2 x 10 ms propagation
        assert 0.0 <= v["xcurr"] <= 500.0 and 0.0 <= v["plr"] <= 1.0 and v["ploss"] >= 0 and v["loglen"] >= 5
        assert 100_000.0 < v["rrate"] <= 1_100_000.0  # bps, on the 1000 kbps link
        assert 150_000.0 <= v["srate"] <= 1_500_000.0 and 150_000.0 <= v["nada_srate"] <= 1_500_000.0
        stats.append(v)
    for step in range(7):  # the action took effect; the system default left the rate to NADA
        rate = rmcat_rate(step)
        expected = stats[step]["nada_srate"] if rate is None else rate
        assert stats[step + 1]["srate"] == pytest.approx(expected), step


UNIFIED_WEIGHTS = ([0.5, 0.25, 0.25], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0])


def split_weight_action(msg: dict, step: int, n: int) -> dict:
    """NetworkGym's last nqos_split adapter: gma::dl::rate as template, name dl::split_weight, an (N, 3) array
    (wifi, nr, lte) normalised per user with an all-zero row becoming [1, 0, 0]; every third step ``[]``."""
    action = np.array([UNIFIED_WEIGHTS[(u + step) % len(UNIFIED_WEIGHTS)] for u in range(n)], np.float32)
    for user_action in action:  # the adapter's own normalisation, in place
        total = user_action.sum()
        if total == 0:
            user_action[0] = 1
        else:
            user_action[:] = user_action / total
    policy = json.loads(row(msg, "gma", "dl::rate").to_json())
    policy["name"] = "dl::split_weight"
    policy["value"] = [] if step % 3 == 2 else action.tolist()
    return {"type": "env-action", "action_list": policy}


@pytest.mark.parametrize("downlink", [True, False], ids=["downlink", "uplink"])
def test_networkgyms_unified_nqos_split_config_runs_a_full_session(zserver: ZmqServer, downlink: bool) -> None:
    """The last release's nqos_split config (NR gNBs, per_slice_config with UDP and TcpBbr slices) verbatim, with
    N×3 split weights; the weights show up as the next measurement's per-link split ratios (32 GMA units) of the
    data's direction. ``downlink_traffic: false`` (its documented switch) makes the flows uplink data: the same
    session, the data in the ``ul`` records and the ACKs in the ``dl`` ones."""
    whole = json.loads((DATA / "nqos_split_head.json").read_text())
    start = raw_env_config(whole, env="nqos_split", steps_per_episode=4, episodes_per_session=2)
    start["downlink_traffic"] = downlink
    data, acks = ("dl", "ul") if downlink else ("ul", "dl")
    if not downlink:  # compile the uplink kernels here, not inside the server while the client waits
        Simulation(load_config(whole, env="nqos_split", downlink_traffic=False)).advance()
    subscribed = set(start["subscribed_network_stats"])
    interval = start["measurement_interval_ms"]
    n = start["num_users"]
    client = RawClient(zserver.endpoint, "ngym", client_id=8)
    try:
        client.send(start)
        msgs = [client.recv()]
        for step in range(7):
            assert msgs[-1] is not None and msgs[-1]["type"] == "env-measurement", msgs[-1]
            client.send(split_weight_action(msgs[-1], step, n))
            msgs.append(client.recv())
        assert client.recv(timeout_s=0.5) is None  # L·E = 8 measurements
    finally:
        client.close()
    for k, msg in enumerate(msgs):
        assert msg["type"] == "env-measurement", msg
        stats = msg["network_stats"]
        assert stats, "network_stats must never be empty"
        keys = {f"{r['source']}::{r['name']}" for r in stats}
        assert keys == subscribed
        for r in stats:
            assert r["ts"] == start["measurement_start_time_ms"] + (k + 1) * interval
            if "::cell::" not in r["name"]:
                assert r["id"] == list(range(1, n + 1)) and len(r["value"]) == n, r
        by_key = {f"{r['source']}::{r['name']}": r["value"] for r in stats}
        assert all(0 <= c <= 255 for c in by_key["nr::cell_id"])
        assert all(v == -1 or 0 <= v < 2000 for v in by_key[f"gma::nr::{data}::rate"])
        # the ACK direction carries ≤ 52 bytes per data segment: nothing for the UDP slice (user 1)
        assert by_key[f"gma::{acks}::rate"][0] <= 0
        for d, a in zip(by_key[f"gma::{data}::rate"], by_key[f"gma::{acks}::rate"], strict=True):
            assert a <= d * 0.05 + 0.05
        if k >= 1:
            assert sum(by_key[f"gma::{data}::rate"]) > 1.0  # the data flows run in the chosen direction
        ratios = np.array([by_key[f"gma::{link}::{data}::split_ratio"] for link in ("wifi", "nr", "lte")])
        assert np.allclose(ratios.sum(axis=0), 100.0), ratios
        if k >= 1 and (k - 1) % 3 != 2:  # measurement k follows the agent's weights of step k - 1
            for u in range(1, n):  # users 2..n: the TcpBbr slice, whose data GMA splits ("auto" mode)
                w = np.array(UNIFIED_WEIGHTS[(u + k - 1) % len(UNIFIED_WEIGHTS)], float)
                w = np.array([1.0, 0.0, 0.0]) if w.sum() == 0 else w / w.sum()
                assert np.allclose(ratios[:, u], 100.0 * np.round(w * 32) / 32, atol=100 / 32), (k, u, ratios[:, u])
