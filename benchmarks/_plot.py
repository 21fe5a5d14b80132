"""Plot helper shared by the benchmark scripts: matplotlib is optional (extra ``plot``) and always headless."""

from __future__ import annotations

from typing import Any


def headless_pyplot() -> Any | None:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt
