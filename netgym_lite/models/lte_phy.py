"""LTE PHY: SINR → CQI → MCS → bits per resource block per TTI.

Sources:
- SINR → CQI → MCS: :mod:`.amc` (TS 36.213 Table 7.2.3-1 CQIs, Shannon-gap CQI choice as ns-3's LteAmc).
- MCS efficiencies: per I_MCS 0..28 (TS 36.213 Table 7.1.7.1-1 modulation and I_TBS, as the spectral
  efficiencies used by ns-3's LteAmc). A CQI maps to the highest MCS not exceeding its efficiency.
- Bits per RB per TTI = efficiency(MCS) × 132 data REs (12 subcarriers × 14 symbols minus 3 PDCCH
  symbols and cell reference signals). This approximates the TBS table (TS 36.213 Table 7.1.7.2.1-1)
  within a few percent: MCS 28 on 25 RBs gives 18.3 kbit per TTI (table: 18,336 bits).
- RBG size by bandwidth: TS 36.213 Table 7.1.6.1-1 (1 for ≤10 RBs, 2 for 11–26, 3 for 27–63, 4 for 64–110).
- Power spread evenly over all RBs; noise per RB over 180 kHz.
"""

from __future__ import annotations

import numpy as np

from ..config_types import rbg_size  # noqa: F401  (re-exported: TS 36.213 Table 7.1.6.1-1)
from ..core.jit import kernel
from .amc import mcs_from_sinr

MCS_EFFICIENCY = np.array(
    [0.15, 0.19, 0.23, 0.31, 0.38, 0.49, 0.6, 0.74, 0.88, 1.03, 1.18, 1.33, 1.48, 1.7, 1.91, 2.16,
     2.41, 2.57, 2.73, 3.03, 3.32, 3.61, 3.9, 4.21, 4.52, 4.82, 5.12, 5.33, 5.55]
)
DATA_RE_PER_RB = 132
RB_BANDWIDTH_HZ = 180e3


@kernel
def bits_per_rb(sinr_db: float) -> int:
    """Transport-block bits one RB carries in one TTI at this SINR (0 when out of range)."""
    mcs = mcs_from_sinr(sinr_db, MCS_EFFICIENCY)
    if mcs < 0:
        return 0
    return int(MCS_EFFICIENCY[mcs] * DATA_RE_PER_RB)
