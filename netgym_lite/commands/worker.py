"""``netgym-lite worker``: an external NetworkGym env worker running netgym-lite simulations.

``netgym-lite worker --server tcp://HOST:8087 [--envs nqos_split] [--session-name admin] [--session-key KEY]
[--worker-id N] [--hostname NAME] [--custom module:Factory]``

With ``--custom`` the worker serves NetworkGym's ``custom`` env with the user's own simulation (a
:class:`~netgym_lite.ipc.custom.CustomSimulation` named as ``package.module:Name`` or ``path/to/file.py:Name``).

Compiles (or loads) the simulation kernels, connects to a broker's southbound port (``netgym-lite serve``'s worker
port or a NetworkGym server's), registers with env-hello every 5 s and runs one session at a time until
SIGINT/SIGTERM. The key can come from ``--session-key`` or the ``NETGYM_LITE_SESSION_KEY`` environment variable
(which keeps it out of the process list). See :mod:`netgym_lite.ipc.zmq_worker`.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any, TextIO

from netgym_lite.errors import ConfigError

KEY_ENV_VAR = "NETGYM_LITE_SESSION_KEY"


def register(subparsers: Any) -> None:
    """Add the ``worker`` sub-command."""
    p = subparsers.add_parser(
        "worker",
        help="run an external env worker for a netgym-lite or NetworkGym server",
        description="Register with a NetworkGym(-compatible) broker's southbound port and run a netgym-lite "
        "simulation for each env-start it forwards. Needs pyzmq: pip install 'netgym-lite[zmq]'.",
    )
    p.add_argument(
        "--server",
        required=True,
        metavar="ENDPOINT",
        help="the broker's southbound endpoint, e.g. tcp://127.0.0.1:8087 (serve's --port minus 1)",
    )
    p.add_argument(
        "--envs",
        default=None,
        help="comma-separated env names to serve (default nqos_split; with --custom: custom)",
    )
    p.add_argument(
        "--custom",
        default=None,
        metavar="MODULE:NAME",
        help="serve env 'custom' with your own simulation: a CustomSimulation class or factory named as "
        "package.module:Name or path/to/file.py:Name (see netgym_lite.ipc.custom)",
    )
    p.add_argument(
        "--session-name",
        default="admin",
        help="account name (PLAIN username); only the admin account's workers serve named envs "
        "(default admin)",
    )
    p.add_argument(
        "--session-key",
        default=None,
        help=f"account password (PLAIN password); default: the {KEY_ENV_VAR} environment variable",
    )
    p.add_argument("--worker-id", type=int, default=0, help="worker number in the identity (default 0)")
    p.add_argument("--hostname", default=None, help="host name in the identity (default: this machine's)")
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO)",
    )
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the worker until SIGINT/SIGTERM."""
    from netgym_lite.ipc.custom import load_factory
    from netgym_lite.ipc.zmq_worker import ZmqWorker

    key = args.session_key if args.session_key is not None else os.environ.get(KEY_ENV_VAR)
    if not key:
        raise ConfigError(
            f"--session-key is missing: allowed --session-key KEY or the {KEY_ENV_VAR} environment "
            "variable (a server without --accounts accepts any non-empty key)"
        )
    custom = load_factory(args.custom) if args.custom is not None else None
    envs = [e.strip() for e in args.envs.split(",") if e.strip()] if args.envs is not None else None
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("netgym_lite")
    root.addHandler(handler)
    root.setLevel(getattr(logging, args.log_level))
    try:
        worker = ZmqWorker(
            args.server,
            session_name=args.session_name,
            session_key=key,
            worker_id=args.worker_id,
            envs=envs,
            hostname=args.hostname,
            custom=custom,
        )
        worker.install_signal_handlers()
        worker.start()
        out.write(
            f"netgym-lite worker {worker.identity}: serving {','.join(worker.env_list)} for {args.server} "
            f"(kernels ready in {worker.warmup_s:.2f} s); Ctrl-C stops\n"
        )
        out.flush()
        worker.serve_forever()
    finally:
        root.removeHandler(handler)
    out.write(
        f"netgym-lite worker: stopped after {worker.sessions_completed} completed and "
        f"{worker.sessions_aborted} aborted sessions\n"
    )
    out.flush()
    return 0
