"""The ``netgym-lite`` command.

``netgym-lite run [--env traffic_mgmt|qos_steer|network_slicing|rmcat] [--scenario FILE] [--agent NAME] [--steps N] [--seed S]
[--reward-type T] [--set KEY=VALUE ...]`` runs an env in-process with an agent, shows a progress bar on stderr
and ends with a per-user (and, with slices, per-slice; for rmcat per-flow) KPI table on stdout. A step here is one measurement (a reset or an env step, as
in NetworkGym: the first reset receives step 1); the default is one whole session (L·E measurements).

Errors of netgym-lite (bad scenario, bad option values) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from netgym_lite.errors import ConfigError, NetgymError

PROG = "netgym-lite"


# ---------------------------------------------------------------------------------------------- progress
class ProgressBar:
    """A plain-text progress bar on a stream: redrawn in place on a terminal, printed once at the end otherwise."""

    def __init__(self, total: int, stream: TextIO, *, width: int = 30, enabled: bool = True) -> None:
        self.total, self.stream, self.width, self.enabled = max(total, 1), stream, width, enabled
        self.tty = enabled and getattr(stream, "isatty", lambda: False)()
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def _line(self, done: int, note: str) -> str:
        filled = int(self.width * done / self.total)
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        return f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{self.total} steps  {rate:,.0f} steps/s  {note}"

    def update(self, done: int, note: str = "") -> None:
        """Redraw (at most every 0.1 s on a terminal, and always at the end)."""
        if not self.tty:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        self.stream.write("\r" + self._line(done, note).ljust(100))
        self.stream.flush()

    def close(self, done: int, note: str = "") -> None:
        """Final line."""
        if not self.enabled:
            return
        self.stream.write(("\r" if self.tty else "") + self._line(done, note).ljust(100 if self.tty else 0) + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------------------- KPIs
class KpiCollector:
    """Per-user KPIs accumulated from the raw records in ``info["network_stats"]``."""

    def __init__(self, num_users: int, uplink_data: bool = False) -> None:
        self.n = num_users
        self.uplink_data = uplink_data  # the data flows run UE → network: read the gma ul records as the data
        self.rate_sum = np.zeros(num_users)
        self.rate_count = 0
        self.owd_sum = np.zeros(num_users)
        self.owd_count = np.zeros(num_users, dtype=np.int64)
        self.split_sum = np.zeros(num_users)
        self.split_count = np.zeros(num_users, dtype=np.int64)
        self.rewards: list[float] = []

    def add(self, info: dict, reward: float | None) -> None:
        """Add one measurement (and the reward of the step that produced it, if any)."""
        from netgym_lite.envs.base import RecordIndex
        from netgym_lite.envs.traffic_mgmt import record_values

        recs = RecordIndex(info["network_stats"], uplink_data=self.uplink_data)
        rate = record_values(recs, "gma", "dl::rate", self.n)
        self.rate_sum += np.where(rate > 0, rate, 0.0)
        self.rate_count += 1
        owd = record_values(recs, "gma", "dl::owd", self.n)
        ok = np.isfinite(owd) & (owd >= 0)
        self.owd_sum[ok] += owd[ok]
        self.owd_count += ok
        split = record_values(recs, "gma", "wifi::dl::split_ratio", self.n)
        ok = np.isfinite(split) & (split >= 0)
        self.split_sum[ok] += split[ok]
        self.split_count += ok
        if reward is not None:
            self.rewards.append(reward)
        self._add_slices(recs)

    def _add_slices(self, recs: list[dict]) -> None:
        from netgym_lite.envs.network_slicing import cell_values

        rate = cell_values(recs, "gma", "dl::cell::rate", 64, fill=np.nan)
        known = np.flatnonzero(np.isfinite(rate))
        if known.size == 0:
            return
        s = int(known.max()) + 1
        if not hasattr(self, "slice_sums"):
            self.slice_sums = np.zeros((4, s))
            self.slice_counts = np.zeros((4, s))
        for row, (source, name) in enumerate((("gma", "dl::cell::rate"), ("lte", "dl::cell::rb_usage"),
                                              ("gma", "dl::cell::delay_violation"), ("gma", "dl::cell::tx_rate"))):
            v = cell_values(recs, source, name, s, fill=np.nan)
            ok = np.isfinite(v) & (v >= 0)
            self.slice_sums[row, ok] += v[ok]
            self.slice_counts[row, ok] += 1

    def slice_table(self) -> str:
        """Per-slice means (empty without RAN slices: one slice would only repeat the totals)."""
        if not hasattr(self, "slice_sums") or self.slice_sums.shape[1] < 2:
            return ""
        mean = np.divide(self.slice_sums, self.slice_counts, out=np.full_like(self.slice_sums, np.nan),
                         where=self.slice_counts > 0)
        head = f"{'slice':>6} {'offered_mbps':>13} {'throughput_mbps':>16} {'rb_usage_%':>11} {'delay_viol_%':>13}"
        lines = [head, "-" * len(head)]
        for sl in range(mean.shape[1]):
            cells = [format(x, ".3f") if np.isfinite(x) else "-" for x in (mean[3, sl], mean[0, sl])]
            cells += [format(x, ".2f") if np.isfinite(x) else "-" for x in (mean[1, sl], mean[2, sl])]
            lines.append(f"{sl:>6} {cells[0]:>13} {cells[1]:>16} {cells[2]:>11} {cells[3]:>13}")
        return "\n".join(lines)

    def table(self) -> str:
        """The per-user and overall summary table."""
        rate = self.rate_sum / max(self.rate_count, 1)
        owd = np.divide(self.owd_sum, self.owd_count, out=np.full(self.n, np.nan), where=self.owd_count > 0)
        split = np.divide(self.split_sum, self.split_count, out=np.full(self.n, np.nan),
                          where=self.split_count > 0)

        def fmt(x: float, spec: str) -> str:
            return "-" if not np.isfinite(x) else format(x, spec)

        head = f"{'user':>6} {'throughput_mbps':>16} {'owd_ms':>10} {'wifi_split_%':>13}"
        lines = [head, "-" * len(head)]
        for u in range(self.n):
            lines.append(f"{u + 1:>6} {fmt(rate[u], '.3f'):>16} {fmt(owd[u], '.2f'):>10} {fmt(split[u], '.1f'):>13}")
        lines.append("-" * len(head))
        owd_all = self.owd_sum.sum() / self.owd_count.sum() if self.owd_count.sum() else float("nan")
        split_all = self.split_sum.sum() / self.split_count.sum() if self.split_count.sum() else float("nan")
        lines.append(f"{'total':>6} {fmt(rate.sum(), '.3f'):>16} {fmt(owd_all, '.2f'):>10} {fmt(split_all, '.1f'):>13}")
        lines.append(f"{'mean':>6} {fmt(rate.mean(), '.3f'):>16} {fmt(owd_all, '.2f'):>10} {fmt(split_all, '.1f'):>13}")
        mean_r = float(np.mean(self.rewards)) if self.rewards else float("nan")
        lines.append("")
        lines.append(f"mean reward: {fmt(mean_r, '.4f')} over {len(self.rewards)} steps")
        slices = self.slice_table()
        return "\n".join(lines) + ("\n\n" + slices if slices else "")


class RmcatKpiCollector:
    """Per-flow KPIs of the rmcat env (flow ids from 0), from the ``rmcat::*`` records; −1 (no reports) skipped."""

    COLUMNS = (("rrate", "rrate_kbps", 1e-3, ".1f"), ("srate", "srate_kbps", 1e-3, ".1f"), ("rtt", "rtt_ms", 1.0, ".1f"),
               ("qdel", "qdel_ms", 1.0, ".1f"), ("plr", "loss_%", 100.0, ".2f"))

    def __init__(self, num_flows: int) -> None:
        self.n = num_flows
        self.sums = np.zeros((len(self.COLUMNS), num_flows))
        self.counts = np.zeros((len(self.COLUMNS), num_flows))
        self.rewards: list[float] = []

    def add(self, info: dict, reward: float | None) -> None:
        """Add one measurement (and the reward of the step that produced it, if any)."""
        from netgym_lite.envs.rmcat import flow_values

        for row, (name, _, scale, _) in enumerate(self.COLUMNS):
            v = flow_values(info["network_stats"], "rmcat", name, self.n)
            ok = np.isfinite(v) & (v >= 0)
            self.sums[row, ok] += v[ok] * scale
            self.counts[row, ok] += 1
        if reward is not None:
            self.rewards.append(reward)

    def table(self) -> str:
        """The per-flow summary table (means over the run)."""
        mean = np.divide(self.sums, self.counts, out=np.full_like(self.sums, np.nan), where=self.counts > 0)
        head = f"{'flow':>6} " + " ".join(f"{title:>11}" for _, title, _, _ in self.COLUMNS)
        lines = [head, "-" * len(head)]
        for f in range(self.n):
            cells = [format(mean[r, f], spec) if np.isfinite(mean[r, f]) else "-"
                     for r, (_, _, _, spec) in enumerate(self.COLUMNS)]
            lines.append(f"{f:>6} " + " ".join(f"{c:>11}" for c in cells))
        mean_r = float(np.mean(self.rewards)) if self.rewards else float("nan")
        lines += ["", f"mean reward: {mean_r:.4f} over {len(self.rewards)} steps"]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- commands
def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` overrides; VALUE is JSON when it parses as JSON, else a string."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r} is invalid: allowed KEY=VALUE (VALUE as JSON, e.g. num_users=8)")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run an env in-process with an agent and print the KPI summary."""
    from netgym_lite import env_class as env_class_of
    from netgym_lite.agents import HEURISTICS, make_agent

    if args.agent in HEURISTICS and args.env != "traffic_mgmt":
        raise ConfigError(f"--agent {args.agent} is invalid with --env {args.env}: the link heuristics need "
                          "traffic_mgmt; allowed system_default or random")
    overrides = _parse_set(args.set or [])
    env_class = env_class_of(args.env)
    env = env_class(args.scenario, reward_type=args.reward_type, **overrides)
    try:
        total = args.steps if args.steps is not None else env.measurements_per_session
        if total < 1:
            raise ConfigError(f"--steps={total} is invalid: allowed an integer >= 1")
        agent = make_agent(args.agent, env, seed=args.seed)
        kpi = (RmcatKpiCollector(env.num_users) if args.env == "rmcat"
               else KpiCollector(env.num_users, uplink_data=not env.cfg.downlink))
        bar = ProgressBar(total, err, enabled=not args.quiet)
        t0 = time.perf_counter()
        obs, info = env.reset(seed=args.seed)
        kpi.add(info, None)
        seed = info["session_seed"]
        done, need_reset = 1, False
        bar.update(done, f"ts={info['ts']} ms")
        while done < total:
            if need_reset:
                obs, info = env.reset()
                kpi.add(info, None)
                need_reset = False
            else:
                obs, reward, terminated, truncated, info = env.step(agent(obs, info))
                kpi.add(info, reward)
                need_reset = terminated or truncated
            done += 1
            bar.update(done, f"ts={info['ts']} ms")
        wall = time.perf_counter() - t0
        bar.close(done, f"ts={info['ts']} ms")
    finally:
        env.close()
    out.write(
        f"netgym-lite run: {env_class.__name__.removesuffix('Env')}, {env.num_users} "
        f"{'flows' if args.env == 'rmcat' else 'users'}, agent {args.agent}, reward {env.reward_type}, "
        f"seed {seed}, {done} steps (L={env.steps_per_episode}, E={env.cfg.episodes_per_session}), "
        f"{done * env.cfg.step_interval_ms / 1000:.1f} s simulated in {wall:.2f} s wall\n\n"
    )
    out.write(kpi.table() + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``netgym-lite`` command."""
    from netgym_lite import ENV_IDS_BY_NAME, __version__
    from netgym_lite.agents import AGENTS
    from netgym_lite.config import REWARD_TYPES

    parser = argparse.ArgumentParser(prog=PROG, description="netgym-lite: NetworkGym's simulation, in process.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run an env with an agent and print a KPI summary")
    run.add_argument("--env", default="traffic_mgmt", choices=tuple(ENV_IDS_BY_NAME),
                     help="environment (default: traffic_mgmt)")
    run.add_argument("--scenario", default=None,
                     help="NetworkGym config JSON (whole config or env_config; default: the env's file in scenarios/)")
    run.add_argument("--agent", default="system_default", choices=AGENTS, help="policy (default: system_default)")
    run.add_argument("--steps", type=int, default=None,
                     help="measurements to run, resets included (default: one session, L*E)")
    run.add_argument("--seed", type=int, default=None, help="session random_seed (default: the scenario's)")
    run.add_argument("--reward-type", default=None, choices=REWARD_TYPES,
                     help="reward (default: the scenario's rl_config.reward_type, else utility)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="env_config override, VALUE as JSON (repeatable), e.g. --set num_users=8")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    _register_commands(sub)
    return parser


def _register_commands(sub: Any) -> None:
    """Add the sub-commands of every module in :mod:`netgym_lite.commands` (sorted by name)."""
    import importlib
    import pkgutil

    from netgym_lite import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"netgym_lite.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``netgym-lite``; returns the exit code (2 on a netgym-lite error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors (argparse already printed them)
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    try:
        return int(args.func(args, sys.stdout, sys.stderr))
    except NetgymError as e:
        newline = "\n" if sys.stderr.isatty() else ""  # end a half-drawn progress bar
        sys.stderr.write(f"{newline}{PROG}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
