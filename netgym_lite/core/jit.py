"""The one decorator every simulation kernel uses.

``@kernel`` = ``numba.njit(cache=True)`` without NRT reference counting. Kernels receive the whole flat
``State`` tuple (~130 arrays); with reference counting numba increments and decrements every array of it
on each non-inlined call (~1 µs per call, measured), which would dominate the event loop. Kernels never
allocate arrays, they only borrow the caller's, so counting references buys nothing here; numba refuses
to compile a kernel that tries to allocate, which keeps the hot path allocation-free by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba as nb


def kernel(fn: Callable | None = None, **options: Any) -> Any:
    """Compile ``fn`` as a cached, reference-count-free numba function (``@kernel`` or ``@kernel(...)``)."""
    options = {"cache": True, "_nrt": False, **options}
    if fn is None:
        return lambda f: nb.njit(**options)(f)
    return nb.njit(**options)(fn)
