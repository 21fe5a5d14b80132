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
@pytest.mark.parametrize("study_obs", [True, False])
def test_cleanrl_ppo_runs_and_counts_episodes_under_next_step_autoreset(study_obs: bool, capsys) -> None:
    ex = load_example()
    args = ex.Args(
        total_timesteps=256,
        num_envs=2,
        num_steps=64,
        steps_per_episode=10,
        update_epochs=2,
        study_obs=study_obs,
    )
    result = ex.main(args)
    assert result["global_step"] == 256
    # per sub-env 128 steps; an episode is 9 real steps then 1 NEXT_STEP autoreset step → 12 whole episodes each
    assert len(result["episode_returns"]) == 24
    # 6 autoreset steps per sub-env in each 64-step rollout are masked out of the 2 × 64 batch
    assert "valid transitions 116/128" in capsys.readouterr().out


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
        ],
    )
    args = ex.parse_args()
    assert args.total_timesteps == 2000 and args.study_obs is False and args.steps_per_episode == 20
    assert args.target_kl == 0.05 and args.learning_rate == 3e-4
