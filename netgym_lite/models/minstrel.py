"""Minstrel-HT rate control (Wi-Fi rate control "minstrel_ht"): each station's MCS learned from its own frames.

The algorithm of ns-3.44's MinstrelHtWifiManager (after Linux's minstrel_ht, https://lwn.net/Articles/376765/),
for one stream and one guard interval, in rate groups by channel width (20 MHz up to the configured width; a
narrower group gains 3 dB of SNR per halving). What it does, per station:

- Every A-MPDU is sent at the current best-throughput rate (at the start: the lowest rate of the lowest group).
- After a wait of 16 + 2 × (mean A-MPDU length) transmissions, one A-MPDU samples another rate from a
  per-station random table (10 columns), only if that rate is faster than the second-best one (slower rates:
  at most twice per interval, after 20 intervals unsampled); four samples right at the start (the first two
  spent on management frames, see :func:`start_txop`), at most 8 per group per interval. (ns-3's Minstrel-HT
  asks for sampling frames without aggregation, but ns-3.44 aggregates them all the same: its logs show
  A-MPDUs of 12-43 MPDUs at sample rates.)
- Every 50 ms (checked when a transmission is reported) each rate tried in the interval gets its success ratio
  folded into an EWMA (75 % old); its throughput is min(EWMA, 90 %) / (airtime of a 1200-byte frame), zero
  below 10 %; the best and second-best throughput and the most reliable rate are picked from all rates ever
  measured (a rate keeps its last estimate until tried again).
- An A-MPDU of which no MPDU arrives is retried down the multi-rate-retry chain (best, second best, most
  reliable rate, each a few times as the 6 ms retry budget allows; see :func:`txop_outcome`); its failed MPDUs
  stay queued.

MPDUs succeed independently with the probability of ``wifi_phy.mpdu_success_probability`` at the station's
SNR (its interval's SNR plus the group's gain), drawn from a stream of their own. With many saturated stations
each gets few transmissions, so its samples are far apart and its rate climbs slowly: the cause of ns-3's
falling Wi-Fi capacity with users (docs/fidelity.md). Departures from ns-3: one guard interval and stream
count (ns-3 also tries the others), the MPDUs of a partly failed A-MPDU that are lost are its last ones, and an
MPDU is never dropped for its retry count.

All per-station numbers live in one row of ``State.wifi_rc`` (columns below); the rate table in
``Params.wifi_rc_table``. The kernels take that row, the table and the MCS count rather than the State and
Params: every non-inlined call passing the whole State costs about a microsecond, 8x the bare simulation's time
per TXOP when a dozen such calls ran per A-MPDU.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.jit import kernel
from ..core.rng import STREAM_RATE_CONTROL, uniform
from . import wifi_phy

UPDATE_INTERVAL_MS = 50.0  # MinstrelHtWifiManager::UpdateStatistics
EWMA_LEVEL = 75  # ... ::EWMA (per cent of the old value kept)
SAMPLE_COLUMNS = 10  # ... ::SampleColumn
FRAME_BYTES = 1200  # ... ::PacketLength, the frame its throughput estimates assume
SAMPLES_PER_GROUP = 8  # samples allowed per group and interval
INITIAL_SAMPLE_TRIES = 4
RETRY_BUDGET_US = 6000.0  # the multi-rate-retry chain's time budget per rate

# Rows of Params.wifi_rc_table (one column per rate: group g, MCS m at column g * MCS + m)
RC_RATE = 0  # PHY rate (Mbps), 0 when the MCS is not allowed at the group's width
RC_SNR_GAIN = 1  # dB added to the station's SNR at the configured width (narrower group: less noise)
RC_S50 = 2  # SNR (dB) of 50 % MPDU error rate
RC_WIDTH = 3  # logistic width (dB) of the MPDU error rate
RC_FIRST_US = 4  # airtime of a 1200-byte frame with its preamble (ranks the rates)
RC_MPDU_US = 5  # airtime of one more 1200-byte MPDU in an A-MPDU
RC_ROWS = 6

# Columns of State.wifi_rc (one row per station): scalars, then per-rate blocks, then per-group sample
# cursors, then the sample table
C_MAX_TP = 0
C_MAX_TP2 = 1
C_MAX_PROB = 2
C_TX_RATE = 3  # the rate of the next transmission
C_SAMPLING = 4  # 1: the next transmission samples (one MPDU)
C_SAMPLE_WAIT = 5
C_SAMPLE_TRIES = 6
C_SAMPLE_COUNT = 7
C_SAMPLES_SLOW = 8
C_AVG_AMPDU = 9
C_AMPDU_MPDUS = 10
C_AMPDU_COUNT = 11
C_NEXT_UPDATE_MS = 12  # -1: the station has not sent yet
C_LONG_RETRY = 13
C_SAMPLE_GROUP = 14
C_SNR_DB = 15  # the station's SNR at the configured width (set by the radio model each interval)
NUM_SCALARS = 16
B_EWMA = 0  # EWMA success (per cent)
B_ATTEMPTS = 1  # MPDUs sent this interval
B_SUCCESSES = 2
B_SKIPPED = 3  # intervals without an attempt
B_SUCCESS_HIST = 4  # MPDUs ever received at the rate
B_THROUGHPUT = 5  # estimate, per cent / µs
NUM_BLOCKS = 6


def rate_table(standard: str, channel_width_mhz: int, spatial_streams: int) -> np.ndarray:
    """Params.wifi_rc_table: the rates of every group (20 MHz up to ``channel_width_mhz``), rows ``RC_*``."""
    widths = []
    w = 20
    while w <= channel_width_mhz:
        widths.append(w)
        w *= 2
    per = wifi_phy.per_curve_db(standard)
    symbol_us = wifi_phy.symbol_us(standard)
    preamble_us = wifi_phy.PREAMBLE_US[standard]
    columns = []
    for width in widths:
        rates = wifi_phy.phy_rate_table_mbps(standard, width, spatial_streams)
        valid = wifi_phy.valid_mcs(standard, width, spatial_streams)
        for mcs, rate in enumerate(rates):
            bits_per_symbol = rate * symbol_us
            # 16 service + 8 per byte + 6 tail bits, whole symbols (IEEE 802.11-2020 §21.4.3)
            first = preamble_us + math.ceil((16 + 8 * FRAME_BYTES + 6) / bits_per_symbol) * symbol_us
            columns.append((rate if valid[mcs] else 0.0, 10.0 * math.log10(channel_width_mhz / width),
                            per[mcs, 0], per[mcs, 1], first, 8.0 * FRAME_BYTES / rate))
    return np.array(columns, np.float64).T.copy()


def num_columns(num_rates: int, num_groups: int, num_mcs: int) -> int:
    return NUM_SCALARS + NUM_BLOCKS * num_rates + 2 * num_groups + num_mcs * SAMPLE_COLUMNS


def initial_state(num_users: int, table: np.ndarray, num_mcs: int, seed: int) -> np.ndarray:
    """State.wifi_rc before any transmission: every station at the lowest rate, four samples due, and its own
    random sample table (ns-3's InitSampleTable, quirks included: 0 marks a free slot though it is also a
    rate)."""
    num_rates = table.shape[1]
    groups = num_rates // num_mcs
    rc = np.zeros((num_users, num_columns(num_rates, groups, num_mcs)), np.float64)
    rc[:, C_SAMPLE_TRIES] = INITIAL_SAMPLE_TRIES
    rc[:, C_SAMPLE_COUNT] = SAMPLES_PER_GROUP * groups
    rc[:, C_AVG_AMPDU] = 1.0
    rc[:, C_NEXT_UPDATE_MS] = -1.0
    draws = np.random.default_rng(np.random.SeedSequence([seed, 0x4D494E53]))  # "MINS"
    base = NUM_SCALARS + NUM_BLOCKS * num_rates + 2 * groups
    for user in range(num_users):
        sample = np.zeros((num_mcs, SAMPLE_COLUMNS), np.int64)
        for col in range(SAMPLE_COLUMNS):
            for i in range(num_mcs):
                new = (i + int(draws.integers(0, num_mcs + 1))) % num_mcs
                while sample[new, col] != 0:
                    new = (new + 1) % num_mcs
                sample[new, col] = i
        rc[user, base:] = sample.ravel()
        # RateInit's SetNextSample moves the cursor from ns-3's group 0 (HT, unsupported by a VHT/HE station) to
        # the first supported group, our group 0, and advances that group's index: its first sample is row 1
        rc[user, NUM_SCALARS + NUM_BLOCKS * num_rates] = 1.0
    return rc


@kernel(inline="always")
def _blk(table, block: int, rate: int) -> int:
    return NUM_SCALARS + block * table.shape[1] + rate


@kernel(inline="always")
def _cursor(table, group: int) -> int:
    """Column of the group's sample cursor (index; its column follows)."""
    return NUM_SCALARS + NUM_BLOCKS * table.shape[1] + 2 * group


