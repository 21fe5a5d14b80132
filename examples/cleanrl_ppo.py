"""CleanRL-style single-file PPO with continuous actions on netgym-lite's TrafficMgmt.

Run:  python examples/cleanrl_ppo.py --total-timesteps 2000
Needs torch (CPU build: ``pip install torch==2.13.0``). Every option is a field of :class:`Args` below, given on
the command line as ``--field-name value`` (``--help`` lists them).

Environment (``--vectorization``):

* ``native`` (default): ``gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=N)``, netgym-lite's native vector
  env (all N simulations advance in one numba call per step), with Gymnasium's vector wrappers: observation / 100
  (the env's ``(3, N)`` Mbps one), flattened, actions clipped to [0, 1] (the env rejects shares outside).
* ``sync``: ``gymnasium.vector.SyncVectorEnv`` of N single envs with the same wrappers; only this mode offers
  ``--study-obs``, the offline-RL study's 14-feature observation (``StudyObservation``, built from the raw
  records in ``info["network_stats"]``, which the native vector env does not return).

Autoreset: this script relies on Gymnasium 1.x's default autoreset mode, **NEXT_STEP** (it asserts
``envs.metadata["autoreset_mode"]`` in both modes). In that mode, when a sub-env ends an episode (terminated or
truncated) at step t, the ``step()`` at t + 1 does not use the action: it resets that sub-env and returns its
first observation with reward 0 and terminated = truncated = False. So the observation returned at t is the
episode's real final observation (no ``final_obs`` in ``info``), and the transition at t + 1 is not a real one.
The rollout below therefore (as CleanRL's Gymnasium 1.x PPO scripts do):

* bootstraps a truncated episode from V(final observation) (TrafficMgmt episodes end by truncation every L
  measurements; only a session's last measurement is also terminated, where the bootstrap is cut),
* cuts the GAE chain at every episode end, and
* masks the autoreset transitions out of the PPO loss and the advantage normalisation.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.normal import Normal

import netgym_lite  # noqa: F401  (registers netgym-lite/TrafficMgmt-v0)
from netgym_lite.envs.wrappers import StudyObservation


@dataclass
class Args:
    seed: int = 1
    """seed of the experiment (session seeds are seed, seed + 1, ...)"""
    torch_deterministic: bool = True
    """torch.backends.cudnn.deterministic"""
    torch_threads: int = 1
    """torch CPU threads (1 is fastest for this small network; more spin-wait on a shared machine)"""
    env_id: str = "netgym-lite/TrafficMgmt-v0"
    """the id of the environment"""
    scenario: str = "traffic_mgmt"
    """netgym-lite scenario (file or shipped name, e.g. offline_rl_study)"""
    steps_per_episode: int = 50
    """L: measurements per episode (overrides the scenario)"""
    reward_type: str = "utility"
    """utility, normalized_utility, throughput or delay"""
    vectorization: str = "native"
    """native (netgym-lite's vector env: one numba call per step for all sub-envs) or sync (SyncVectorEnv)"""
    study_obs: bool = False
    """use the offline-RL study's 14-feature observation (sync only; else the env's (3, N) Mbps one / 100)"""
    total_timesteps: int = 20000
    """total timesteps of the experiments"""
    learning_rate: float = 3e-4
    """the learning rate of the optimizer"""
    num_envs: int = 2
    """the number of parallel game environments"""
    num_steps: int = 128
    """the number of steps to run in each environment per policy rollout"""
    anneal_lr: bool = True
    """toggle learning rate annealing"""
    gamma: float = 0.99
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    num_minibatches: int = 4
    """the number of mini-batches"""
    update_epochs: int = 10
    """the K epochs to update the policy"""
    norm_adv: bool = True
    """toggles advantages normalization"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    clip_vloss: bool = True
    """toggles whether or not to use a clipped loss for the value function"""
    ent_coef: float = 0.0
    """coefficient of the entropy"""
    vf_coef: float = 0.5
    """coefficient of the value function"""
    max_grad_norm: float = 0.5
    """the maximum norm for the gradient clipping"""
    target_kl: float | None = None
    """the target KL divergence threshold"""

    # filled in at runtime
    batch_size: int = 0
    minibatch_size: int = 0
    num_iterations: int = 0


def parse_args() -> Args:
    """``--field-name value`` for every field of :class:`Args` (booleans: ``--flag`` / ``--no-flag``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in dataclasses.fields(Args):
        if f.name in ("batch_size", "minibatch_size", "num_iterations"):
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif f.name == "target_kl":
            parser.add_argument(flag, type=float, default=f.default)
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
    return Args(**vars(parser.parse_args()))


def make_env(args: Args, idx: int):
    def thunk() -> gym.Env:
        env = gym.make(
            args.env_id,
            scenario=args.scenario,
            steps_per_episode=args.steps_per_episode,
            reward_type=args.reward_type,
        )
        if args.study_obs:
            env = StudyObservation(env)
        else:
            env = gym.wrappers.TransformObservation(
                env, lambda o: o / 100.0, gym.spaces.Box(0.0, np.inf, env.observation_space.shape, np.float32)
            )
        env = gym.wrappers.FlattenObservation(env)
        env = gym.wrappers.ClipAction(env)
        return env

    return thunk


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias_const: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs: gym.vector.VectorEnv) -> None:
        super().__init__()
        obs_dim = int(np.prod(envs.single_observation_space.shape))
        act_dim = int(np.prod(envs.single_action_space.shape))
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0),
        )
        self.actor_mean = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, act_dim), std=0.01),
        )
        # Wi-Fi shares live in [0, 1]: start the mean at 0.5 and the std at 0.25
        self.actor_bias = 0.5
        self.actor_logstd = nn.Parameter(torch.full((1, act_dim), float(np.log(0.25))))

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None):
        action_mean = self.actor_mean(x) + self.actor_bias
        action_std = torch.exp(self.actor_logstd.expand_as(action_mean))
        probs = Normal(action_mean, action_std)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)


