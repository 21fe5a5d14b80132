"""PPO trained for a fixed budget beats the random policy on held-out seeds (one-sided Welch test, p < 0.05).

The scenario has one clearly better link: UDP at 6 Mbps per user (Poisson) over Wi-Fi near two APs and an
LTE cell of only 6 resource blocks (about 1 Mbps per user), so any traffic sent on LTE queues and is lost.
Random splits send half of it there; the best policy keeps every user on Wi-Fi. The reward is the default
``utility`` (log throughput minus log delay). Training, the model and the evaluation seeds are fixed, so the
run is reproducible; training takes about 20 s of one core.
"""

from __future__ import annotations

import numpy as np
import pytest

from netgym_lite.agents import load_model_agent, make_agent
from netgym_lite.cli import main
from netgym_lite.commands.eval import evaluate, make_env, welch_t_test

SCENARIO_OVERRIDES = {"transport_protocol": "udp", "lte": {"resource_block_num": 6}}
TRAIN_TIMESTEPS = 20480
HELD_OUT_SEEDS = list(range(100, 110))  # training sessions draw their seeds from the training seed 0's RNG


@pytest.mark.slow
def test_ppo_beats_random_on_held_out_seeds(tmp_path, capsys) -> None:
    pytest.importorskip("stable_baselines3")
    save = tmp_path / "ppo"
    assert (
        main(
            [
                "train",
                "--algo",
                "PPO",
                "--timesteps",
                str(TRAIN_TIMESTEPS),
                "--save",
                str(save),
                "--steps-per-episode",
                "20",
                "--reward-type",
                "utility",
                "--seed",
                "0",
                "--no-check",
                "-q",
                "--set",
                'transport_protocol="udp"',
                "--set",
                'lte={"resource_block_num": 6}',
                "--hp",
                "n_steps=256",
                "--hp",
                "batch_size=64",
            ]
        )
        == 0
    )
    capsys.readouterr()

    env = make_env(
        "traffic_mgmt",
        None,
        "utility",
        {**SCENARIO_OVERRIDES, "steps_per_episode": 20, "episodes_per_session": 1},
    )
    try:
        agent = load_model_agent(save, env.num_users)
        ppo, rnd = evaluate(
            env,
            {"ppo": lambda seed: agent, "random": lambda seed: make_agent("random", env, seed=seed)},
            HELD_OUT_SEEDS,
            episodes=1,
        )
    finally:
        env.close()
    assert len(ppo.episode_rewards) == len(rnd.episode_rewards) == len(HELD_OUT_SEEDS)
    test = welch_t_test(ppo.episode_rewards, rnd.episode_rewards)
    summary = (
        f"PPO {np.mean(ppo.episode_rewards):.2f} vs random {np.mean(rnd.episode_rewards):.2f}: "
        f"t={test.t:.2f}, df={test.df:.1f}, p={test.p_greater:.2e}"
    )
    assert test.p_greater < 0.05, summary
