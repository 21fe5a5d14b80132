"""Native vector envs: N sessions of one env advanced together in one numba call per step.

``gymnasium.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=64, vectorization_mode="vector_entry_point")`` (the
default mode for netgym-lite's ids) gives a :class:`NetworkGymVectorEnv`. Each sub-env is a session exactly as the
single env runs it (design.md §2's exception: the vector env drives the simulations directly instead of through
the protocol, and returns nothing the single env would not):

* ``reset(seed=s)`` starts sub-env i's session with ``random_seed = s + i`` (``seed=None``: each sub-env as a
  single env's unseeded ``reset()``: the scenario's ``random_seed`` first, then seeds from its RNG).
* Autoreset is Gymnasium 1.x's default **next-step** mode: the ``step`` after a sub-env's episode ended ignores
  that sub-env's action and resets it, returning the reset observation with reward 0 and both flags False. A
  truncated sub-env continues its session with the next episode (re-applying its last action, as ``reset()``
  does); a terminated one starts a new session with a seed drawn from its RNG.
* Observations and rewards come from the same adapter functions as the single env's, applied to the records
  the single env would have received (built only for the keys the adapters read), so sub-env i equals a single
  env with the same seed and actions, step for step.
* ``info`` holds arrays ``ts``, ``step``, ``episode_index``, ``measurement`` and ``session_seed`` (no raw records).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from netgym_lite.batch import SimulationBatch
from netgym_lite.envs.base import NetworkGymEnv
from netgym_lite.errors import ActionError, ConfigError
from netgym_lite.records import swap_direction
from netgym_lite.rmcat_sim import RmcatBatch, RmcatSimulation
from netgym_lite.sim import Simulation


class _Session:
    """Sub-env i's session bookkeeping (what the single env keeps between steps)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.step = 1
        self.episode = 1
        self.measurement = 1
        self.last_action: Any = None
        self.in_session = True


