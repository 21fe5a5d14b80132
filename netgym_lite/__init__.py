"""netgym-lite: NetworkGym's network simulation as an embedded, numba-accelerated Gymnasium environment.

``import netgym_lite`` registers the Gymnasium environments:

* ``netgym-lite/TrafficMgmt-v0`` (NetworkGym's ``nqos_split``): :class:`netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv`;
* ``netgym-lite/QoSSteer-v0`` (``qos_steer``): :class:`netgym_lite.envs.qos_steer.QoSSteerEnv`;
* ``netgym-lite/NetworkSlicing-v0`` (``network_slicing``): :class:`netgym_lite.envs.network_slicing.NetworkSlicingEnv`;
* ``netgym-lite/RMCAT-v0`` (``rmcat``): :class:`netgym_lite.envs.rmcat.RMCATEnv`.

Heavier objects (the Simulation, the env classes) are imported lazily on first attribute access.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium

from netgym_lite.errors import ActionError, ConfigError, NetgymError, ProtocolError, SessionEnded

__version__ = "0.1.0"

__all__ = [
    "ENVS",
    "ENV_IDS_BY_NAME",
    "EnvInfo",
    "env_class",
    "ActionError",
    "ConfigError",
    "NetgymError",
    "NetworkSlicingEnv",
    "QoSSteerEnv",
    "ProtocolError",
    "RMCATEnv",
    "SessionEnded",
    "Simulation",
    "TrafficMgmtEnv",
    "__version__",
    "load_config",
]

_LAZY = {
    "load_config": ("netgym_lite.config", "load_config"),
    "Simulation": ("netgym_lite.sim", "Simulation"),
    "TrafficMgmtEnv": ("netgym_lite.envs.traffic_mgmt", "TrafficMgmtEnv"),
    "NetworkSlicingEnv": ("netgym_lite.envs.network_slicing", "NetworkSlicingEnv"),
    "QoSSteerEnv": ("netgym_lite.envs.qos_steer", "QoSSteerEnv"),
    "RMCATEnv": ("netgym_lite.envs.rmcat", "RMCATEnv"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netgym_lite' has no attribute {name!r}")


class EnvInfo(NamedTuple):
    """One registered environment: its command-line name, NetworkGym's name and where its classes live."""

    cli_name: str
    networkgym_name: str
    entry_point: str
    vector_entry_point: str | None  # None: no native vector env (make_vec's "sync"/"async" modes still work)


#: Registered Gymnasium ids → :class:`EnvInfo` (the one list of netgym-lite's environments).
ENVS = {
    "netgym-lite/TrafficMgmt-v0": EnvInfo("traffic_mgmt", "nqos_split", "netgym_lite.envs.traffic_mgmt:TrafficMgmtEnv",
                                          "netgym_lite.envs.vector:make_traffic_mgmt"),
    "netgym-lite/QoSSteer-v0": EnvInfo("qos_steer", "qos_steer", "netgym_lite.envs.qos_steer:QoSSteerEnv",
                                       "netgym_lite.envs.vector:make_qos_steer"),
    "netgym-lite/NetworkSlicing-v0": EnvInfo("network_slicing", "network_slicing",
                                             "netgym_lite.envs.network_slicing:NetworkSlicingEnv",
                                             "netgym_lite.envs.vector:make_network_slicing"),
    "netgym-lite/RMCAT-v0": EnvInfo("rmcat", "rmcat", "netgym_lite.envs.rmcat:RMCATEnv",
                                    "netgym_lite.envs.vector:make_rmcat"),
}
#: Command-line env names (``netgym-lite run/eval/train --env NAME``) → Gymnasium id.
ENV_IDS_BY_NAME = {info.cli_name: env_id for env_id, info in ENVS.items()}


def env_class(name: str) -> Any:
    """The env class of a command-line env name (``"traffic_mgmt"``, ...); ConfigError for an unknown one."""
    if name not in ENV_IDS_BY_NAME:
        raise ConfigError(f"--env={name!r} is invalid: allowed one of {', '.join(ENV_IDS_BY_NAME)}")
    from gymnasium.envs.registration import load_env_creator

    return load_env_creator(ENVS[ENV_IDS_BY_NAME[name]].entry_point)


def _register() -> None:
    for env_id, info in ENVS.items():
        if env_id not in gymnasium.registry:
            # No max_episode_steps: the episode length comes from the scenario (steps_per_episode).
            gymnasium.register(env_id, entry_point=info.entry_point, vector_entry_point=info.vector_entry_point)


_register()
