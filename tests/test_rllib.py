"""``netgym-lite train --backend rllib`` and RLlib multi-agent (extra ``rllib``).

The flag checks and the missing-extra message run without Ray. The training tests start one real local Ray
instance (``ray.init(num_cpus=2)``, shared by the module, shut down after) and train tiny PPO runs: two env runners
over the native vector env through the CLI, and the multi-agent example on the PettingZoo face.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from netgym_lite.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rllib_multiagent.py"
TINY_PPO = ["--hp", "train_batch_size=40", "--hp", "minibatch_size=20", "--hp", "num_epochs=1", "--hp", "hidden=[8]"]


def test_rllib_backend_without_ray_names_the_extra(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["train", "--backend", "rllib", "--iterations", "1", "--save", str(tmp_path / "c"), "-q"]) == 2
    assert "pip install 'netgym-lite[rllib]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--backend", "rllib", "--algo", "SAC", "--iterations", "1"], ["--algo SAC", "allowed PPO"]),
        (["--backend", "rllib", "--iterations", "1", "--envs-per-runner", "0"], ["--envs-per-runner=0", ">= 1"]),
        (["--backend", "rllib", "--iterations", "1", "--num-env-runners", "-1"], ["--num-env-runners=-1", ">= 0"]),
        (["--backend", "rllib", "--iterations", "2", "--timesteps", "9"], ["--iterations and --timesteps"]),
        (["--backend", "rllib"], ["--iterations and --timesteps"]),
        (["--backend", "rllib", "--iterations", "1", "--obs", "study"], ["--obs study", "allowed basic"]),
        (["--backend", "rllib", "--iterations", "1", "--hp", "n_steps=8"], ["--hp n_steps", "train_batch_size"]),
        (["--backend", "rllib", "--iterations", "1", "--hp", "hidden=8"], ["--hp hidden=8", "layer sizes"]),
        (["--iterations", "1", "--timesteps", "8", "--save", "m"], ["--iterations", "only with --backend rllib"]),
        (["--save", "m"], ["--timesteps is required with --backend sb3"]),
    ],
)
def test_bad_train_flags_get_a_config_error_naming_the_flag(argv, names, capsys) -> None:
    assert main(["train", *argv, "-q"]) == 2
    err = capsys.readouterr().err
    for name in names:
        assert name in err


def test_ray_address_comes_from_the_flag_then_ray_address_else_a_local_instance(monkeypatch) -> None:
    from netgym_lite.commands.train_rllib import init_ray

    calls: list[dict] = []
    fake = SimpleNamespace(is_initialized=lambda: False, init=lambda **kw: calls.append(kw))
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert init_ray(fake, "ray://head:10001", num_cpus=3)
    assert init_ray(fake, None, num_cpus=3)
    monkeypatch.delenv("RAY_ADDRESS")
    assert init_ray(fake, None, num_cpus=3)
    assert [c.get("address") for c in calls] == ["ray://head:10001", "10.0.0.5:6379", None]
    assert calls[2]["num_cpus"] == 3
    assert not init_ray(SimpleNamespace(is_initialized=lambda: True), None, num_cpus=3)  # joins the caller's


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.rllib")
    # Compile (or load) the native vector env's kernels here first: the env runners then load them from numba's
    # cache instead of each compiling them while RLlib waits for samples (its sample timeout is 60 s).
    import gymnasium as gym

    venv = gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=2, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    venv.step(venv.action_space.sample())
    venv.close()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=128 * 1024**2)
    yield ray
    ray.shutdown()


def test_ppo_trains_on_two_env_runners_each_sampling_its_own_sessions(local_ray, tmp_path, capsys) -> None:
    save = tmp_path / "ckpt"
    argv = ["train", "--backend", "rllib", "--algo", "PPO", "--env", "traffic_mgmt", "--num-env-runners", "2",
            "--envs-per-runner", "2", "--iterations", "2", "--steps-per-episode", "5", "--seed", "3",
            "--save", str(save), *TINY_PPO]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "iteration 2: 40 env steps sampled (80 in total)" in captured.err
    assert f"checkpoint saved to {save}" in captured.out
    assert (save / "rllib_checkpoint.json").is_file()
    meta = json.loads(save.with_name("ckpt.json").read_text())
    assert meta["env_steps"] == 80 and meta["iterations"] == 2
    # Both remote runners (worker indices 1 and 2; 0 is the driver's, which does not sample) completed episodes.
    assert set(meta["episodes_by_env_runner"]) == {"1", "2"}
    assert all(n > 0 for n in meta["episodes_by_env_runner"].values())
    # Runner k resets with seed 3 + k; its 2 sub-envs run sessions (3 + k) * 2 + i: no runner repeats another's.
    seeds = {k: set(v) for k, v in meta["session_seeds_by_env_runner"].items()}
    assert {8, 9} <= seeds["1"] and {10, 11} <= seeds["2"]
    assert not seeds["1"] & seeds["2"]


def test_rllib_multiagent_example_trains_one_iteration_on_the_pettingzoo_face(local_ray, tmp_path) -> None:
    pytest.importorskip("pettingzoo")
    spec = importlib.util.spec_from_file_location("rllib_multiagent", EXAMPLE)
    ex = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = ex  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(ex)
    args = ex.Args(num_users=2, steps_per_episode=5, iterations=1, num_env_runners=1, train_batch_size=40,
                   minibatch_size=20, num_epochs=1, hidden=8, policies="independent",
                   checkpoint=str(tmp_path / "ma"))
    summary = ex.main(args)
    assert summary["iteration"] == 1 and summary["env_steps"] >= 40  # the batch counts env steps
    # one policy per user, each with episodes of its own
    assert set(summary["agent_return_means"]) == {"user_1", "user_2"}
    assert (tmp_path / "ma" / "rllib_checkpoint.json").is_file()


def test_scale_out_benchmark_measures_each_runner_count(local_ray, tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("scale_out", EXAMPLE.parents[1] / "benchmarks" / "scale_out.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.main(["--quick", "--runners", "1", "--envs-per-runner", "2", "--out-dir", str(tmp_path)])
    [row] = res["rows"]
    assert row["env_runners"] == 1 and row["sample_steps"] >= 40  # 40 env steps asked of the runner
    assert row["sample_steps_per_s"] == pytest.approx(row["sample_steps"] / row["sample_wall_s"])
    assert row["train_steps"] >= 64 and row["learner_s_per_iteration"] > 0
    saved = json.loads((tmp_path / "scale_out_quick.json").read_text())
    assert saved["rows"][0]["sample_steps"] == row["sample_steps"]
    assert "| 1 |" in (tmp_path / "scale_out_quick.md").read_text()
    assert "load average" in capsys.readouterr().out
