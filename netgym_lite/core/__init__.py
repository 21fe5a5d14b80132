"""The discrete-event engine, compiled with numba.

- ``events``: the event queue, a binary min-heap held in numpy arrays, ordered by (time, insertion number), so
  simultaneous events run in the order they were scheduled (deterministic).
- ``rng``: per-simulation random streams (xoshiro256**), state in a numpy array, so a seed reproduces a
  run bit for bit whatever else runs in the same process.
- ``state``: the simulation state as a few named tuples of numpy arrays (struct of arrays).
- ``engine``: ``run_until(state, t_end_ms)``: pops and handles every event with time < t_end_ms.

Time is a float in milliseconds. Python enters the engine once per measurement interval, never per event.
"""
