"""A trained Stable-Baselines3 model as an agent ``(obs, info) -> action``.

``netgym-lite train --save PATH`` writes the SB3 model (``PATH``, ``.zip`` added if missing) and a metadata file
beside it (``PATH`` with the suffix ``.json``: algorithm, env, observation kind, scenario, reward, timesteps).
:func:`load_model_agent` reads both back. The agent rebuilds the observation the model was trained on from the raw
records in ``info["network_stats"]``, so it can be evaluated on an unwrapped env beside the heuristics.
Stable-Baselines3 is the optional extra ``train``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from netgym_lite.envs.traffic_mgmt import get_observation
from netgym_lite.envs.wrappers import StudyFeatures
from netgym_lite.errors import ConfigError

#: Observation kinds a model can be trained on: TrafficMgmt's own (3, N) or the study's (14, N).
OBSERVATION_KINDS = ("basic", "study")
#: Stable-Baselines3 algorithms ``netgym-lite train`` offers (all support Box actions).
SB3_ALGOS = ("PPO", "SAC", "TD3", "DDPG", "A2C")
TRAIN_EXTRA_HINT = "pip install 'netgym-lite[train]' (for a CPU-only torch first: pip install torch==2.13.0)"


def import_sb3() -> Any:
    """The ``stable_baselines3`` module, or a ConfigError naming the extra to install."""
    try:
        import stable_baselines3
    except ImportError as e:
        raise ConfigError(f"Stable-Baselines3 is not installed ({e}): {TRAIN_EXTRA_HINT}") from None
    return stable_baselines3


def model_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """(model zip, metadata json) for a ``--save``/``--model`` PATH given with or without ``.zip``."""
    p = Path(path)
    zip_path = p if p.suffix == ".zip" else p.with_name(p.name + ".zip")
    return zip_path, zip_path.with_suffix(".json")


def write_model_metadata(path: str | os.PathLike, meta: Mapping[str, Any]) -> Path:
    """Write the metadata file of the model saved at ``path``; return its path."""
    meta_path = model_paths(path)[1]
    meta_path.write_text(json.dumps(dict(meta), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return meta_path


def read_model_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of the model at ``path`` (ConfigError if the model or its metadata is missing)."""
    zip_path, meta_path = model_paths(path)
    if not zip_path.is_file():
        raise ConfigError(f"--model={str(path)!r} is invalid: allowed a model saved by netgym-lite train "
                          f"({zip_path} does not exist)")
    if not meta_path.is_file():
        raise ConfigError(f"--model={str(path)!r} is invalid: its metadata {meta_path} is missing "
                          "(netgym-lite train writes it beside the model)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"model metadata {meta_path} is invalid JSON ({e.msg})") from None
    if meta.get("algo") not in SB3_ALGOS or meta.get("obs") not in OBSERVATION_KINDS:
        raise ConfigError(f"model metadata {meta_path} is invalid: allowed algo in {SB3_ALGOS} and obs in "
                          f"{OBSERVATION_KINDS}, got algo={meta.get('algo')!r} obs={meta.get('obs')!r}")
    return meta


class ModelAgent:
    """Policy from a model with SB3's ``predict(observation, deterministic=...)``.

    ``obs_kind`` is the observation the model was trained on: ``"basic"`` (TrafficMgmt's (3, N)) or ``"study"``
    (the 14 features of :class:`~netgym_lite.envs.wrappers.StudyObservation`, carried forward within a session,
    cleared when ``info["measurement"] == 1``), reshaped (row-major) to the model's observation shape when it was
    trained on the flattened one. The action is clipped to [0, 1].
    """

    def __init__(self, model: Any, num_users: int, obs_kind: str = "basic", *, deterministic: bool = True,
                 name: str = "model") -> None:
        if obs_kind not in OBSERVATION_KINDS:
            raise ConfigError(f"obs_kind={obs_kind!r} is invalid: allowed one of {', '.join(OBSERVATION_KINDS)}")
        self.model, self.num_users, self.obs_kind = model, num_users, obs_kind
        self.deterministic, self.name = deterministic, name
        self._features = StudyFeatures(num_users) if obs_kind == "study" else None

    def observation(self, info: Mapping[str, Any]) -> np.ndarray:
        """The model's observation of the measurement in ``info``."""
        records = info["network_stats"]
        if self._features is None:
            return get_observation(records, self.num_users)
        if info.get("measurement", 1) == 1:
            self._features.reset()
        return self._features(records)

    def __call__(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        """The model's action for this measurement (``obs`` is not used: it is rebuilt from the records)."""
        x = self.observation(info)
        shape = getattr(getattr(self.model, "observation_space", None), "shape", None)
        if shape is not None and tuple(shape) != x.shape:
            x = x.reshape(shape)  # trained on the flattened observation
        action, _ = self.model.predict(x, deterministic=self.deterministic)
        return np.clip(np.asarray(action, dtype=np.float32).reshape(self.num_users), 0.0, 1.0)


def load_model_agent(path: str | os.PathLike, num_users: int) -> ModelAgent:
    """Load a model saved by ``netgym-lite train`` (needs the ``train`` extra) as a :class:`ModelAgent`."""
    meta = read_model_metadata(path)
    sb3 = import_sb3()
    zip_path = model_paths(path)[0]
    model = getattr(sb3, meta["algo"]).load(str(zip_path), device="cpu")
    n = int(meta.get("num_users", num_users))
    if n != num_users:
        raise ConfigError(f"--model={str(path)!r} was trained for {n} users, the env has {num_users}")
    return ModelAgent(model, num_users, meta["obs"], name=f"{meta['algo']}:{zip_path.stem}")
