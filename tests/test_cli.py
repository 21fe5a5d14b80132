"""The ``netgym-lite run`` command: exit codes, progress, KPI summary."""

from __future__ import annotations

import pytest
from fakes import ConstantSimulation

import netgym_lite.ipc.session as session_mod
import netgym_lite.sim
from netgym_lite.cli import main

real_sim = pytest.mark.skipif(not hasattr(netgym_lite.sim, "Simulation"),
                              reason="netgym_lite.sim.Simulation is not implemented yet")


FakeSimulation = ConstantSimulation


@pytest.fixture
def fake_sim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_mod, "default_sim_factory", FakeSimulation)


def test_run_three_steps_prints_the_kpi_summary(fake_sim, capsys) -> None:
    assert main(["run", "--steps", "3", "--set", "num_users=2"]) == 0
    out, err = capsys.readouterr()
    assert "3/3 steps" in err
    assert "throughput_mbps" in out and "owd_ms" in out and "wifi_split_%" in out
    lines = out.splitlines()
    user1 = next(line for line in lines if line.split()[:1] == ["1"])
    assert user1.split() == ["1", "1.000", "10.00", "50.0"]
    total = next(line for line in lines if line.startswith(" total"))
    assert total.split() == ["total", "3.000", "15.00", "50.0"]
    assert "mean reward" in out and "over 2 steps" in out


def test_default_is_one_whole_session_with_resets_between_episodes(fake_sim, capsys) -> None:
    args = ["run", "--agent", "random", "--seed", "3", "--set", "steps_per_episode=3",
            "--set", "episodes_per_session=2", "--reward-type", "throughput", "-q"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "6 steps" in out and "seed 3" in out
    assert "mean reward: 2.5000 over 4 steps" in out  # 4 env steps, mean rate (1+2+3+4)/4


def test_errors_print_one_line_and_exit_2(fake_sim, capsys, tmp_path) -> None:
    assert main(["run", "--scenario", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("netgym-lite: error:") and "Traceback" not in err
    assert main(["run", "--set", "steps_per_episode=1"]) == 2
    assert "steps_per_episode" in capsys.readouterr().err
    assert main(["run", "--steps", "0"]) == 2
    assert main(["run", "--agent", "clever"]) == 2  # argparse usage error


@real_sim
def test_run_with_the_real_simulation(capsys) -> None:
    assert main(["run", "--steps", "3", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "throughput_mbps" in out and "mean reward" in out


def test_run_network_slicing_prints_per_slice_kpis(capsys) -> None:
    assert main(["run", "--env", "network_slicing", "--steps", "6", "-q", "--agent", "random", "--seed", "1"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("netgym-lite run: NetworkSlicing, 5 users")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["0"], ["1"])}
    # slice 0 has 2 users and slice 1 has 3, each offered 2 Mbps (UDP CBR): what the table shows as offered
    assert float(rows["0"][1]) == pytest.approx(4.0, rel=0.05) and float(rows["1"][1]) == pytest.approx(6.0, rel=0.05)


def test_run_refuses_a_link_heuristic_on_slicing(capsys) -> None:
    assert main(["run", "--env", "network_slicing", "--agent", "argmax", "-q"]) == 2
    assert "allowed system_default or random" in capsys.readouterr().err


def test_run_qos_steer_with_the_system_default_counts_qos_users(capsys) -> None:
    assert main(["run", "--env", "qos_steer", "--steps", "4", "-q"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("netgym-lite run: QoSSteer, 8 users, agent system_default, reward wifi_qos_user_num")
    # light 2-3 Mbps flows on an idle Wi-Fi AP: every user meets QoS there, so the reward is the user count
    assert "mean reward: 8.0000 over 3 steps" in out
