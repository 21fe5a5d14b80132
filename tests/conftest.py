"""Session set-up: compile the uplink and Minstrel-HT specializations of the kernels in a second process while the
tests run.

numba compiles the kernels once for downlink scenarios and once more for uplink ones (``core.state.UplinkParams``
is another numba type), and again for each with Minstrel-HT rate control (``MinstrelParams``), each ~10 minutes
of one core on a cold cache. Started here, the uplink compile overlaps
the downlink one on a second core instead of adding to it; both write numba's on-disk cache, so the uplink tests
load what the background process built (or compile it themselves if it is not done yet: same result).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_WARM_UP = """
import gymnasium as gym
import netgym_lite  # noqa: F401
from netgym_lite.config import load_config
from netgym_lite.sim import Simulation

# Minstrel-HT rate control is two more specializations (core.state.MinstrelParams), downlink and uplink; first,
# as the main process compiles the ideal ones itself early on (the first tests need them) and reaches
# test_minstrel and test_ns3_committed, which need these, half-way through
for downlink in (True, False):
    Simulation(load_config(downlink_traffic=downlink, num_users=2, wifi={"rate_control": "minstrel_ht"})).advance()
Simulation(load_config(downlink_traffic=False, num_users=2)).advance()
venv = gym.make_vec("netgym-lite/TrafficMgmt-v0", num_envs=2, downlink_traffic=False, num_users=2)
venv.reset(seed=0)
venv.step(venv.action_space.sample())
"""


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("NUMBA_DISABLE_JIT", "0") != "0":
        return
    session.config._uplink_warm_up = subprocess.Popen(  # type: ignore[attr-defined]
        [sys.executable, "-c", _WARM_UP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    proc = getattr(session.config, "_uplink_warm_up", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait()
