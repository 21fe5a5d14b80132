"""``netgym-lite collect``: record a policy's episodes as a Minari dataset for offline RL.

``netgym-lite collect --env traffic_mgmt --policy system_default --episodes N --seeds 1,2,3
[--dataset-id ID] [--out DIR] [--scenario FILE] [--obs study|basic] [--steps-per-episode L] [--reward-type T]
[--set KEY=VALUE ...] [--model PATH] [-q]``

Needs the optional extra ``offline`` (Minari with its HDF5 storage). Each seed is one session of N episodes
(``episodes_per_session`` is set to N), started by ``reset(seed=seed)``, as in ``netgym-lite eval``; the dataset
holds seeds × N episodes of L − 1 steps (L observations each). The policy is one of the named agents
(``system_default``, ``random``, ``argmax``, ``argmin``, ``utility_argmax``, ``utility_logistic``) or a model saved
by ``netgym-lite train`` (``--model``).

**Actions.** The recorded action of a step is the policy's action, except for the empty (system-default)
action, which has no value in the action space: there the recorded action is the Wi-Fi share GMA actually
applied during the interval the step produced, read from that measurement's ``gma::wifi::dl::split_ratio``
record (percent of the split burst, so a multiple of 1/32 with mx_algorithm "gma"). Every dataset therefore has
the env's action space, ``Box(0, 1, (N,))``, whatever the behaviour policy. Every step's info also records
that applied share (``applied_wifi_share``, including quantisation for explicit actions), with ``ts``,
``episode_index`` and ``session_seed``.

**Observations.** ``--obs study`` (default) stores the offline-RL study's 14 features ``(14, N)`` scaled by 1/100
(:class:`~netgym_lite.envs.wrappers.StudyObservation`); ``--obs basic`` the env's own ``(3, N)`` Mbps. The
dataset's env spec is the registered ``netgym-lite/TrafficMgmt-v0`` with the scenario, reward and overrides as
keyword arguments (plus the observation wrapper), so ``dataset.recover_environment()`` rebuilds the env.

**Where.** Minari keeps datasets under ``MINARI_DATASETS_PATH`` (default ``~/.minari/datasets``); ``--out DIR``
writes there instead (then load with ``MINARI_DATASETS_PATH=DIR``). The default id is
``netgym-lite/<env>/<policy>-v0``.
"""

from __future__ import annotations

import argparse
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from netgym_lite.errors import ConfigError

OFFLINE_EXTRA_HINT = "pip install 'netgym-lite[offline]' (or: pip install 'minari[hdf5]')"
#: Environments ``--env`` accepts → their registered Gymnasium id.
ENV_IDS = {"traffic_mgmt": "netgym-lite/TrafficMgmt-v0"}  # the applied split (split_ratio) is TrafficMgmt's
#: The record holding the Wi-Fi share GMA applied during the interval a measurement covers (percent).
SPLIT_RECORD = ("gma", "wifi::dl::split_ratio")


def import_minari() -> Any:
    """The ``minari`` module (with its HDF5 storage), or a ConfigError naming the extra."""
    try:
        import h5py  # noqa: F401  (Minari's default storage; without it create_dataset fails late)
        import minari
    except ImportError as e:
        raise ConfigError(f"Minari is not installed ({e}): {OFFLINE_EXTRA_HINT}") from None
    return minari


def applied_wifi_share(records: Sequence[Mapping[str, Any]], num_users: int,
                       uplink_data: bool = False) -> np.ndarray:
    """The Wi-Fi share per user that was in force during the measured interval, from ``split_ratio`` (%) of the
    data's direction (``uplink_data``: the ``gma::wifi::ul::split_ratio`` record)."""
    from netgym_lite.envs.base import RecordIndex
    from netgym_lite.envs.traffic_mgmt import record_values

    share = record_values(RecordIndex(records, uplink_data), *SPLIT_RECORD, num_users) / 100.0
    if not np.all(np.isfinite(share) & (share >= 0.0) & (share <= 1.0)):
        name = "wifi::ul::split_ratio" if uplink_data else SPLIT_RECORD[1]
        raise ConfigError(
            f"the measurement has no valid {SPLIT_RECORD[0]}::{name} record for every user "
            f"(got {share.tolist()}): collect needs it; keep it in subscribed_network_stats"
        )
    return share.astype(np.float32)


