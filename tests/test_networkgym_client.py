"""Opt-in: NetworkGym's own, unmodified client through full sessions against ``netgym-lite serve``.

Set ``NETWORKGYM_CLIENT_PATH`` to a NetworkGym checkout (the folder that holds ``network_gym_client/``) and, if
that client's dependencies (wandb, plotext, rich, pandas, pyzmq) live in another interpreter,
``NETWORKGYM_CLIENT_PYTHON`` to it. The client is copied to a temporary folder and only its
``common_config.json`` is edited — server address and port, session name and key, as README "Coming from
NetworkGym" tells users — then its ``Env`` runs each shipped env's ``config.json`` as shipped (the driver only
shortens ``episodes_per_session`` in memory, as a user script may). Skipped when the variable is unset; never
vendored into this repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CLIENT = os.environ.get("NETWORKGYM_CLIENT_PATH")
PYTHON = os.environ.get("NETWORKGYM_CLIENT_PYTHON", sys.executable)
pytestmark = [pytest.mark.zmq, pytest.mark.skipif(not CLIENT, reason="NETWORKGYM_CLIENT_PATH is not set")]

if CLIENT:
    pytest.importorskip("zmq")
    from netgym_lite.ipc.zmq_server import ZmqServer

# Runs inside the client's interpreter: NetworkGym's Env, random actions (or the system default), every step.
DRIVER = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from network_gym_client import Env, load_config_file

env_name, agent, episodes = sys.argv[2], sys.argv[3], int(sys.argv[4])
config = load_config_file(env_name)
config["rl_config"]["agent"] = agent
config["env_config"]["episodes_per_session"] = min(episodes, config["env_config"]["episodes_per_session"])
try:
    env = Env(7, config)
except Exception as exc:  # the client's own set-up, before any message: not what this test checks
    print("SETUP_ERROR " + repr(exc))
    sys.exit(3)
obs, info = env.reset()
steps, rewards, names = 0, [], set()
while True:
    action = np.array([]) if agent == "system_default" else env.action_space.sample()
    obs, reward, terminated, truncated, info = env.step(action)
    steps += 1
    rewards.append(float(reward))
    stats = info["network_stats"]  # NetworkGym's client hands a pandas DataFrame of the records
    names |= {f"{r['source']}::{r['name']}" for r in (stats.to_dict("records") if hasattr(stats, "to_dict") else stats)}
    assert np.all(np.isfinite(obs)), obs
    if terminated:
        break
    if truncated:
        obs, info = env.reset()
print("RESULT " + json.dumps({"steps": steps, "rewards": rewards, "names": sorted(names),
                              "L": config["env_config"]["steps_per_episode"],
                              "E": config["env_config"]["episodes_per_session"]}))
"""


@pytest.fixture(scope="module")
def zserver() -> Iterator[ZmqServer]:
    """The test server; its ``custom`` env is served in-process by examples/custom_worker.py's simulation."""
    from netgym_lite.ipc.custom import load_factory

    example = Path(__file__).resolve().parents[1] / "examples" / "custom_worker.py"
    server = ZmqServer(0, bind="127.0.0.1", max_message_bytes=64 * 1024,
                       custom=load_factory(f"{example}:BottleneckSim"))
    server.start_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client_copy(tmp_path_factory: pytest.TempPathFactory, zserver: ZmqServer) -> Path:
    """The client, copied, with common_config.json pointing at the test server (the only file users edit)."""
    root = tmp_path_factory.mktemp("networkgym") / "client"
    shutil.copytree(Path(CLIENT) / "network_gym_client", root / "network_gym_client",
                    ignore=shutil.ignore_patterns("__pycache__"))
    common = root / "network_gym_client" / "common_config.json"
    config = json.loads(common.read_text())
    config.update(connect_via_server_ip_and_server_port=True, server_ip="127.0.0.1", server_port=zserver.port,
                  session_name="testuser", session_key="any", enable_wandb=False, enable_terminal_redering=False)
    common.write_text(json.dumps(config, indent=2))
    return root


@pytest.mark.parametrize("env_name", ["nqos_split", "qos_steer", "network_slicing", "rmcat", "custom"])
@pytest.mark.parametrize("agent", ["", "system_default"])
def test_unmodified_networkgym_client_runs_full_sessions(client_copy: Path, env_name: str, agent: str) -> None:
    if not (client_copy / "network_gym_client" / "envs" / env_name).is_dir():
        pytest.skip(f"this NetworkGym checkout has no {env_name} env")
    done = subprocess.run([PYTHON, "-c", DRIVER, str(client_copy), env_name, agent, "2"], capture_output=True,
                          text=True, timeout=600, cwd=client_copy)
    if done.returncode == 3 and "SETUP_ERROR" in done.stdout:
        pytest.skip("this NetworkGym client fails on its own shipped config before connecting: "
                    + done.stdout.split("SETUP_ERROR ", 1)[1].strip())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    # reset() takes the first measurement, each step one more: L - 1 steps per episode, L * E measurements
    assert result["steps"] == (result["L"] - 1) * result["E"]
    assert result["names"], "every measurement carries network stats"
