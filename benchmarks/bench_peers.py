"""netgym-lite side by side with its peers in one run: the SimPy reference model, mobile-env and (quoted) ns-3.

Run: ``python benchmarks/bench_peers.py [--quick] [--mobile-env-python PATH] [--out-dir DIR]``. Prints Markdown
tables of ratios measured in the same run (the machine may be shared: compare ratios, not absolute numbers) and
writes ``benchmarks/results/peers.{md,json,png}`` (``peers_quick.*`` with ``--quick``).

* **SimPy reference** (``netgym_lite.reference.run_reference``): the same static UDP scenario as
  ``bench_step.py`` (Poisson UDP, a fixed 50 % Wi-Fi split, no mobility), at the same packet-level granularity.
  Compared as simulated seconds per wall second: the numba core alone (no records) and the full single env.
* **mobile-env** (PyPI ``mobile-env``, an optional dependency of this benchmark only, never of netgym-lite): its
  ``mobile-small-central-v0`` (5 users, 3 cells) and ``mobile-large-central-v0`` (30 users, 13 cells) against
  netgym-lite's TrafficMgmt-v0 at 5 and 30 users (default scenario otherwise: TCP, 2 APs + 1 eNB), random
  actions, episodes reset as a training loop would (mobile-env: 100 steps; netgym-lite: L = 10, E = 5). mobile-env
  may pin another gymnasium, so it runs in its own interpreter (``--mobile-env-python``, e.g. a venv made with
  ``python -m venv /work/venv-mobileenv && /work/venv-mobileenv/bin/pip install mobile-env``); without it that
  part is skipped with a message. Rounds alternate the two sides; each side keeps its best round.
* **ns-3** (NetworkGym's simulator): not run here; its cost is quoted from ``shared/reference/ns3.md``.
* **CartPole-v1**: Gymnasium's classic env, random actions, as the floor of Python overhead per step.

What one step simulates differs: a mobile-env step is one time step of its own flow-level model (users move,
SNR → Shannon rate, resource-fair sharing; no packets, no queues); a netgym-lite step is a 100 ms measurement
interval simulated at packet level (every packet queued, scheduled per LTE TTI or Wi-Fi TXOP, and delivered).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numba
import numpy as np

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import load_config
from netgym_lite.reference import run_reference

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plot import headless_pyplot  # noqa: E402  (benchmarks/ is on sys.path when a script runs)
from bench_step import sim_rate  # noqa: E402  (the core's sim-s/wall-s, shared with bench_step.py)

RESULTS = Path(__file__).resolve().parent / "results"
TRAFFIC_MGMT = "netgym-lite/TrafficMgmt-v0"
MOBILE_ENV_IDS = {5: "mobile-small-central-v0", 30: "mobile-large-central-v0"}
# shared/reference/ns3.md, "Cost of ns-3 itself": one 100 ms step cost ns-3 ~33 ms of wall time with both links at
# 4 users (9-45 ms over its 4-16-user layouts), i.e. about 30 steps/s, and over 100 ms at 64 users, i.e. fewer than
# 10 steps/s. Quoted, not measured here: users -> (steps/s, how the figure reads, True if it is an upper bound).
NS3_QUOTES = {
    4: (30.0, "~30 (~33 ms per 100 ms step, both links)", False),
    64: (10.0, "< 10 (> 100 ms per step)", True),
}

# Runs inside mobile-env's interpreter: must import nothing from netgym-lite. Prints one JSON line.
MOBILE_ENV_WORKER = r"""
import json, sys, time
import gymnasium as gym
import mobile_env
from importlib.metadata import version

