"""netgym-lite: NetworkGym's network simulation as an embedded, numba-accelerated Gymnasium environment.

``import netgym_lite`` registers the Gymnasium environments:

* ``netgym-lite/TrafficMgmt-v0`` (NetworkGym's ``nqos_split``): :class:`netgym_lite.envs.traffic_mgmt.TrafficMgmtEnv`;
* ``netgym-lite/QoSSteer-v0`` (``qos_steer``): :class:`netgym_lite.envs.qos_steer.QoSSteerEnv`;
* ``netgym-lite/NetworkSlicing-v0`` (``network_slicing``): :class:`netgym_lite.envs.network_slicing.NetworkSlicingEnv`.

Heavier objects (the Simulation, the env classes) are imported lazily on first attribute access.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from netgym_lite.errors import ActionError, ConfigError, NetgymError, ProtocolError, SessionEnded

__version__ = "0.1.0"

__all__ = [
    "ActionError",
    "ConfigError",
    "NetgymError",
    "NetworkSlicingEnv",
    "QoSSteerEnv",
    "ProtocolError",
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
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netgym_lite' has no attribute {name!r}")


#: Registered Gymnasium ids → (entry point, NetworkGym env name).
ENVS = {
    "netgym-lite/TrafficMgmt-v0": ("netgym_lite.envs.traffic_mgmt:TrafficMgmtEnv", "nqos_split"),
    "netgym-lite/QoSSteer-v0": ("netgym_lite.envs.qos_steer:QoSSteerEnv", "qos_steer"),
    "netgym-lite/NetworkSlicing-v0": ("netgym_lite.envs.network_slicing:NetworkSlicingEnv", "network_slicing"),
}
#: Native vector env of each id (``gymnasium.make_vec(id, num_envs=k)``; netgym_lite.envs.vector).
VECTOR_ENTRY_POINTS = {
    "netgym-lite/TrafficMgmt-v0": "netgym_lite.envs.vector:make_traffic_mgmt",
    "netgym-lite/QoSSteer-v0": "netgym_lite.envs.vector:make_qos_steer",
    "netgym-lite/NetworkSlicing-v0": "netgym_lite.envs.vector:make_network_slicing",
}


def _register() -> None:
    for env_id, (entry_point, _) in ENVS.items():
        if env_id not in gymnasium.registry:
            # No max_episode_steps: the episode length comes from the scenario (steps_per_episode).
            gymnasium.register(env_id, entry_point=entry_point, vector_entry_point=VECTOR_ENTRY_POINTS[env_id])


_register()
