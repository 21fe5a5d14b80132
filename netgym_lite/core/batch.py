"""Many simulations, one numba call: the interval of every simulation of a batch, in parallel.

The vector envs (``envs/vector.py``) keep one simulation per sub-env in numba typed lists of their ``State``
and ``Params`` tuples (every simulation of a batch has the same scenario shape, so the same tuple types) and
advance them all with :func:`run_batch`: per simulation, the previous interval's counters are closed (when it
had one), the interval runs, and its measurement table is filled. Simulations share nothing, so ``prange``
runs them on all cores; each one's results are exactly those of a lone simulation.
"""

from __future__ import annotations

from numba import prange

from ..models.measurement import close_interval, measure_interval
from .engine import run_interval
from .jit import kernel


@kernel(parallel=True, _nrt=True)  # typed lists are reference counted: NRT on for this entry point only
def run_batch(states, params, action_units, close_first, apply_action, move_ms, t_end_ms, tables) -> None:
    """For every simulation i: close its last interval if ``close_first[i]``, run the next interval
    (``run_interval`` with row i of the arguments), and measure it into ``tables[i]``."""
    for i in prange(len(states)):
        s = states[i]
        p = params[i]
        if close_first[i]:
            close_interval(s, p)
        run_interval(s, p, action_units[i], apply_action[i], move_ms[i], t_end_ms[i])
        measure_interval(s, p, tables[i])
