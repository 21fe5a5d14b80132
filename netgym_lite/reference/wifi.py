"""Wi-Fi of the SimPy reference (docs/models.md "Wi-Fi"): association, ideal rate control, per-user AP
queues with tail drop, and one SimPy process per channel carrying TXOPs with A-MPDUs, start-time byte-fair
user selection and Bianchi collisions between APs sharing a channel.

Formulas come from :mod:`netgym_lite.models.channel` and :mod:`netgym_lite.models.wifi_phy` (reused, not
re-derived).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator

import numpy as np
import simpy

from netgym_lite.config_types import ScenarioConfig
from netgym_lite.models.channel import snr_db
from netgym_lite.models.wifi_phy import (
    CW_MIN,
    MAX_PPDU_US,
    MPDU_OVERHEAD_BYTES,
    best_rate_mbps,
    min_snr_table_db,
    phy_rate_table_mbps,
    txop_overhead_us,
)
from netgym_lite.reference.common import Packet, Recorder

MAX_AMPDU_PACKETS = 64  # docs/models.md "Wi-Fi": count ≤ 64
# Bianchi's saturated per-slot access probability without backoff stages: τ = 2 / (CWmin + 2) = 2/17.
TAU = 2.0 / (CW_MIN + 2.0)


def wifi_snr_db(cfg: ScenarioConfig, user_xyz: np.ndarray, shadow_db: np.ndarray) -> np.ndarray:
    """SNR (dB) of every (user, AP) pair over the whole channel width (docs/models.md "Channel")."""
    w = cfg.wifi
    ap_xyz = np.array([[p.x, p.y, p.z] for p in cfg.wifi_ap_locations], dtype=np.float64).reshape(-1, 3)
    dist = np.linalg.norm(user_xyz[:, None, :] - ap_xyz[None, :, :], axis=2)
    return snr_db(dist, w.tx_power_dbm, w.channel_width_mhz * 1e6, w.noise_figure_db, w.path_loss.exponent,
                  w.path_loss.reference_loss_db, w.path_loss.reference_distance_m, shadow_db)


class WifiNetwork:
    """All APs: association, rates, per-user queues and the ``served_bytes`` virtual-time counters.

    A packet stays at its queue's head while its TXOP is on the air (it still occupies a queue slot);
    it leaves the queue when the TXOP ends successfully (a collided TXOP leaves it queued).
    Users with rate 0 (out of range) are never served; they do not count as backlogged anywhere.
    """

    def __init__(self, env: simpy.Environment, cfg: ScenarioConfig, user_xyz: np.ndarray,
                 shadow_db: np.ndarray, rng: np.random.Generator, deliver: Callable[[Packet], None],
                 recorder: Recorder) -> None:
        w = cfg.wifi
        self.env = env
        self.deliver = deliver
        self.recorder = recorder
        self.rng = rng
        n = len(user_xyz)
        self.capacity_packets = int(w.ap_queue_packets)
        self.max_ampdu_bytes = int(w.max_ampdu_bytes)
        self.overhead_us = txop_overhead_us(w.standard)
        # Association: the AP with the highest received power. All APs use the same power, noise and
        # bandwidth, so that is the highest SNR; ties go to the lowest AP index (np.argmax).
        snr = wifi_snr_db(cfg, user_xyz, shadow_db)
        self.ap = np.argmax(snr, axis=1).astype(np.int64)
        rates, min_snr = phy_rate_table_mbps(w.standard, w.channel_width_mhz, w.spatial_streams), \
            min_snr_table_db(w.standard)
        # Ideal rate control: the fastest MCS whose minimum SNR the user's SNR meets (0 = out of range).
        self.rate_mbps = np.array([best_rate_mbps(float(snr[u, self.ap[u]]), rates, min_snr) for u in range(n)])
        self.snr_db = snr[np.arange(n), self.ap]
        num_aps = snr.shape[1]
        # With ap_share_same_band every AP is on channel 0, otherwise AP a has channel a.
        self.ap_channel = np.zeros(num_aps, dtype=np.int64) if w.ap_share_same_band else np.arange(num_aps)
        self.queues: list[deque[Packet]] = [deque() for _ in range(n)]
        self.served_bytes = np.zeros(n)
        num_channels = int(self.ap_channel.max()) + 1
        self.channels = [
            WifiChannel(self, c, [u for u in range(n) if self.ap_channel[self.ap[u]] == c])
            for c in range(num_channels)
        ]
        self.channel_of_user = [self.channels[self.ap_channel[self.ap[u]]] for u in range(n)]

    def backlogged(self, user: int) -> bool:
        """Whether ``user`` can be served: a non-empty queue and a rate > 0."""
        return bool(self.queues[user]) and self.rate_mbps[user] > 0.0

    def enqueue(self, pkt: Packet) -> None:
        """A packet reached the AP from the backhaul: tail drop at ``ap_queue_packets`` or join the FIFO."""
        q = self.queues[pkt.user]
        if len(q) >= self.capacity_packets:
            self.recorder.on_drop(pkt, self.env.now)
            return
        channel = self.channel_of_user[pkt.user]
        if not q and self.rate_mbps[pkt.user] > 0.0:
            # Start-time fair queueing: a newly backlogged user's counter is raised to the minimum counter
            # of the other backlogged users on its channel (docs/models.md "Wi-Fi", channel access).
            others = [self.served_bytes[v] for v in channel.users if v != pkt.user and self.backlogged(v)]
            if others:
                self.served_bytes[pkt.user] = max(self.served_bytes[pkt.user], min(others))
        q.append(pkt)
        channel.notify()


class WifiChannel:
    """One Wi-Fi channel (one SimPy process): idle, or carrying one TXOP."""

    def __init__(self, net: WifiNetwork, index: int, users: list[int]) -> None:
        self.net = net
        self.index = index
        self.users = users  # users associated with an AP on this channel
        self.busy = False
        self.txops = 0
        self.collisions = 0
        self._wake: simpy.Event | None = None
        net.env.process(self._run())

    def notify(self) -> None:
        """Wake the channel if it idles: a TXOP starts immediately when some user becomes backlogged."""
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _pick(self) -> tuple[int, int]:
        """The backlogged user with the smallest ``served_bytes`` (ties: lowest index; −1 if none) and the
        number of distinct APs on this channel with backlog."""
        net = self.net
        best, aps = -1, set()
        for u in self.users:
            if net.backlogged(u):
                aps.add(int(net.ap[u]))
                if best < 0 or net.served_bytes[u] < net.served_bytes[best]:
                    best = u
        return best, len(aps)

    def _ampdu(self, user: int) -> tuple[int, int, int]:
        """A-MPDU from the queue head: (packets, Σ payload bytes, Σ (payload + MPDU overhead) bytes) while
        count ≤ 64 and Σ(size + 70) ≤ min(max_ampdu_bytes, rate·5484 µs / 8); at least one packet."""
        net = self.net
        limit = min(net.max_ampdu_bytes, net.rate_mbps[user] * MAX_PPDU_US / 8.0)
        count, payload, air = 0, 0, 0
        for pkt in net.queues[user]:
            mpdu = pkt.size + MPDU_OVERHEAD_BYTES
            if count >= MAX_AMPDU_PACKETS or (count >= 1 and air + mpdu > limit):
                break
            count += 1
            payload += pkt.size
            air += mpdu
        return count, payload, air

    def _run(self) -> Generator[simpy.Event, None, None]:
        net, env = self.net, self.net.env
        while True:
            user, n_aps = self._pick()
            if user < 0:
                self.busy = False
                self._wake = env.event()
                yield self._wake
                self._wake = None
                continue
            self.busy = True
            count, payload, air = self._ampdu(user)
            # Contention: with n ≥ 2 backlogged APs on the channel the TXOP collides with probability
            # 1 − (1 − τ)^(n − 1) (docs/models.md "Wi-Fi", contention).
            collided = n_aps >= 2 and net.rng.random() < 1.0 - (1.0 - TAU) ** (n_aps - 1)
            # Duration = overhead + Σ(size + 70)·8 / rate µs (rate in Mbps = bits per µs).
            duration_us = net.overhead_us + air * 8.0 / net.rate_mbps[user]
            self.txops += 1
            yield env.timeout(duration_us / 1000.0)
            if collided:
                self.collisions += 1  # occupied the channel, delivered nothing: packets stay queued
                continue
            q = net.queues[user]
            for _ in range(count):  # all packets of the A-MPDU reach the UE at the TXOP's end
                pkt = q.popleft()
                pkt.t_arrival = env.now
                net.deliver(pkt)
            net.served_bytes[user] += payload