def make_vector_env(args: Args) -> gym.vector.VectorEnv:
    """The ``num_envs`` sub-envs, vectorised as ``args.vectorization`` says (module docstring), NEXT_STEP
    autoreset."""
    from gymnasium.vector import AutoresetMode

    if args.vectorization == "sync":
        fns = [make_env(args, i) for i in range(args.num_envs)]
        envs: gym.vector.VectorEnv = gym.vector.SyncVectorEnv(fns, autoreset_mode=AutoresetMode.NEXT_STEP)
    elif args.vectorization == "native":
        if args.study_obs:
            raise ValueError(
                "--study-obs is invalid with --vectorization native (the native vector env returns "
                "no records): allowed --vectorization sync, or --no-study-obs"
            )
        envs = gym.make_vec(
            args.env_id,
            num_envs=args.num_envs,
            vectorization_mode="vector_entry_point",
            scenario=args.scenario,
            steps_per_episode=args.steps_per_episode,
            reward_type=args.reward_type,
        )
        shape = envs.single_observation_space.shape
        envs = gym.wrappers.vector.TransformObservation(
            envs,
            lambda o: o / 100.0,
            observation_space=gym.spaces.Box(0.0, np.inf, (args.num_envs, *shape), np.float32),
            single_observation_space=gym.spaces.Box(0.0, np.inf, shape, np.float32),
        )
        envs = gym.wrappers.vector.FlattenObservation(envs)
        envs = gym.wrappers.vector.ClipAction(envs)
    else:
        raise ValueError(f"vectorization={args.vectorization!r} is invalid: allowed 'native' or 'sync'")
    # The rollout's masking below is written for NEXT_STEP: fail loudly if the env does anything else.
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP, envs.metadata.get("autoreset_mode")
    return envs


