"""How the cost of a step grows with users and offered load, for every registered env, single and vectorised.

Run: ``python benchmarks/bench_scaling.py [--quick] [--out-dir DIR]``. For each env id in ``netgym_lite.ENVS``
and each point of the grid users {4, 16, 64, 100} x offered load {x1, x2, x5, x10}, it measures the env's
default scenario (only the user count and the per-user UDP rate changed) with random actions:

* env steps/s (sub-env steps for the vector env), simulated seconds per wall second, core events/s
  (``Simulation.events_processed``) and packets offered per step;
* as a single env (``gym.make``, in-memory protocol) and as the native vector env
  (``gym.make_vec(id, num_envs=8)``: one numba call per step for all sub-envs).

Load x1 is the scenario's own per-user UDP rate (printed); xk multiplies ``min_udp_rate_per_user_mbps`` and
``max_udp_rate_per_user_mbps`` by k. TrafficMgmt's default transport is TCP (backlogged: its offered load has no
rate to scale), so its grid runs the scenario's UDP alternative (Poisson) and one extra row per user count gives
the TCP default. NetworkSlicing's users are split over its two slices (the first gets the smaller half).

Each point runs up to ``--steps`` steps (several hundred) or ``--budget`` wall seconds, whichever comes first,
in ``--repeats`` back-to-back segments (the fastest is kept), after a reset and a short warm-up; episodes are
made long enough that no reset falls inside the timing. A point that exceeds the simulation's capacity (event
heap or packet pool) is reported as such. Results go to ``benchmarks/results/scaling.{md,csv,png}``
(``scaling_quick.*`` with ``--quick``). Numbers are wall clock on a shared machine: compare ratios within one
run.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import math
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba

import netgym_lite
from netgym_lite.errors import NetgymError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plot import headless_pyplot  # noqa: E402  (the benchmarks' shared plot helper)

RESULTS = Path(__file__).resolve().parent / "results"
USERS = (4, 16, 64, 100)
LOADS = (1, 2, 5, 10)
TCP = "tcp"  # the load label of TrafficMgmt's default (backlogged TCP) rows


@dataclasses.dataclass
class Point:
    """One measured point of the grid."""

    env_id: str
    mode: str  # "single" or "vector x<N>"
    users: int
    load: str  # "x1", "x2", ... or "tcp"
    steps: int = 0  # sub-env steps timed
    wall_s: float = math.nan
    interval_s: float = math.nan
    events: int = 0
    packets: int = 0
    error: str = ""

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall_s if self.steps else math.nan

    @property
    def sim_s_per_wall_s(self) -> float:
        return self.steps * self.interval_s / self.wall_s if self.steps else math.nan

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s if self.steps else math.nan

    @property
    def packets_per_step(self) -> float:
        return self.packets / self.steps if self.steps else math.nan


@functools.cache
def default_config(env_id: str) -> Any:
    """The ScenarioConfig of ``env_id``'s default scenario (for its rates, slices and transport)."""
    env = gym.make(env_id)
    cfg = env.unwrapped.cfg
    env.close()
    return cfg


