"""NR (5G) of the SimPy reference (docs/models.md "NR"): per-user RLC byte buffers with tail drop at the gNBs
and one SimPy process running the slots, each gNB handing its data symbols out one by one (TDMA round robin:
fewest symbols in this slot first, then the user served longest ago, then the lowest index); a packet whose
last byte is scheduled in slot t reaches the UE after the slot plus the processing pipeline.

Formulas come from :mod:`netgym_lite.models.nr_phy` (reused); users attach to their nearest gNB.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator

import numpy as np
import simpy

from netgym_lite.config_types import ScenarioConfig
from netgym_lite.models import nr_phy
from netgym_lite.reference.common import DelayLine, Packet, Recorder
from netgym_lite.reference.lte import RlcBuffers

CTRL_LATENCY_SLOTS = 2  # 5G-LENA's L1L2CtrlLatency
TB_DECODE_MS = 0.1  # 5G-LENA's TbDecodeLatency


def nr_bits_per_symbol(cfg: ScenarioConfig, user_xyz: np.ndarray, los_draw: np.ndarray,
                       shadow_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest gNB, bits per data symbol over the band) of every user (docs/models.md "NR", PHY)."""
    nr = cfg.nr
    gnbs = np.array([[g.x, g.y, g.z] for g in cfg.nr_gnb_locations], dtype=np.float64)
    prbs = nr_phy.prb_count(nr.bandwidth_mhz, nr.numerology)
    per_prb_dbm = nr.tx_power_dbm - 10.0 * math.log10(prbs)
    noise = nr_phy.noise_per_prb_dbm(nr.numerology, nr.noise_figure_db)
    attach = np.argmin(np.linalg.norm(user_xyz[:, None, :] - gnbs[None, :, :], axis=2), axis=1)
    bits = np.zeros(len(user_xyz), dtype=np.int64)
    for u, g in enumerate(attach):
        d2d = math.hypot(user_xyz[u, 0] - gnbs[g, 0], user_xyz[u, 1] - gnbs[g, 1])
        los = {"3gpp": los_draw[u, g] < nr_phy.los_probability(d2d), "los": True, "nlos": False}[nr.los_model]
        pl = nr_phy.uma_path_loss_db(d2d, gnbs[g, 2], user_xyz[u, 2], nr.frequency_ghz, los)
        bits[u] = nr_phy.bits_per_symbol(per_prb_dbm - pl - shadow_db[u, g] - noise, prbs)
    return attach.astype(np.int64), bits


class NrCells(RlcBuffers):
    """Every gNB of the scenario: RLC buffers (as :class:`~netgym_lite.reference.lte.LteCell`'s) and the slot
    process. Symbols are handed out one at a time per gNB; each gives the user all PRBs for one symbol; a user
    competes while its unscheduled bytes are > 0; after the slot each user's symbols' bits become ⌊bits/8⌋
    whole bytes from its buffer head."""

    def __init__(self, env: simpy.Environment, cfg: ScenarioConfig, user_xyz: np.ndarray, los_draw: np.ndarray,
                 shadow_db: np.ndarray, deliver: Callable[[Packet], None], recorder: Recorder) -> None:
        self.env = env
        self.recorder = recorder
        n = len(user_xyz)
        self.num_gnbs = len(cfg.nr_gnb_locations)
        self.slot_ms = nr_phy.slot_ms(cfg.nr.numerology)
        self.buffer_bytes = int(cfg.nr.rlc_buffer_bytes)
        self.gnb, self.bits_per_symbol = nr_bits_per_symbol(cfg, user_xyz, los_draw, shadow_db)
        self.queues: list[deque[Packet]] = [deque() for _ in range(n)]
        self.stored_bytes = np.zeros(n, dtype=np.int64)
        self.unscheduled_bytes = np.zeros(n, dtype=np.int64)
        self.last_served = np.zeros(n, dtype=np.int64)  # stamp of the user's last symbol (0 = never)
        self._stamp = 0
        self.symbols_used = np.zeros(n, dtype=np.int64)
        self.air = DelayLine(env, self.slot_ms * (1 + CTRL_LATENCY_SLOTS) + TB_DECODE_MS, self._to_ue, n)
        self.deliver = deliver
        env.process(self._run())

    def _schedule_slot(self) -> None:
        n = len(self.queues)
        left = self.unscheduled_bytes.astype(np.float64)
        symbols = np.zeros(n, dtype=np.int64)
        for g in range(self.num_gnbs):
            for _ in range(nr_phy.DATA_SYMBOLS_PER_SLOT):
                waiting = [u for u in range(n) if self.gnb[u] == g and left[u] > 0.0 and self.bits_per_symbol[u] > 0]
                if not waiting:
                    break
                u = min(waiting, key=lambda v: (symbols[v], self.last_served[v], v))
                symbols[u] += 1
                left[u] -= self.bits_per_symbol[u] / 8.0
                self._stamp += 1
                self.last_served[u] = self._stamp
        for u in range(n):
            if symbols[u] > 0:
                self.symbols_used[u] += symbols[u]
                self._take_bytes(u, int(symbols[u] * self.bits_per_symbol[u]) // 8)

    def _run(self) -> Generator[simpy.Event, None, None]:
        """Slots at t = 0, slot, 2·slot, … ms."""
        while True:
            self._schedule_slot()
            yield self.env.timeout(self.slot_ms)
