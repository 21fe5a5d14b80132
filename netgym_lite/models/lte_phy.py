"""LTE PHY: SINR → MCS → bits per resource block per TTI, as ns-3's default LTE AMC.

Sources:
- MCS and CQI spectral efficiencies: 3GPP R1-081483 (TBS_support.xls, "MCS Table", two decimals), the
  figures ns-3's LteAmc uses; MCS → I_TBS: TS 36.213 Table 7.1.7.1-1.
- SINR → MCS, as ns-3's default AMC (``LteAmc::AmcModel = MiErrorModel``): per RBG the UE finds the highest
  MCS whose transport block decodes with BLER ≤ 10 %, reports the highest CQI whose efficiency is strictly
  below that MCS's, and the scheduler uses the highest MCS not above the CQI's efficiency. The BLER-10 % MCS is
  modelled as the highest MCS whose efficiency fits the Shannon capacity log2(1 + SINR/Γ) with an SNR gap Γ of
  ``AMC_SNR_GAP_DB`` (one value for every scenario, fitted to ns-3.44 on the LTE reference layouts:
  docs/fidelity.md), instead of ns-3's mutual-information error model.
- Bits per RB per TTI: the transport block of the whole band (TS 36.213 Table 7.1.7.2.1-1, the rows of the
  bandwidths netgym-lite accepts) divided by its RBs; a user given fewer RBs gets that many times the per-RB
  bits (the table is within ~2 % of linear in the RB count from 2 RBs up).
- Uplink (uplink data only), as ns-3's PfFfMacScheduler: the MCS from the SINR of the UE's sounding reference
  signal (its power over the whole band) through the Shannon gap of Piro et al. (``amc.BER_TARGET``,
  Γ = −ln(5·5e-5)/1.5 = 7.4 dB: the highest CQI whose efficiency is strictly below log2(1 + SINR/Γ)), then the
  highest MCS not above that CQI's efficiency (ns-3's LteAmc::GetCqiFromSpectralEfficiency / GetMcsFromCqi).
- RBG size by bandwidth: TS 36.213 Table 7.1.6.1-1 (1 for ≤10 RBs, 2 for 11–26, 3 for 27–63, 4 for 64–110).
- Power spread evenly over all RBs; noise per RB over 180 kHz.
"""

from __future__ import annotations

import math

import numpy as np

from ..config_types import rbg_size  # noqa: F401  (re-exported: TS 36.213 Table 7.1.6.1-1)
from ..core.jit import kernel
from .amc import BER_TARGET  # Piro et al.'s BER target: ns-3's uplink AMC, as NR's