def load_overrides(env_id: str, users: int, load: str) -> dict[str, Any]:
    """Constructor overrides of ``env_id``'s default scenario for one grid point."""
    cfg = default_config(env_id)
    raw = cfg.raw
    out: dict[str, Any] = {"steps_per_episode": 100_000, "episodes_per_session": 1}
    if cfg.env == "network_slicing":
        base = raw["slice_list"] if "slice_list" in raw else [dict(num_users=0)] * 2
        counts = (users // 2, users - users // 2)
        out["slice_list"] = [dict(sl, num_users=c) for sl, c in zip(base, counts, strict=False)]
    else:
        out["num_users"] = users
    if load == TCP:
        out["transport_protocol"] = "tcp"
        return out
    k = float(load.lstrip("x"))
    out["transport_protocol"] = "udp"
    out["min_udp_rate_per_user_mbps"] = raw["min_udp_rate_per_user_mbps"] * k
    out["max_udp_rate_per_user_mbps"] = raw["max_udp_rate_per_user_mbps"] * k
    return out


def _sims(env: Any) -> list[Any]:
    """The Simulation objects behind a single env (its private in-memory server) or a native vector env."""
    inner = env.unwrapped
    if hasattr(inner, "_batch"):  # NetworkGymVectorEnv
        return list(inner._batch.sims)
    return [session.sim for session in inner._server.sessions.values()]


def _counters(env: Any) -> tuple[int, int]:
    sims = _sims(env)
    return (sum(s.events_processed for s in sims), sum(int(s.conservation()["sent"].sum()) for s in sims))


def measure(
    point: Point,
    num_envs: int,
    max_steps: int,
    budget_s: float,
    parallel: bool = False,
    repeats: int = 2,
    min_steps: int = 3,
) -> Point:
    """Time ``point``: the single env when ``num_envs`` is 0, else the native vector env of ``num_envs`` sub-envs
    (on numba's threads when ``parallel``). ``repeats`` back-to-back segments share ``max_steps`` and
    ``budget_s``; the fastest is kept (the least disturbed by other load on a shared machine)."""
    overrides = load_overrides(point.env_id, point.users, point.load)
    vector = num_envs > 0
    if vector:
        env = gym.make_vec(point.env_id, num_envs=num_envs, parallel=parallel, **overrides)
    else:
        env = gym.make(point.env_id, **overrides)
    try:
        env.reset(seed=0)
        env.action_space.seed(0)
        actions = [env.action_space.sample() for _ in range(8)]
        point.interval_s = env.unwrapped.cfg.step_interval_ms / 1000.0
        for k in range(2):  # warm-up (first step after reset applies the first action)
            env.step(actions[k])
        for _ in range(repeats):
            events0, packets0 = _counters(env)
            calls = 0
            t0 = time.perf_counter()
            while calls < max(max_steps // repeats, min_steps):
                env.step(actions[calls % 8])
                calls += 1
                if calls >= min_steps and time.perf_counter() - t0 > budget_s / repeats:
                    break
            wall = time.perf_counter() - t0
            events1, packets1 = _counters(env)
            steps = calls * (num_envs if vector else 1)
            if not point.steps or steps / wall > point.steps_per_s:
                point.steps, point.wall_s = steps, wall
                point.events, point.packets = events1 - events0, packets1 - packets0
    except NetgymError as e:  # e.g. "simulation capacity exceeded": report it instead of a number
        point.error = str(e).split(";")[0]
    finally:
        env.close()
    return point


def _fmt(x: float, digits: int = 0) -> str:
    return "—" if math.isnan(x) else f"{x:,.{digits}f}"


def markdown(points: list[Point], header: str) -> str:
    """One table per env: rows (users, load), columns single / vector per metric."""
    out = [header]
    modes = list(dict.fromkeys(p.mode for p in points))
    for env_id in dict.fromkeys(p.env_id for p in points):
        out.append(f"\n### {env_id}\n")
        cols = ["users", "load", "packets offered / step"]
        for metric in ("env steps/s", "sim s / wall s", "core events/s"):
            cols += [f"{metric} ({m})" for m in modes]
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "---|" * len(cols))
        rows = dict.fromkeys((p.users, p.load) for p in points if p.env_id == env_id)
        for users, load in rows:
            by_mode = {p.mode: p for p in points if (p.env_id, p.users, p.load) == (env_id, users, load)}
            ref = by_mode.get("single") or next(iter(by_mode.values()))
            cells = [str(users), load, _fmt(ref.packets_per_step)]
            for attr, digits in (("steps_per_s", 0), ("sim_s_per_wall_s", 1), ("events_per_s", 0)):
                for m in modes:
                    p = by_mode.get(m)
                    if p is None:
                        cells.append("—")
                    elif p.error:
                        cells.append("capacity exceeded" if "capacity" in p.error else "error")
                    else:
                        cells.append(_fmt(getattr(p, attr), digits))
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def write_csv(points: list[Point], path: Path) -> None:
    fields = [
        "env_id",
        "mode",
        "users",
        "load",
        "steps",
        "wall_s",
        "interval_s",
        "events",
        "packets",
        "steps_per_s",
        "sim_s_per_wall_s",
        "events_per_s",
        "packets_per_step",
        "error",
    ]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for p in points:
            w.writerow([getattr(p, k) for k in fields])


def plot(points: list[Point], path: Path) -> bool:
    """Per env: env steps/s against users (one colour per load; solid single env, dashed native vector env,
    serial), and wall µs per single-env step against packets offered per step (every grid point)."""
    plt = headless_pyplot()
    if plt is None:
        return False
    env_ids = list(dict.fromkeys(p.env_id for p in points))
    fig, axes = plt.subplots(2, len(env_ids), figsize=(4.6 * len(env_ids), 7.5), squeeze=False)
    for col, env_id in enumerate(env_ids):
        mine = [p for p in points if p.env_id == env_id and not p.error and p.steps]
        loads = list(dict.fromkeys(p.load for p in mine))
        ax = axes[0][col]
        for i, load in enumerate(loads):
            for mode, style in (("single", "-"), ("serial", "--")):
                series = sorted(
                    (p for p in mine if p.load == load and p.mode.split()[-1] == mode), key=lambda p: p.users
                )
                if series:
                    ax.plot(
                        [p.users for p in series],
                        [p.steps_per_s for p in series],
                        marker="o",
                        color=f"C{i}",
                        linestyle=style,
                        label=load if mode == "single" else None,
                    )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(USERS, [str(u) for u in USERS])
        ax.set_xlabel("users")
        ax.set_ylabel("env steps / wall s")
        ax.set_title(env_id.split("/")[-1], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, title="load", title_fontsize=7)
        ax = axes[1][col]
        for i, load in enumerate(loads):
            single = [p for p in mine if p.load == load and p.mode == "single"]
            ax.scatter(
                [p.packets_per_step for p in single],
                [1e6 / p.steps_per_s for p in single],
                color=f"C{i}",
                label=load,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("packets offered per step")
        ax.set_ylabel("wall µs per step (single env)")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        "netgym-lite cost vs users and offered load (top: solid single env, dashed native vector env x8 serial)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a CI-sized smoke run (small grid, few steps)")
    ap.add_argument(
        "--envs",
        nargs="+",
        default=[e for e, info in netgym_lite.ENVS.items() if info.vector_entry_point],
        metavar="ID",
        help="env ids (default: every registered multi-access one, i.e. with a native vector env)",
    )
    ap.add_argument("--users", nargs="+", type=int, default=None, help=f"user counts (default {USERS})")
    ap.add_argument("--loads", nargs="+", type=int, default=None, help=f"load factors (default {LOADS})")
    ap.add_argument("--num-envs", type=int, default=8, help="sub-envs of the native vector env (0: skip it)")
    ap.add_argument(
        "--steps", type=int, default=None, help="max timed steps per point (default 300; quick 10)"
    )
    ap.add_argument(
        "--budget", type=float, default=None, help="max timed wall seconds per point (default 1.0; quick 0.2)"
    )
    ap.add_argument(
        "--repeats", type=int, default=2, help="timed segments per point, fastest kept (default 2)"
    )
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help="where to write scaling.{md,csv,png}")
    args = ap.parse_args(argv)
    for name in ("users", "loads"):
        values = getattr(args, name)
        if values is not None and any(v < 1 for v in values):
            ap.error(f"--{name} {values} is invalid: allowed integers >= 1")
    if args.repeats < 1:
        ap.error(f"--repeats {args.repeats} is invalid: allowed an integer >= 1")
    if args.num_envs < 0:
        ap.error(f"--num-envs {args.num_envs} is invalid: allowed an integer >= 0")
    unknown = [e for e in args.envs if e not in netgym_lite.ENVS or not netgym_lite.ENVS[e].vector_entry_point]
    if unknown:
        allowed = [e for e, info in netgym_lite.ENVS.items() if info.vector_entry_point]
        ap.error(f"--envs {unknown} is invalid: allowed {allowed}")
    users = args.users or ((4, 16) if args.quick else USERS)
    loads = args.loads or ((1, 10) if args.quick else LOADS)
    steps = args.steps or (10 if args.quick else 300)
    budget = args.budget if args.budget is not None else (0.2 if args.quick else 1.0)
    modes = [("single", 0, False)]
    if args.num_envs:
        modes += [
            (f"vector x{args.num_envs} {kind}", args.num_envs, kind == "parallel")
            for kind in ("serial", "parallel")
        ]

    t_start = time.perf_counter()
    points: list[Point] = []
    unit_lines = []
    for env_id in args.envs:
        raw = default_config(env_id).raw
        lo, hi = raw["min_udp_rate_per_user_mbps"], raw["max_udp_rate_per_user_mbps"]
        rate = f"{lo:g}" if lo == hi else f"{lo:g}–{hi:g}"
        kind = "Poisson" if raw.get("udp_poisson_arrival") else "CBR"
        unit_lines.append(
            f"- {env_id}: x1 = UDP {kind} {rate} Mbps per user"
            + (
                " (the scenario's UDP alternative; `tcp` rows: its default, backlogged TCP)"
                if raw.get("transport_protocol") == "tcp"
                else ""
            )
        )
        grid = [(u, f"x{k}") for u in users for k in loads]
        if raw.get("transport_protocol") == "tcp":
            grid += [(u, TCP) for u in users]
        grid.sort(key=lambda g: (g[0], g[1] != TCP, float(g[1].lstrip("x")) if g[1] != TCP else 0))
        for u, load in grid:
            for mode, n, parallel in modes:
                t0 = time.perf_counter()
                p = measure(Point(env_id, mode, u, load), n, steps, budget, parallel, args.repeats)
                points.append(p)
                status = p.error or f"{p.steps_per_s:,.0f} steps/s"
                print(
                    f"  {env_id} {mode} users={u} load={load}: {status} ({time.perf_counter() - t0:.1f} s)",
                    flush=True,
                )
    total = time.perf_counter() - t_start

    header = (
        "## Scaling: cost vs users and offered load (`python benchmarks/bench_scaling.py"
        + (" --quick" if args.quick else "")
        + "`)\n\n"
        + "\n".join(unit_lines)
        + "\n\nRandom actions; steps/s counts sub-env steps; vector = "
        f"`gym.make_vec(id, num_envs={args.num_envs}, parallel=...)`: serial (one thread) or parallel (numba "
        f"threads: {numba.get_num_threads()}; off by default). Up to "
        f"{steps} steps or {budget:g} s per point, in {args.repeats} segments (fastest kept); whole run "
        f'{total:,.0f} s. "packets offered / step" counts packets the senders generated per step (single env).'
    )
    text = markdown(points, header)
    print()
    print(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = "scaling_quick" if args.quick else "scaling"
    (args.out_dir / f"{stem}.md").write_text(text + "\n")
    write_csv(points, args.out_dir / f"{stem}.csv")
    png = args.out_dir / f"{stem}.png"
    print(
        f"\nwrote {args.out_dir / stem}.md, .csv"
        + (", .png" if plot(points, png) else " (no plot: matplotlib is not installed)")
    )


if __name__ == "__main__":
    main()