def rate(env_id, max_steps, budget_s):
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(5):
        env.step(env.action_space.sample())
    env.reset(seed=1)
    steps = resets = 0
    step_wall = reset_wall = 0.0
    start = time.perf_counter()
    while steps < max_steps and (steps < 10 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        t1 = time.perf_counter()
        step_wall += t1 - t0
        steps += 1
        if terminated or truncated:
            env.reset()
            reset_wall += time.perf_counter() - t1
            resets += 1
    users = len(env.unwrapped.users)
    env.close()
    return dict(steps=steps, step_wall=step_wall, resets=resets, reset_wall=reset_wall, users=users)

args = json.loads(sys.argv[1])
out = {env_id: rate(env_id, args["max_steps"], args["budget_s"]) for env_id in args["ids"]}
out["_versions"] = {"mobile-env": version("mobile-env"), "gymnasium": gym.__version__,
                    "python": sys.version.split()[0]}
print(json.dumps(out))
"""


def loop_rate(env: Any, max_steps: int, budget_s: float) -> dict[str, float]:
    """A training loop with random actions on a single env: step, reset when the episode ends. Steps and resets
    are timed apart (mirrors ``MOBILE_ENV_WORKER``)."""
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(5):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.reset(seed=1)
    steps = resets = 0
    step_wall = reset_wall = 0.0
    start = time.perf_counter()
    while steps < max_steps and (steps < 10 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        t1 = time.perf_counter()
        step_wall += t1 - t0
        steps += 1
        if terminated or truncated:
            env.reset()
            reset_wall += time.perf_counter() - t1
            resets += 1
    return {"steps": steps, "step_wall": step_wall, "resets": resets, "reset_wall": reset_wall}


def vector_rate(
    env_id: str, num_envs: int, parallel: bool, max_steps: int, budget_s: float, **overrides: Any
) -> float:
    """Sub-env steps per wall second of the native vector env (autoresets included, as in training)."""
    venv = gym.make_vec(env_id, num_envs=num_envs, parallel=parallel, **overrides)
    venv.reset(seed=0)
    venv.action_space.seed(0)
    for _ in range(3):
        venv.step(venv.action_space.sample())
    calls = 0
    start = time.perf_counter()
    while calls < max_steps and (calls < 3 or time.perf_counter() - start < budget_s):
        venv.step(venv.action_space.sample())
        calls += 1
    wall = time.perf_counter() - start
    venv.close()
    return calls * num_envs / wall


def single_rates(r: dict[str, float]) -> tuple[float, float]:
    """(steps/s of step() alone, steps/s with the resets' time included)."""
    return r["steps"] / r["step_wall"], r["steps"] / (r["step_wall"] + r["reset_wall"])


def run_mobile_env(python: str, ids: list[str], max_steps: int, budget_s: float) -> dict[str, Any]:
    """One measurement round of mobile-env in its own interpreter."""
    payload = json.dumps({"ids": ids, "max_steps": max_steps, "budget_s": budget_s})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [python, "-c", MOBILE_ENV_WORKER, payload], capture_output=True, text=True, env=env, timeout=600
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise SystemExit(
            f"--mobile-env-python {python}: the mobile-env measurement failed: {tail[0]} "
            "(allowed: an interpreter where `import mobile_env` works, e.g. a venv with "
            "`pip install mobile-env`)"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def reference_rows(users_list: tuple[int, ...], steps: int, ref_steps: int) -> list[dict[str, float]]:
    """Core, full env and SimPy reference on bench_step.py's static UDP scenario, as sim-s per wall-s."""
    rows = []
    for users in users_list:
        rate_mbps = max(40.0 / users, 0.5)
        overrides = dict(
            num_users=users,
            transport_protocol="udp",
            udp_poisson_arrival=True,
            min_udp_rate_per_user_mbps=rate_mbps,
            max_udp_rate_per_user_mbps=rate_mbps,
            measurement_start_time_ms=100,
            user_random_walk={"min_speed_m/s": 0, "max_speed_m/s": 0},
        )
        cfg = load_config(**overrides)
        _, core_eps, core_sim = sim_rate(cfg, steps, 3, 0.5)
        env = gym.make(TRAFFIC_MGMT, steps_per_episode=steps + 20, episodes_per_session=1, **overrides)
        env.reset(seed=0)
        half = np.full(users, 0.5, dtype=np.float32)
        for _ in range(3):
            env.step(half)
        t0 = time.perf_counter()
        for _ in range(steps):
            env.step(half)
        env_sim = steps * cfg.step_interval_ms / 1000.0 / (time.perf_counter() - t0)
        env.close()
        duration = ref_steps * cfg.step_interval_ms
        t0 = time.perf_counter()
        ref = run_reference(cfg, wifi_share=0.5, duration_ms=duration, warmup_ms=100.0)
        ref_wall = time.perf_counter() - t0
        rows.append(
            dict(
                users=users,
                core_sim_s=core_sim,
                core_events_s=core_eps,
                env_sim_s=env_sim,
                ref_sim_s=(duration + 100.0) / 1000.0 / ref_wall,
                ref_events_s=ref.events / ref_wall,
            )
        )
    return rows


def table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _n(x: float, digits: int = 0) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def _x(a: float, b: float) -> str:
    return "—" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:,.1f}x"


def render(res: dict[str, Any]) -> str:
    """All tables as Markdown."""
    n = res["num_envs"]
    out = [
        f"## netgym-lite vs its peers (`{res['command']}`)\n",
        f"Same run, {res['rounds']} round(s), best round per side; machine: {os.cpu_count()} cores shared "
        f"with other jobs (load average at start {res['load_avg']:.1f}); numba threads {res['numba_threads']}. "
        "Ratios are netgym-lite / peer.\n",
    ]

    out.append("### vs mobile-env (random actions, episodes reset as in training)\n")
    me = res.get("mobile_env")
    if me is None:
        out.append(f"mobile-env: skipped ({res['mobile_env_skip']}).\n")
    else:
        v = me["_versions"]
        out.append(
            f"mobile-env {v['mobile-env']} (gymnasium {v['gymnasium']}, Python {v['python']}) in its own "
            "interpreter. One mobile-env step = one time step of its flow-level model (no packets); one "
            "netgym-lite step = 100 ms simulated at packet level (TCP, LTE TTIs, Wi-Fi TXOPs).\n"
        )
    rows = []
    for users in res["users"]:
        nl = res["netgym"][str(users)]
        step_only, with_resets = nl["single"]
        serial, parallel = nl["vector_serial"], nl["vector_parallel"]
        if me is not None:
            m = me[MOBILE_ENV_IDS[users]]
            m_step, m_loop = single_rates(m)
            rows.append(
                [
                    users,
                    f"`{MOBILE_ENV_IDS[users]}`",
                    _n(m_step),
                    _n(m_loop),
                    _n(step_only),
                    _n(with_resets),
                    _x(with_resets, m_loop),
                    _n(serial),
                    _x(serial, m_loop),
                    _n(parallel),
                    _x(parallel, m_loop),
                ]
            )
        else:
            rows.append(
                [
                    users,
                    "—",
                    "—",
                    "—",
                    _n(step_only),
                    _n(with_resets),
                    "—",
                    _n(serial),
                    "—",
                    _n(parallel),
                    "—",
                ]
            )
    out.append(
        table(
            [
                "users",
                "mobile-env id",
                "mobile-env steps/s (step only)",
                "mobile-env steps/s (incl. resets)",
                "netgym-lite single (step only)",
                "netgym-lite single (incl. resets)",
                "single / mobile-env",
                f"netgym-lite vector x{n} serial",
                "/ mobile-env",
                f"vector x{n} parallel",
                "/ mobile-env",
            ],
            rows,
        )
    )

    out.append(
        "\n### vs the SimPy reference (same static UDP scenario, fixed 50 % split, same granularity)\n"
    )
    out.append(
        table(
            [
                "users",
                "reference sim-s/wall-s",
                "reference events/s",
                "core sim-s/wall-s",
                "core events/s",
                "core / reference",
                "env sim-s/wall-s",
                "env / reference",
            ],
            [
                [
                    r["users"],
                    _n(r["ref_sim_s"], 2),
                    _n(r["ref_events_s"]),
                    _n(r["core_sim_s"], 1),
                    _n(r["core_events_s"]),
                    _x(r["core_sim_s"], r["ref_sim_s"]),
                    _n(r["env_sim_s"], 1),
                    _x(r["env_sim_s"], r["ref_sim_s"]),
                ]
                for r in res["reference"]
            ],
        )
    )

    out.append("\n### vs NetworkGym's ns-3 (quoted from shared/reference/ns3.md, not measured here)\n")
    rows = []
    for users, (rate, text, bound) in NS3_QUOTES.items():
        nl = res["netgym"][str(users)]
        single, serial = nl["single"][1], nl["vector_serial"]
        more = "> " if bound else "~"
        rows.append([users, text, _n(single), more + _x(single, rate), _n(serial), more + _x(serial, rate)])
    out.append(
        table(
            [
                "users",
                "ns-3 steps/s (quoted)",
                "netgym-lite single (incl. resets)",
                "single / ns-3",
                f"netgym-lite vector x{n} serial",
                "/ ns-3",
            ],
            rows,
        )
    )

    cp = res["cartpole"]
    out.append("\n### Floor: Gymnasium CartPole-v1 (random actions, same process)\n")
    out.append(
        table(
            ["env", "steps/s (step only)", "steps/s (incl. resets)"], [["CartPole-v1", _n(cp[0]), _n(cp[1])]]
        )
    )
    return "\n".join(out)


def plot(res: dict[str, Any], path: Path) -> bool:
    """Bars: steps/s per simulator at 5 and 30 users (+ ns-3 quoted at 4); sim-s/wall-s vs the reference."""
    plt = headless_pyplot()
    if plt is None:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    n = res["num_envs"]
    labels, values, colors = [], [], []
    for users in res["users"]:
        nl = res["netgym"][str(users)]
        if res.get("mobile_env"):
            labels.append(f"mobile-env\n{users} users")
            values.append(single_rates(res["mobile_env"][MOBILE_ENV_IDS[users]])[1])
            colors.append("C1")
        for name, value, color in (
            ("netgym-lite\nsingle", nl["single"][1], "C0"),
            (f"netgym-lite\nvector x{n}", max(nl["vector_serial"], nl["vector_parallel"]), "C2"),
        ):
            labels.append(f"{name}\n{users} users")
            values.append(value)
            colors.append(color)
    for users, (rate, _, bound) in NS3_QUOTES.items():
        labels.append(f"ns-3\n(quoted)\n{users} users" + ("\n(at most)" if bound else ""))
        values.append(rate)
        colors.append("C3")
    ax1.bar(range(len(values)), values, color=colors)
    ax1.set_xticks(range(len(values)), labels, fontsize=7)
    ax1.set_yscale("log")
    ax1.set_ylabel("env steps / wall s (incl. resets)")
    ax1.set_title("steps/s (a netgym-lite step: 100 ms at packet level)", fontsize=9)
    ref = res["reference"]
    x = np.arange(len(ref))
    for k, (key, name) in enumerate(
        (
            ("ref_sim_s", "SimPy reference"),
            ("core_sim_s", "netgym-lite core"),
            ("env_sim_s", "netgym-lite env"),
        )
    ):
        ax2.bar(x + (k - 1) * 0.27, [r[key] for r in ref], width=0.27, label=name)
    ax2.set_xticks(x, [f"{r['users']} users" for r in ref])
    ax2.set_yscale("log")
    ax2.set_ylabel("simulated s / wall s")
    ax2.set_title("same static UDP scenario", fontsize=9)
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a CI-sized smoke run (few steps, one round)")
    ap.add_argument(
        "--mobile-env-python",
        metavar="PATH",
        default=None,
        help="a Python interpreter with mobile-env installed (default: skip mobile-env)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5; quick 1)")
    ap.add_argument("--steps", type=int, default=None, help="max timed steps per measurement (default 1000)")
    ap.add_argument(
        "--budget", type=float, default=None, help="max wall s per measurement (default 3; quick 0.3)"
    )
    ap.add_argument("--num-envs", type=int, default=8, help="sub-envs of the native vector env (>= 1)")
    ap.add_argument(
        "--reference-users",
        nargs="+",
        type=int,
        default=None,
        help="user counts of the reference comparison (default 4 16 64; quick 4)",
    )
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help="where to write peers.{md,json,png}")
    args = ap.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 5)
    steps = args.steps or (50 if args.quick else 1000)
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 3.0)
    ref_users = tuple(args.reference_users or ((4,) if args.quick else (4, 16, 64)))
    for name, value, lo in (("rounds", rounds, 1), ("steps", steps, 10), ("num-envs", args.num_envs, 1)):
        if value < lo:
            ap.error(f"--{name} {value} is invalid: allowed an integer >= {lo}")
    if any(u < 1 for u in ref_users):
        ap.error(f"--reference-users {list(ref_users)} is invalid: allowed integers >= 1")
    mobile_python = args.mobile_env_python
    skip = None
    if mobile_python is None:
        skip = "pass --mobile-env-python PATH, an interpreter with `pip install mobile-env` (e.g. a separate venv)"
    elif not (Path(mobile_python).is_file() and os.access(mobile_python, os.X_OK)):
        ap.error(f"--mobile-env-python {mobile_python} is invalid: allowed the path of an executable Python")
    if skip:
        print(f"mobile-env: skipped ({skip})", flush=True)

    users = sorted(MOBILE_ENV_IDS)
    res: dict[str, Any] = {
        "command": "python benchmarks/bench_peers.py"
        + (" --quick" if args.quick else "")
        + (" --mobile-env-python PATH" if mobile_python else ""),
        "rounds": rounds,
        "num_envs": args.num_envs,
        "users": users,
        "numba_threads": numba.get_num_threads(),
        "load_avg": os.getloadavg()[0],
        "mobile_env_skip": skip,
        "netgym": {
            str(u): {"single": (0.0, 0.0), "vector_serial": 0.0, "vector_parallel": 0.0}
            for u in sorted(set(users) | set(NS3_QUOTES))
        },
    }
    best_me: dict[str, Any] | None = None
    t_start = time.perf_counter()
    for rnd in range(rounds):
        if mobile_python:
            me = run_mobile_env(mobile_python, [MOBILE_ENV_IDS[u] for u in users], steps, budget)
            if best_me is None:
                best_me = me
            else:
                for env_id in MOBILE_ENV_IDS.values():
                    if single_rates(me[env_id])[1] > single_rates(best_me[env_id])[1]:
                        best_me[env_id] = me[env_id]
        for key, slot in res["netgym"].items():
            u = int(key)
            env = gym.make(TRAFFIC_MGMT, num_users=u)
            single = single_rates(loop_rate(env, steps, budget))
            env.close()
            if single[1] > slot["single"][1]:
                slot["single"] = single
            kinds = ("serial", "parallel") if u in users else ("serial",)  # parallel: the mobile-env rows
            for kind in kinds:
                r = vector_rate(
                    TRAFFIC_MGMT,
                    args.num_envs,
                    kind == "parallel",
                    max(steps // args.num_envs, 10),
                    budget,
                    num_users=u,
                )
                slot[f"vector_{kind}"] = max(slot[f"vector_{kind}"], r)
        print(f"  round {rnd + 1}/{rounds} done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    res["mobile_env"] = best_me
    res["reference"] = reference_rows(ref_users, 30 if args.quick else 200, 5 if args.quick else 20)
    cp_env = gym.make("CartPole-v1")
    res["cartpole"] = single_rates(loop_rate(cp_env, 20 * steps, budget))
    cp_env.close()

    text = render(res)
    print()
    print(text)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = "peers_quick" if args.quick else "peers"
    (args.out_dir / f"{stem}.md").write_text(text + "\n")
    (args.out_dir / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    drew = plot(res, args.out_dir / f"{stem}.png")
    print(
        f"\nwrote {args.out_dir / stem}.md, .json"
        + (", .png" if drew else " (no plot: matplotlib is missing)")
    )


if __name__ == "__main__":
    main()
