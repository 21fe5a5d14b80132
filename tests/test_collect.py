"""``netgym-lite collect``: Minari datasets that ``minari.load_dataset`` reads back (extra ``offline``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from netgym_lite.cli import main
from netgym_lite.commands.collect import applied_wifi_share, default_dataset_id, is_empty_action
from netgym_lite.errors import ConfigError


def split_record(values: list[float]) -> dict:
    ids = list(range(1, len(values) + 1))
    return {"source": "gma", "name": "wifi::dl::split_ratio", "id": ids, "ts": 1100, "value": values}


def test_applied_share_is_the_split_ratio_record_in_percent() -> None:
    share = applied_wifi_share([split_record([100.0, 50.0, 0.0, 3.125])], 4)
    assert share.dtype == np.float32 and share.tolist() == [1.0, 0.5, 0.0, 0.03125]


def test_applied_share_without_the_record_names_it() -> None:
    with pytest.raises(ConfigError, match="gma::wifi::dl::split_ratio.*subscribed_network_stats"):
        applied_wifi_share([], 2)
    with pytest.raises(ConfigError, match="split_ratio"):
        applied_wifi_share([split_record([100.0])], 2)  # does not cover user 2


def test_empty_action_and_dataset_ids() -> None:
    assert is_empty_action([]) and is_empty_action(None) and is_empty_action(np.zeros(0, np.float32))
    assert not is_empty_action(np.zeros(4, np.float32)) and not is_empty_action([0.5])
    assert (
        default_dataset_id("traffic_mgmt", "utility_logistic")
        == "netgym-lite/traffic-mgmt/utility_logistic-v0"
    )
    assert default_dataset_id("traffic_mgmt", "model-ppo.v1") == "netgym-lite/traffic-mgmt/model-ppo-v1-v0"


def test_collect_without_minari_names_the_extra(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "minari", None)
    assert main(["collect", "--seeds", "1", "--out", str(tmp_path), "-q"]) == 2
    assert "pip install 'netgym-lite[offline]'" in capsys.readouterr().err


def load(tmp_path, monkeypatch, dataset_id: str):
    minari = pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    return minari.load_dataset(dataset_id)


def test_system_default_round_trip_records_the_applied_split(tmp_path, monkeypatch, capsys) -> None:
    pytest.importorskip("minari")
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    args = [
        "collect",
        "--policy",
        "system_default",
        "--seeds",
        "3,4",
        "--episodes",
        "2",
        "--steps-per-episode",
        "6",
    ]
    assert main([*args, "--out", str(tmp_path), "--dataset-id", "tests/sd-v0", "-q"]) == 0
    out = capsys.readouterr().out
    assert "4 episodes, 20 steps" in out and "MINARI_DATASETS_PATH=" in out
    ds = load(tmp_path, monkeypatch, "tests/sd-v0")
    assert ds.total_episodes == 4 and ds.total_steps == 20
    assert (
        ds.action_space.shape == (4,) and ds.action_space.low.min() == 0 and ds.action_space.high.max() == 1
    )
    assert ds.observation_space.shape == (14, 4)
    seeds, moved = [], False
    for ep in ds.iterate_episodes():
        assert ep.observations.shape == (6, 14, 4) and ep.actions.shape == (5, 4) and ep.rewards.shape == (5,)
        assert ep.truncations[-1] and not ep.truncations[:-1].any()
        assert ep.terminations[-1] == (ep.infos["episode_index"][0] == 2)  # a session is 2 episodes
        # the action of step t is the split GMA applied during the interval measured at t + 1
        np.testing.assert_array_equal(ep.actions, ep.infos["applied_wifi_share"][1:])
        assert all(ds.action_space.contains(a) for a in ep.actions)
        np.testing.assert_array_equal(ep.actions * 32, np.round(ep.actions * 32))  # integer burst units
        moved |= bool((ep.actions < 1).any())
        seeds.append(int(ep.infos["session_seed"][0]))
    assert seeds == [3, 3, 4, 4]
    assert moved  # GMA's delay-based algorithm moved some traffic off Wi-Fi (else the check above is vacuous)
    # the recorded env rebuilds the collection env, observation wrapper included
    env = ds.recover_environment()
    try:
        obs, _ = env.reset(seed=3)
        assert obs.shape == (14, 4)
        first = next(ds.iterate_episodes())
        np.testing.assert_array_equal(obs, first.observations[0])  # same seed, same first measurement
    finally:
        env.close()


def test_explicit_policy_records_its_own_action_and_refuses_an_existing_id(
    tmp_path, monkeypatch, capsys
) -> None:
    pytest.importorskip("minari")
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    args = [
        "collect",
        "--policy",
        "argmax",
        "--seeds",
        "1",
        "--steps-per-episode",
        "5",
        "--obs",
        "basic",
        "--out",
        str(tmp_path),
        "-q",
    ]
    assert main(args) == 0
    capsys.readouterr()
    ds = load(tmp_path, monkeypatch, "netgym-lite/traffic-mgmt/argmax-v0")
    (ep,) = list(ds.iterate_episodes())
    assert ds.observation_space.shape == (3, 4) and ep.actions.shape == (4, 4)
    assert set(np.unique(ep.actions).tolist()) <= {0.0, 1.0}  # argmax: all on one link
    np.testing.assert_array_equal(ep.actions, ep.infos["applied_wifi_share"][1:])
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err


def test_bad_policy_and_dataset_id_are_named(tmp_path, capsys) -> None:
    pytest.importorskip("minari")
    assert main(["collect", "--policy", "greedy", "--out", str(tmp_path), "-q"]) == 2
    assert "--policy='greedy' is invalid" in capsys.readouterr().err
    assert main(["collect", "--dataset-id", "bad id!", "--out", str(tmp_path), "-q"]) == 2
    assert "--dataset-id='bad id!' is invalid" in capsys.readouterr().err


def test_a_trained_model_is_a_behaviour_policy(tmp_path, monkeypatch, capsys) -> None:
    pytest.importorskip("minari")
    pytest.importorskip("stable_baselines3")
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    model = tmp_path / "a2c"
    assert (
        main(
            [
                "train",
                "--algo",
                "A2C",
                "--timesteps",
                "20",
                "--save",
                str(model),
                "--steps-per-episode",
                "5",
                "--no-check",
                "-q",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "collect",
                "--model",
                str(model),
                "--seeds",
                "1",
                "--steps-per-episode",
                "4",
                "--out",
                str(tmp_path / "ds"),
                "-q",
            ]
        )
        == 0
    )
    assert "netgym-lite/traffic-mgmt/model-a2c-v0: 1 episodes, 3 steps" in capsys.readouterr().out
    ds = load(tmp_path / "ds", monkeypatch, "netgym-lite/traffic-mgmt/model-a2c-v0")
    (ep,) = list(ds.iterate_episodes())
    assert ep.actions.shape == (3, 4) and all(ds.action_space.contains(a) for a in ep.actions)
