"""A new session built on a retired simulation's arrays (``Simulation(..., recycle=old)``, the vector envs' path)
runs exactly as one built on fresh arrays: the recycled arrays are re-filled, and those left as they were (the
event heap's slots, the packet rows) are never read before written. The old arrays are filled with garbage first, so any read of a
left-over value would show."""

from __future__ import annotations

import numpy as np
import pytest

from netgym_lite.config import load_config
from netgym_lite.core.events import C_SIZE
from netgym_lite.core.state import PKT_T_QUEUE_NS
from netgym_lite.sim import _HEAP_FIELDS, Simulation

UNIFIED = "tests/data/nqos_split_head.json"

SCENARIOS = [
    ("traffic_mgmt", {}),
    ("traffic_mgmt", {"transport_protocol": "udp", "num_users": 6}),
    ("traffic_mgmt", {"downlink_traffic": False}),
    ("scenarios/ns3_wifi_only.json", {"num_users": 4}),  # fq_codel queues, Minstrel
    ("network_slicing", {}),
    (UNIFIED, {}),  # NR gNBs, BBR users
]


def _run(sim: Simulation, steps: int) -> list[np.ndarray]:
    return [sim._advance_measured().copy() for _ in range(steps)]


def _live(sim: Simulation) -> dict[str, np.ndarray]:
    """The State's arrays as far as they mean anything: the heap's first ``size`` slots, the rows of the packets
    in the network (their queue-time column only with "fq_codel", the only queue that stamps it)."""
    s = sim.state
    size = int(s.ev_counters[C_SIZE])
    live = {name: (a[:size] if name in _HEAP_FIELDS else a) for name, a in zip(s._fields, s, strict=True)}
    in_use = np.setdiff1d(np.arange(s.pkt.shape[0]), s.pkt_free[:s.pkt_counters[0]])
    columns = PKT_T_QUEUE_NS + (1 if sim.cfg.wifi.queue_discipline == "fq_codel" else 0)
    live["pkt"] = s.pkt[in_use, :columns]
    live["pkt_t_gma_ms"] = s.pkt_t_gma_ms[in_use]
    return live


@pytest.mark.parametrize(("scenario", "overrides"), SCENARIOS)
def test_a_recycled_simulation_runs_as_a_fresh_one(scenario: str, overrides: dict) -> None:
    cfg = load_config(scenario, **overrides)
    old = Simulation(cfg, seed=1)
    _run(old, 12)
    old_pkt, old_heap, old_params = old.state.pkt, old.state.ev_t, old.params
    for a in old.state:
        if a.flags.c_contiguous:  # (pkt_t_gma_ms is a view of pkt's rows)
            a.view(np.uint8)[...] = 0xA5  # garbage in every byte
    recycled = Simulation(cfg, seed=2, recycle=old)
    fresh = Simulation(cfg, seed=2)
    assert recycled.state.pkt is old_pkt and recycled.state.ev_t is old_heap  # it did take them over
    assert recycled.params is old_params  # the same config: the same constants
    assert old.state is None and old.state_ref is None  # the retired one can never run again
    for k, (a, b) in enumerate(zip(_run(recycled, 25), _run(fresh, 25), strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"interval {k}")
    live_a, live_b = _live(recycled), _live(fresh)
    for name in live_a:
        np.testing.assert_array_equal(live_a[name], live_b[name], err_msg=name)