@kernel(inline="always")
def _rate_of(rc, col: int) -> int:
    return int(rc[col])


@kernel(inline="always")
def tx_rate_mbps(rc, table) -> float:
    """PHY rate of the station's next transmission (``rc``: its row of State.wifi_rc)."""
    return table[RC_RATE, int(rc[C_TX_RATE])]


@kernel(inline="always")
def _sampling(rc) -> bool:
    return rc[C_SAMPLING] > 0.0


@kernel
def _retry_count(rc, table, rate: int) -> int:
    """Attempts the multi-rate-retry chain gives a rate: 1 when it never worked, else 2 and more while the
    tries (A-MPDU airtime + Block Ack + doubling backoff) fit in 6 ms, at most 7 (CalculateRetransmits)."""
    if rc[_blk(table, B_EWMA, rate)] < 1.0:
        return 1
    ack_us = wifi_phy.SIFS_US + wifi_phy.BLOCK_ACK_US
    data_us = (table[RC_FIRST_US, rate]
               + table[RC_MPDU_US, rate] * (rc[C_AVG_AMPDU] - 1.0))
    cw = 15
    cw_us = (cw // 2) * wifi_phy.SLOT_US
    cw = min((cw + 1) * 2, wifi_phy.CW_MAX)
    cw_us += (cw // 2) * wifi_phy.SLOT_US
    cw = min((cw + 1) * 2, wifi_phy.CW_MAX)
    total_us = cw_us + 2.0 * (data_us + ack_us)
    count = 2
    while True:
        cw_us = (cw // 2) * wifi_phy.SLOT_US
        cw = min((cw + 1) * 2, wifi_phy.CW_MAX)
        total_us += cw_us + ack_us + data_us
        if total_us >= RETRY_BUDGET_US:
            break
        count += 1
        if count >= 7:
            break
    return count


@kernel
def _count_retries(rc, table) -> int:
    tp2 = _rate_of(rc, C_MAX_TP2)
    prob = _rate_of(rc, C_MAX_PROB)
    if _sampling(rc):
        return 1 + _retry_count(rc, table, tp2) + _retry_count(rc, table, prob)
    return (_retry_count(rc, table, _rate_of(rc, C_MAX_TP)) + _retry_count(rc, table, tp2)
            + _retry_count(rc, table, prob))


@kernel
def _next_in_chain(rc, table) -> None:
    """A whole A-MPDU failed: the next attempt's rate down the retry chain (UpdateRate)."""
    rc[C_LONG_RETRY] += 1.0
    retry = rc[C_LONG_RETRY]
    tp = _rate_of(rc, C_MAX_TP)
    tp2 = _rate_of(rc, C_MAX_TP2)
    if _sampling(rc):
        first = 1 + _retry_count(rc, table, tp2)
        rc[C_TX_RATE] = tp2 if retry < first else rc[C_MAX_PROB]
        return
    first = _retry_count(rc, table, tp)
    if retry < first:
        rc[C_TX_RATE] = tp
    elif retry < first + _retry_count(rc, table, tp2):
        rc[C_TX_RATE] = tp2
    else:
        rc[C_TX_RATE] = rc[C_MAX_PROB]


@kernel(inline="always")
def _throughput(table, rate: int, ewma: float) -> float:
    """Expected goodput of a rate (per cent per µs): none below 10 % success, success capped at 90 %."""
    if ewma < 10.0:
        return 0.0
    return min(ewma, 90.0) / table[RC_FIRST_US, rate]


@kernel
def _consider(rc, table, rate: int) -> None:
    """Rank a measured rate against the best two and the most reliable (SetBestStationThRates,
    SetBestProbabilityRate)."""
    ewma = rc[_blk(table, B_EWMA, rate)]
    th = rc[_blk(table, B_THROUGHPUT, rate)]
    tp = _rate_of(rc, C_MAX_TP)
    tp2 = _rate_of(rc, C_MAX_TP2)
    tp_th = rc[_blk(table, B_THROUGHPUT, tp)]
    tp2_th = rc[_blk(table, B_THROUGHPUT, tp2)]
    if th > tp_th or (th == tp_th and ewma > rc[_blk(table, B_EWMA, tp)]):
        rc[C_MAX_TP2] = tp
        rc[C_MAX_TP] = rate
    elif th > tp2_th or (th == tp2_th and ewma > rc[_blk(table, B_EWMA, tp2)]):
        rc[C_MAX_TP2] = rate
    prob = _rate_of(rc, C_MAX_PROB)
    if ewma > 75.0:
        if th > rc[_blk(table, B_THROUGHPUT, prob)]:
            rc[C_MAX_PROB] = rate
    elif ewma > rc[_blk(table, B_EWMA, prob)]:
        rc[C_MAX_PROB] = rate


@kernel
def _update_stats(rc, table, mcs: int, t_ms: float) -> None:
    """The 50 ms statistics update (UpdateStats)."""
    rc[C_NEXT_UPDATE_MS] = t_ms + UPDATE_INTERVAL_MS
    rc[C_SAMPLES_SLOW] = 0.0
    count = rc[C_AMPDU_COUNT]
    if count > 0.0:
        new_len = float(int(rc[C_AMPDU_MPDUS]) // int(count))
        avg = (new_len * (100 - EWMA_LEVEL) + rc[C_AVG_AMPDU] * EWMA_LEVEL) // 100  # integers
        rc[C_AVG_AMPDU] = avg
        rc[C_AMPDU_MPDUS] = 0.0
        rc[C_AMPDU_COUNT] = 0.0
    rc[C_MAX_TP] = 0.0
    rc[C_MAX_TP2] = 0.0
    rc[C_MAX_PROB] = 0.0
    num_rates = table.shape[1]
    groups = num_rates // mcs
    for rate in range(num_rates):
        if table[RC_RATE, rate] <= 0.0:
            continue
        attempts = rc[_blk(table, B_ATTEMPTS, rate)]
        if attempts > 0.0:
            rc[_blk(table, B_SKIPPED, rate)] = 0.0
            successes = rc[_blk(table, B_SUCCESSES, rate)]
            ratio = float((100 * int(successes)) // int(attempts))  # integer per cent, as ns-3
            if rc[_blk(table, B_SUCCESS_HIST, rate)] == 0.0:
                ewma = ratio
            else:
                ewma = (ratio * (100 - EWMA_LEVEL) + rc[_blk(table, B_EWMA, rate)] * EWMA_LEVEL) / 100.0
            rc[_blk(table, B_EWMA, rate)] = ewma
            rc[_blk(table, B_THROUGHPUT, rate)] = _throughput(table, rate, ewma)
            rc[_blk(table, B_SUCCESS_HIST, rate)] += successes
        else:
            rc[_blk(table, B_SKIPPED, rate)] += 1.0
        rc[_blk(table, B_ATTEMPTS, rate)] = 0.0
        rc[_blk(table, B_SUCCESSES, rate)] = 0.0
        if rc[_blk(table, B_THROUGHPUT, rate)] != 0.0:
            _consider(rc, table, rate)
    rc[C_SAMPLE_COUNT] = float(SAMPLES_PER_GROUP * groups)


@kernel
def _next_sample(rc, table, mcs: int) -> int:
    """The rate the sample table offers next; the cursor moves to the next group (GetNextSample)."""
    groups = table.shape[1] // mcs
    group = _rate_of(rc, C_SAMPLE_GROUP)
    cur = _cursor(table, group)
    index = int(rc[cur])
    col = int(rc[cur + 1])
    samples = _cursor(table, groups)  # the sample table follows the cursors
    rate = group * mcs + int(rc[samples + index * SAMPLE_COLUMNS + col])
    group = (group + 1) % groups
    rc[C_SAMPLE_GROUP] = group
    cur = _cursor(table, group)
    rc[cur] += 1.0
    if rc[cur] >= mcs:
        rc[cur] = 0.0
        rc[cur + 1] += 1.0
        if rc[cur + 1] >= SAMPLE_COLUMNS:
            rc[cur + 1] = 0.0
    return rate


@kernel
def _find_rate(rc, table, mcs: int) -> None:
    """Choose the next transmission's rate: a sample when one is due and worth it, else the best (FindRate)."""
    rc[C_TX_RATE] = rc[C_MAX_TP]
    if rc[C_SAMPLE_WAIT] == 0.0 and rc[C_SAMPLE_TRIES] != 0.0:
        rate = _next_sample(rc, table, mcs)
        ewma = rc[_blk(table, B_EWMA, rate)]
        tp = _rate_of(rc, C_MAX_TP)
        tp2 = _rate_of(rc, C_MAX_TP2)
        prob = _rate_of(rc, C_MAX_PROB)
        if table[RC_RATE, rate] > 0.0 and rate != tp and rate != tp2 and rate != prob and ewma <= 95.0:
            take = table[RC_FIRST_US, rate] < table[RC_FIRST_US, tp2]
            if not take:  # slower than the second best: sample it now and then
                rc[C_SAMPLES_SLOW] += 1.0
                take = rc[_blk(table, B_SKIPPED, rate)] >= 20.0 and rc[C_SAMPLES_SLOW] <= 2.0
            if take:
                rc[C_SAMPLING] = 1.0
                rc[C_SAMPLE_TRIES] -= 1.0
                rc[C_TX_RATE] = rate
                return
    if rc[C_SAMPLE_WAIT] > 0.0:
        rc[C_SAMPLE_WAIT] -= 1.0


@kernel
def start_txop(rc, table, mcs: int, t_ms: float) -> None:
    """Before a station's transmission. Its first data follows two acknowledged management frames that ns-3's
    Minstrel-HT counts as data sent at its current rate (measured in ns-3.44's logs): the association response
    (initialising the station, long before) and the Block Ack agreement's ADDBA request (now). So the first
    sample rate is credited with a success it never had, and the data starts on the second sample."""
    if rc[C_NEXT_UPDATE_MS] < 0.0:
        associated = t_ms - UPDATE_INTERVAL_MS
        rc[C_NEXT_UPDATE_MS] = associated + UPDATE_INTERVAL_MS
        report(rc, table, mcs, associated, 1, 0, False)
        report(rc, table, mcs, t_ms, 1, 0, False)


@kernel
def received_mpdus(rc, table, rng, mpdus: int, mpdu_bytes: float, collided: bool) -> int:
    """How many of the transmission's ``mpdus`` MPDUs arrive (independent draws at the rate's error rate; none
    when it collided)."""
    if collided:
        return 0
    rate = _rate_of(rc, C_TX_RATE)
    q = wifi_phy.mpdu_success_probability(rc[C_SNR_DB] + table[RC_SNR_GAIN, rate],
                                          table[RC_S50, rate], table[RC_WIDTH, rate],
                                          mpdu_bytes)
    if q >= 1.0 - 1e-12:
        return mpdus
    if q <= 1e-12:
        return 0
    ok = 0
    for _ in range(mpdus):
        if uniform(rng, STREAM_RATE_CONTROL) < q:
            ok += 1
    return ok


@kernel
def txop_outcome(rc, table, mcs: int, t_ms: float, mpdus: int, ok: int) -> None:
    """Tell rate control how the A-MPDU went. A lost one (no Block Ack) reaches ns-3's Minstrel-HT three times:
    as a failed data frame, then as an A-MPDU status of no success, then again when the Block Ack Request is
    answered; each step moves down the retry chain (and the last counts against the next rate)."""
    if ok > 0:
        report(rc, table, mcs, t_ms, ok, mpdus - ok, True)
        return
    if rc[C_LONG_RETRY] < _count_retries(rc, table):  # DoReportDataFailed
        rc[_blk(table, B_ATTEMPTS, _rate_of(rc, C_TX_RATE))] += 1.0
        _next_in_chain(rc, table)
    report(rc, table, mcs, t_ms, 0, mpdus, True)
    report(rc, table, mcs, t_ms, 0, mpdus, True)


@kernel
def report(rc, table, mcs: int, t_ms: float, ok: int, failed: int, aggregate: bool) -> None:
    """A transmission's outcome reaches rate control (DoReportAmpduTxStatus; ``aggregate`` False:
    DoReportDataOk for a single frame): count it, walk the retry chain if nothing arrived, else maybe update the
    statistics and choose the next rate."""
    rate = _rate_of(rc, C_TX_RATE)
    if aggregate:
        rc[C_AMPDU_COUNT] += 1.0
        rc[C_AMPDU_MPDUS] += ok + failed
    if (rc[C_SAMPLE_WAIT] == 0.0 and rc[C_SAMPLE_TRIES] == 0.0
            and rc[C_SAMPLE_COUNT] > 0.0):
        rc[C_SAMPLE_WAIT] = 16.0 + 2.0 * rc[C_AVG_AMPDU]
        rc[C_SAMPLE_TRIES] = 1.0
        rc[C_SAMPLE_COUNT] -= 1.0
    rc[_blk(table, B_SUCCESSES, rate)] += ok
    rc[_blk(table, B_ATTEMPTS, rate)] += ok + failed
    if ok == 0 and rc[C_LONG_RETRY] < _count_retries(rc, table):
        _next_in_chain(rc, table)
        return
    rc[C_SAMPLING] = 0.0
    rc[C_LONG_RETRY] = 0.0
    if t_ms >= rc[C_NEXT_UPDATE_MS]:
        _update_stats(rc, table, mcs, t_ms)
    _find_rate(rc, table, mcs)
