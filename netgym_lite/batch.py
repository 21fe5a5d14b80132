"""A batch of simulations of one scenario shape, advanced together by one numba call (``core/batch.py``).

Each simulation keeps its own semantics (:class:`netgym_lite.sim.Simulation`); the batch only replaces N calls
into the core by one that runs them in parallel. After :meth:`SimulationBatch.advance`, ``tables[i]`` holds
simulation i's measurement of the interval and its counters are still open (``sims[i].records(tables[i])``
builds its records); they are closed at the start of the next :meth:`advance`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netgym_lite.core.batch import list_append, list_set, new_list, run_batch_parallel, run_batch_serial
from netgym_lite.errors import NetgymError
from netgym_lite.records import round6, sent_table_keys
from netgym_lite.sim import Simulation


class TypedListBatch:
    """What every batch shares: its simulations, their State and Params items in numba typed lists (one numba call
    takes them all), and the check that a new session fits the batch's scenario shape. Subclasses say which items
    (:meth:`_items`) and which shape (:meth:`_shape_of`, described by ``SHAPE``)."""

    SHAPE = "the scenario shape"

    def __init__(self, sims: list) -> None:
        if not sims:
            raise NetgymError("a simulation batch needs at least one simulation")
        self.sims = list(sims)
        self._shape = self._shape_of(sims[0])
        for sim in sims:
            self._check(sim)
        state, params = self._items(sims[0])
        self._states = new_list(state)
        self._params = new_list(params)
        for sim in sims[1:]:
            state, params = self._items(sim)
            list_append(self._states, state)
            list_append(self._params, params)

    @staticmethod
    def simulation(cfg: Any, seed: int, recycle: Any = None) -> Any:
        """A new session's simulation for this kind of batch (``recycle``: the one it replaces, if any)."""
        raise NotImplementedError

    def record_values(self, envs: np.ndarray, only: frozenset[str]) -> dict[str, np.ndarray]:
        """The values the records of simulations ``envs`` would carry among the full keys ``only`` (names as
        sent), by key: one row per simulation, exactly as sent; a key the subscription leaves out is absent (the
        vector envs' batch path)."""
        raise NotImplementedError

    @staticmethod
    def _items(sim: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    @staticmethod
    def _shape_of(sim: Any) -> tuple:
        raise NotImplementedError

    def _check(self, sim: Any) -> None:
        if self._shape_of(sim) != self._shape:
            raise NetgymError(f"simulations of a batch must share {self.SHAPE}; build them from one scenario")

    def replace(self, i: int, sim: Any) -> None:
        """Put a new simulation (a new session) in slot ``i``."""
        self._check(sim)
        self.sims[i] = sim
        state, params = self._items(sim)
        list_set(self._states, i, state)
        list_set(self._params, i, params)


class SimulationBatch(TypedListBatch):
    """Simulations advanced together; all must share the scenario shape (users, APs, slices, transport).

    ``parallel``: spread the simulations over numba's threads (``numba.set_num_threads``); worth it on idle cores
    with several simulations per thread, a loss when the cores are busy (benchmarks/bench_vector.py measures it).
    """

    SHAPE = "the scenario shape (users, APs, slices, transport, buffers)"

    def __init__(self, sims: list[Simulation], parallel: bool = False) -> None:
        super().__init__(sims)
        self._run = run_batch_parallel if parallel else run_batch_serial
        n, users = len(sims), sims[0].num_users
        self._open = np.zeros(n, dtype=np.bool_)  # scratch: each simulation's interval_open for the call
        self.tables = np.zeros((n, len(sims[0].metric_keys), users))
        self._units = np.full((n, sims[0].action_units.size), -1, dtype=np.int64)
        self._apply = np.zeros(n, dtype=np.bool_)
        self._move_ms = np.zeros(n)
        self._t_end = np.zeros(n)
        self._plans: dict[frozenset[str], tuple[np.ndarray, list[str], bool]] = {}  # record_values' rows, by ``only``

    @staticmethod
    def simulation(cfg: Any, seed: int, recycle: Simulation | None = None) -> Simulation:
        return Simulation(cfg, seed=seed, recycle=recycle)

    def record_values(self, envs: np.ndarray, only: frozenset[str]) -> dict[str, np.ndarray]:
        """Per-user keys as ``(len(envs), num_users)``: the measurement tables' rows, rounded once for all; per-slice
        keys as ``(len(envs), S)``, from each simulation (:meth:`Simulation.cell_values`)."""
        plan = self._plans.get(only)
        if plan is None:
            first = self.sims[0]
            rows, keys = sent_table_keys(first.cfg, only, self.tables.shape[1])
            plan = self._plans[only] = (np.array(rows, dtype=np.intp), keys, first.sends_cell_records(only))
        rows, keys, per_slice = plan
        values = round6(self.tables[np.ix_(envs, rows)])  # exactly the values the records carry
        out = {key: values[:, j, :] for j, key in enumerate(keys)}
        if per_slice:
            cells = [self.sims[i].cell_values(self.tables[i], only) for i in envs]
            for key in cells[0]:
                out[key] = np.array([c[key] for c in cells], dtype=np.float64)
        return out

    @staticmethod
    def _items(sim: Simulation) -> tuple[Any, Any]:
        return sim.state_ref, sim.params_ref

    @staticmethod
    def _shape_of(sim: Simulation) -> tuple:
        return tuple((name, a.shape, a.dtype) for name, a in zip(sim.state._fields, sim.state, strict=True))

    def advance(self, active: np.ndarray | None = None) -> None:
        """Run the next interval of every simulation (or of those with ``active[i]``), each with its pending
        action, in one numba call."""
        active = np.ones(len(self.sims), dtype=np.bool_) if active is None else np.asarray(active, dtype=np.bool_)
        for i in np.flatnonzero(active):
            sim = self.sims[i]
            self._apply[i], self._move_ms[i], self._t_end[i] = sim.prepare_interval()
            self._units[i] = sim.action_units
            self._open[i] = sim.interval_open
        self._run(self._states, self._params, self._units, self._open, self._apply, self._move_ms, self._t_end,
                  self.tables, active)
        for i in np.flatnonzero(active):
            self.sims[i].finish_interval(self._t_end[i], self.tables[i])
            self.sims[i].interval_open = True
