"""Smoke tests of benchmarks/bench_scaling.py and benchmarks/bench_peers.py on tiny settings.

They check that the scripts run, write their files and that what they measure means what the tables say (the
load factor really scales the offered packets, ratios are computed from the measured rates); they do not check
speed. mobile-env runs only when ``NETGYM_MOBILE_ENV_PYTHON`` names an interpreter that has it.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SLICING = "netgym-lite/NetworkSlicing-v0"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    sys.path.insert(0, str(BENCH))  # bench_peers imports bench_step from its own folder
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def _has_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def test_bench_scaling_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("bench_scaling")
    bench.main(
        [
            "--quick",
            "--envs",
            SLICING,
            "--users",
            "4",
            "--loads",
            "1",
            "2",
            "--steps",
            "4",
            "--num-envs",
            "2",
            "--out-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert "x1 = UDP CBR 2 Mbps per user" in out
    with (tmp_path / "scaling_quick.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["mode"], r["load"]) for r in rows} == {
        (m, load) for m in ("single", "vector x2 serial", "vector x2 parallel") for load in ("x1", "x2")
    }
    for r in rows:
        assert r["error"] == ""
        assert int(r["steps"]) >= 3 and float(r["steps_per_s"]) > 0 and int(r["events"]) > 0
    # x2 doubles the CBR rate of every user: twice the packets per step (up to the 1-packet phase of each flow)
    single = {r["load"]: float(r["packets_per_step"]) for r in rows if r["mode"] == "single"}
    assert single["x2"] == pytest.approx(2 * single["x1"], rel=0.05)
    md = (tmp_path / "scaling_quick.md").read_text()
    assert f"### {SLICING}" in md and "| 4 | x2 |" in md
    assert (tmp_path / "scaling_quick.png").exists() == _has_matplotlib()


def test_bench_scaling_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("bench_scaling")
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--users", "0"])
    assert "--users [0] is invalid: allowed integers >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--envs", "netgym-lite/Nope-v0"])
    assert "--envs ['netgym-lite/Nope-v0'] is invalid" in capsys.readouterr().err


def _run_peers(tmp_path: Path, extra: list[str]) -> dict:
    bench = _load("bench_peers")
    bench.main(
        [
            "--quick",
            "--steps",
            "10",
            "--budget",
            "0.05",
            "--num-envs",
            "2",
            "--reference-users",
            "2",
            "--out-dir",
            str(tmp_path),
            *extra,
        ]
    )
    return json.loads((tmp_path / "peers_quick.json").read_text())


def test_bench_peers_quick_without_mobile_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = _run_peers(tmp_path, [])
    out = capsys.readouterr().out
    assert "mobile-env: skipped (pass --mobile-env-python PATH" in out
    assert res["mobile_env"] is None
    (ref,) = res["reference"]
    assert ref["users"] == 2 and ref["ref_sim_s"] > 0 and ref["core_sim_s"] > 0 and ref["env_sim_s"] > 0
    for users in ("5", "30"):
        nl = res["netgym"][users]
        assert nl["single"][0] >= nl["single"][1] > 0  # including resets can only be slower
        assert nl["vector_serial"] > 0 and nl["vector_parallel"] > 0
    md = (tmp_path / "peers_quick.md").read_text()
    # the ns-3 rows' ratios are the measured rates over the quoted ~30 (4 users) and < 10 (64 users) steps/s
    assert f"| ~{res['netgym']['4']['single'][1] / 30.0:,.1f}x |" in md
    assert f"| > {res['netgym']['64']['single'][1] / 10.0:,.1f}x |" in md
    assert f"{ref['core_sim_s'] / ref['ref_sim_s']:,.1f}x" in md
    assert (tmp_path / "peers_quick.png").exists() == _has_matplotlib()


def test_bench_peers_rejects_missing_interpreter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("bench_peers")
    with pytest.raises(SystemExit):
        bench.main(
            ["--quick", "--mobile-env-python", str(tmp_path / "no-python"), "--out-dir", str(tmp_path)]
        )
    assert "--mobile-env-python" in capsys.readouterr().err


def test_bench_peers_quick_with_mobile_env(tmp_path: Path) -> None:
    python = os.environ.get("NETGYM_MOBILE_ENV_PYTHON")
    if not python:
        pytest.skip("set NETGYM_MOBILE_ENV_PYTHON to an interpreter with mobile-env installed")
    res = _run_peers(tmp_path, ["--mobile-env-python", python])
    me = res["mobile_env"]
    assert me["mobile-small-central-v0"]["users"] == 5 and me["mobile-large-central-v0"]["users"] == 30
    assert all(
        me[k]["steps"] >= 10 and me[k]["step_wall"] > 0
        for k in ("mobile-small-central-v0", "mobile-large-central-v0")
    )
    md = (tmp_path / "peers_quick.md").read_text()
    assert f"mobile-env {me['_versions']['mobile-env']} (gymnasium" in md
    small = me["mobile-small-central-v0"]
    small_rate = small["steps"] / (small["step_wall"] + small["reset_wall"])
    assert f"| {res['netgym']['5']['single'][1] / small_rate:,.1f}x |" in md
