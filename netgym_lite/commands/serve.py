"""``netgym-lite serve``: a NetworkGym-compatible ZeroMQ server with embedded and/or external simulation workers.

``netgym-lite serve [--port 8088] [--worker-port N] [--no-embedded] [--bind ADDR] [--accounts FILE]
[--max-message-bytes N] [--worker-wait S] [--worker-reply-timeout S] [--custom module:Factory]``

``--custom`` serves NetworkGym's ``custom`` env in-process with the user's own simulation (a
:class:`~netgym_lite.ipc.custom.CustomSimulation`), for accounts that have no custom worker of their own.

Compiles (or loads) the simulation kernels (unless ``--no-embedded``), then serves NetworkGym's northbound
protocol on ``--port`` and its southbound protocol (external ``netgym-lite worker`` or NetworkGym workers) on
``--worker-port`` (default ``--port`` minus 1) until SIGINT/SIGTERM; live sessions then get env-error
"server shutting down". Without ``--accounts`` it listens on 127.0.0.1 only and accepts any credentials.
See :mod:`netgym_lite.ipc.zmq_server`.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any, TextIO

from netgym_lite.errors import ConfigError


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is out of range: allowed 0..65535")
    return value


def register(subparsers: Any) -> None:
    """Add the ``serve`` sub-command."""
    p = subparsers.add_parser(
        "serve",
        help="serve NetworkGym's protocol over ZeroMQ with embedded and/or external simulation workers",
        description="Serve NetworkGym's northbound protocol (ZMQ ROUTER, PLAIN auth) to clients and its southbound "
        "protocol to external workers (netgym-lite worker or NetworkGym's), with embedded netgym-lite simulation "
        "workers unless --no-embedded. Needs pyzmq: pip install 'netgym-lite[zmq]'.",
    )
    p.add_argument("--port", type=_port, default=8088, help="northbound (client) port (default 8088)")
    p.add_argument(
        "--worker-port",
        type=_port,
        default=None,
        help="southbound port for external workers (default: --port minus 1; 0 = any free port)",
    )
    p.add_argument(
        "--no-embedded",
        action="store_true",
        help="run sessions on external workers only (default: embedded workers when none is free)",
    )
    p.add_argument(
        "--worker-wait",
        type=float,
        default=5.0,
        metavar="S",
        help="how long an env-start waits for a free worker before no-available-worker (default 5)",
    )
    p.add_argument(
        "--worker-reply-timeout",
        type=float,
        default=50.0,
        metavar="S",
        help="how long an external worker may take to answer before its client gets an env-error "
        "(default 50; NetworkGym's client waits 60)",
    )
    p.add_argument(
        "--bind",
        default=None,
        help="address to listen on (default 127.0.0.1 without --accounts, all interfaces with it)",
    )
    p.add_argument(
        "--accounts",
        default=None,
        metavar="FILE",
        help="NetworkGym accounts CSV (Identity,Password,Max_Instances,Email); without it any "
        "credentials are accepted",
    )
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=None,
        metavar="N",
        help="largest message accepted (default 8 MiB); larger ones get an env-error",
    )
    p.add_argument(
        "--custom",
        default=None,
        metavar="MODULE:NAME",
        help="serve env 'custom' in-process with your own simulation: a CustomSimulation class or factory named "
        "as package.module:Name or path/to/file.py:Name (accounts with their own custom workers use those)",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO)",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the server until SIGINT/SIGTERM."""
    from netgym_lite.ipc.custom import load_factory
    from netgym_lite.ipc.zmq_server import DEFAULT_MAX_MESSAGE_BYTES, ZmqServer

    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("netgym_lite")
    root.addHandler(handler)
    root.setLevel(getattr(logging, args.log_level))
    try:
        max_bytes = (
            args.max_message_bytes if args.max_message_bytes is not None else DEFAULT_MAX_MESSAGE_BYTES
        )
        if max_bytes < 1024:
            raise ConfigError(f"--max-message-bytes={max_bytes} is invalid: allowed an integer >= 1024")
        custom = load_factory(args.custom) if args.custom is not None else None
        if custom is not None and args.no_embedded:
            raise ConfigError("--custom with --no-embedded is invalid: allowed --custom only with embedded workers "
                              "(run the simulation as 'netgym-lite worker --custom ...' instead)")
        server = ZmqServer(
            args.port,
            bind=args.bind,
            accounts=args.accounts,
            max_message_bytes=max_bytes,
            worker_port=args.worker_port,
            embedded=not args.no_embedded,
            worker_wait_s=args.worker_wait,
            worker_reply_timeout_s=args.worker_reply_timeout,
            custom=custom,
        )
        server.install_signal_handlers()
        server.start()
        out.write(
            f"netgym-lite serve: listening on {server.endpoint} (kernels ready in {server.warmup_s:.2f} s); "
            f"workers connect to {server.worker_endpoint}; Ctrl-C stops\n"
        )
        out.flush()
        server.serve_forever()
    finally:
        root.removeHandler(handler)
    out.write("netgym-lite serve: stopped\n")
    out.flush()
    return 0
