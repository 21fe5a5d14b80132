"""Smoke test of examples/cleanrl_ppo.py (needs torch; skipped without it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cleanrl_ppo.py"


def load_example():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("cleanrl_ppo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize(("vectorization", "study_obs"), [("native", False), ("sync", True), ("sync", False)])
def test_cleanrl_ppo_runs_and_counts_episodes_under_next_step_autoreset(
    vectorization: str, study_obs: bool, capsys
) -> None:
    ex = load_example()
    args = ex.Args(
        total_timesteps=256,
        num_envs=2,
        num_steps=64,
        steps_per_episode=10,
        update_epochs=2,
        vectorization=vectorization,
        study_obs=study_obs,
    )
    result = ex.main(args)
    assert result["global_step"] == 256
    # per sub-env 128 steps; an episode is 9 real steps then 1 NEXT_STEP autoreset step → 12 whole episodes each
    assert len(result["episode_returns"]) == 24
    # 6 autoreset steps per sub-env in each 64-step rollout are masked out of the 2 × 64 batch
    assert "valid transitions 116/128" in capsys.readouterr().out


@pytest.mark.slow
def test_cleanrl_native_and_sync_vectorization_see_the_same_episodes() -> None:
    """The native vector env's sub-env i equals a single env with seed + i, so the first rollout (before any
    policy update) gives the same episode returns in both modes."""
    ex = load_example()
    returns = {}
    for vectorization in ("native", "sync"):
        args = ex.Args(
            total_timesteps=40,
            num_envs=2,
            num_steps=20,
            steps_per_episode=5,
            update_epochs=1,
            vectorization=vectorization,
            study_obs=False,
        )
        returns[vectorization] = ex.main(args)["episode_returns"]
    # per sub-env: 20 steps = 4 episodes of 4 real steps + 1 autoreset step each
    assert len(returns["native"]) == 8
    assert returns["native"] == pytest.approx(returns["sync"], rel=1e-5)


def test_cleanrl_rejects_study_obs_on_the_native_vector_env() -> None:
    ex = load_example()
    with pytest.raises(ValueError, match="--study-obs is invalid with --vectorization native"):
        ex.make_vector_env(ex.Args(vectorization="native", study_obs=True))
    with pytest.raises(ValueError, match="vectorization='gpu' is invalid"):
        ex.make_vector_env(ex.Args(vectorization="gpu"))


@pytest.mark.slow
def test_cleanrl_ppo_command_line(monkeypatch) -> None:
    ex = load_example()
    monkeypatch.setattr(
        "sys.argv",
        [
            "cleanrl_ppo.py",
            "--total-timesteps",
            "2000",
            "--no-study-obs",
            "--steps-per-episode",
            "20",
            "--target-kl",
            "0.05",
            "--vectorization",
            "sync",
        ],
    )
    args = ex.parse_args()
    assert args.total_timesteps == 2000 and args.study_obs is False and args.steps_per_episode == 20
    assert args.vectorization == "sync"
    assert args.target_kl == 0.05 and args.learning_rate == 3e-4
