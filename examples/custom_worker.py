"""Your own simulator as NetworkGym's ``custom`` env: a toy bottleneck behind netgym-lite's worker.

Run a server, this worker, then any NetworkGym(-style) client asking for env ``"custom"`` with the same account:

    netgym-lite serve --port 8088 --no-embedded                    # or NetworkGym's own server
    python examples/custom_worker.py --port 8087                  # the server's worker port (8088 - 1)

or, without a separate worker process, ``netgym-lite serve --custom examples/custom_worker.py:BottleneckSim``.
NetworkGym's client reaches it with ``env_name = "custom"`` and its shipped ``envs/custom/config.json``.

What a custom simulation implements is two methods (:class:`netgym_lite.ipc.custom.CustomSimulation`):
``start(env_config)`` returns the first measurement's records and ``step(actions)`` applies the action records and
returns the next measurement's. The worker does the rest: registration, session timing and ``ts``, the L·E count,
checking the records, and turning any exception into an ``env-error`` for that session only.

The toy: user ``u`` sends at ``srate_u · max_rate_mbps`` through its own bottleneck link, whose capacity wanders
between 3 and 9 Mbps (NetworkGym's dummy simulator reports random values 3–9), with a drop-tail buffer. A fluid
queue per interval (arrivals in, ``capacity · dt`` out, the excess above the buffer dropped) gives the records
NetworkGym's custom adapter reads, one value per user (ids 1..N):

* ``test::measurement_1``: delivered rate (Mbps);
* ``test::measurement_2``: one-way delay (ms) = base delay + queueing delay of the backlog (backlog / capacity);
* ``test::measurement_3``: sending rate (Mbps), i.e. the action in effect.

Action: a record named ``srate`` (NetworkGym's custom adapter copies the ``measurement_1`` record and replaces name
and value) whose ``value`` holds one share in [0, 1] per id, ``null`` for "keep this user's rate", or ``[]`` for the
system default (every user back to ``default_srate``). Anything else raises ActionError, which ends the session with
an ``env-error`` naming the field.
"""

from __future__ import annotations

import argparse
import logging
import os

import numpy as np

from netgym_lite.errors import ActionError
from netgym_lite.ipc.custom import CustomConfig, CustomSimulation


class BottleneckSim(CustomSimulation):
    """Per-user fluid bottleneck queues driven by the ``srate`` action (see the module docstring)."""

    max_rate_mbps = 10.0
    default_srate = 0.5
    min_capacity_mbps, max_capacity_mbps = 3.0, 9.0
    buffer_mbit = 2.0
    base_delay_ms = 20.0

    def start(self, env_config: dict) -> list[dict]:
        cfg = CustomConfig.from_env_config(env_config)  # the session timing the worker enforces
        self.num_users = cfg.num_users or 5
        self.dt_s = cfg.step_interval_ms / 1000.0
        self.rng = np.random.default_rng(int(env_config.get("random_seed", 0)))
        self.capacity_mbps = self.rng.uniform(self.min_capacity_mbps, self.max_capacity_mbps, self.num_users)
        self.backlog_mbit = np.zeros(self.num_users)
        self.srate = np.full(self.num_users, self.default_srate)
        return self._run_interval()

    def step(self, actions: list[dict]) -> list[dict]:
        for i, record in enumerate(actions):
            if record.get("name") != "srate":
                raise ActionError(f"action_list[{i}].name={record.get('name')!r} is invalid: allowed 'srate'")
            self._apply_srate(record, f"action_list[{i}]")
        return self._run_interval()

    def _apply_srate(self, record: dict, where: str) -> None:
        values, ids = record.get("value"), record.get("id")
        if values == []:  # NetworkGym's system-default action
            self.srate[:] = self.default_srate
            return
        if not isinstance(values, list) or not isinstance(ids, list) or len(values) != len(ids):
            raise ActionError(f"{where}.value={values!r} is invalid: allowed one share in [0, 1] per id, or []")
        for uid, v in zip(ids, values, strict=True):
            if isinstance(uid, bool) or not isinstance(uid, (int, float)) or uid != int(uid) \
                    or not 1 <= uid <= self.num_users:
                raise ActionError(f"{where}.id={ids!r} is invalid: allowed user ids 1..{self.num_users}")
            if v is None:
                continue  # no action for this user: keep its rate
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ActionError(f"{where}.value={values!r} is invalid: allowed shares in [0, 1] or null")
            self.srate[int(uid) - 1] = float(v)

    def _run_interval(self) -> list[dict]:
        # Capacity wanders (log-normal steps), clipped to its range.
        self.capacity_mbps = np.clip(self.capacity_mbps * np.exp(self.rng.normal(0.0, 0.05, self.num_users)),
                                     self.min_capacity_mbps, self.max_capacity_mbps)
        send_mbps = self.srate * self.max_rate_mbps
        queued = self.backlog_mbit + send_mbps * self.dt_s
        served = np.minimum(queued, self.capacity_mbps * self.dt_s)
        self.backlog_mbit = np.minimum(queued - served, self.buffer_mbit)  # drop-tail: the excess is lost
        delay_ms = self.base_delay_ms + 1000.0 * self.backlog_mbit / self.capacity_mbps
        ids = list(range(1, self.num_users + 1))

        def record(name: str, values: np.ndarray) -> dict:
            return {"source": "test", "name": name, "id": ids, "value": np.round(values, 3).tolist()}

        return [record("measurement_1", served / self.dt_s), record("measurement_2", delay_ms),
                record("measurement_3", send_mbps)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8087, help="the broker's worker (southbound) port on --host")
    p.add_argument("--host", default="127.0.0.1", help="the broker's address (default 127.0.0.1)")
    p.add_argument("--session-name", default="admin", help="account (NetworkGym's common_config default: admin)")
    p.add_argument("--session-key", default=os.environ.get("NETGYM_LITE_SESSION_KEY", "admin"),
                   help="account password (default: $NETGYM_LITE_SESSION_KEY, else admin)")
    p.add_argument("--worker-id", type=int, default=0, help="worker number in the identity (default 0)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    from netgym_lite.ipc.zmq_worker import ZmqWorker

    worker = ZmqWorker(f"tcp://{args.host}:{args.port}", session_name=args.session_name,
                       session_key=args.session_key, worker_id=args.worker_id, custom=BottleneckSim)
    worker.install_signal_handlers()
    worker.start()
    print(f"custom worker {worker.identity}: serving env 'custom' for {worker.server}; Ctrl-C stops", flush=True)
    worker.serve_forever()
    print(f"custom worker: stopped after {worker.sessions_completed} completed sessions", flush=True)


if __name__ == "__main__":
    main()
