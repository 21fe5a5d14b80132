"""LTE of the SimPy reference (docs/models.md "LTE"): per-user RLC byte buffers with tail drop and one
SimPy process running the 1 ms TTIs with the RBG-by-RBG PF or RR scheduler; a packet whose last byte is
scheduled in TTI t reaches the UE at t + 1 ms (TTI) + 2 ms (processing).

Formulas come from :mod:`netgym_lite.models.channel` and :mod:`netgym_lite.models.lte_phy` (reused).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator

import numpy as np
import simpy

from netgym_lite.config_types import ScenarioConfig
from netgym_lite.errors import ConfigError, field_error
from netgym_lite.models.channel import snr_db
from netgym_lite.models.lte import PDCP_SDU_OVERHEAD_BYTES
from netgym_lite.models.lte_phy import RB_BANDWIDTH_HZ, bits_per_rb, rbg_size
from netgym_lite.reference.common import DelayLine, Packet, Recorder

TTI_MS = 1.0
PROCESSING_MS = 2.0
PF_WINDOW_TTIS = 100.0  # avg ← (1 − 1/100)·avg + (1/100)·served bits
PF_MIN_AVG = 1e-9
SCHEDULERS = ("pf", "rr")


def lte_snr_db(cfg: ScenarioConfig, user_xyz: np.ndarray, shadow_db: np.ndarray) -> np.ndarray:
    """Per-RB SNR (dB) of every user to eNB 0: power spread over all RBs, noise over 180 kHz."""
    lte = cfg.lte
    enb = cfg.lte_enb_locations[0]
    dist = np.linalg.norm(user_xyz - np.array([enb.x, enb.y, enb.z]), axis=1)
    per_rb_power = lte.tx_power_dbm - 10.0 * math.log10(lte.resource_block_num)
    return snr_db(dist, per_rb_power, RB_BANDWIDTH_HZ, lte.noise_figure_db, lte.path_loss.exponent,
                  lte.path_loss.reference_loss_db, lte.path_loss.reference_distance_m, shadow_db)


class RlcBuffers:
    """Per-user RLC byte buffers at a base station (LTE eNB or NR gNB), shared by both cells: tail drop on
    arrival, bytes taken from the head by the scheduler, finished packets onto the air (``self.air``).

    The cell sets ``env``, ``recorder``, ``buffer_bytes``, ``queues``, ``stored_bytes``, ``unscheduled_bytes``,
    ``air`` and ``deliver``.
    """

    env: simpy.Environment
    recorder: Recorder
    buffer_bytes: int
    queues: list[deque[Packet]]
    stored_bytes: np.ndarray
    unscheduled_bytes: np.ndarray
    air: DelayLine
    deliver: Callable[[Packet], None]

    def enqueue(self, pkt: Packet) -> None:
        """A packet reached the base station from the backhaul: RLC tail drop, or append to the user's buffer."""
        u = pkt.user
        air = pkt.size + PDCP_SDU_OVERHEAD_BYTES  # payload + IP/UDP + PDCP headers (docs/models.md "LTE")
        if self.stored_bytes[u] + air > self.buffer_bytes:
            self.recorder.on_drop(pkt, self.env.now)
            return
        pkt.remaining = air
        self.queues[u].append(pkt)
        self.stored_bytes[u] += air
        self.unscheduled_bytes[u] += air

    def _to_ue(self, pkt: Packet) -> None:
        pkt.t_arrival = self.env.now
        self.deliver(pkt)

    def _take_bytes(self, user: int, nbytes: int) -> None:
        """Schedule ``nbytes`` whole bytes from the head of ``user``'s buffer; packets whose last byte is
        scheduled leave the buffer for the air (RLC UM segmentation: a packet may span TTIs or slots)."""
        q = self.queues[user]
        while nbytes > 0 and q:
            head = q[0]
            take = min(nbytes, head.remaining)
            head.remaining -= take
            nbytes -= take
            self.unscheduled_bytes[user] -= take
            if head.remaining <= 0:
                self.stored_bytes[user] -= head.size + PDCP_SDU_OVERHEAD_BYTES
                self.air.put(q.popleft())

    @property
    def in_buffer(self) -> np.ndarray:
        """Packets per user still in the RLC buffer (including a partly scheduled head)."""
        return np.array([len(q) for q in self.queues], dtype=np.int64)


