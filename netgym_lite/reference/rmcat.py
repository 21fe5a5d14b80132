"""SimPy reference of the rmcat bottleneck: paced senders with a fixed rate schedule, one drop-tail FIFO served at
the trace's piecewise-constant bandwidth, then the trace's propagation delay (the link of
:mod:`netgym_lite.models.rmcat`, without NADA and without random loss). Readable and slow: the oracle the numba
model is checked against. Never imports :mod:`netgym_lite.core` or a numba kernel.

Rules shared with the model (so the two runs are comparable packet by packet):

* flow k sends its first packet at ``start_ms[k]``, then one every ``packet_bits / rate`` ms; when the schedule
  changes the rate at an interval boundary b, the next packet leaves at max(b, last send + packet_bits / new rate);
* a packet arriving when ``queue_packets`` packets are in the FIFO (the one in service included) is dropped;
* service integrates the trace bandwidth over time; delivery = end of service + the trace delay at that time;
* interval i covers deliveries in (i·interval, (i+1)·interval].
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
import simpy

from netgym_lite.config_types import BandwidthTrace


@dataclass
class RmcatReferenceResult:
    """Per interval and flow: delivered bits, delivered packets and the sum of their one-way delays (ms)."""

    rx_bits: np.ndarray  # float64[intervals, flows]
    rx_pkts: np.ndarray
    owd_sum_ms: np.ndarray
    sent: np.ndarray  # int64[flows]
    dropped: np.ndarray


def _row(trace: BandwidthTrace, t_ms: float) -> int:
    return int(np.searchsorted(np.asarray(trace.time_ms), t_ms, side="right") - 1)


def run_rmcat_reference(trace: BandwidthTrace, rates_bps: Sequence[Sequence[float]], interval_ms: float,
                        packet_bytes: int = 1000, queue_packets: int = 100,
                        start_ms: Sequence[float] | None = None) -> RmcatReferenceResult:
    """Run ``len(rates_bps)`` intervals; ``rates_bps[i][k]`` is flow k's sending rate in interval i (bps).

    ``trace`` must start at 0 ms (as :mod:`netgym_lite.config_rmcat` normalises it); its loss column is ignored.
    """
    n_iv, n_flows = len(rates_bps), len(rates_bps[0])
    starts = list(start_ms) if start_ms is not None else [0.0] * n_flows
    bits = 8.0 * packet_bytes
    end_ms = n_iv * interval_ms
    env = simpy.Environment()
    fifo: simpy.Store = simpy.Store(env)
    busy = [False]
    out = RmcatReferenceResult(np.zeros((n_iv, n_flows)), np.zeros((n_iv, n_flows)), np.zeros((n_iv, n_flows)),
                               np.zeros(n_flows, np.int64), np.zeros(n_flows, np.int64))

    def rate_at(k: int, t_ms: float) -> float:
        return float(rates_bps[min(int(t_ms // interval_ms), n_iv - 1)][k])

    def source(k: int) -> Generator:
        yield env.timeout(starts[k])
        while env.now < end_ms:
            sent_at = env.now
            out.sent[k] += 1
            if len(fifo.items) + busy[0] >= queue_packets:
                out.dropped[k] += 1
            else:
                fifo.put((k, sent_at))
            planned = sent_at + bits / rate_at(k, sent_at) * 1000.0
            boundary = (sent_at // interval_ms + 1) * interval_ms
            while planned >= boundary:  # the new interval's rate re-times the next packet
                planned = max(boundary, sent_at + bits / rate_at(k, boundary) * 1000.0)
                boundary += interval_ms
            yield env.timeout(planned - env.now)

    def deliver(k: int, sent_at: float, delay_ms: float) -> Generator:
        yield env.timeout(delay_ms)
        i = int(np.ceil(env.now / interval_ms)) - 1  # (i·interval, (i+1)·interval]
        if 0 <= i < n_iv:
            out.rx_bits[i, k] += bits
            out.rx_pkts[i, k] += 1
            out.owd_sum_ms[i, k] += env.now - sent_at

    def server() -> Generator:
        while True:
            k, sent_at = yield fifo.get()
            busy[0] = True
            left = bits
            while left > 1e-9:  # serve at the trace's rate, segment by segment
                row = _row(trace, env.now)
                rate = trace.bw_kbps[row] * 1000.0
                seg_end = trace.time_ms[row + 1] if row + 1 < len(trace.time_ms) else np.inf
                need_ms = left / rate * 1000.0 if rate > 0 else np.inf
                if env.now + need_ms <= seg_end:
                    yield env.timeout(need_ms)
                    left = 0.0
                else:
                    left -= rate * (seg_end - env.now) / 1000.0
                    yield env.timeout(seg_end - env.now)
            busy[0] = False
            env.process(deliver(k, sent_at, trace.delay_ms[_row(trace, env.now)]))

    for k in range(n_flows):
        env.process(source(k))
    env.process(server())
    env.run(until=end_ms + 1e-9)
    return out
