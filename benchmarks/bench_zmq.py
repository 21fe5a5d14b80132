"""Remote mode speed: ZMQ loopback step latency vs the in-memory step, and server throughput with concurrent clients.

Run: ``python benchmarks/bench_zmq.py [--quick]`` (needs ``pip install 'netgym-lite[zmq]'``). Starts, as
subprocesses on loopback, ``netgym-lite serve --port 0`` (embedded workers) and ``netgym-lite serve --port 0
--no-embedded`` with ``netgym-lite worker`` processes (external workers: one more ZMQ hop), then prints Markdown
tables:

1. per-step latency of TrafficMgmt-v0 (default scenario, 4 users, fixed random action, JSON both ways) in memory,
   through the server with an embedded worker and through the server with an external worker, and the
   differences (the issue's target: ≤ 250 µs over the in-memory step for the embedded path); the three are
   measured in interleaved rounds so that machine load affects them alike;
2. total steps/s and per-step latency percentiles with 1, 8 and 64 concurrent clients on embedded workers (threads
   in this process, each its own DEALER socket and session; the server loop is single-threaded), and with 1 and
   ``--workers`` clients on as many external workers (each worker runs one session at a time).
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


def _spawn(args: list[str], pattern: str) -> tuple[subprocess.Popen, re.Match]:
    """Start ``netgym-lite ARGS`` and wait for the first stdout line matching ``pattern``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "netgym_lite.cli", *args, "--log-level", "WARNING"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    line = proc.stdout.readline()
    match = re.search(pattern, line)
    if match is None:
        proc.kill()
        raise RuntimeError(f"netgym-lite {args[0]} did not start: {line!r}")
    return proc, match


def start_server(*extra: str) -> tuple[subprocess.Popen, str, str, float]:
    """``netgym-lite serve --port 0 EXTRA``; (process, endpoint, worker endpoint, seconds until it listened)."""
    t0 = time.perf_counter()
    proc, match = _spawn(
        ["serve", "--port", "0", *extra],
        r"listening on (tcp://\S+) \(kernels ready in [0-9.]+ s\); workers connect to (tcp://\S+);",
    )
    return proc, match.group(1), match.group(2), time.perf_counter() - t0


def start_worker(worker_endpoint: str, worker_id: int) -> subprocess.Popen:
    """``netgym-lite worker`` for the server's southbound endpoint."""
    proc, _ = _spawn(
        ["worker", "--server", worker_endpoint, "--session-key", "bench", "--worker-id", str(worker_id)],
        r"serving nqos_split",
    )
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


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


def latency_table(embedded: str, external: str, steps: int) -> str:
    kw = {"steps_per_episode": steps + 100, "episodes_per_session": 1}
    envs = {
        "in-memory": gym.make("netgym-lite/TrafficMgmt-v0", **kw),
        "ZMQ loopback, serve + embedded worker": gym.make(
            "netgym-lite/TrafficMgmt-v0",
            server=embedded,
            session_name="bench",
            session_key="x",
            client_id=0,
            **kw,
        ),
        "ZMQ loopback, serve + external worker (2 hops)": gym.make(
            "netgym-lite/TrafficMgmt-v0",
            server=external,
            session_name="bench",
            session_key="x",
            client_id=0,
            **kw,
        ),
    }
    try:
        # Interleave the runs in rounds so that machine load affects all alike.
        parts: dict[str, list[np.ndarray]] = {name: [] for name in envs}
        for _ in range(3):
            for name, env in envs.items():
                parts[name].append(step_latencies(env, steps // 3))
    finally:
        for env in envs.values():
            env.close()
    lat = {name: np.concatenate(p) for name, p in parts.items()}
    mem = lat["in-memory"]
    rows = [
        f"| {name} | {np.median(a) * 1e6:,.0f} | {a.mean() * 1e6:,.0f} | {np.percentile(a, 99) * 1e6:,.0f} |"
        for name, a in lat.items()
    ]
    for name, a in list(lat.items())[1:]:
        rows.append(
            f"| difference: {name.split(', ', 1)[1]} − in-memory | {(np.median(a) - np.median(mem)) * 1e6:,.0f}"
            f" | {(a.mean() - mem.mean()) * 1e6:,.0f} | |"
        )
    head = (
        "#### One TrafficMgmt step (default scenario, 4 users; action out, all records back)\n\n"
        "| transport | median µs | mean µs | p99 µs |\n|---|---|---|---|"
    )
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


def throughput_table(endpoint: str, steps_per_client: dict[int, int], title: str) -> str:
    rows = []
    for n, steps in steps_per_client.items():
        out: list[np.ndarray] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(n + 1, timeout=120)
        threads = [
            threading.Thread(target=_client, args=(endpoint, i, steps, barrier, out, errors), daemon=True)
            for i in range(n)
        ]
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
        rows.append(
            f"| {n} | {lat.size:,} | {lat.size / wall:,.0f} | {np.percentile(lat, 50) * 1e3:.2f} | "
            f"{np.percentile(lat, 90) * 1e3:.2f} | {np.percentile(lat, 99) * 1e3:.2f} |"
        )
    head = (
        f"#### Server throughput, {title} (default scenario, 4 users per session, system-default action)\n\n"
        "| clients | steps | total steps/s | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|---|---|"
    )
    return head + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument("--workers", type=int, default=2, help="external worker processes (default 2)")
    args = parser.parse_args()
    procs: list[subprocess.Popen] = []
    try:
        proc, embedded, _, startup = start_server()
        procs.append(proc)
        proc, external, worker_endpoint, _ = start_server("--no-embedded")
        procs.append(proc)
        for i in range(args.workers):
            procs.append(start_worker(worker_endpoint, i))
        steps = 600 if args.quick else 3000
        print(
            f"netgym-lite serve started in {startup:.2f} s (process start + kernel warm-up); {args.workers} "
            "external workers\n"
        )
        print(latency_table(embedded, external, steps))
        print()
        per_client = {1: 400, 8: 100, 64: 20} if args.quick else {1: 2000, 8: 500, 64: 100}
        print(throughput_table(embedded, per_client, "embedded workers"))
        print()
        per_worker = {1: 400, args.workers: 400} if args.quick else {1: 2000, args.workers: 2000}
        print(throughput_table(external, per_worker, f"{args.workers} external workers, one client each"))
    finally:
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    main()
