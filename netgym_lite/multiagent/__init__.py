"""Multi-agent faces of netgym-lite (PettingZoo): one agent per user device, the same simulation underneath."""

from netgym_lite.multiagent.traffic_mgmt import TrafficMgmtParallelEnv, traffic_mgmt_parallel_env

__all__ = ["TrafficMgmtParallelEnv", "traffic_mgmt_parallel_env"]