def is_empty_action(action: Any) -> bool:
    """True for the system-default action: ``None`` or empty (``[]``, a size-0 array), as the env reads it."""
    return action is None or np.asarray(action).size == 0


@dataclass
class Episode:
    """One recorded episode: L observations and infos, L − 1 actions, rewards and end flags."""

    seed: int | None
    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terminations: list[bool] = field(default_factory=list)
    truncations: list[bool] = field(default_factory=list)
    infos: dict[str, list] = field(default_factory=lambda: {k: [] for k in INFO_KEYS})

    def add_info(self, info: Mapping[str, Any], num_users: int, uplink_data: bool = False) -> None:
        """Append the recorded info fields of one measurement."""
        self.infos["applied_wifi_share"].append(applied_wifi_share(info["network_stats"], num_users, uplink_data))
        for key in ("ts", "episode_index", "session_seed"):
            self.infos[key].append(np.int64(info[key]))


#: Info fields stored per observation.
INFO_KEYS = ("applied_wifi_share", "ts", "episode_index", "session_seed")


def collect_episodes(
    env: Any,
    agent_factory: Callable[[int], Callable[[Any, dict], Any]],
    seeds: Sequence[int],
    episodes: int,
    progress: Callable[[], None] | None = None,
) -> Iterator[Episode]:
    """Run the agent for ``episodes`` episodes of one session per seed and yield each recorded episode.

    ``agent_factory(seed)`` builds the agent for a session. ``env`` must hold at least ``episodes`` episodes
    per session; ``progress`` is called after every step.
    """
    num_users = int(env.unwrapped.num_users)
    uplink = not getattr(getattr(env.unwrapped, "cfg", None), "downlink", True)  # data flowing UE → network
    for seed in seeds:
        agent = agent_factory(int(seed))
        for index in range(episodes):
            obs, info = env.reset(seed=int(seed)) if index == 0 else env.reset()
            ep = Episode(seed=int(seed) if index == 0 else None)
            ep.observations.append(np.asarray(obs, dtype=np.float32))
            ep.add_info(info, num_users, uplink)
            done = False
            while not done:
                action = agent(obs, info)
                obs, reward, terminated, truncated, info = env.step(action)
                applied = applied_wifi_share(info["network_stats"], num_users, uplink)
                recorded = applied if is_empty_action(action) else np.asarray(action, dtype=np.float32)
                ep.actions.append(recorded.reshape(num_users))
                ep.observations.append(np.asarray(obs, dtype=np.float32))
                ep.add_info(info, num_users, uplink)
                ep.rewards.append(float(reward))
                ep.terminations.append(bool(terminated))
                ep.truncations.append(bool(truncated))
                done = terminated or truncated
                if terminated and index < episodes - 1:
                    raise ConfigError(
                        f"the session ended after {index + 1} episodes: allowed --episodes <= episodes_per_session"
                    )
                if progress is not None:
                    progress()
            yield ep


@contextmanager
def datasets_root(path: str | os.PathLike | None) -> Iterator[None]:
    """Point Minari at ``path`` (its ``MINARI_DATASETS_PATH``) inside the block; None leaves it alone."""
    if path is None:
        yield
        return
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = os.path.abspath(os.fspath(path))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def write_dataset(
    dataset_id: str,
    episodes: Sequence[Episode],
    env: Any,
    *,
    algorithm_name: str,
    description: str,
    out_dir: str | os.PathLike | None = None,
    author: str | None = None,
    author_email: str | None = None,
    code_permalink: str | None = None,
) -> Any:
    """Write the episodes as the Minari dataset ``dataset_id`` (under ``out_dir`` if given); return it.

    ``env`` (the collection env) gives the spaces and the env spec, which also serves as the evaluation env.
    """
    minari = import_minari()
    from minari.data_collector import EpisodeBuffer

    buffers = [
        EpisodeBuffer(
            id=i,
            seed=ep.seed,
            observations=ep.observations,
            actions=ep.actions,
            rewards=ep.rewards,
            terminations=ep.terminations,
            truncations=ep.truncations,
            infos=ep.infos,
        )
        for i, ep in enumerate(episodes)
    ]
    with datasets_root(out_dir), warnings.catch_warnings():
        # Minari advises an author, e-mail and code link for every dataset; they are options here, not errors
        warnings.filterwarnings("ignore", message=r".*is set to None.*", category=UserWarning)
        return minari.create_dataset_from_buffers(
            dataset_id=dataset_id,
            buffer=buffers,
            env=env,
            eval_env=env.spec,
            algorithm_name=algorithm_name,
            author=author,
            author_email=author_email,
            code_permalink=code_permalink,
            description=description,
            requirements=["netgym-lite"],
            # observations are (14, N) or (3, N) float Boxes; no image encoding applies, keep them exact
            jpeg_encoding=False,
        )


