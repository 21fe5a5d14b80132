"""Readable reference of the Wi-Fi "fq_codel" queues: FqCoDel (RFC 8290) with a CoDel queue per flow (RFC 8289)
feeding a shared MAC queue, step by step as ns-3.44's FqCoDelQueueDisc / CoDelQueueDisc / WifiMacQueue.

The numba kernels (``netgym_lite/models/fq_codel.py``) keep the same queues in flat arrays; tests drive both with
the same arrivals and departures and compare them packet for packet. Times are ms; a packet's queue-entry time is
kept in whole nanoseconds, as the kernels keep it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from ..models.fq_codel import (
    CODEL_INTERVAL_MS,
    CODEL_MIN_BYTES,
    CODEL_TARGET_MS,
    FQ_DROP_BATCH,
    FQ_LIMIT_PACKETS,
    FQ_QUANTUM_BYTES,
    MAC_MAX_DELAY_MS,
)


@dataclass
class Packet:
    pid: int
    user: int
    size: int
    t_ns: int = 0  # when it entered its current queue


def _ns(t_ms: float) -> int:
    return int(round(t_ms * 1e6))


@dataclass
class CoDelFlow:
    """One user's flow: a FIFO with CoDel's state."""

    packets: deque = field(default_factory=deque)
    nbytes: int = 0
    status: str = "inactive"  # "new" | "old" | "inactive": the DRR list the flow is on
    deficit: float = 0.0
    first_above_ms: float | None = None
    drop_next_ms: float = 0.0
    count: int = 0
    last_count: int = 0
    dropping: bool = False

    def _pop(self) -> Packet | None:
        if not self.packets:
            return None
        item = self.packets.popleft()
        self.nbytes -= item.size
        return item

    def _ok_to_drop(self, item: Packet | None, now_ms: float) -> bool:
        if item is None:
            self.first_above_ms = None
            return False
        sojourn_ms = now_ms - item.t_ns / 1e6
        if sojourn_ms < CODEL_TARGET_MS or self.nbytes < CODEL_MIN_BYTES:
            self.first_above_ms = None  # below the target: it must stay above for a whole interval again
            return False
        if self.first_above_ms is None:
            self.first_above_ms = now_ms + CODEL_INTERVAL_MS
            return False
        return now_ms > self.first_above_ms

    def dequeue(self, now_ms: float, dropped: list[Packet]) -> Packet | None:
        """CoDel's dequeue: the packet that leaves, after dropping those the control law asks for."""
        item = self._pop()
        if item is None:
            self.dropping = False
            return None
        ok = self._ok_to_drop(item, now_ms)
        if self.dropping:
            if not ok:
                self.dropping = False
            elif now_ms >= self.drop_next_ms:
                while self.dropping and now_ms >= self.drop_next_ms:
                    self.count += 1
                    dropped.append(item)
                    item = self._pop()
                    if not self._ok_to_drop(item, now_ms):
                        self.dropping = False
                    else:
                        self.drop_next_ms += CODEL_INTERVAL_MS / math.sqrt(self.count)
        elif ok:
            dropped.append(item)
            item = self._pop()
            self._ok_to_drop(item, now_ms)
            self.dropping = True
            delta = self.count - self.last_count
            if delta > 1 and now_ms - self.drop_next_ms < 16 * CODEL_INTERVAL_MS:
                self.count = delta
            else:
                self.count = 1
            self.last_count = self.count
            self.drop_next_ms = now_ms + CODEL_INTERVAL_MS / math.sqrt(self.count)
        return item


class FqCoDelMac:
    """One queue disc (FqCoDel over the users' flows) and the MAC queue it feeds (``mac_limit`` packets)."""

    def __init__(self, users: int, mac_limit: int) -> None:
        self.flows = [CoDelFlow() for _ in range(users)]
        self.new_flows: deque[int] = deque()
        self.old_flows: deque[int] = deque()
        self.mac = [deque() for _ in range(users)]  # per user, the packets in the MAC queue
        self.mac_limit = mac_limit
        self.dropped: list[Packet] = []

    # --- FqCoDel
    def _fq_packets(self) -> int:
        return sum(len(f.packets) for f in self.flows)

    def _overflow(self) -> None:
        fat = max(range(len(self.flows)), key=lambda u: (self.flows[u].nbytes, -u))  # ties: the lowest user
        flow = self.flows[fat]
        threshold = flow.nbytes // 2
        dropped_bytes = count = 0
        while flow.packets:
            item = flow._pop()
            self.dropped.append(item)
            dropped_bytes += item.size
            count += 1
            if count >= FQ_DROP_BATCH or dropped_bytes >= threshold:
                break

    def _dequeue(self, now_ms: float) -> Packet | None:
        while True:
            user = None
            while self.new_flows:
                u = self.new_flows[0]
                if self.flows[u].deficit <= 0:
                    self.flows[u].deficit += FQ_QUANTUM_BYTES
                    self.flows[u].status = "old"
                    self.old_flows.append(self.new_flows.popleft())
                else:
                    user = u
                    break
            while user is None and self.old_flows:
                u = self.old_flows[0]
                if self.flows[u].deficit <= 0:
                    self.flows[u].deficit += FQ_QUANTUM_BYTES
                    self.old_flows.rotate(-1)
                else:
                    user = u
            if user is None:
                return None
            flow = self.flows[user]
            item = flow.dequeue(now_ms, self.dropped)
            if item is not None:
                flow.deficit -= item.size
                return item
            if self.new_flows:  # it came from the new list: one more round on the old list
                flow.status = "old"
                self.old_flows.append(self.new_flows.popleft())
            else:
                flow.status = "inactive"
                self.old_flows.popleft()

    # --- the device
    def _fill(self, now_ms: float) -> None:
        while sum(len(m) for m in self.mac) < self.mac_limit:
            item = self._dequeue(now_ms)
            if item is None:
                return
            item.t_ns = _ns(now_ms)
            self.mac[item.user].append(item)

    def arrive(self, item: Packet, now_ms: float) -> None:
        """A packet reaches the transmitter."""
        flow = self.flows[item.user]
        if flow.status == "inactive":
            flow.status = "new"
            flow.deficit = FQ_QUANTUM_BYTES
            self.new_flows.append(item.user)
        item.t_ns = _ns(now_ms)
        flow.packets.append(item)
        flow.nbytes += item.size
        if self._fq_packets() > FQ_LIMIT_PACKETS:
            self._overflow()
        self._fill(now_ms)

    def transmitted(self, user: int, npkts: int, now_ms: float) -> list[Packet]:
        """The user's first ``npkts`` MAC packets were acknowledged: they leave; the queue disc refills."""
        sent = [self.mac[user].popleft() for _ in range(npkts)]
        self._fill(now_ms)
        return sent

    def expire(self, now_ms: float) -> None:
        """Drop the MAC packets older than MaxDelay (from each user's head), then refill."""
        expired = False
        for queue in self.mac:
            while queue and now_ms - queue[0].t_ns / 1e6 > MAC_MAX_DELAY_MS:
                self.dropped.append(queue.popleft())
                expired = True
        if expired:
            self._fill(now_ms)

    def fcfs_user(self) -> int:
        """The user whose oldest MAC packet is oldest (ties: the lowest user), -1 if the MAC queue is empty."""
        waiting = [u for u, q in enumerate(self.mac) if q]
        return min(waiting, key=lambda u: (self.mac[u][0].t_ns, u)) if waiting else -1
