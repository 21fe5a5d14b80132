"""``netgym-lite eval``: compare policies on an environment over several seeds.

``netgym-lite eval --env traffic_mgmt --agents system_default,argmax,utility_logistic,random --episodes K
--seeds 1,2,3 [--scenario FILE] [--steps-per-episode N] [--reward-type T] [--set KEY=VALUE ...]
[--model PATH ...] [--plot out.png] [--json out.json] [-q]``

Each seed is one session of K episodes (``episodes_per_session`` is set to K), started by ``reset(seed=seed)``;
every policy sees the same seeds. An episode's reward is the sum of its L − 1 step rewards. The table gives, per
policy, the mean episode reward with a 95 % Student-t interval over the K × seeds episodes, the mean delivered
throughput (``gma::dl::rate`` per user and step, Mbps) and the mean one-way delay (``gma::dl::owd`` over the
user-steps with a valid owd, ms), both over the measurements that followed the policy's actions. ``--plot`` (extra
``plot``: matplotlib) draws the mean reward per step and the throughput/delay distributions per policy.
:func:`evaluate` is the same evaluation as a library function.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from netgym_lite.errors import ConfigError

PLOT_EXTRA_HINT = "pip install 'netgym-lite[plot]' (or: pip install matplotlib)"

# Two-sided 95 % Student-t quantiles t_{0.975, df} for df = 1..30.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t_quantile_975(df: int) -> float:
    """t_{0.975} with ``df`` degrees of freedom (table up to 30, then a Cornish-Fisher expansion; nan if df < 1)."""
    if df < 1:
        return float("nan")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95 % Student-t interval); the half-width is nan for fewer than 2 values."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size < 2:
        return float(x.mean()), float("nan")
    return float(x.mean()), t_quantile_975(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)


def _regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) by its continued fraction (modified Lentz), using the symmetry for fast convergence."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _regularized_incomplete_beta(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(1000):
        m = i // 2
        if i == 0:
            term = 1.0
        elif i % 2 == 0:
            term = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            term = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + term * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + term / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(1.0 - c * d) < 1e-15:
            break
    return math.exp(log_front) * (f - 1.0) / a


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` > 0 degrees of freedom (df may be fractional, as in Welch's test)."""
    if not df > 0:
        raise ValueError(f"df={df} is invalid: allowed a number > 0")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    # P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2)
    tail = 0.5 * _regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


@dataclass(frozen=True)
class WelchResult:
    """Welch's unequal-variance t-test of ``mean(a) > mean(b)``."""

    t: float
    df: float
    #: One-sided p-value of H1: mean(a) > mean(b).
    p_greater: float


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> WelchResult:
    """Welch's t-test (unequal variances, Welch–Satterthwaite df), one-sided: is ``mean(a) > mean(b)``?

    Each sample needs at least 2 values. If both samples have zero variance the test degenerates: p is 0 when
    mean(a) > mean(b), 1 when smaller, 0.5 when equal (t is ±inf or 0, df the pooled n − 2).
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        raise ValueError(f"welch_t_test needs >= 2 values per sample: got {x.size} and {y.size}")
    va, vb = float(x.var(ddof=1)) / x.size, float(y.var(ddof=1)) / y.size
    diff = float(x.mean() - y.mean())
    if va + vb == 0.0:
        t = math.copysign(math.inf, diff) if diff else 0.0
        return WelchResult(t, float(x.size + y.size - 2), 0.0 if diff > 0 else (1.0 if diff < 0 else 0.5))
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    return WelchResult(t, df, student_t_sf(t, df))


@dataclass
class PolicyResult:
    """What one policy did over all seeds and episodes."""

    name: str
    episode_rewards: list[float] = field(default_factory=list)
    #: One row per episode: the reward of each step (L − 1 values).
    step_rewards: list[list[float]] = field(default_factory=list)
    #: Delivered throughput per user and step (Mbps).
    throughput: list[float] = field(default_factory=list)
    #: One-way delay per user and step, valid ones only (ms).
    delay: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Mean episode reward and its 95 % half-width, episodes, mean throughput (Mbps) and delay (ms)."""
        mean, half = mean_ci95(self.episode_rewards)
        return {
            "episodes": len(self.episode_rewards),
            "reward_mean": mean,
            "reward_ci95": half,
            "throughput_mbps": float(np.mean(self.throughput)) if self.throughput else float("nan"),
            "owd_ms": float(np.mean(self.delay)) if self.delay else float("nan"),
        }


def _measure(result: PolicyResult, records: Sequence[dict], num_users: int) -> None:
    from netgym_lite.envs.traffic_mgmt import record_values

    rate = record_values(records, "gma", "dl::rate", num_users)
    result.throughput.extend(np.where(np.isfinite(rate) & (rate > 0), rate, 0.0).tolist())
    owd = record_values(records, "gma", "dl::owd", num_users)
    result.delay.extend(owd[np.isfinite(owd) & (owd >= 0)].tolist())


