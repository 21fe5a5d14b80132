"""Sub-commands of ``netgym-lite`` beyond ``run``: one module each, discovered by :func:`netgym_lite.cli.build_parser`.

A command module defines ``register(subparsers) -> None``, which adds its parser and sets ``func`` to a
``(args, out, err) -> int`` handler. Importing a command module must be cheap and must not need optional
extras (import them inside the handler and raise a ConfigError naming the extra to install).
"""
