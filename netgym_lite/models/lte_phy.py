"""LTE PHY: SINR → CQI → MCS → bits per resource block per TTI.

Sources:
- CQI efficiencies: 3GPP TS 36.213 Table 7.2.3-1 (4-bit CQI, bits per resource element).
- SINR → CQI: the highest CQI whose efficiency ≤ log2(1 + SINR/Γ), Γ = −ln(5·BER)/1.5 with
  BER = 5e-5 (Piro et al., "LTE-Sim", IEEE TVT 2011; the AMC model of ns-3's LteAmc).
- MCS efficiencies: per I_MCS 0..28 (TS 36.213 Table 7.1.7.1-1 modulation and I_TBS, as the spectral
  efficiencies used by ns-3's LteAmc). A CQI maps to the highest MCS not exceeding its efficiency.
- Bits per RB per TTI = efficiency(MCS) × 132 data REs (12 subcarriers × 14 symbols minus 3 PDCCH
  symbols and cell reference signals). This approximates the TBS table (TS 36.213 Table 7.1.7.2.1-1)
  within a few percent: MCS 28 on 25 RBs gives 18.3 kbit per TTI (table: 18,336 bits).
- RBG size by bandwidth: TS 36.213 Table 7.1.6.1-1 (1 for ≤10 RBs, 2 for 11–26, 3 for 27–63, 4 for 64–110).
- Power spread evenly over all RBs; noise per RB over 180 kHz.
"""

from __future__ import annotations

import math

import numpy as np

from ..config_types import rbg_size  # noqa: F401  (re-exported: TS 36.213 Table 7.1.6.1-1)
from ..core.jit import kernel

CQI_EFFICIENCY = np.array(
    [0.0, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223,
     3.9023, 4.5234, 5.1152, 5.5547]
)
MCS_EFFICIENCY = np.array(
    [0.15, 0.19, 0.23, 0.31, 0.38, 0.49, 0.6, 0.74, 0.88, 1.03, 1.18, 1.33, 1.48, 1.7, 1.91, 2.16,
     2.41, 2.57, 2.73, 3.03, 3.32, 3.61, 3.9, 4.21, 4.52, 4.82, 5.12, 5.33, 5.55]
)
DATA_RE_PER_RB = 132
RB_BANDWIDTH_HZ = 180e3
BER_TARGET = 5e-5


@kernel
def cqi_from_sinr(sinr_db: float) -> int:
    """The highest CQI whose efficiency the Shannon-gap capacity supports (0 = out of range)."""
    gamma = -math.log(5.0 * BER_TARGET) / 1.5
    capacity = math.log2(1.0 + 10.0 ** (sinr_db / 10.0) / gamma)
    return int(np.searchsorted(CQI_EFFICIENCY, capacity, side="right") - 1)


@kernel
def mcs_from_cqi(cqi: int) -> int:
    """The highest MCS whose efficiency does not exceed the CQI's (−1 when CQI is 0)."""
    if cqi <= 0:
        return -1
    return int(np.searchsorted(MCS_EFFICIENCY, CQI_EFFICIENCY[cqi] + 1e-9, side="right") - 1)


@kernel
def bits_per_rb(sinr_db: float) -> int:
    """Transport-block bits one RB carries in one TTI at this SINR (0 when out of range)."""
    mcs = mcs_from_cqi(cqi_from_sinr(sinr_db))
    if mcs < 0:
        return 0
    return int(MCS_EFFICIENCY[mcs] * DATA_RE_PER_RB)