def evaluate(
    env: Any,
    policies: dict[str, Callable[[int], Callable[[Any, dict], Any]]],
    seeds: Sequence[int],
    episodes: int,
    progress: Callable[[str], None] | None = None,
) -> list[PolicyResult]:
    """Run every policy for ``episodes`` episodes of one session per seed.

    ``policies`` maps a name to a factory ``seed -> agent`` (called once per seed). ``env`` must hold at least
    ``episodes`` episodes per session and put the records in ``info["network_stats"]``; ``progress`` is called
    after every step with a short note.
    """
    num_users = int(env.unwrapped.num_users)
    results = []
    for name, factory in policies.items():
        result = PolicyResult(name)
        for seed in seeds:
            agent = factory(seed)
            obs, info = env.reset(seed=int(seed))
            for episode in range(episodes):
                if episode:
                    obs, info = env.reset()
                rewards: list[float] = []
                done = False
                while not done:
                    obs, reward, terminated, truncated, info = env.step(agent(obs, info))
                    rewards.append(float(reward))
                    _measure(result, info["network_stats"], num_users)
                    done = terminated or truncated
                    if progress is not None:
                        progress(f"{name} seed {seed}")
                    if terminated and episode < episodes - 1:
                        raise ConfigError(
                            f"the session ended after {episode + 1} episodes: allowed --episodes "
                            f"<= episodes_per_session"
                        )
                result.step_rewards.append(rewards)
                result.episode_rewards.append(float(sum(rewards)))
        results.append(result)
    return results