MCS_EFFICIENCY = np.array(
    [0.15, 0.19, 0.23, 0.31, 0.38, 0.49, 0.6, 0.74, 0.88, 1.03, 1.18, 1.33, 1.48, 1.7, 1.91, 2.16,
     2.41, 2.57, 2.73, 3.03, 3.32, 3.61, 3.9, 4.21, 4.52, 4.82, 5.12, 5.33, 5.55]
)
CQI_EFFICIENCY = np.array(
    [0.0, 0.15, 0.23, 0.38, 0.6, 0.88, 1.18, 1.48, 1.91, 2.41, 2.73, 3.32, 3.9, 4.52, 5.12, 5.55]
)
MCS_TO_ITBS = np.array(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 10, 11, 12, 13, 14, 15, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]
)
# Transport block sizes (bits) by I_TBS 0..26 for the cell bandwidths of config.RESOURCE_BLOCKS
TBS_RBS = np.array([6, 15, 25, 50, 75, 100])
TBS_BITS = np.array([
    [152, 208, 256, 328, 408, 504, 600, 712, 808, 936, 1032, 1192, 1352, 1544, 1736, 1800, 1928, 2152, 2344,
     2600, 2792, 2984, 3240, 3496, 3624, 3752, 4392],
    [392, 520, 648, 872, 1064, 1320, 1544, 1800, 2088, 2344, 2664, 2984, 3368, 3880, 4264, 4584, 4968, 5352,
     5992, 6456, 6968, 7480, 7992, 8504, 9144, 9528, 11064],
    [680, 904, 1096, 1416, 1800, 2216, 2600, 3112, 3496, 4008, 4392, 4968, 5736, 6456, 7224, 7736, 7992, 9144,
     9912, 10680, 11448, 12576, 13536, 14112, 15264, 15840, 18336],
    [1384, 1800, 2216, 2856, 3624, 4392, 5160, 6200, 6968, 7992, 8760, 9912, 11448, 12960, 14112, 15264, 16416,
     18336, 19848, 21384, 22920, 25456, 27376, 28336, 30576, 31704, 36696],
    [2088, 2728, 3368, 4392, 5352, 6712, 7736, 9144, 10680, 11832, 12960, 15264, 16992, 19080, 21384, 22920,
     24496, 27376, 29296, 32856, 35160, 37888, 40576, 43816, 45352, 46888, 55056],
    [2792, 3624, 4584, 5736, 7224, 8760, 10296, 12216, 14112, 15840, 17568, 19848, 22920, 25456, 28336, 30576,
     32856, 36696, 39232, 43816, 46888, 51024, 55056, 57336, 61664, 63776, 75376],
])
AMC_SNR_GAP_DB = 4.0
RB_BANDWIDTH_HZ = 180e3


@kernel
def _mcs_of_cqi(cqi: int) -> int:
    """The highest MCS whose efficiency does not exceed the CQI's (ns-3's LteAmc::GetMcsFromCqi)."""
    mcs = 0
    while mcs < 28 and MCS_EFFICIENCY[mcs + 1] <= CQI_EFFICIENCY[cqi]:
        mcs += 1
    return mcs


@kernel
def lte_mcs(sinr_db: float) -> int:
    """The MCS the eNB uses for a user at this SINR (−1: CQI 0, not schedulable)."""
    capacity = math.log2(1.0 + 10.0 ** ((sinr_db - AMC_SNR_GAP_DB) / 10.0))
    decodable = -1  # the highest MCS at BLER ≤ 10 %
    while decodable < 28 and MCS_EFFICIENCY[decodable + 1] <= capacity:
        decodable += 1
    if decodable <= 0:
        return -1  # ns-3 reports CQI 0 when no MCS above 0 decodes
    cqi = 15
    if decodable < 28:
        cqi = 0
        while cqi < 15 and CQI_EFFICIENCY[cqi + 1] < MCS_EFFICIENCY[decodable]:
            cqi += 1
    return _mcs_of_cqi(cqi)


@kernel
def lte_ul_mcs(sinr_db: float) -> int:
    """The uplink MCS ns-3's scheduler grants at this SRS SINR (−1: CQI 0, not schedulable)."""
    capacity = math.log2(1.0 + 10.0 ** (sinr_db / 10.0) / (-math.log(5.0 * BER_TARGET) / 1.5))
    cqi = 0
    while cqi < 15 and CQI_EFFICIENCY[cqi + 1] < capacity:
        cqi += 1
    if cqi == 0:
        return -1
    return _mcs_of_cqi(cqi)


@kernel
def bits_per_rb(sinr_db: float, n_rb: int, uplink: bool = False) -> int:
    """Transport-block bits one RB carries in one TTI at this SINR in a cell of ``n_rb`` RBs (0: out of range);
    ``uplink``: the uplink's MCS choice (:func:`lte_ul_mcs`)."""
    mcs = lte_ul_mcs(sinr_db) if uplink else lte_mcs(sinr_db)
    if mcs < 0:
        return 0
    row = 0
    while row < TBS_RBS.size - 1 and TBS_RBS[row] < n_rb:
        row += 1
    return int(TBS_BITS[row, MCS_TO_ITBS[mcs]] // TBS_RBS[row])
