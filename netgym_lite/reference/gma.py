"""GMA convergence layer of the SimPy reference (docs/models.md "GMA"): the fixed per-user split with the
accumulator rule, per-user sequence numbers and per-link sequence numbers (LSN), and the receiver's
reordering with per-link loss detection and a timeout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator

import numpy as np
import simpy

from netgym_lite.config_types import LINK_LTE, LINK_NR, LINK_WIFI
from netgym_lite.errors import ActionError, field_error
from netgym_lite.reference.common import Packet

NUM_LINKS = 3  # per-link sequence numbers for Wi-Fi, LTE and NR (the last unused without gNBs)

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
    B consecutive packets go to Wi-Fi). Every packet also gets a per-user per-link sequence number (LSN);
    the sender remembers which GMA sequence number went with each LSN, which the receiver looks up
    (:meth:`take_link_seq`) to tell which packets a jump in a link's LSNs proves lost.
    """

    def __init__(self, units: np.ndarray, split_burst: int, nr_units: np.ndarray | None = None) -> None:
        self.units = np.asarray(units, dtype=np.int64)
        # Three links (a scenario with gNBs): per-link accumulators, smooth weighted round robin (docs/models.md
        # "GMA"): each packet every link's accumulator grows by its units, the largest (first in Wi-Fi, NR,
        # LTE order on ties) takes the packet and gives back B.
        self.nr_units = None if nr_units is None else np.asarray(nr_units, dtype=np.int64)
        self.link_acc = np.zeros((len(self.units), NUM_LINKS), dtype=np.int64)
        self.burst = int(split_burst)
        n = len(self.units)
        self.acc = np.zeros(n, dtype=np.int64)
        self.next_seq = np.zeros(n, dtype=np.int64)
        self.next_lsn = np.zeros((n, NUM_LINKS), dtype=np.int64)
        # (user, link) -> {LSN: GMA sequence number} of packets the receiver has not passed yet on that link.
        self._lsn_to_seq: list[list[dict[int, int]]] = [[{} for _ in range(NUM_LINKS)] for _ in range(n)]

    def new_sequence(self, user: int) -> int:
        """The next GMA sequence number of ``user``."""
        seq = int(self.next_seq[user])
        self.next_seq[user] += 1
        return seq

    def choose_link(self, user: int) -> int:
        """Apply the accumulator rule for one packet of ``user``; returns LINK_WIFI, LINK_LTE (or LINK_NR)."""
        if self.nr_units is not None:
            shares = {LINK_WIFI: self.units[user], LINK_NR: self.nr_units[user],
                      LINK_LTE: self.burst - self.units[user] - self.nr_units[user]}
            best = -1
            for link in (LINK_WIFI, LINK_NR, LINK_LTE):
                self.link_acc[user, link] += shares[link]
                if best < 0 or self.link_acc[user, link] > self.link_acc[user, best]:
                    best = link
            self.link_acc[user, best] -= self.burst
            return best
        self.acc[user] += self.units[user]
        if self.acc[user] >= self.burst:
            self.acc[user] -= self.burst
            return LINK_WIFI
        return LINK_LTE

    def new_link_sequence(self, user: int, link: int, seq: int) -> int:
        """The next LSN of ``user`` on ``link``, for the packet with GMA sequence number ``seq``."""
        lsn = int(self.next_lsn[user, link])
        self.next_lsn[user, link] += 1
        self._lsn_to_seq[user][link][lsn] = seq
        return lsn

    def take_link_seq(self, user: int, link: int, lsn: int) -> int:
        """The GMA sequence number sent with ``lsn`` on ``link`` (each LSN is looked up at most once: the
        receiver's per-link cursor only moves forward, so the entry is forgotten)."""
        return self._lsn_to_seq[user][link].pop(lsn)


