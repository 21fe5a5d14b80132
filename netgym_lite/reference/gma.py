"""GMA convergence layer of the SimPy reference (docs/models.md "GMA"): the fixed per-user split with the
accumulator rule, per-user sequence numbers, and the receiver's reordering with a timeout.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator

import numpy as np
import simpy

from netgym_lite.config_types import LINK_LTE, LINK_WIFI
from netgym_lite.errors import ActionError, field_error
from netgym_lite.reference.common import Packet

_EPS_MS = 1e-9  # float slack when comparing a wake-up time with its deadline


def wifi_units(wifi_share: np.ndarray | float, num_users: int, split_burst: int) -> np.ndarray:
    """Per-user Wi-Fi units k = round(s·B) of a share s ∈ [0, 1] (docs/models.md "GMA": "An action's share
    s becomes k = round(s·B)"; rounding half to even, as Python's ``round``)."""
    allowed = f"a scalar or {num_users} finite values in [0, 1]"
    try:
        shares = np.broadcast_to(np.asarray(wifi_share, dtype=np.float64), (num_users,)).copy()
    except (TypeError, ValueError):
        raise field_error(ActionError, "wifi_share", wifi_share, allowed) from None
    if not np.all(np.isfinite(shares)) or np.any(shares < 0.0) or np.any(shares > 1.0):
        raise field_error(ActionError, "wifi_share", wifi_share, allowed)
    return np.rint(shares * split_burst).astype(np.int64)


class GmaSplitter:
    """The sender side: numbers each user's packets and picks their link.

    docs/models.md "GMA": per packet ``acc += k; if acc ≥ B: acc −= B → Wi-Fi else LTE`` (exactly k of any
    B consecutive packets go to Wi-Fi).
    """

    def __init__(self, units: np.ndarray, split_burst: int) -> None:
        self.units = np.asarray(units, dtype=np.int64)
        self.burst = int(split_burst)
        self.acc = np.zeros(len(self.units), dtype=np.int64)
        self.next_seq = np.zeros(len(self.units), dtype=np.int64)

    def new_sequence(self, user: int) -> int:
        """The next GMA sequence number of ``user``."""
        seq = int(self.next_seq[user])
        self.next_seq[user] += 1
        return seq

    def choose_link(self, user: int) -> int:
        """Apply the accumulator rule for one packet of ``user``; returns LINK_WIFI or LINK_LTE."""
        self.acc[user] += self.units[user]
        if self.acc[user] >= self.burst:
            self.acc[user] -= self.burst
            return LINK_WIFI
        return LINK_LTE


class Reorderer:
    """The GMA receiver of one user (one SimPy process: the reordering timer).

    docs/models.md "GMA": packets are released in sequence order; out-of-order packets wait until the gap is
    filled or ``timeout_ms`` after the first one waiting arrived, then the receiver skips to the next packet
    it holds (the missing ones are given up). A packet older than the next expected one is released at once.

    "The first one waiting" is read literally: the deadline is (earliest UE arrival among the packets held
    now) + timeout, so no packet waits in the buffer longer than the timeout. After a skip, remaining held
    packets whose own wait already reached the timeout trigger a further skip at the same instant.
    """

    def __init__(self, env: simpy.Environment, timeout_ms: float,
                 release: Callable[[Packet, float], None]) -> None:
        self.env = env
        self.timeout_ms = float(timeout_ms)
        self.release = release  # called as release(pkt, now)
        self.next_expected = 0
        self.held: dict[int, Packet] = {}
        # (arrival time, seq) of held packets in arrival order; entries of released packets are skipped
        # lazily. Arrivals are time-ordered, so the first live entry is the earliest waiting packet.
        self._arrivals: deque[tuple[float, int]] = deque()
        self._wake: simpy.Event | None = None
        env.process(self._timer())

    def on_arrival(self, pkt: Packet) -> None:
        """``pkt`` reached the UE (over either link) now."""
        seq = pkt.seq
        if seq < self.next_expected:
            self.release(pkt, self.env.now)  # late packet: at once
        elif seq == self.next_expected:
            self.release(pkt, self.env.now)
            self.next_expected += 1
            self._release_in_order()
        elif seq not in self.held:
            self.held[seq] = pkt
            self._arrivals.append((self.env.now, seq))
            if self._wake is not None and not self._wake.triggered:
                self._wake.succeed()

    def _release_in_order(self) -> None:
        """Release held packets continuing the sequence from ``next_expected``."""
        while self.next_expected in self.held:
            self.release(self.held.pop(self.next_expected), self.env.now)
            self.next_expected += 1

    def _deadline(self) -> float | None:
        """Time the earliest held packet's wait reaches the timeout (None if nothing is held)."""
        while self._arrivals and self._arrivals[0][1] not in self.held:
            self._arrivals.popleft()
        if not self._arrivals:
            return None
        return self._arrivals[0][0] + self.timeout_ms

    def _timer(self) -> Generator[simpy.Event, None, None]:
        """Sleep until the current deadline (it can only move later while we sleep), then skip the gap."""
        while True:
            deadline = self._deadline()
            if deadline is None:
                self._wake = self.env.event()
                yield self._wake
                self._wake = None
            elif deadline > self.env.now + _EPS_MS:
                yield self.env.timeout(deadline - self.env.now)
            else:
                self.next_expected = min(self.held)  # give up the missing packets before it
                self._release_in_order()

    @property
    def num_held(self) -> int:
        """Packets waiting in the reordering buffer."""
        return len(self.held)
