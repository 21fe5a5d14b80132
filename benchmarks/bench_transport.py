"""In-memory transport overhead per step: message validation and hand-over only (no simulation, no record building).

Run: ``python benchmarks/bench_transport.py [--quick]`` (from a source tree that is not the installed one:
``PYTHONPATH=. python benchmarks/bench_transport.py``). The simulation behind the server is a replay: the records
of the default TrafficMgmt scenario (4 users, every record the model produces) are captured once from the real
simulation, then every ``advance()`` returns a pre-built list with the right ``ts``. What is timed is therefore
exactly the protocol path of one step: the client builds the env-action, the in-memory transport hands it over,
the server finds the session, checks the ``ts`` echo and parses and range-checks the action, the session builds
the env-measurement (shape and workload-stats checks), the transport hands it back and the client checks it and
takes its ts. The issue's target is ≤ 10 µs per step for the default transport (no copy). Rows:

* each layer on its own (``parse_action``; ``Session.handle``; ``Server.handle``), to show where the time goes;
* ``NetworkGymClient.step`` over ``InProcTransport`` as the env uses it (``copy=False``), with a copy of every
  message as a JSON tree (``copy=True``, the transport's default for other users) and with a strict JSON round
  trip (``check_json=True``, what tests use to prove a message survives the wire).

With pyzmq installed, two more rows run the same replay behind ``ZmqServer`` in a child process (embedded worker,
and ``--no-embedded`` with a ``ZmqWorker`` child): the protocol cost of remote mode without the simulation, i.e. JSON
both ways, the ZMQ hops and the broker's bookkeeping.

Times are the median and the best of several rounds of ~2,000 steps (per-step µs), measured in one process, one
after the other; on a shared machine the best round is the cleanest estimate (other load only adds time).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from netgym_lite.config import load_config, raw_env_config
from netgym_lite.ipc import messages as m
from netgym_lite.ipc.client import NetworkGymClient
from netgym_lite.ipc.server import Server
from netgym_lite.ipc.session import Session

STEPS_PER_SESSION = 2000


def capture_records(num_users: int = 4) -> list[dict]:
    """One interval's records of the default scenario from the real simulation."""
    from netgym_lite.sim import Simulation

    sim = Simulation(load_config(None, num_users=num_users))
    return sim.advance()


class ReplaySimulation:
    """Returns pre-built records (one list per interval, ts already set): no simulation, no record building."""

    def __init__(self, records_by_step: list[list[dict]], num_users: int) -> None:
        self.num_users = num_users
        self._records = records_by_step
        self._k = 0

    def set_wifi_split(self, shares: np.ndarray) -> None:
        self.shares = shares

    def advance(self) -> list[dict]:
        recs = self._records[self._k]
        self._k += 1
        return recs


def build_replay(
    template: list[dict], steps: int, start_ms: int = 1000, interval_ms: int = 100
) -> list[list[dict]]:
    """``steps`` record lists whose ts follow the session rule (start + interval·k)."""
    return [[dict(r, ts=start_ms + interval_ms * (k + 1)) for r in template] for k in range(steps)]


def action_for(records: list[dict], value: list[float]) -> dict:
    """The split_ratio action record templated on gma::dl::rate, as the env's get_policy builds it."""
    rate = next(r for r in records if r["source"] == "gma" and r["name"] == "dl::rate")
    return {
        "source": "gma",
        "name": "wifi::dl::split_ratio",
        "id": list(rate["id"]),
        "ts": rate["ts"],
        "value": value,
    }


def _serve_replay(factory: Callable, parser: Callable, embedded: bool, conn) -> None:
    """Child process: a ZmqServer (and, without embedded workers, a ZmqWorker) over the replay simulation."""
    import logging

    from netgym_lite.ipc.zmq_server import ZmqServer
    from netgym_lite.ipc.zmq_worker import ZmqWorker

    logging.getLogger("netgym_lite").setLevel(logging.ERROR)  # no start/stop chatter in the table
    server = ZmqServer(0, embedded=embedded, sim_factory=factory, config_parser=parser, warm=False)
    server.start_thread()
    worker = None
    if not embedded:
        worker = ZmqWorker(
            server.worker_endpoint, session_key="x", sim_factory=factory, config_parser=parser, warm=False
        )
        worker.start_thread()
        while not server.workers.workers:
            time.sleep(0.01)
    conn.send(server.endpoint)
    conn.recv()  # stop
    if worker is not None:
        worker.stop()
    server.stop()


def start_replay_server(factory: Callable, parser: Callable, embedded: bool) -> tuple[Any, Any, str]:
    """Fork a child serving the replay; returns (process, pipe, endpoint)."""
    ctx = multiprocessing.get_context("fork")  # the child inherits the replay records and closures
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_replay, args=(factory, parser, embedded, child), daemon=True)
    proc.start()
    if not parent.poll(60):
        proc.kill()
        raise RuntimeError("replay server did not start")
    return proc, parent, parent.recv()