class Reorderer:
    """The GMA receiver of one user (one SimPy process: the reordering timer).

    docs/models.md "GMA", as the core's ``models/gma_reorder.py`` does it:

    - Per-link loss detection: each link is FIFO, so a packet arriving on link l with LSN k while LSN j < k
      was expected proves LSNs j..k−1 of l lost; their GMA sequence numbers ≥ ``next_expected`` are marked
      lost, and the in-order release passes over lost numbers at once, without waiting.
    - Release: a packet older than ``next_expected`` is released at once; otherwise it is held, then the run
      of held / lost numbers from ``next_expected`` is released.
    - Timer: after an arrival, the timer is (re)started at now + timeout when ``next_expected`` advanced or no
      timer was running (it stops when nothing is held); otherwise the running deadline stays.
    - Expiry: ``next_expected`` skips the missing and known-lost numbers up to the next held packet, the
      run from there is released, and the timer restarts (at expiry + timeout) if packets remain held.

    ``take_link_seq(link, lsn)`` maps an LSN of this user back to its GMA sequence number (the sender's
    record); ``None`` disables loss detection (packets then need no LSN).
    """

    def __init__(self, env: simpy.Environment, timeout_ms: float,
                 release: Callable[[Packet, float], None],
                 take_link_seq: Callable[[int, int], int] | None = None) -> None:
        self.env = env
        self.timeout_ms = float(timeout_ms)
        self.release = release  # called as release(pkt, now)
        self.take_link_seq = take_link_seq
        self.next_expected = 0
        self.held: dict[int, Packet] = {}
        self.lost: set[int] = set()  # GMA numbers ≥ next_expected known lost (never arriving)
        self.link_next = [0] * NUM_LINKS  # next LSN expected per link
        self.deadline = math.inf  # when the timer expires (inf: not running)
        self.skips = 0  # timer expiries that skipped a gap
        self.lost_marked = 0  # GMA numbers marked lost by an LSN jump
        self._wake: simpy.Event | None = None
        env.process(self._timer())

    def on_arrival(self, pkt: Packet) -> None:
        """``pkt`` reached the UE (over either link) now."""
        if self.take_link_seq is not None:
            self._mark_link_losses(pkt.link, pkt.lsn)
        before = self.next_expected
        if pkt.seq < self.next_expected:
            self.release(pkt, self.env.now)  # late (its gap was already skipped): at once
        else:
            self.held[pkt.seq] = pkt
        self._release_run()
        if self.next_expected != before or self.deadline == math.inf:
            self._restart_timer()

    def _mark_link_losses(self, link: int, lsn: int) -> None:
        """LSNs ``link_next[link]`` .. ``lsn − 1`` of ``link`` were lost; the arriving one is consumed too."""
        for missing in range(self.link_next[link], lsn):
            seq = self.take_link_seq(link, missing)
            if seq >= self.next_expected:
                self.lost.add(seq)
                self.lost_marked += 1
        if lsn >= self.link_next[link]:
            self.take_link_seq(link, lsn)
            self.link_next[link] = lsn + 1

    def _release_run(self) -> None:
        """Release held packets (and pass lost numbers) continuing the sequence from ``next_expected``."""
        while True:
            nxt = self.next_expected
            if nxt in self.held:
                self.release(self.held.pop(nxt), self.env.now)
            elif nxt in self.lost:
                self.lost.remove(nxt)
            else:
                return
            self.next_expected = nxt + 1

    def _restart_timer(self) -> None:
        """Deadline now + timeout while packets are held, none otherwise; wake the timer if it sleeps."""
        self.deadline = self.env.now + self.timeout_ms if self.held else math.inf
        if self.deadline != math.inf and self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _expire(self) -> None:
        """Stop waiting: skip to the next held packet, release the run, restart the timer."""
        if not self.held:  # cannot happen (the deadline is inf then); kept for safety
            self.deadline = math.inf
            return
        self.next_expected = min(self.held)
        self.lost = {seq for seq in self.lost if seq >= self.next_expected}
        self.skips += 1
        self._release_run()
        self._restart_timer()

    def _timer(self) -> Generator[simpy.Event, None, None]:
        """Sleep until the deadline (it only moves later while we sleep: re-check on waking), then expire."""
        while True:
            if self.deadline == math.inf:
                self._wake = self.env.event()
                yield self._wake
                self._wake = None
            elif self.deadline > self.env.now + _EPS_MS:
                yield self.env.timeout(self.deadline - self.env.now)
            else:
                self._expire()

    @property
    def num_held(self) -> int:
        """Packets waiting in the reordering buffer."""
        return len(self.held)
