"""Many simulations, one numba call: the interval of every simulation of a batch.

The vector envs (``envs/vector.py``) keep one simulation per sub-env in numba typed lists of their ``State``
and ``Params`` tuples (every simulation of a batch has the same scenario shape, so the same tuple types) and
advance them all with one call: per simulation, the previous interval's counters are closed (when it had one),
the interval runs, and its measurement table is filled. Simulations share nothing, so
:func:`run_batch_parallel` runs them on all of numba's threads (``prange``); :func:`run_batch_serial` runs them
one after the other (better when the cores are busy anyway: parallel threads then only add contention).
Each simulation's results are exactly those of a lone simulation either way.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from numba.typed import List

from ..models.measurement import close_interval, measure_interval
from ..models.rmcat import run_rmcat_interval
from .engine import run_interval
from .jit import kernel


@kernel
def advance_interval(s, p, close_first: bool, action_units, apply_action: bool, move_ms: float, t_end_ms: float,
                     table) -> None:
    """One simulation's step in one call: close its last interval (if ``close_first``), run the next, measure it
    into ``table`` (one entry from Python per step, not three). A lone simulation's entry point, called with
    its references (core/ref.py)."""
    if close_first:
        close_interval(s, p)
    run_interval(s, p, action_units, apply_action, move_ms, t_end_ms)
    measure_interval(s, p, table)


@kernel(inline="always", _nrt=True)
def _advance_one(states, params, action_units, close_first, apply_action, move_ms, t_end_ms, tables, active,
                 i) -> None:
    if not active[i]:
        return
    s = states[i]
    p = params[i]
    if close_first[i]:
        close_interval(s, p)
    run_interval(s, p, action_units[i], apply_action[i], move_ms[i], t_end_ms[i])
    measure_interval(s, p, tables[i])


@kernel(_nrt=True)  # typed lists are reference counted: NRT on for these entry points only
def run_batch_serial(states, params, action_units, close_first, apply_action, move_ms, t_end_ms, tables, active) -> None:
    """For every simulation i with ``active[i]``: close its last interval if ``close_first[i]``, run the next
    interval (``run_interval`` with row i of the arguments), and measure it into ``tables[i]``."""
    for i in range(len(states)):
        _advance_one(states, params, action_units, close_first, apply_action, move_ms, t_end_ms, tables, active,
                     i)


@kernel(parallel=True, _nrt=True)
def run_batch_parallel(states, params, action_units, close_first, apply_action, move_ms, t_end_ms, tables, active) -> None:
    """:func:`run_batch_serial` with the simulations spread over numba's threads."""
    for j in prange(len(states)):
        _advance_one(states, params, action_units, close_first, apply_action, move_ms, t_end_ms, tables, active,
                     np.int64(j))  # prange counts in uint64; typed lists index with int64


@kernel(_nrt=True)
def run_rmcat_batch(states, params, t_warm_ms, t_end_ms, active) -> None:
    """The RMCAT envs' batch (``rmcat_sim.RmcatBatch``): for every simulation i with ``active[i]``, the warm-up to
    ``t_warm_ms[i]`` first when that is ≥ 0 (a session's first interval), then the interval to ``t_end_ms[i]``."""
    for i in range(len(states)):
        if not active[i]:
            continue
        if t_warm_ms[i] >= 0.0:
            run_rmcat_interval(states[i], params[i], t_warm_ms[i])
        run_rmcat_interval(states[i], params[i], t_end_ms[i])


# Typed lists built and updated by cached kernels: numba compiles typed.List's Python-side constructor and setitem
# anew in every process (~6 s), these load from the cache like every other kernel.
@kernel(_nrt=True)
def new_list(item):  # noqa: ANN001, ANN201
    """A typed list holding ``item`` (a State or Params tuple)."""
    lst = List()
    lst.append(item)
    return lst


@kernel(_nrt=True)
def list_append(lst, item) -> None:  # noqa: ANN001
    """Append ``item`` to a typed list."""
    lst.append(item)


@kernel(_nrt=True)
def list_set(lst, i, item) -> None:  # noqa: ANN001
    """Replace element ``i`` of a typed list."""
    lst[i] = item