class LteCell(RlcBuffers):
    """The eNB: RLC buffers and the TTI process.

    As the core (``models/lte.py``):
    - RLC fill level = the full size of every packet in the buffer, a partly scheduled head included; a
      packet is tail-dropped when fill + size would exceed ``rlc_buffer_bytes``.
    - In a TTI the scheduler sees each user's *unscheduled* bytes (the head's remainder plus the rest); an
      RBG given to a user lowers them by the RBG's bits/8 and the user competes while they are > 0.
    - After the RBGs are assigned, each user's TTI bits are turned into ⌊bits/8⌋ whole bytes taken from the
      queue head (RLC UM segmentation: a packet may span TTIs).
    - PF's ``served_bits_u`` is the capacity of the RBGs the user was given in the TTI (even when its
      buffer empties part-way through the last one).
    A packet arriving exactly at a TTI instant is seen by that TTI if SimPy processes its arrival first
    (FIFO order at equal times).
    """

    def __init__(self, env: simpy.Environment, cfg: ScenarioConfig, user_xyz: np.ndarray,
                 shadow_db: np.ndarray, deliver: Callable[[Packet], None], recorder: Recorder) -> None:
        lte = cfg.lte
        scheduler = lte.scheduler.lower()
        if scheduler not in SCHEDULERS:
            raise field_error(ConfigError, "lte.scheduler", lte.scheduler, "'pf' or 'rr'")
        self.env = env
        self.recorder = recorder
        self.scheduler = scheduler
        n = len(user_xyz)
        self.num_rbs = int(lte.resource_block_num)
        self.buffer_bytes = int(lte.rlc_buffer_bytes)
        self.snr_db = lte_snr_db(cfg, user_xyz, shadow_db)
        self.bits_per_rb = np.array([bits_per_rb(float(s), self.num_rbs) for s in self.snr_db], dtype=np.int64)
        # PF's rate_u: the full-cell rate (bits per TTI with all RBs).
        self.full_rate_bits = self.bits_per_rb * self.num_rbs
        size = rbg_size(self.num_rbs)
        self.rbg_sizes = [size] * (self.num_rbs // size) + ([self.num_rbs % size] if self.num_rbs % size else [])
        # RAN slices (docs/models.md "LTE"): each RBG's kind and owner, in the order they are handed out —
        # every slice's dedicated block, every slice's prioritized block, then the shared rest.
        self.user_slice = np.array(cfg.slice_of_user, dtype=np.int64)
        caps = cfg.slice_rbg_caps
        self.shared_caps = [c[2] for c in caps]
        order = [(kind, sl) for kind in (0, 1) for sl, c in enumerate(caps) for _ in range(c[kind])]
        self.rbg_kinds = (order + [(2, -1)] * len(self.rbg_sizes))[:len(self.rbg_sizes)]
        self.queues: list[deque[Packet]] = [deque() for _ in range(n)]
        self.stored_bytes = np.zeros(n, dtype=np.int64)  # RLC fill level: full sizes of buffered packets
        self.unscheduled_bytes = np.zeros(n, dtype=np.int64)  # bytes not yet scheduled
        self.avg_bits = np.zeros(n)  # PF average served bits per TTI
        self.last_served = np.full(n, -1, dtype=np.int64)  # RR: stamp of the user's last RBG
        self._rbg_stamp = 0
        self.rbs_used = np.zeros(n, dtype=np.int64)
        # TTI (1 ms) + eNB/UE processing (2 ms) between scheduling a packet's last byte and the UE.
        self.air = DelayLine(env, TTI_MS + PROCESSING_MS, self._to_ue, n)
        self.deliver = deliver
        env.process(self._run())

    def _choose(self, candidates: list[int]) -> int:
        """The user given the next RBG (ties: lowest index)."""
        if self.scheduler == "pf":
            # PF metric rate_u / max(avg_u, 1e-9); avg is only updated after the TTI.
            return max(candidates, key=lambda u: (self.full_rate_bits[u] / max(self.avg_bits[u], PF_MIN_AVG), -u))
        # RR: the user served least recently, "served" meaning given an RBG (stamps count RBG assignments;
        # never served = −1), so RR rotates RBG by RBG within a TTI. (The core stamps the TTI index instead,
        # so within a TTI its ties go to the lowest index: a known difference, not aligned.)
        return min(candidates, key=lambda u: (self.last_served[u], u))

    def _schedule_tti(self) -> None:
        """One TTI, RBG by RBG (docs/models.md "LTE", scheduler), then the transmission and PF update."""
        n = len(self.queues)
        tti_bits = np.zeros(n, dtype=np.int64)
        left = self.unscheduled_bytes.astype(np.float64)  # unscheduled bytes as the RBGs are handed out
        shared_used = [0] * len(self.shared_caps)
        for rbs, (kind, owner) in zip(self.rbg_sizes, self.rbg_kinds, strict=True):
            waiting = [u for u in range(n) if left[u] > 0.0 and self.bits_per_rb[u] > 0]
            if not waiting:
                break
            if kind == 2:  # shared: anyone whose slice is under its shared cap
                candidates = [u for u in waiting if shared_used[self.user_slice[u]] < self.shared_caps[self.user_slice[u]]]
            else:  # dedicated / prioritized: the owner slice first; prioritized ones are lent when it is idle
                candidates = [u for u in waiting if self.user_slice[u] == owner]
                if not candidates and kind == 1:
                    candidates = waiting
            if not candidates:
                continue  # an idle dedicated RBG (or every slice at its shared cap)
            u = self._choose(candidates)
            if kind == 2:
                shared_used[self.user_slice[u]] += 1
            if self.scheduler == "rr":
                self.last_served[u] = self._rbg_stamp
                self._rbg_stamp += 1
            bits = int(self.bits_per_rb[u]) * rbs
            tti_bits[u] += bits
            left[u] -= bits / 8.0
            self.rbs_used[u] += rbs
        for u in range(n):
            if tti_bits[u] > 0:
                self._take_bytes(u, int(tti_bits[u]) // 8)
        # PF average over ~100 TTIs of the bits allocated, updated for every user after every TTI.
        self.avg_bits = (1.0 - 1.0 / PF_WINDOW_TTIS) * self.avg_bits + tti_bits / PF_WINDOW_TTIS

    def _run(self) -> Generator[simpy.Event, None, None]:
        """TTIs at t = 0, 1, 2, … ms."""
        while True:
            self._schedule_tti()
            yield self.env.timeout(TTI_MS)