def format_table(results: Sequence[PolicyResult]) -> str:
    """The per-policy summary table."""

    def fmt(x: float, spec: str) -> str:
        return "-" if not np.isfinite(x) else format(x, spec)

    width = max([len("policy"), *(len(r.name) for r in results)])
    head = (
        f"{'policy':<{width}}  {'episodes':>8}  {'reward_mean':>12}  {'reward_ci95':>12}  "
        f"{'throughput_mbps':>15}  {'owd_ms':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        s = r.summary()
        ci = "-" if not np.isfinite(s["reward_ci95"]) else f"±{s['reward_ci95']:.4f}"
        lines.append(
            f"{r.name:<{width}}  {s['episodes']:>8}  {fmt(s['reward_mean'], '.4f'):>12}  {ci:>12}  "
            f"{fmt(s['throughput_mbps'], '.3f'):>15}  {fmt(s['owd_ms'], '.2f'):>10}"
        )
    return "\n".join(lines)


def import_matplotlib_figure() -> Any:
    """``matplotlib.figure.Figure`` (no pyplot, no GUI backend), or a ConfigError naming the extra."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ConfigError(
            f"--plot needs matplotlib, which is not installed ({e}): {PLOT_EXTRA_HINT}"
        ) from None
    return Figure


def plot_results(results: Sequence[PolicyResult], path: str, title: str = "") -> None:
    """PNG: mean reward per step (95 % band) and the throughput and delay distributions per policy."""
    figure_cls = import_matplotlib_figure()
    fig = figure_cls(figsize=(15, 4.8), layout="constrained")
    ax_r, ax_t, ax_d = fig.subplots(1, 3)
    for r in results:
        length = min((len(row) for row in r.step_rewards), default=0)
        if not length:
            continue
        rows = np.array([row[:length] for row in r.step_rewards])
        steps = np.arange(2, length + 2)
        mean = rows.mean(axis=0)
        line = ax_r.plot(steps, mean, label=r.name)[0]
        if rows.shape[0] > 1:
            half = t_quantile_975(rows.shape[0] - 1) * rows.std(axis=0, ddof=1) / math.sqrt(rows.shape[0])
            ax_r.fill_between(steps, mean - half, mean + half, color=line.get_color(), alpha=0.2)
    ax_r.set_xlabel("step in episode")
    ax_r.set_ylabel("reward (mean, 95 % band)")
    ax_r.set_title("reward per step")
    ax_r.legend(fontsize="small")
    names = [r.name for r in results]
    for ax, data, label in (
        (ax_t, [r.throughput for r in results], "throughput per user (Mbps)"),
        (ax_d, [r.delay for r in results], "one-way delay per user (ms)"),
    ):
        ax.boxplot([d if d else [np.nan] for d in data], showfliers=False, showmeans=True)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right", fontsize="small")
        ax.set_ylabel(label)
        ax.set_title(label.split(" per ")[0] + " distribution")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)


def _parse_list(value: str, what: str, convert: Callable[[str], Any]) -> list:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise ConfigError(f"--{what}={value!r} is invalid: allowed a comma-separated list")
    try:
        return [convert(v) for v in items]
    except ValueError:
        raise ConfigError(
            f"--{what}={value!r} is invalid: allowed a comma-separated list of integers"
        ) from None


def make_env(name: str, scenario: Any, reward_type: str | None, overrides: dict[str, Any]) -> Any:
    """The env with command-line name ``name`` (``netgym_lite.ENV_IDS_BY_NAME``), built on ``scenario`` with
    env_config ``overrides``."""
    from netgym_lite import env_class

    return env_class(name)(scenario, reward_type=reward_type, **overrides)


def cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Evaluate the policies and print the table (and write the plot / JSON)."""
    from netgym_lite.agents import AGENTS, HEURISTICS, load_model_agent, make_agent
    from netgym_lite.cli import ProgressBar, _parse_set

    names = _parse_list(args.agents, "agents", str) if args.agents else []
    for n in names:
        if n not in AGENTS:
            raise ConfigError(f"--agents: {n!r} is invalid: allowed names from {', '.join(AGENTS)}")
        if n in HEURISTICS and args.env != "traffic_mgmt":
            raise ConfigError(f"--agents: {n!r} is invalid with --env {args.env}: the link heuristics need "
                              "traffic_mgmt; allowed system_default, random or --model")
    seeds = _parse_list(args.seeds, "seeds", int)
    if args.episodes < 1:
        raise ConfigError(f"--episodes={args.episodes} is invalid: allowed an integer >= 1")
    if not names and not args.model:
        raise ConfigError("nothing to evaluate: give --agents and/or --model")
    if args.plot:
        import_matplotlib_figure()  # fail before the runs, not after

    overrides = _parse_set(args.set or [])
    overrides["episodes_per_session"] = args.episodes
    if args.steps_per_episode is not None:
        overrides["steps_per_episode"] = args.steps_per_episode
    env = make_env(args.env, args.scenario, args.reward_type, overrides)
    try:
        policies: dict[str, Callable[[int], Any]] = {}
        for n in names:
            policies[n] = lambda seed, n=n: make_agent(n, env, seed=seed)
        for path in args.model or []:
            agent = load_model_agent(path, env.num_users)
            policies[agent.name] = lambda seed, agent=agent: agent
        steps = (env.steps_per_episode - 1) * args.episodes * len(seeds) * len(policies)
        bar = ProgressBar(steps, err, enabled=not args.quiet)
        done = 0

        def progress(note: str) -> None:
            nonlocal done
            done += 1
            bar.update(done, note)

        t0 = time.perf_counter()
        results = evaluate(env, policies, seeds, args.episodes, progress)
        wall = time.perf_counter() - t0
        bar.close(done)
    finally:
        env.close()
    header = (
        f"netgym-lite eval: {args.env}, {env.num_users} users, reward {env.reward_type}, "
        f"seeds {','.join(map(str, seeds))}, {args.episodes} episode(s) of {env.steps_per_episode - 1} steps "
        f"(L={env.steps_per_episode}) per seed, {len(policies)} policies, {wall:.1f} s wall"
    )
    out.write(header + "\n\n" + format_table(results) + "\n")
    if args.plot:
        plot_results(
            results,
            args.plot,
            title=f"{args.env}: reward {env.reward_type}, {len(seeds)} seed(s), "
            f"{args.episodes} episode(s) each",
        )
        out.write(f"\nplot written to {args.plot}\n")
    if args.json:
        data = {
            "env": args.env,
            "reward_type": env.reward_type,
            "seeds": seeds,
            "episodes": args.episodes,
            "steps_per_episode": env.steps_per_episode,
            "policies": {r.name: {**r.summary(), "episode_rewards": r.episode_rewards} for r in results},
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        out.write(f"results written to {args.json}\n")
    return 0


def register(subparsers: Any) -> None:
    """Add ``netgym-lite eval``."""
    from netgym_lite import ENV_IDS_BY_NAME
    from netgym_lite.config import REWARD_TYPES

    p = subparsers.add_parser(
        "eval", help="compare policies over seeds: reward with 95 %% intervals, KPIs, plot"
    )
    p.add_argument(
        "--env", default="traffic_mgmt", choices=sorted(ENV_IDS_BY_NAME), help="environment (default traffic_mgmt)"
    )
    p.add_argument(
        "--agents",
        default="system_default,argmax,utility_logistic,random",
        help="comma-separated agent names (default: system_default,argmax,utility_logistic,random)",
    )
    p.add_argument(
        "--model",
        action="append",
        metavar="PATH",
        help="a model saved by netgym-lite train, evaluated beside the agents (repeatable)",
    )
    p.add_argument(
        "--episodes", type=int, default=1, help="episodes per seed (one session per seed; default 1)"
    )
    p.add_argument("--seeds", default="1,2,3", help="comma-separated session seeds (default 1,2,3)")
    p.add_argument("--scenario", default=None, help="NetworkGym config JSON or shipped scenario name")
    p.add_argument("--steps-per-episode", type=int, default=None, help="override the scenario's L")
    p.add_argument(
        "--reward-type",
        default=None,
        choices=REWARD_TYPES,
        help="reward (default: the scenario's rl_config.reward_type, else utility)",
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="env_config override (repeatable)")
    p.add_argument(
        "--plot", default=None, metavar="PNG", help="write a PNG plot (needs matplotlib: extra plot)"
    )
    p.add_argument("--json", default=None, metavar="FILE", help="write the results as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)