class NetworkGymVectorEnv(VectorEnv):
    """``num_envs`` sessions of one netgym-lite env, advanced in one numba call per step (module docstring).

    Args:
        env_class: the single env's class (:class:`~netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv`, ...).
        num_envs: number of sub-envs (≥ 1).
        autoreset_mode: ``"next_step"`` (Gymnasium's default) or ``"same_step"`` (the ended sub-env is reset within
            the same ``step``; its last observation and info go in ``info["final_obs"]`` / ``info["final_info"]``,
            as Stable-Baselines3's VecEnv expects).
        parallel: run the sub-envs on numba's threads (``numba.set_num_threads``). Off by default: it pays on
            otherwise idle cores (1.5x at 8-64 sub-envs on 2 cores) but costs when other work keeps the cores
            busy — a learner's torch threads in the same process, other jobs (benchmarks/bench_vector.py and
            bench_scaling.py measure both).
        scenario, reward_type, **overrides: as the single env's constructor (one scenario for all sub-envs).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, env_class: type[NetworkGymEnv], num_envs: int, scenario: Any = None, *,
                 reward_type: str | None = None, parallel: bool = False,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP, **overrides: Any) -> None:
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise ConfigError(f"num_envs={num_envs!r} is invalid: allowed an integer >= 1")
        for key in ("server", "transport", "render_mode"):
            if overrides.get(key) is not None:
                raise ConfigError(f"{key}= is invalid for the native vector env (it runs the simulations in "
                                  "process): allowed vectorization_mode='sync' or 'async' for that")
            overrides.pop(key, None)
        # The single env is the source of truth for the config, spaces and adapters; its server stays idle.
        modes = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}
        mode = autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else modes.get(str(autoreset_mode))
        if mode not in modes.values():
            raise ConfigError(f"autoreset_mode={autoreset_mode!r} is invalid: allowed 'next_step' or 'same_step' "
                              "(or gymnasium.vector.AutoresetMode.NEXT_STEP / SAME_STEP)")
        self.autoreset_mode = mode
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.face = env_class(scenario, reward_type=reward_type, **overrides)
        self.num_envs = num_envs
        self.cfg = self.face.cfg
        self.single_observation_space = self.face.observation_space
        self.single_action_space = self.face.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.spec = None
        # the keys as sent: with uplink data the gma ones carry swapped directions (records.swap_direction)
        self._keys = env_class.RECORD_KEYS if self.cfg.downlink else frozenset(
            map(swap_direction, env_class.RECORD_KEYS))
        self._batch: SimulationBatch | RmcatBatch | None = None
        self._parallel = bool(parallel)
        self._sessions: list[_Session] = []
        self._rngs = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._ever_started = [False] * num_envs
        self._autoreset = np.zeros(num_envs, dtype=np.bool_)
        self._terminated = np.zeros(num_envs, dtype=np.bool_)
        # the env's batch path (NetworkGymEnv._observe_rows), and the batch (and simulation) kind of its scenario
        self._batch_rows = type(self.face)._observe_rows is not NetworkGymEnv._observe_rows
        self._batch_class: type[SimulationBatch] | type[RmcatBatch] = (
            RmcatBatch if self.cfg.env == "rmcat" else SimulationBatch)

    # ------------------------------------------------------------------------------------------ sessions
    def _new_session(self, i: int, seed: int | None) -> Simulation | RmcatSimulation:
        """Sub-env i's next session (its simulation takes over the large arrays of the one it replaces)."""
        if seed is not None:
            self._rngs[i] = seeding.np_random(seed)[0]
            session_seed = int(seed)
        elif not self._ever_started[i]:
            session_seed = self.cfg.random_seed
        else:
            session_seed = int(self._rngs[i].integers(0, 2**31 - 1))
        self._ever_started[i] = True
        if len(self._sessions) <= i:
            self._sessions.append(_Session(session_seed))
        else:
            self._sessions[i] = _Session(session_seed)
        old = None if self._batch is None else self._batch.sims[i]
        return self._batch_class.simulation(self.cfg, session_seed, recycle=old)

    def _observe(self, i: int) -> tuple[np.ndarray, float]:
        assert self._batch is not None
        records = self._batch.sims[i].records(self._batch.tables[i], self._keys)
        self.face._records = records  # read through the face's record index, as the single env does
        index = self.face._index
        return self.face._observation(index), float(self.face._reward(index))

    def _observe_many(self, envs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Observations and rewards of the sub-envs ``envs``: from their tables' rows in a few array operations
        when the env has a batch path, else from each one's records."""
        assert self._batch is not None
        if not self._batch_rows:
            pairs = [self._observe(int(i)) for i in envs]
            return np.stack([obs for obs, _ in pairs]), np.array([reward for _, reward in pairs])
        values = self._batch.record_values(envs, self._keys)
        result = self.face._observe_rows({self._adapter_name(key): v for key, v in values.items()}, len(envs))
        assert result is not None
        return result

    def _adapter_name(self, key: str) -> tuple[str, str]:
        """(source, name) under which the adapters read a key as sent: with uplink data the data direction keeps its
        downlink names (RecordIndex does the same swap)."""
        return tuple((key if self.cfg.downlink else swap_direction(key)).split("::", 1))  # type: ignore[return-value]

    def _infos(self) -> dict:
        assert self._batch is not None
        return {
            "ts": np.array([sim.ts_ms for sim in self._batch.sims], dtype=np.int64),
            "step": np.array([s.step for s in self._sessions], dtype=np.int64),
            "episode_index": np.array([s.episode for s in self._sessions], dtype=np.int64),
            "measurement": np.array([s.measurement for s in self._sessions], dtype=np.int64),
            "session_seed": np.array([s.seed for s in self._sessions], dtype=np.int64),
        }

    # ------------------------------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict | None = None) -> tuple[np.ndarray, dict]:
        """New sessions for every sub-env: seed ``s + i`` (or the per-env list), see the module docstring."""
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ConfigError(f"seed has {len(seeds)} entries: allowed one per sub-env ({self.num_envs})")
        sims = [self._new_session(i, s) for i, s in enumerate(seeds)]
        if self._batch is None:
            self._batch = self._batch_class(sims, parallel=self._parallel)
        else:
            for i, sim in enumerate(sims):
                self._batch.replace(i, sim)
        self._batch.advance()
        obs, _ = self._observe_many(np.arange(self.num_envs))
        self._autoreset[:] = False
        return obs, self._infos()

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        """One interval of every sub-env (those whose episode ended last step are reset instead)."""
        if self._batch is None:
            raise ConfigError("call reset() before step()")
        actions = np.asarray(actions)
        if actions.shape[:1] != (self.num_envs,):
            raise ActionError(f"actions shape {actions.shape} is invalid: allowed {self.action_space.shape}")
        n = self.num_envs
        terminated = np.zeros(n, dtype=np.bool_)
        truncated = np.zeros(n, dtype=np.bool_)
        was_reset = self._autoreset.copy()
        batch = self.face._validate_actions(actions)  # (validated rows, pending rows) or None: one by one
        for i in range(n):
            session = self._sessions[i]
            if was_reset[i]:
                self._begin_reset(i)
                continue
            if batch is not None:
                validated = batch[0][i]
                self.face._apply_pending(batch[1][i], self._batch.sims[i])
            else:
                try:
                    validated = self.face._validate_action(actions[i])
                except ActionError as e:
                    raise ActionError(f"sub-env {i}: {e}") from None
                self.face._apply_to_sim(validated, self._batch.sims[i])
            session.last_action = validated
            session.step += 1
            session.measurement += 1
            terminated[i] = session.measurement >= self.face.measurements_per_session
            truncated[i] = terminated[i] or session.step >= self.face.steps_per_episode
            if terminated[i]:
                session.in_session = False
        self._batch.advance()
        observations, rewards = self._observe_many(np.arange(n))
        rewards[was_reset] = 0.0
        infos = self._infos()
        done = terminated | truncated
        self._terminated = terminated.copy()
        if self.autoreset_mode == AutoresetMode.SAME_STEP and done.any():
            final_obs = np.empty(n, dtype=object)  # element i is sub-env i's observation (None if it goes on)
            for i in np.flatnonzero(done):
                final_obs[i] = observations[i]
            infos["final_obs"] = final_obs
            infos["_final_obs"] = done.copy()
            infos["final_info"] = {key: value.copy() for key, value in infos.items() if key[0] != "_"
                                   and key not in ("final_obs",)}
            infos["_final_info"] = done.copy()
            for i in np.flatnonzero(done):
                self._begin_reset(int(i))
            self._batch.advance(done)
            observations = observations.copy()  # final_obs keeps views of the old ones
            observations[done] = self._observe_many(np.flatnonzero(done))[0]
            infos.update(self._infos())
            done[:] = False
        self._autoreset = done
        return observations, rewards, terminated, truncated, infos

    def _begin_reset(self, i: int) -> None:
        """Set sub-env i up for its reset interval: a new session after a termination, else the next episode of
        its session with the last action again (as the single env's ``reset()`` sends it)."""
        assert self._batch is not None
        session = self._sessions[i]
        if self._terminated[i] or not session.in_session:
            self._batch.replace(i, self._new_session(i, None))
            return
        self.face._apply_to_sim(session.last_action, self._batch.sims[i])
        session.episode += 1
        session.measurement += 1
        session.step = 1
        if session.measurement >= self.face.measurements_per_session:
            session.in_session = False

    def close_extras(self, **kwargs: Any) -> None:
        """Release the simulations and the idle single-env face."""
        self._batch = None
        self.face.close()


def _vector_entry(env_class_path: str):
    def make(num_envs: int = 1, **kwargs: Any) -> NetworkGymVectorEnv:
        import importlib

        module, _, name = env_class_path.partition(":")
        env_class = getattr(importlib.import_module(module), name)
        kwargs.pop("max_episode_steps", None)  # the scenario's steps_per_episode decides, as in the single env
        return NetworkGymVectorEnv(env_class, num_envs, **kwargs)
    return make


make_traffic_mgmt = _vector_entry("netgym_lite.envs.traffic_mgmt:TrafficMgmtEnv")
make_qos_steer = _vector_entry("netgym_lite.envs.qos_steer:QoSSteerEnv")
make_network_slicing = _vector_entry("netgym_lite.envs.network_slicing:NetworkSlicingEnv")
make_rmcat = _vector_entry("netgym_lite.envs.rmcat:RMCATEnv")