def per_step_us(run: Callable[[int], None], steps: int, rounds: int) -> tuple[float, float]:
    """(median, best) over ``rounds`` of the per-step time (µs) of ``run(steps)``; load on the machine only adds."""
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run(steps)
        out.append((time.perf_counter() - t0) / steps * 1e6)
    return statistics.median(out), min(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    steps = STEPS_PER_SESSION - 1
    n = 4
    template = capture_records(n)
    replay = build_replay(template, STEPS_PER_SESSION)
    env_config = raw_env_config(
        None, num_users=n, steps_per_episode=STEPS_PER_SESSION, episodes_per_session=1
    )
    value = [0.25, 0.5, 0.75, 1.0]
    cfg_cache = {}

    def parser_cached(d: dict):
        key = d.get("random_seed")
        if key not in cfg_cache:
            from netgym_lite.config import parse_env_config

            cfg_cache[key] = parse_env_config(d)
        return cfg_cache[key]

    def factory(_cfg):
        return ReplaySimulation(replay, n)

    # Pre-built actions (the client builds one per step in the rows below that include it).
    actions = [m.env_action(action_for(replay[k], value)) for k in range(STEPS_PER_SESSION)]

    def run_parse(k: int) -> None:
        for i in range(k):
            m.parse_action(actions[i]["action_list"], num_users=n, last_ts=replay[i][0]["ts"])

    def run_session(k: int) -> None:
        s = Session("bench-0", sim_factory=factory, config_parser=parser_cached)
        s.handle(env_config)
        for i in range(k):
            s.handle(actions[i])

    def run_server(k: int) -> None:
        srv = Server(factory, parser_cached)
        srv.handle("bench-0", env_config)
        for i in range(k):
            srv.handle("bench-0", actions[i])

    def client_run(**transport_kw) -> Callable[[int], None]:
        def run(k: int) -> None:
            srv = Server(factory, parser_cached)
            client = NetworkGymClient(srv.connect(**transport_kw))
            records = client.connect(env_config)
            for _ in range(k):
                records = client.step(action_for(records, value))
            client.close()

        return run

    def run_build_only(k: int) -> None:  # what the client-side action building costs on its own
        for i in range(k):
            m.env_action(action_for(replay[i], value))

    # Session setup (config parse cached, replay factory) is outside the per-step cost only approximately: it
    # is paid once per run of ``steps`` steps, < 0.1 µs per step.
    rows = [
        ("action building (client side, get_policy-like)", run_build_only),
        ("parse_action (ts echo, shape, range checks)", run_parse),
        ("Session.handle (parse + apply + build env-measurement)", run_session),
        ("Server.handle (+ routing by identity)", run_server),
        ("client.step over InProcTransport(copy=False) — the env's default", client_run(copy=False)),
        ("client.step over InProcTransport(copy=True)", client_run(copy=True)),
        ("client.step over InProcTransport(check_json=True)", client_run(check_json=True)),
    ]
    children = []
    if importlib.util.find_spec("zmq") is not None:
        from netgym_lite.ipc.zmq_transport import ZmqTransport

        for embedded, label in ((True, "serve + embedded worker"), (False, "serve + external worker")):
            proc, pipe, endpoint = start_replay_server(factory, parser_cached, embedded)
            children.append((proc, pipe))
            counter = iter(range(1_000_000))

            def zmq_run(k: int, endpoint: str = endpoint, counter: Any = counter) -> None:
                transport = ZmqTransport(
                    endpoint, session_name="bench", session_key="x", client_id=next(counter)
                )
                client = NetworkGymClient(transport)
                records = client.connect(env_config)
                for _ in range(k):
                    records = client.step(action_for(records, value))
                client.close()

            rows.append((f"client.step over ZMQ loopback, {label} (replay in a child process)", zmq_run))
    print(
        f"#### In-memory protocol overhead per step ({n} users, {len(template)} records per measurement, "
        f"simulation replaced by a replay)\n"
    )
    print("| path | median µs per step | best round µs per step |\n|---|---|---|")
    results = {}
    for name, run in rows:
        run(200)  # warm caches
        results[name] = per_step_us(run, steps, rounds)
        print(f"| {name} | {results[name][0]:.2f} | {results[name][1]:.2f} |")
    for proc, pipe in children:
        pipe.send("stop")
        proc.join(10)
    median, best = results[rows[4][0]]
    print(
        f"\nTarget: ≤ 10 µs per step for the env's default path: {'met' if median <= 10 else 'NOT met'} at the "
        f"median ({median:.2f} µs), {'met' if best <= 10 else 'NOT met'} in the best round ({best:.2f} µs); the "
        f"client-side action building ({results[rows[0][0]][0]:.2f} µs) is included."
    )


if __name__ == "__main__":
    main()
