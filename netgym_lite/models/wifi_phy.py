"""Wi-Fi PHY: SNR → MCS → PHY rate, and the MAC timing constants of one channel access.

Sources:
- Data rate = N_SD · N_BPSCS · R · N_SS / T_sym (IEEE 802.11-2020 §21.5 VHT and 802.11ax-2021 §27.5 HE
  MCS tables). GI 0.8 µs: T_sym = 4.0 µs (VHT), 13.6 µs (HE). Data subcarriers N_SD per width:
  VHT 52/108/234/468, HE 234/468/980/1960 for 20/40/80/160 MHz. E.g. HE 20 MHz MCS 5 = 68.8 Mbps.
- Minimum SNR per MCS: receiver-sensitivity steps of ~3 dB per MCS as in IEEE 802.11-2020 Table 21-25
  (minimum sensitivity, VHT) rebased to AWGN thresholds for ~10 % PER on 1500-byte frames; "ideal" rate
  control picks the highest MCS whose threshold the SNR meets.
- MAC timing (802.11-2020 §10.3, OFDM PHY 5 GHz): slot 9 µs, SIFS 16 µs, AIFS[BE] = SIFS + 3 slots
  = 43 µs, CWmin 15 (mean backoff 7.5 slots); VHT preamble 40 µs, HE SU preamble 48 µs; a PPDU lasts at
  most 5.484 ms (aPPDUMaxTime); Block Ack answered after SIFS at the 24 Mbps legacy rate (32 µs).
- Per MPDU overhead: MAC header 26 + FCS 4 + A-MPDU delimiter 4 + LLC/SNAP 8 + IPv4 20 + UDP/TCP 8 bytes.
- MPDU error rate (rate control "minstrel_ht" only): a logistic in SNR through the 90 %, 50 % and 10 % PER points
  of ns-3.44's TableBasedErrorRateModel for a 1466-byte MPDU (its AWGN link-level tables: BCC for VHT, LDPC for
  HE), measured with ``GetChunkSuccessRate``; other sizes as independent 1466-byte chunks, as ns-3 scales.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import kernel

# (bits per subcarrier, code rate) for MCS 0..11 (VHT uses 0..9).
_MODULATION = np.array(
    [
        (1, 1 / 2), (2, 1 / 2), (2, 3 / 4), (4, 1 / 2), (4, 3 / 4), (6, 2 / 3),
        (6, 3 / 4), (6, 5 / 6), (8, 3 / 4), (8, 5 / 6), (10, 3 / 4), (10, 5 / 6),
    ]
)
# Minimum SNR (dB) to use each MCS (≈10 % PER, AWGN); see module docstring.
MIN_SNR_DB = np.array([2.0, 5.0, 8.0, 11.0, 14.0, 18.0, 20.0, 22.0, 26.0, 28.0, 32.0, 34.0])

_DATA_SUBCARRIERS = {
    "802.11ac": {20: 52, 40: 108, 80: 234, 160: 468},
    "802.11ax": {20: 234, 40: 468, 80: 980, 160: 1960},
}
_SYMBOL_US = {"802.11ac": 4.0, "802.11ax": 13.6}
_NUM_MCS = {"802.11ac": 10, "802.11ax": 12}
PREAMBLE_US = {"802.11ac": 40.0, "802.11ax": 48.0}

SLOT_US = 9.0
SIFS_US = 16.0
AIFS_US = SIFS_US + 3 * SLOT_US
CW_MIN = 15
BLOCK_ACK_US = 32.0
MAX_PPDU_US = 5484.0
AMPDU_DELIMITER_BYTES = 4
MPDU_OVERHEAD_BYTES = 26 + 4 + AMPDU_DELIMITER_BYTES + 8 + 20 + 8


# SNR (dB) at which a 1466-byte MPDU fails with probability 90 %, 50 %, 10 % (ns-3.44 TableBasedErrorRateModel,
# 40 MHz, 1 stream; the tables depend on the MCS only). VHT: BCC, MCS 0-9; HE: LDPC, MCS 0-11.
PER_REF_BYTES = 1466
_PER_POINTS_DB = {
    "802.11ac": ((-0.22, 0.31, 0.93), (2.75, 3.31, 3.95), (5.21, 5.79, 6.44), (8.32, 8.93, 9.71),
                 (11.54, 12.03, 12.81), (15.59, 16.23, 17.05), (16.92, 17.53, 18.38), (18.17, 18.81, 19.64),
                 (22.08, 22.78, 23.72), (23.60, 24.27, 25.16)),
    "802.11ax": ((-1.19, -0.93, -0.62), (1.81, 2.08, 2.40), (4.32, 4.57, 4.86), (7.29, 7.56, 7.92),
                 (10.34, 10.62, 10.94), (14.52, 14.78, 15.13), (15.84, 16.15, 16.49), (17.34, 17.65, 18.00),
                 (21.00, 21.30, 21.68), (22.79, 23.10, 23.49), (26.05, 26.39, 26.81), (28.07, 28.44, 28.90)),
}


def per_curve_db(standard: str) -> np.ndarray:
    """float64[MCS, 2]: (SNR at 50 % PER, width w) of each MCS's logistic PER(snr) = 1 / (1 + exp((snr − s50) / w))
    for a 1466-byte MPDU; w puts the 90 % and 10 % points where ns-3 has them (their distance is 2 w ln 9)."""
    points = np.array(_PER_POINTS_DB[standard], np.float64)
    return np.column_stack([points[:, 1], (points[:, 2] - points[:, 0]) / (2.0 * math.log(9.0))])


@kernel
def mpdu_success_probability(snr_db: float, s50_db: float, width_db: float, mpdu_bytes: float) -> float:
    """Probability that an MPDU of ``mpdu_bytes`` is received (see :func:`per_curve_db`)."""
    x = (snr_db - s50_db) / width_db
    if x > 40.0:
        return 1.0
    if x < -40.0:
        return 0.0
    ok = 1.0 - 1.0 / (1.0 + math.exp(x))
    return ok ** (mpdu_bytes / PER_REF_BYTES)


def valid_mcs(standard: str, channel_width_mhz: int, spatial_streams: int) -> np.ndarray:
    """bool[MCS]: the MCSs the standard allows at this width and stream count (VHT forbids those whose data bits
    per symbol are not whole, e.g. MCS 9 at 20 MHz with one stream: IEEE 802.11-2020 §21.5)."""
    n_sd = _DATA_SUBCARRIERS[standard][channel_width_mhz]
    mod = _MODULATION[: _NUM_MCS[standard]]
    bits = n_sd * mod[:, 0] * mod[:, 1] * spatial_streams
    return np.abs(bits - np.round(bits)) < 1e-9


def phy_rate_table_mbps(standard: str, channel_width_mhz: int, spatial_streams: int) -> np.ndarray:
    """PHY data rate (Mbps) of every MCS of ``standard`` at this width and stream count."""
    n_sd = _DATA_SUBCARRIERS[standard][channel_width_mhz]
    mod = _MODULATION[: _NUM_MCS[standard]]
    return n_sd * mod[:, 0] * mod[:, 1] * spatial_streams / _SYMBOL_US[standard]


def symbol_us(standard: str) -> float:
    """OFDM symbol duration (µs) with the 0.8 µs guard interval."""
    return _SYMBOL_US[standard]


def min_snr_table_db(standard: str) -> np.ndarray:
    """Minimum SNR (dB) of each MCS of ``standard`` (same order as :func:`phy_rate_table_mbps`)."""
    return MIN_SNR_DB[: _NUM_MCS[standard]].copy()


@kernel
def best_rate_mbps(snr_db: float, rates_mbps: np.ndarray, min_snr_db: np.ndarray) -> float:
    """Ideal rate control: the fastest MCS the SNR supports (0 when below MCS 0: out of range)."""
    rate = 0.0
    for mcs in range(min_snr_db.shape[0]):
        if min_snr_db[mcs] <= snr_db:
            rate = rates_mbps[mcs]
    return rate


def txop_overhead_us(standard: str) -> float:
    """Fixed airtime of one channel access besides the A-MPDU payload: AIFS + mean backoff + preamble +
    SIFS + Block Ack."""
    return AIFS_US + CW_MIN / 2 * SLOT_US + PREAMBLE_US[standard] + SIFS_US + BLOCK_ACK_US


CW_MAX = 1023  # 802.11-2020 Table 9-155, AC_BE: backoff stages m = log2((CWmax + 1) / (CWmin + 1)) = 6


@kernel
def collision_probability(stations: int, cw_min: int = CW_MIN, cw_max: int = CW_MAX) -> float:
    """Probability that a transmission of one of ``stations`` saturated DCF stations collides.

    Bianchi's fixed point (IEEE JSAC 18(3), 2000, eqs. 7 and 9): τ = 2(1−2p) / ((1−2p)(W+1) + pW(1−(2p)^m)) with
    W = CWmin + 1 and m = log2((CWmax + 1) / W) backoff stages, and p = 1 − (1−τ)^(n−1). Solved by bisection on
    p, where 1 − (1 − τ(p))^(n−1) − p falls as p grows (60 halvings: exact to double precision). 0 for a lone
    station. The stations' own backoff stages (models/wifi.py, uplink data) reproduce it on average; the tests
    compare against it.
    """
    if stations < 2:
        return 0.0
    w = cw_min + 1.0
    m = round(math.log2((cw_max + 1.0) / w))
    lo = 0.0
    hi = 1.0
    for _ in range(60):
        p = 0.5 * (lo + hi)
        if abs(1.0 - 2.0 * p) < 1e-12:  # the limit at p = 1/2
            tau = 2.0 / (w + 1.0 + w * m / 2.0)
        else:
            tau = 2.0 * (1.0 - 2.0 * p) / ((1.0 - 2.0 * p) * (w + 1.0) + p * w * (1.0 - (2.0 * p) ** m))
        if 1.0 - (1.0 - tau) ** (stations - 1) > p:
            lo = p
        else:
            hi = p
    return 0.5 * (lo + hi)
