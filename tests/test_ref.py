"""The kernels' references to a simulation's State and Params (core/ref.py): shared arrays, no leaks."""

from __future__ import annotations

import gc
import weakref

import pytest
from numba.core import config as numba_config

from netgym_lite.batch import SimulationBatch
from netgym_lite.config import load_config
from netgym_lite.sim import Simulation

pytestmark = pytest.mark.skipif(numba_config.DISABLE_JIT, reason="references exist only under numba's JIT")


def test_kernels_write_the_arrays_python_reads() -> None:
    sim = Simulation(load_config(num_users=2), seed=1)
    sim.advance()
    assert sim.state.clock[0] == sim.ts_ms  # the core ran to the interval's end through the reference
    assert sim.state.st_total_sent.sum() > 0


def test_a_dropped_simulation_frees_its_arrays() -> None:
    """Every way Python hands a reference to the kernels (build, the first interval's events, advance) gives back
    what it took: once the Simulation is gone, so are its arrays (a leak kept ~3 MB per session alive)."""
    sim = Simulation(load_config(num_users=2), seed=1)
    for _ in range(3):
        sim.advance()
    assert sim.state_ref._meminfo.refcount == 1  # the Python handle alone: the calls gave back what they took
    arrays = [weakref.ref(sim.state.q_buf), weakref.ref(sim.params.user_slice)]
    del sim
    gc.collect()
    assert all(a() is None for a in arrays)


def test_a_replaced_batch_member_is_freed() -> None:
    cfg = load_config(num_users=2)
    batch = SimulationBatch([Simulation(cfg, seed=s) for s in (1, 2)])
    batch.advance()
    old = weakref.ref(batch.sims[0].state.q_buf)
    batch.replace(0, Simulation(cfg, seed=3))
    batch.advance()
    gc.collect()
    assert old() is None
    assert batch.sims[0].state.clock[0] == batch.sims[0].ts_ms > 0  # the new member ran
