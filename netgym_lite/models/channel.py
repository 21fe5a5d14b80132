"""Radio channel: path loss, shadowing and SNR.

Source: log-distance path loss, PL(d) = PL(d0) + 10·n·log10(d/d0) (Rappaport, *Wireless Communications*,
2nd ed., eq. 4.68); thermal noise N = −174 dBm/Hz + 10·log10(B) + NF (kT at 290 K). Distances are 3-D and
clamped below at the reference distance d0 (the formula is not valid inside it). Log-normal shadowing is
drawn once per (user, transmitter) pair per session (optional, σ in dB).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import kernel

THERMAL_NOISE_DBM_PER_HZ = -174.0


@kernel(inline="always")
def log_distance_path_loss_db(
    distance_m: float, exponent: float, reference_loss_db: float, reference_distance_m: float
) -> float:
    """Log-distance path loss in dB (distance clamped to the reference distance)."""
    d = max(distance_m, reference_distance_m)
    return reference_loss_db + 10.0 * exponent * math.log10(d / reference_distance_m)


@kernel(inline="always")
def noise_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    """Thermal noise power over a bandwidth, plus the receiver noise figure (dBm)."""
    return THERMAL_NOISE_DBM_PER_HZ + 10.0 * math.log10(bandwidth_hz) + noise_figure_db


@kernel(inline="always")
def distance_3d_m(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float) -> float:
    """Euclidean distance in metres."""
    return math.sqrt((x0 - x1) ** 2 + (y0 - y1) ** 2 + (z0 - z1) ** 2)


def snr_db(
    distance_m: float | np.ndarray,
    tx_power_dbm: float,
    bandwidth_hz: float,
    noise_figure_db: float,
    exponent: float,
    reference_loss_db: float,
    reference_distance_m: float = 1.0,
    shadowing_db: float | np.ndarray = 0.0,
) -> np.ndarray:
    """SNR (dB) of a transmitter whose power is spread over ``bandwidth_hz`` (vectorised helper)."""
    d = np.maximum(np.asarray(distance_m, dtype=np.float64), reference_distance_m)
    pl = reference_loss_db + 10.0 * exponent * np.log10(d / reference_distance_m)
    return tx_power_dbm - pl - shadowing_db - (
        THERMAL_NOISE_DBM_PER_HZ + 10.0 * np.log10(bandwidth_hz) + noise_figure_db
    )
