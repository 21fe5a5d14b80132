"""Remote mode speed: ZMQ loopback step latency vs the in-memory step, and server throughput with concurrent clients.

Run: ``python benchmarks/bench_zmq.py [--quick]`` (needs ``pip install 'netgym-lite[zmq]'``). Starts
``netgym-lite serve --port 0`` in a subprocess (embedded workers, loopback only), then prints Markdown tables:

1. per-step latency of TrafficMgmt-v0 (default scenario, 4 users, fixed random action, JSON both ways) in memory
   and through the server, and the difference (the issue's target: ≤ 250 µs over the in-memory step);
2. total steps/s and per-step latency percentiles with 1, 8 and 64 concurrent clients (threads in this
   process, each its own DEALER socket and session; the server loop is single-threaded).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import raw_env_config
from netgym_lite.envs.traffic_mgmt import find_record
from netgym_lite.ipc.client import NetworkGymClient
from netgym_lite.ipc.zmq_transport import ZmqTransport

REPO = Path(__file__).resolve().parents[1]


def start_server() -> tuple[subprocess.Popen, str, float]:
    """``netgym-lite serve --port 0`` in a subprocess; (process, endpoint, seconds until it listened)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "netgym_lite.cli", "serve", "--port", "0", "--log-level",
                             "WARNING"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    line = proc.stdout.readline()
    match = re.search(r"listening on (tcp://\S+) \(kernels ready in ([0-9.]+) s\)", line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"serve did not start: {line!r}")
    return proc, match.group(1), time.perf_counter() - t0


def step_latencies(env: gym.Env, steps: int, warmup: int = 20) -> np.ndarray:
    """Per-step wall times (seconds) of ``steps`` env steps with one fixed random action."""
    env.reset(seed=0)
    action = env.action_space.sample()
    for _ in range(warmup):
        env.step(action)
    out = np.empty(steps)
    for i in range(steps):
        t0 = time.perf_counter()
        env.step(action)
        out[i] = time.perf_counter() - t0
    return out


def latency_table(endpoint: str, steps: int) -> str:
    kw = {"steps_per_episode": steps + 50, "episodes_per_session": 1}
    local = gym.make("netgym-lite/TrafficMgmt-v0", **kw)
    remote = gym.make("netgym-lite/TrafficMgmt-v0", server=endpoint, session_name="bench", session_key="x",
                      client_id=0, **kw)
    try:
        rows = []
        # Interleave the two runs in rounds so that machine load affects both alike.
        mem, zmq_ = [], []
        for _ in range(3):
            mem.append(step_latencies(local, steps // 3))
            zmq_.append(step_latencies(remote, steps // 3))
        mem_a, zmq_a = np.concatenate(mem), np.concatenate(zmq_)
        for name, a in (("in-memory", mem_a), ("ZMQ loopback (serve, embedded worker)", zmq_a)):
            rows.append(f"| {name} | {np.median(a) * 1e6:,.0f} | {a.mean() * 1e6:,.0f} | "
                        f"{np.percentile(a, 99) * 1e6:,.0f} |")
        rows.append(f"| difference (ZMQ − in-memory) | {(np.median(zmq_a) - np.median(mem_a)) * 1e6:,.0f} | "
                    f"{(zmq_a.mean() - mem_a.mean()) * 1e6:,.0f} | |")
    finally:
        local.close()
        remote.close()
    head = ("#### One TrafficMgmt step (default scenario, 4 users; action out, all records back)\n\n"
            "| transport | median µs | mean µs | p99 µs |\n|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


def _client(endpoint: str, cid: int, steps: int, barrier: threading.Barrier, out: list, errors: list) -> None:
    cfg = raw_env_config(None, steps_per_episode=steps + 1, episodes_per_session=1, random_seed=cid)
    client = NetworkGymClient(ZmqTransport(endpoint, session_name="tput", session_key="x", client_id=cid))
    try:
        records = client.connect(cfg)
        lat = np.empty(steps)
        barrier.wait()
        for i in range(steps):
            rec = find_record(records, "gma", "dl::rate")
            action = dict(rec, name="wifi::dl::split_ratio", value=[])
            t0 = time.perf_counter()
            records = client.step(action)
            lat[i] = time.perf_counter() - t0
        out.append(lat)
    except BaseException as e:  # reported by the caller
        errors.append(e)
        barrier.abort()
    finally:
        client.close()


def throughput_table(endpoint: str, steps_per_client: dict[int, int]) -> str:
    rows = []
    for n, steps in steps_per_client.items():
        out: list[np.ndarray] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(n + 1, timeout=120)
        threads = [threading.Thread(target=_client, args=(endpoint, i, steps, barrier, out, errors), daemon=True)
                   for i in range(n)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join(600)
        wall = time.perf_counter() - t0
        if errors:
            raise errors[0]
        lat = np.concatenate(out)
        rows.append(f"| {n} | {lat.size:,} | {lat.size / wall:,.0f} | {np.percentile(lat, 50) * 1e3:.2f} | "
                    f"{np.percentile(lat, 90) * 1e3:.2f} | {np.percentile(lat, 99) * 1e3:.2f} |")
    head = ("#### Server throughput (default scenario, 4 users per session, system-default action)\n\n"
            "| clients | steps | total steps/s | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    args = parser.parse_args()
    proc, endpoint, startup = start_server()
    try:
        steps = 600 if args.quick else 3000
        print(f"netgym-lite serve started in {startup:.2f} s (process start + kernel warm-up), {endpoint}\n")
        print(latency_table(endpoint, steps))
        print()
        per_client = {1: 400, 8: 100, 64: 20} if args.quick else {1: 2000, 8: 500, 64: 100}
        print(throughput_table(endpoint, per_client))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


if __name__ == "__main__":
    main()
