"""Gymnasium faces of netgym-lite: one module per environment (records → obs/reward, action → policy)."""

from netgym_lite.envs.base import NetworkGymEnv
from netgym_lite.envs.network_slicing import NetworkSlicingEnv
from netgym_lite.envs.qos_steer import QoSSteerEnv
from netgym_lite.envs.rmcat import RMCATEnv
from netgym_lite.envs.traffic_mgmt import TrafficMgmtEnv, get_observation, get_policy, get_reward

__all__ = ["NetworkGymEnv", "NetworkSlicingEnv", "QoSSteerEnv", "RMCATEnv", "TrafficMgmtEnv", "get_observation", "get_policy",
           "get_reward"]
