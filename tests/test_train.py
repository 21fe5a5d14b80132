"""``netgym-lite train`` (Stable-Baselines3, extra ``train``): smoke tests, skipped when SB3 is absent."""

from __future__ import annotations

import json
import sys
import warnings

import pytest

from netgym_lite.cli import main


def test_train_without_sb3_names_the_extra(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    assert main(["train", "--timesteps", "10", "--save", str(tmp_path / "m"), "-q"]) == 2
    assert "pip install 'netgym-lite[train]'" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("obs", ["study", "basic"])
def test_env_passes_sb3_check_env(obs: str) -> None:
    pytest.importorskip("stable_baselines3")
    import argparse

    from stable_baselines3.common.env_checker import check_env

    from netgym_lite.commands.train import build_training_env

    args = argparse.Namespace(
        env="traffic_mgmt", scenario=None, reward_type=None, set=None, steps_per_episode=20, obs=obs
    )
    env = build_training_env(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning either, except the action-space advice below
            warnings.filterwarnings("ignore", message=".*symmetric and normalized Box action space.*")
            check_env(env, warn=True)
    finally:
        env.close()


@pytest.mark.slow
def test_train_ppo_saves_a_model_that_eval_runs_beside_the_heuristics(tmp_path, capsys) -> None:
    pytest.importorskip("stable_baselines3")
    save = tmp_path / "ppo"
    assert (
        main(
            [
                "train",
                "--algo",
                "PPO",
                "--timesteps",
                "64",
                "--save",
                str(save),
                "--steps-per-episode",
                "10",
                "--seed",
                "3",
                "--no-check",
                "--hp",
                "n_steps=64",
                "--hp",
                "batch_size=32",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "model saved to" in out and "steps/s" in err
    meta = json.loads((tmp_path / "ppo.json").read_text())
    assert meta["algo"] == "PPO" and meta["obs"] == "study" and meta["num_users"] == 4
    assert (tmp_path / "ppo.zip").is_file()
    assert (
        main(
            [
                "eval",
                "--agents",
                "random",
                "--model",
                str(save),
                "--seeds",
                "1",
                "--steps-per-episode",
                "5",
                "-q",
            ]
        )
        == 0
    )
    out, _ = capsys.readouterr()
    row = next(line.split() for line in out.splitlines() if line.startswith("PPO:ppo"))
    assert row[1] == "1" and float(row[4]) >= 0


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["SAC", "TD3", "DDPG", "A2C"])
def test_other_algorithms_train_briefly(algo: str, tmp_path, capsys) -> None:
    pytest.importorskip("stable_baselines3")
    assert (
        main(
            [
                "train",
                "--algo",
                algo,
                "--timesteps",
                "110",
                "--save",
                str(tmp_path / algo),
                "--steps-per-episode",
                "10",
                "--obs",
                "basic",
                "--no-check",
                "-q",
            ]
        )
        == 0
    )
    assert (tmp_path / f"{algo}.zip").is_file()


def test_train_on_the_other_envs_picks_their_own_observation_and_refuses_mismatches(tmp_path, capsys) -> None:
    pytest.importorskip("stable_baselines3")
    save = str(tmp_path / "qos")
    assert main(["train", "--env", "qos_steer", "--algo", "PPO", "--timesteps", "32", "--hp", "n_steps=16",
                 "--hp", "batch_size=16", "--save", save, "-q"]) == 0
    assert "PPO on qos_steer (obs basic, reward wifi_qos_user_num)" in capsys.readouterr().out
    assert main(["train", "--env", "qos_steer", "--algo", "SAC", "--timesteps", "32", "--save", save, "-q"]) == 2
    assert "need continuous (Box) actions; allowed PPO or A2C" in capsys.readouterr().err
    assert main(["train", "--env", "network_slicing", "--obs", "study", "--timesteps", "32", "--save", save,
                 "-q"]) == 2
    assert "allowed basic" in capsys.readouterr().err