def default_dataset_id(env_name: str, policy: str) -> str:
    """``netgym-lite/<env>/<policy>-v0`` with characters Minari's ids reject replaced by ``-``."""
    clean = re.sub(r"[^-\w]", "-", policy)
    return f"netgym-lite/{env_name.replace('_', '-')}/{clean}-v0"


def make_collection_env(
    name: str, scenario: Any, reward_type: str | None, overrides: dict[str, Any], obs: str
) -> Any:
    """The registered env ``name`` via ``gymnasium.make`` (so the dataset records its spec), wrapped for ``obs``."""
    import gymnasium as gym

    import netgym_lite  # noqa: F401  (registers the ids)
    from netgym_lite.envs.wrappers import StudyObservation

    if name not in ENV_IDS:
        raise ConfigError(f"--env={name!r} is invalid: allowed one of {', '.join(ENV_IDS)}")
    if obs not in ("study", "basic"):
        raise ConfigError(f"--obs={obs!r} is invalid: allowed study or basic")
    env = gym.make(ENV_IDS[name], scenario=scenario, reward_type=reward_type, **overrides)
    return StudyObservation(env) if obs == "study" else env


def cmd_collect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Collect the episodes and write the dataset."""
    from netgym_lite.agents import AGENTS, load_model_agent, make_agent
    from netgym_lite.cli import ProgressBar, _parse_set
    from netgym_lite.commands.eval import _parse_list

    if args.model is None and args.policy not in AGENTS:
        raise ConfigError(f"--policy={args.policy!r} is invalid: allowed one of {', '.join(AGENTS)}")
    seeds = _parse_list(args.seeds, "seeds", int)
    if args.episodes < 1:
        raise ConfigError(f"--episodes={args.episodes} is invalid: allowed an integer >= 1")
    minari = import_minari()  # fail before the runs, not after
    policy = f"model-{os.path.splitext(os.path.basename(args.model))[0]}" if args.model else args.policy
    dataset_id = args.dataset_id or default_dataset_id(args.env, policy)
    try:
        minari.dataset.minari_dataset.parse_dataset_id(dataset_id)
    except ValueError:
        raise ConfigError(
            f"--dataset-id={dataset_id!r} is invalid: allowed (namespace/)name-v<version>, "
            "letters, digits, '-' and '_'"
        ) from None
    with datasets_root(args.out):
        from minari.storage import get_dataset_path

        if os.path.exists(get_dataset_path(dataset_id)):
            raise ConfigError(
                f"--dataset-id={dataset_id!r} already exists in {os.path.dirname(get_dataset_path(dataset_id))}: "
                "allowed a new id (Minari never overwrites; bump the -v<version>)"
            )

    overrides = _parse_set(args.set or [])
    overrides["episodes_per_session"] = args.episodes
    if args.steps_per_episode is not None:
        overrides["steps_per_episode"] = args.steps_per_episode
    env = make_collection_env(args.env, args.scenario, args.reward_type, overrides, args.obs)
    try:
        unwrapped = env.unwrapped
        if args.model:
            model_agent = load_model_agent(args.model, unwrapped.num_users)

            def factory(seed: int) -> Any:
                return model_agent
        else:

            def factory(seed: int) -> Any:
                return make_agent(args.policy, env, seed=seed)

        steps = (unwrapped.steps_per_episode - 1) * args.episodes * len(seeds)
        bar = ProgressBar(steps, err, enabled=not args.quiet)
        done = 0

        def progress() -> None:
            nonlocal done
            done += 1
            bar.update(done, f"{policy}")

        t0 = time.perf_counter()
        episodes = list(collect_episodes(env, factory, seeds, args.episodes, progress))
        wall_collect = time.perf_counter() - t0
        bar.close(done)
        description = (
            f"netgym-lite {args.env} ({unwrapped.num_users} users, scenario {args.scenario or 'default'}), "
            f"behaviour policy {policy}, obs {args.obs}, reward {unwrapped.reward_type}, seeds "
            f"{','.join(map(str, seeds))}, {args.episodes} episode(s) of {unwrapped.steps_per_episode - 1} steps "
            "per seed. Actions: the policy's Wi-Fi share per user; for the system default, the share GMA applied "
            "(gma::wifi::dl::split_ratio)."
        )
        t1 = time.perf_counter()
        dataset = write_dataset(
            dataset_id,
            episodes,
            env,
            algorithm_name=policy,
            description=description,
            out_dir=args.out,
            author=args.author,
            author_email=args.author_email,
            code_permalink=args.code_permalink,
        )
        wall_write = time.perf_counter() - t1
    finally:
        env.close()
    with datasets_root(args.out):
        from minari.storage import get_dataset_path

        path = get_dataset_path(dataset_id)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    returns = [sum(ep.rewards) for ep in episodes]
    out.write(
        f"netgym-lite collect: {dataset_id}: {dataset.total_episodes} episodes, {dataset.total_steps} steps "
        f"({policy}, obs {args.obs} {tuple(env.observation_space.shape)}, action {env.action_space}); "
        f"mean episode return {np.mean(returns):.4f}\n"
        f"collected in {wall_collect:.1f} s ({done / max(wall_collect, 1e-9):,.0f} steps/s), written in "
        f"{wall_write:.1f} s, {size / 1e6:.2f} MB at {path}\n"
    )
    if args.out:
        out.write(
            f"load it with: MINARI_DATASETS_PATH={os.path.abspath(args.out)} and "
            f"minari.load_dataset({dataset_id!r})\n"
        )
    return 0


def register(subparsers: Any) -> None:
    """Add ``netgym-lite collect``."""
    from netgym_lite.config import REWARD_TYPES

    p = subparsers.add_parser(
        "collect", help="record a policy's episodes as a Minari dataset (extra: offline)"
    )
    p.add_argument(
        "--env", default="traffic_mgmt", choices=sorted(ENV_IDS), help="environment (default traffic_mgmt)"
    )
    p.add_argument(
        "--policy",
        default="system_default",
        help="behaviour policy: system_default (default), random, argmax, argmin, utility_argmax, utility_logistic",
    )
    p.add_argument(
        "--model", default=None, metavar="PATH", help="a model saved by netgym-lite train instead of --policy"
    )
    p.add_argument(
        "--episodes", type=int, default=1, help="episodes per seed (one session per seed; default 1)"
    )
    p.add_argument("--seeds", default="1,2,3", help="comma-separated session seeds (default 1,2,3)")
    p.add_argument(
        "--dataset-id", default=None, help="Minari dataset id (default netgym-lite/<env>/<policy>-v0)"
    )
    p.add_argument(
        "--out", default=None, metavar="DIR", help="datasets root (default: Minari's, ~/.minari/datasets)"
    )
    p.add_argument("--scenario", default=None, help="NetworkGym config JSON or shipped scenario name")
    p.add_argument(
        "--obs",
        default="study",
        choices=("study", "basic"),
        help="stored observation: study = the offline-RL study's 14 features /100 (default), basic = (3, N) Mbps",
    )
    p.add_argument("--steps-per-episode", type=int, default=None, help="override the scenario's L")
    p.add_argument(
        "--reward-type",
        default=None,
        choices=REWARD_TYPES,
        help="reward (default: the scenario's rl_config.reward_type, else utility)",
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="env_config override (repeatable)")
    p.add_argument("--author", default=None, help="dataset metadata: author")
    p.add_argument("--author-email", default=None, help="dataset metadata: author's e-mail")
    p.add_argument("--code-permalink", default=None, help="dataset metadata: link to the code that made it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_collect)
