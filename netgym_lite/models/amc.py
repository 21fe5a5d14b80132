"""Adaptive modulation and coding of the NR PHY: SINR → CQI → MCS (LTE follows ns-3's LteAmc: ``lte_phy``).

Sources:
- CQI efficiencies (bits per resource element): 3GPP TS 36.213 Table 7.2.3-1 (LTE) — the same numbers as
  TS 38.214 Table 5.2.2.1-2 (NR CQI table 1, up to 64QAM).
- SINR → CQI: the highest CQI whose efficiency ≤ log2(1 + SINR/Γ), Γ = −ln(5·BER)/1.5 with BER = 5e-5
  (Piro et al., "LTE-Sim", IEEE TVT 2011; 5G-LENA's NrAmc "ShannonModel" uses this gap).
- A CQI maps to the highest MCS whose efficiency does not exceed the CQI's; each PHY passes its own MCS table.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import kernel

CQI_EFFICIENCY = np.array(
    [0.0, 0.1523, 0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.9141, 2.4063, 2.7305, 3.3223,
     3.9023, 4.5234, 5.1152, 5.5547]
)
BER_TARGET = 5e-5


@kernel
def cqi_from_sinr(sinr_db: float) -> int:
    """The highest CQI whose efficiency the Shannon-gap capacity supports (0 = out of range)."""
    gamma = -math.log(5.0 * BER_TARGET) / 1.5
    capacity = math.log2(1.0 + 10.0 ** (sinr_db / 10.0) / gamma)
    return int(np.searchsorted(CQI_EFFICIENCY, capacity, side="right") - 1)


@kernel
def mcs_from_sinr(sinr_db: float, mcs_efficiency: np.ndarray) -> int:
    """The MCS (index into ``mcs_efficiency``) the CQI reported at this SINR selects; −1 when the CQI is 0."""
    cqi = cqi_from_sinr(sinr_db)
    if cqi <= 0:
        return -1
    return int(np.searchsorted(mcs_efficiency, CQI_EFFICIENCY[cqi] + 1e-9, side="right") - 1)
