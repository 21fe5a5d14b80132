"""The one decorator every simulation kernel uses, and a numba cache that knows kernels span files.

``@kernel`` = ``numba.njit(cache=True)`` without NRT reference counting. Kernels receive the simulation by
reference (``core/ref.py``) and never allocate arrays, they only borrow the caller's, so counting references
buys nothing here; numba refuses to compile a kernel that tries to allocate, which keeps the hot path
allocation-free by construction.

Cache freshness: numba stamps a cached function with the hash of *its own* source file, but the event loop
inlines handlers from other modules, so editing ``models/wifi.py`` would leave a stale ``run_until`` in the
cache. Kernels of this package are therefore stamped with the hash of every source file of ``core/`` and
``models/`` together (a few locator classes registered in front of numba's own).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba as nb
from numba.core import caching

_KERNEL_DIRS = tuple(str(Path(__file__).resolve().parent.parent / d) for d in ("core", "models"))


@functools.lru_cache(maxsize=1)
def kernel_tree_hash() -> bytes:
    """SHA-256 over the source of every module in ``core/`` and ``models/`` (path and content)."""
    digest = hashlib.sha256()
    for directory in _KERNEL_DIRS:
        for path in sorted(Path(directory).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.digest()


def _in_kernel_tree(py_file: str) -> bool:
    return str(Path(py_file).resolve().parent) in _KERNEL_DIRS


class _KernelTreeStamp:
    """Locator mixin: stamp with the whole kernel tree; only claims this package's kernel modules."""

    def get_source_stamp(self) -> bytes:
        return kernel_tree_hash()

    @classmethod
    def from_function(cls, py_func: Callable, py_file: str) -> Any:
        if not _in_kernel_tree(py_file):
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]


class _UserProvided(_KernelTreeStamp, caching.UserProvidedCacheLocator):
    pass


class _InTree(_KernelTreeStamp, caching.InTreeCacheLocator):
    pass


class _UserWide(_KernelTreeStamp, caching.UserWideCacheLocator):
    pass


_locators = caching.CacheImpl._locator_classes
if _UserProvided not in _locators:
    _locators[0:0] = [_UserProvided, _InTree, _UserWide]  # same precedence as numba's own three


def kernel(fn: Callable | None = None, **options: Any) -> Any:
    """Compile ``fn`` as a cached, reference-count-free numba function (``@kernel`` or ``@kernel(...)``)."""
    options = {"cache": True, "_nrt": False, **options}
    if fn is None:
        return lambda f: nb.njit(**options)(f)
    return nb.njit(**options)(fn)
