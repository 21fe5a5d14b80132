"""Per-simulation random streams: xoshiro256** (Blackman & Vigna, 2018) seeded by splitmix64.

Each simulation owns a ``uint64[n_streams, 4]`` state array; every model draws from its own stream
(traffic, mobility, contention, ...), so adding draws in one model never shifts another model's numbers,
and simulations interleaved in one process never share state (numba's global ``np.random`` would).
"""

from __future__ import annotations

import math

import numpy as np

from .jit import kernel

STREAM_TRAFFIC = 0
STREAM_MOBILITY = 1
STREAM_CONTENTION = 2
STREAM_SHADOWING = 3
STREAM_RATE_CONTROL = 4  # Wi-Fi MPDU errors under Minstrel-HT (models/minstrel.py)
NUM_STREAMS = 5

_MASK = (1 << 64) - 1


def _splitmix64(x: int) -> tuple[int, int]:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return x, z ^ (z >> 31)


def make_streams(seed: int, n_streams: int = NUM_STREAMS) -> np.ndarray:
    """Seed ``n_streams`` independent xoshiro256** states from one integer seed."""
    state = np.empty((n_streams, 4), dtype=np.uint64)
    x = (int(seed) * 0x2545F4914F6CDD1D + 0x1234567) & _MASK
    for s in range(n_streams):
        for k in range(4):
            x, z = _splitmix64(x)
            state[s, k] = z
    return state


@kernel(inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@kernel
def next_u64(state: np.ndarray, stream: int) -> np.uint64:
    """Next 64-bit output of one stream (advances it)."""
    s0 = state[stream, 0]
    s1 = state[stream, 1]
    s2 = state[stream, 2]
    s3 = state[stream, 3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[stream, 0] = s0
    state[stream, 1] = s1
    state[stream, 2] = s2
    state[stream, 3] = s3
    return result


@kernel
def uniform(state: np.ndarray, stream: int) -> float:
    """Uniform float in [0, 1) with 53 random bits."""
    return float(next_u64(state, stream) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@kernel
def uniform_range(state: np.ndarray, stream: int, low: float, high: float) -> float:
    """Uniform float in [low, high)."""
    return low + (high - low) * uniform(state, stream)


@kernel
def exponential(state: np.ndarray, stream: int, mean: float) -> float:
    """Exponential variate with the given mean (inverse transform)."""
    return -mean * math.log(1.0 - uniform(state, stream))


@kernel
def normal(state: np.ndarray, stream: int) -> float:
    """Standard normal variate (Box–Muller)."""
    u1 = 1.0 - uniform(state, stream)
    u2 = uniform(state, stream)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