def main(args: Args) -> dict:
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    args.num_iterations = max(1, args.total_timesteps // args.batch_size)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    torch.set_num_threads(args.torch_threads)
    device = torch.device("cpu")

    envs = make_vector_env(args)
    assert isinstance(envs.single_action_space, gym.spaces.Box), "only continuous action space is supported"

    agent = Agent(envs).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    obs_shape, act_shape = envs.single_observation_space.shape, envs.single_action_space.shape
    obs = torch.zeros((args.num_steps, args.num_envs) + obs_shape).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs) + act_shape).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)
    terminations = torch.zeros((args.num_steps, args.num_envs)).to(device)
    ended = torch.zeros((args.num_steps, args.num_envs)).to(device)  # terminated or truncated at this step
    valid = torch.zeros((args.num_steps, args.num_envs)).to(device)  # 0 = NEXT_STEP autoreset transition
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)

    global_step = 0
    start_time = time.time()
    next_obs, _ = envs.reset(seed=[args.seed + i for i in range(args.num_envs)])
    next_obs = torch.tensor(next_obs, dtype=torch.float32, device=device)
    next_autoreset = torch.zeros(args.num_envs, device=device)  # the coming step resets these sub-envs
    episode_return = np.zeros(args.num_envs)
    episode_returns: list[float] = []

    for iteration in range(1, args.num_iterations + 1):
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            valid[step] = 1.0 - next_autoreset
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            next_obs_np, reward, terminated, truncated, _ = envs.step(action.cpu().numpy())
            done = np.logical_or(terminated, truncated)
            rewards[step] = torch.tensor(reward, dtype=torch.float32, device=device)
            terminations[step] = torch.tensor(terminated, dtype=torch.float32, device=device)
            ended[step] = torch.tensor(done, dtype=torch.float32, device=device)
            real = valid[step].cpu().numpy() > 0
            episode_return[real] += reward[real]
            for i in np.flatnonzero(done & real):
                episode_returns.append(float(episode_return[i]))
                print(f"global_step={global_step}, episodic_return={episode_return[i]:.4f}")
                episode_return[i] = 0.0
            next_autoreset = torch.tensor(done, dtype=torch.float32, device=device)
            next_obs = torch.tensor(next_obs_np, dtype=torch.float32, device=device)

        # GAE. values[t + 1] is V(obs[t + 1]); when step t ended an episode, obs[t + 1] is its final observation
        # (NEXT_STEP), so a truncation bootstraps from it; the chain is cut at every episode end.
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            lastgaelam = torch.zeros(args.num_envs, device=device)
            for t in reversed(range(args.num_steps)):
                nextvalues = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * (1.0 - terminations[t]) - values[t]
                lastgaelam = delta + args.gamma * args.gae_lambda * (1.0 - ended[t]) * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        mask = valid.reshape(-1) > 0
        b_obs = obs.reshape((-1,) + obs_shape)[mask]
        b_logprobs = logprobs.reshape(-1)[mask]
        b_actions = actions.reshape((-1,) + act_shape)[mask]
        b_advantages = advantages.reshape(-1)[mask]
        b_returns = returns.reshape(-1)[mask]
        b_values = values.reshape(-1)[mask]
        n = int(mask.sum())
        minibatch_size = max(1, n // args.num_minibatches)

        b_inds = np.arange(n)
        clipfracs = []
        for _epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, n, minibatch_size):
                mb_inds = b_inds[start : start + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions[mb_inds]
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > args.clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv and len(mb_inds) > 1:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                if args.clip_vloss:
                    v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                    v_clipped = b_values[mb_inds] + torch.clamp(
                        newvalue - b_values[mb_inds], -args.clip_coef, args.clip_coef
                    )
                    v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        sps = int(global_step / (time.time() - start_time))
        print(
            f"iteration {iteration}/{args.num_iterations}: global_step={global_step}, SPS={sps}, "
            f"value_loss={v_loss.item():.4f}, policy_loss={pg_loss.item():.4f}, "
            f"clipfrac={np.mean(clipfracs):.3f}, valid transitions {n}/{args.batch_size}"
        )

    envs.close()
    return {"global_step": global_step, "episode_returns": episode_returns}


if __name__ == "__main__":
    main(parse_args())
