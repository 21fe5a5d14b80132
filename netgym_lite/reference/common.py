"""Shared pieces of the SimPy reference model: the packet record, an event-counting SimPy environment,
a constant-delay FIFO line (backhaul, LTE TTI + processing) and the window statistics recorder.

Nothing here depends on the numba core; see :mod:`netgym_lite.reference` for the model's scope.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np
import simpy

from netgym_lite.config_types import LINK_NAMES


@dataclass(slots=True)
class Packet:
    """One downlink data packet (docs/models.md "Topology": sender → GMA → backhaul → queue → radio → UE)."""

    user: int
    seq: int  # per-user GMA sequence number (docs/models.md "GMA")
    size: int  # payload bytes (what throughput counts)
    t_entry: float  # time it entered GMA (ms): the origin of every owd
    link: int = -1  # LINK_WIFI, LINK_LTE or LINK_NR, set by the split
    lsn: int = -1  # per-user per-link sequence number (GMA's LSN), set with the link
    t_arrival: float = float("nan")  # arrival at the UE over its link (ms)
    remaining: int = 0  # LTE / NR: bytes not yet scheduled (RLC UM segmentation)


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (``events``: every timeout, process
    start/resume, store get/put and wake-up event taken off the event queue)."""

    def __init__(self, initial_time: float = 0.0) -> None:
        super().__init__(initial_time)
        self.events = 0

    def step(self) -> None:
        """Process the next event and count it."""
        self.events += 1
        super().step()


class DelayLine:
    """A constant-delay FIFO pipe (one SimPy process): an item put at t leaves at t + ``delay_ms`` and is
    handed to ``sink``. Used for link backhauls (docs/models.md "Topology") and the LTE 1 ms TTI + 2 ms
    processing delay (docs/models.md "LTE"). With a zero delay the item is handed over synchronously.

    ``in_transit[u]`` counts user u's packets currently inside the line (for packet conservation).
    """

    def __init__(self, env: simpy.Environment, delay_ms: float, sink: Callable[[Packet], None],
                 num_users: int) -> None:
        self.env = env
        self.delay_ms = float(delay_ms)
        self.sink = sink
        self.in_transit = np.zeros(num_users, dtype=np.int64)
        self._items: deque[tuple[float, Packet]] = deque()
        self._wake: simpy.Event | None = None
        if self.delay_ms > 0.0:
            env.process(self._run())

    def put(self, pkt: Packet) -> None:
        """Send ``pkt`` down the line now."""
        if self.delay_ms <= 0.0:
            self.sink(pkt)
            return
        self.in_transit[pkt.user] += 1
        self._items.append((self.env.now + self.delay_ms, pkt))
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _run(self) -> Generator[simpy.Event, None, None]:
        """Deliver items in FIFO order at their due times (constant delay keeps FIFO = due order)."""
        while True:
            if not self._items:
                self._wake = self.env.event()
                yield self._wake
                self._wake = None
                continue
            due, pkt = self._items[0]
            if due > self.env.now:
                yield self.env.timeout(due - self.env.now)
            self._items.popleft()
            self.in_transit[pkt.user] -= 1
            self.sink(pkt)


class Recorder:
    """Statistics of the measurement window [start, end) (ms).

    Which events count (all by the time the event happens):
    - sent / offered: packets **entering GMA** in the window;
    - per-link deliveries, bytes and owd: **arrivals at the UE** over the link in the window
      (owd = arrival − GMA entry, docs/models.md "GMA");
    - delivered, throughput and owd: **releases by the GMA receiver** (after reordering) in the window
      (owd = release − GMA entry);
    - drops: **tail drops** at the AP / eNB queue in the window.
    Whole-run totals (``total_*``) are kept as well for packet conservation.
    """

    def __init__(self, num_users: int, start_ms: float, end_ms: float, num_links: int = 2) -> None:
        n = num_users
        links = num_links  # Wi-Fi, LTE, and NR in a scenario with gNBs
        assert links <= len(LINK_NAMES)
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.sent_packets = np.zeros(n, dtype=np.int64)
        self.sent_bytes = np.zeros(n, dtype=np.int64)
        self.sent_link_packets = np.zeros((n, links), dtype=np.int64)
        self.released_packets = np.zeros(n, dtype=np.int64)
        self.released_bytes = np.zeros(n, dtype=np.int64)
        self.released_owd_sum = np.zeros(n)
        self.link_packets = np.zeros((n, links), dtype=np.int64)
        self.link_bytes = np.zeros((n, links), dtype=np.int64)
        self.link_owd_sum = np.zeros((n, links))
        self.dropped_packets = np.zeros((n, links), dtype=np.int64)
        self.total_sent = np.zeros(n, dtype=np.int64)
        self.total_sent_link = np.zeros((n, links), dtype=np.int64)
        self.total_link_arrivals = np.zeros((n, links), dtype=np.int64)
        self.total_released = np.zeros(n, dtype=np.int64)
        self.total_dropped = np.zeros((n, links), dtype=np.int64)

    def _in_window(self, t: float) -> bool:
        return self.start_ms <= t < self.end_ms

    def on_sent(self, pkt: Packet) -> None:
        """``pkt`` entered GMA (now = ``pkt.t_entry``) and was given its link."""
        self.total_sent[pkt.user] += 1
        self.total_sent_link[pkt.user, pkt.link] += 1
        if self._in_window(pkt.t_entry):
            self.sent_packets[pkt.user] += 1
            self.sent_bytes[pkt.user] += pkt.size
            self.sent_link_packets[pkt.user, pkt.link] += 1

    def on_drop(self, pkt: Packet, now: float) -> None:
        """``pkt`` was tail-dropped at its link's queue."""
        self.total_dropped[pkt.user, pkt.link] += 1
        if self._in_window(now):
            self.dropped_packets[pkt.user, pkt.link] += 1

    def on_link_arrival(self, pkt: Packet) -> None:
        """``pkt`` reached the UE over its link at ``pkt.t_arrival``."""
        self.total_link_arrivals[pkt.user, pkt.link] += 1
        if self._in_window(pkt.t_arrival):
            self.link_packets[pkt.user, pkt.link] += 1
            self.link_bytes[pkt.user, pkt.link] += pkt.size
            self.link_owd_sum[pkt.user, pkt.link] += pkt.t_arrival - pkt.t_entry

    def on_release(self, pkt: Packet, now: float) -> None:
        """The GMA receiver released ``pkt`` to the application."""
        self.total_released[pkt.user] += 1
        if self._in_window(now):
            self.released_packets[pkt.user] += 1
            self.released_bytes[pkt.user] += pkt.size
            self.released_owd_sum[pkt.user] += now - pkt.t_entry
