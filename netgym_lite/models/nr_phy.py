"""NR (5G) PHY: 3GPP UMa path loss, SNR → CQI → MCS → bits per OFDM symbol over the whole band.

Sources and choices:
- Path loss: 3GPP TR 38.901 Table 7.4.1-1, UMa. LOS: PL1 = 28 + 22·log10(d3D) + 20·log10(fc) up to the
  breakpoint d'BP = 4·h'BS·h'UT·fc/c (h' = h − 1 m effective environment height), PL2 = 28 + 40·log10(d3D) +
  20·log10(fc) − 9·log10(d'BP² + (hBS − hUT)²) beyond it. NLOS: max(PL_LOS, 13.54 + 39.08·log10(d3D) +
  20·log10(fc) − 0.6·(hUT − 1.5)). fc in GHz, distances in m; d2D is clamped below at 10 m (the formula's range).
- LOS probability: TR 38.901 Table 7.4.2-1, UMa with hUT ≤ 13 m: 1 up to d2D = 18 m, else
  18/d2D + exp(−d2D/63)·(1 − 18/d2D). Each (user, gNB) pair draws one uniform number per session and is in LOS
  while the draw is below that probability (a pair that turns NLOS walking away stays NLOS further out: path
  loss is monotone in distance for a fixed pair). ``los_model`` "los"/"nlos" fixes the condition instead.
- Spectral efficiencies: TS 38.214 Table 5.2.2.1-2 (4-bit CQI table 1, up to 64QAM) and Table 5.1.3.1-1 (MCS
  index table 1 for PDSCH: Qm × R/1024), the 64QAM tables of ns-3 5G-LENA's default error models.
- SNR → CQI → MCS: :mod:`.amc` (5G-LENA's NrAmc "ShannonModel", the same gap as LTE's AMC; CQI table 1 equals
  LTE's); a CQI maps to the highest MCS of the table below not above its efficiency.
- Resource grid: PRBs for the bandwidth and subcarrier spacing from TS 38.101-1 Table 5.3.2-1 (20 MHz: 106
  PRBs at 15 kHz, 51 at 30 kHz); 14 symbols per slot, 1 of them PDCCH (5G-LENA's DL control symbols), so 13
  data symbols; 11 data REs per PRB per symbol (12 subcarriers minus one for DMRS/reference signals, as
  5G-LENA's NrAmc payload size). Slot length 1 ms / 2^numerology (TS 38.211 §4.3.2).
- Power spread evenly over the PRBs; noise per PRB over 12 × SCS; isotropic antennas (NetworkGym's scenario).
"""

from __future__ import annotations

import math

import numpy as np

from ..config_types import NR_LOS_MODELS, NR_PRB_TABLE
from ..core.jit import kernel
from .amc import mcs_from_sinr
from .channel import noise_dbm

# TS 38.214 Table 5.1.3.1-1: MCS 0..28 modulation order Qm and target code rate R × 1024.
_MCS_QM = np.array([2] * 10 + [4] * 7 + [6] * 12, np.float64)
_MCS_R1024 = np.array(
    [120, 157, 193, 251, 308, 379, 449, 526, 602, 679, 340, 378, 434, 490, 553, 616, 658, 438, 466, 517, 567,
     616, 666, 719, 772, 822, 873, 910, 948], np.float64
)
MCS_EFFICIENCY = _MCS_QM * _MCS_R1024 / 1024.0
SYMBOLS_PER_SLOT = 14
DATA_SYMBOLS_PER_SLOT = 13  # one PDCCH symbol
DATA_RE_PER_PRB_SYMBOL = 11  # 12 subcarriers minus one reference subcarrier
SUBCARRIERS_PER_PRB = 12
SPEED_OF_LIGHT_MPS = 299_792_458.0
MIN_D2D_M = 10.0  # lower end of the UMa formulas' range
PRB_TABLE = NR_PRB_TABLE  # TS 38.101-1 Table 5.3.2-1 (config_types: the config validates against it)
LOS_3GPP, LOS_ALWAYS, NLOS_ALWAYS = 0, 1, 2
LOS_MODELS = dict(zip(NR_LOS_MODELS, (LOS_3GPP, LOS_ALWAYS, NLOS_ALWAYS), strict=True))


def subcarrier_spacing_khz(numerology: int) -> int:
    """SCS = 15 kHz · 2^μ (TS 38.211 §4.2)."""
    return 15 * 2**numerology


def slot_ms(numerology: int) -> float:
    """Slot length: 1 ms / 2^μ (TS 38.211 §4.3.2, 14 symbols per slot, normal cyclic prefix)."""
    return 1.0 / 2**numerology


def prb_count(bandwidth_mhz: int, numerology: int) -> int:
    """PRBs of a channel (TS 38.101-1 Table 5.3.2-1); KeyError when the pair is not in the table."""
    return PRB_TABLE[subcarrier_spacing_khz(numerology)][bandwidth_mhz]


def noise_per_prb_dbm(numerology: int, noise_figure_db: float) -> float:
    """Thermal noise over one PRB (12 subcarriers) plus the receiver noise figure."""
    return noise_dbm(SUBCARRIERS_PER_PRB * subcarrier_spacing_khz(numerology) * 1e3, noise_figure_db)


@kernel(inline="always")
def los_probability(d2d_m: float) -> float:
    """UMa LOS probability for user heights ≤ 13 m (TR 38.901 Table 7.4.2-1)."""
    if d2d_m <= 18.0:
        return 1.0
    return 18.0 / d2d_m + math.exp(-d2d_m / 63.0) * (1.0 - 18.0 / d2d_m)


@kernel
def uma_path_loss_db(d2d_m: float, h_bs_m: float, h_ut_m: float, fc_ghz: float, los: bool) -> float:
    """TR 38.901 UMa path loss (dB), LOS or NLOS (see module docstring)."""
    d2d = max(d2d_m, MIN_D2D_M)
    d3d = math.sqrt(d2d * d2d + (h_bs_m - h_ut_m) ** 2)
    h_bs_eff = max(h_bs_m - 1.0, 0.1)
    h_ut_eff = max(h_ut_m - 1.0, 0.1)
    d_bp = 4.0 * h_bs_eff * h_ut_eff * fc_ghz * 1e9 / SPEED_OF_LIGHT_MPS
    f_term = 20.0 * math.log10(fc_ghz)
    if d2d <= d_bp:
        pl_los = 28.0 + 22.0 * math.log10(d3d) + f_term
    else:
        pl_los = 28.0 + 40.0 * math.log10(d3d) + f_term - 9.0 * math.log10(d_bp * d_bp + (h_bs_m - h_ut_m) ** 2)
    if los:
        return pl_los
    pl_nlos = 13.54 + 39.08 * math.log10(d3d) + f_term - 0.6 * (h_ut_m - 1.5)
    return max(pl_los, pl_nlos)


@kernel
def bits_per_symbol(snr_db: float, prbs: int) -> int:
    """Bits one OFDM data symbol carries over all ``prbs`` PRBs at this per-PRB SNR (0 when out of range)."""
    mcs = mcs_from_sinr(snr_db, MCS_EFFICIENCY)
    if mcs < 0:
        return 0
    return int(MCS_EFFICIENCY[mcs] * DATA_RE_PER_PRB_SYMBOL * prbs)


def max_rate_mbps(bits_per_symbol_: int | np.ndarray, numerology: int) -> np.ndarray:
    """Downlink rate with every data symbol of every slot (Mbps)."""
    return np.asarray(bits_per_symbol_) * DATA_SYMBOLS_PER_SLOT / (slot_ms(numerology) * 1000.0)
