"""``netgym-lite eval``: intervals, the evaluation loop, the table, the plot, errors."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import numpy as np
import pytest
from fakes import ConstantSimulation

import netgym_lite.ipc.session as session_mod
from netgym_lite.cli import main
from netgym_lite.commands.eval import (
    PolicyResult,
    evaluate,
    format_table,
    mean_ci95,
    student_t_sf,
    t_quantile_975,
    welch_t_test,
)
from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


FakeSimulation = ConstantSimulation


@pytest.fixture
def fake_sim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_mod, "default_sim_factory", FakeSimulation)


def test_t_quantiles_and_interval() -> None:
    assert t_quantile_975(1) == pytest.approx(12.706)
    assert t_quantile_975(30) == pytest.approx(2.042)
    assert t_quantile_975(60) == pytest.approx(2.000, abs=2e-3)
    assert t_quantile_975(10**6) == pytest.approx(1.96, abs=1e-3)
    assert math.isnan(t_quantile_975(0))
    mean, half = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.303 / math.sqrt(3))
    mean, half = mean_ci95([5.0])
    assert mean == 5.0 and math.isnan(half)


@pytest.mark.parametrize("t", [-40.0, -3.0, -0.5, 0.0, 0.25, 1.0, 2.5, 12.0, 1e4])
def test_student_t_tail_matches_the_closed_forms_for_one_and_two_df(t: float) -> None:
    # df = 1 is the Cauchy law; df = 2 has F(t) = 1/2 + t / (2 sqrt(2 + t^2))
    assert student_t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, rel=1e-12, abs=1e-15)
    assert student_t_sf(t, 2) == pytest.approx(0.5 - t / (2 * math.sqrt(2 + t * t)), rel=1e-10, abs=1e-15)


def test_student_t_tail_approaches_the_normal_and_rejects_bad_df() -> None:
    assert student_t_sf(1.959964, 1e7) == pytest.approx(0.025, rel=1e-5)
    assert student_t_sf(math.inf, 3) == 0.0 and student_t_sf(-math.inf, 3) == 1.0
    with pytest.raises(ValueError, match="df=0"):
        student_t_sf(1.0, 0)


def test_welch_t_test_by_hand_and_degenerate_cases() -> None:
    # a: mean 2, var 1 (n 3); b: mean 0, var 4 (n 3): t = 2 / sqrt(1/3 + 4/3), df = (5/3)^2 / ((1/9 + 16/9) / 2)
    res = welch_t_test([1.0, 2.0, 3.0], [-2.0, 0.0, 2.0])
    assert res.t == pytest.approx(2 / math.sqrt(5 / 3))
    assert res.df == pytest.approx((5 / 3) ** 2 / (17 / 18))
    assert res.p_greater == pytest.approx(student_t_sf(res.t, res.df)) and 0.05 < res.p_greater < 0.2
    assert welch_t_test([3.0, 3.0], [1.0, 1.0]).p_greater == 0.0
    assert welch_t_test([1.0, 1.0], [3.0, 3.0]).p_greater == 1.0
    assert welch_t_test([1.0, 1.0], [1.0, 1.0]).p_greater == 0.5
    with pytest.raises(ValueError, match=">= 2 values"):
        welch_t_test([1.0], [1.0, 2.0])


# Oracle: scipy 1.17.1, stats.ttest_ind(a, b, equal_var=False, alternative="greater") -> (t, p, df).
SCIPY_WELCH = [
    (
        [0.3, 1.2, 0.8, 1.9, 0.4, 1.1, 0.7, 1.5],
        [-0.5, 2.6, -3.1, 0.9, 1.4, -1.2, 0.2, 3.3, -0.8, 0.6, -2.0],
        (1.4144704676843505, 0.09116733353025284, 12.150580052574432),
    ),
    (
        [25.9, 25.1, 26.4, 25.7, 26.0, 24.8, 26.2, 25.5, 25.9, 26.6],
        [-25.3, -24.1, -26.9, -25.8, -23.9, -26.2, -24.7, -25.0, -25.6, -27.1],
        (133.10523841446766, 1.0214645905418091e-22, 13.477549097660336),
    ),
    (
        [1.0, 2.0, 3.0, 4.0],
        [2.5, 3.5, 1.5, 4.5, 3.0],
        (-0.6123724356957945, 0.7187024739605603, 6.047244094488191),
    ),
]


@pytest.mark.parametrize(("a", "b", "expected"), SCIPY_WELCH)
def test_welch_t_test_agrees_with_scipy(a, b, expected) -> None:
    ours = welch_t_test(a, b)
    t, p, df = expected
    assert ours.t == pytest.approx(t, rel=1e-10)
    assert ours.df == pytest.approx(df, rel=1e-10)
    assert ours.p_greater == pytest.approx(p, rel=1e-8)


def test_evaluate_runs_k_episodes_per_seed_and_sums_step_rewards(fake_sim) -> None:
    env = TrafficMgmtEnv(num_users=2, steps_per_episode=4, episodes_per_session=2, reward_type="throughput")
    seen_seeds: list[int] = []

    def factory(seed: int):
        seen_seeds.append(seed)
        return lambda obs, info: []

    try:
        (res,) = evaluate(env, {"sd": factory}, seeds=[5, 6], episodes=2)
    finally:
        env.close()
    assert seen_seeds == [5, 6]
    assert len(res.episode_rewards) == 4 and all(len(r) == 3 for r in res.step_rewards)
    # throughput reward = mean rate = (1 + 2) / 2 per step, 3 steps an episode
    assert res.episode_rewards == pytest.approx([4.5] * 4)
    s = res.summary()
    assert s["throughput_mbps"] == pytest.approx(1.5) and s["owd_ms"] == pytest.approx(15.0)
    assert s["reward_ci95"] == pytest.approx(0.0)


def test_format_table_has_one_row_per_policy() -> None:
    a = PolicyResult("alpha", episode_rewards=[1.0, 3.0], throughput=[2.0], delay=[4.0])
    b = PolicyResult("b", episode_rewards=[2.0])
    lines = format_table([a, b]).splitlines()
    assert lines[0].split() == [
        "policy",
        "episodes",
        "reward_mean",
        "reward_ci95",
        "throughput_mbps",
        "owd_ms",
    ]
    assert lines[2].split() == [
        "alpha",
        "2",
        "2.0000",
        f"±{12.706 * math.sqrt(2) / math.sqrt(2):.4f}",
        "2.000",
        "4.00",
    ]
    assert lines[3].split() == ["b", "1", "2.0000", "-", "-", "-"]


def test_eval_command_end_to_end_on_the_real_simulation(tmp_path, capsys) -> None:
    png, js = tmp_path / "eval.png", tmp_path / "eval.json"
    args = [
        "eval",
        "--env",
        "traffic_mgmt",
        "--agents",
        "system_default,argmax",
        "--episodes",
        "1",
        "--seeds",
        "1",
        "--steps-per-episode",
        "5",
        "--json",
        str(js),
    ]
    if HAVE_MPL:
        args += ["--plot", str(png)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "8/8 steps" in err  # progress: 2 policies × 1 seed × 1 episode × 4 steps
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.split()[:1] and line.split()[0] in ("system_default", "argmax")
    }
    assert set(rows) == {"system_default", "argmax"}
    for row in rows.values():
        assert row[1] == "1" and np.isfinite(float(row[2])) and float(row[4]) > 0
    data = json.loads(js.read_text())
    assert set(data["policies"]) == {"system_default", "argmax"}
    assert data["steps_per_episode"] == 5
    if HAVE_MPL:
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_names_the_extra(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["eval", "--agents", "random", "--seeds", "1", "--plot", "x.png", "-q"]) == 2
    assert "pip install 'netgym-lite[plot]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agents", "random,nope"], "'nope' is invalid"),
        (["--seeds", "1,x"], "--seeds='1,x' is invalid"),
        (["--episodes", "0"], "--episodes=0 is invalid"),
        (["--model", "does/not/exist"], "does/not/exist.zip does not exist"),
    ],
)
def test_eval_errors_exit_2(argv, message, capsys) -> None:
    assert main(["eval", "-q", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("env", ["qos_steer", "network_slicing"])
def test_eval_runs_on_the_other_envs_and_refuses_link_heuristics_there(env: str, capsys) -> None:
    assert main(["eval", "--env", env, "--agents", "system_default,random", "--seeds", "1", "--episodes", "1",
                 "--steps-per-episode", "3", "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"netgym-lite eval: {env}") and "system_default" in out and "random" in out
    assert main(["eval", "--env", env, "--agents", "argmax", "--seeds", "1", "-q"]) == 2
    assert "link heuristics need traffic_mgmt" in capsys.readouterr().err
