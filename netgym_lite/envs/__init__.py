"""Gymnasium faces of netgym-lite: one module per environment (records → obs/reward, action → policy)."""

from netgym_lite.envs.base import NetworkGymEnv
from netgym_lite.envs.network_slicing import NetworkSlicingEnv
from netgym_lite.envs.qos_steer import QoSSteerEnv
from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv, get_observation, get_policy, get_reward

#: Command-line names of the envs (``netgym-lite run --env NAME``) → class.
ENV_CLASSES: dict[str, type[NetworkGymEnv]] = {
    "traffic_mgmt": TrafficMgmtEnv,
    "qos_steer": QoSSteerEnv,
    "network_slicing": NetworkSlicingEnv,
}

__all__ = ["ENV_CLASSES", "NetworkGymEnv", "NetworkSlicingEnv", "QoSSteerEnv", "TrafficMgmtEnv", "get_observation", "get_policy",
           "get_reward"]
