"""NR (5G) downlink MAC: per-slot TDMA round robin per gNB, RLC UM buffers, fixed processing pipeline.

Model of ns-3 5G-LENA's ``NrMacSchedulerTdmaRR``, the scheduler NetworkGym's scenario installs: in every slot
each gNB hands its data symbols out one at a time, each symbol carrying the whole band (all PRBs) to one user
(TDMA); the next symbol goes to the backlogged user with the fewest symbols so far in this slot (round robin;
ties to the user served longest ago), and users whose unscheduled bytes the symbols already cover are passed
over (5G-LENA's "enough resources" rule). So backlogged users get equal airtime whatever their channel, and a
light user frees symbols for the others. Bytes leave the RLC buffer head (segmentation across slots, shared with
LTE in ``rlc.py``); a packet whose last byte goes in slot t reaches the UE at t + slot + ``nr_proc_delay_ms``
(5G-LENA's L1L2 control latency of 2 slots plus its 100 µs transport-block decode latency). gNBs use separate
bands (as in NetworkGym's scenario), so they do not interfere. Each user is attached to its nearest gNB at the
start of the session and stays there (NetworkGym's scenario attaches by distance at installation, no handover).
"""

from __future__ import annotations

from ..core.events import EV_NR_SLOT, EV_NR_UE_ARRIVAL, schedule
from ..core.jit import kernel
from .nr_phy import DATA_SYMBOLS_PER_SLOT
from .rlc import air_deliver, rlc_enqueue, rlc_transmit, rlc_unscheduled_bytes

LINK_NR = 2


@kernel(inline="always")
def nr_enqueue(s, p, pid: int) -> None:
    """A packet reaches the gNB: into the user's RLC buffer, or dropped when it would overflow."""
    rlc_enqueue(s, pid, LINK_NR, s.q_nr_head_left, p.nr_rlc_bytes)


@kernel(inline="always")
def on_nr_delivery(s, p, t_ms: float, user: int, count: int) -> None:
    """The packets one slot finished for a user reach the UE (in order), then the owed TCP ACK leaves."""
    air_deliver(s, p, t_ms, user, count, s.nr_air_buf, s.nr_air_head, s.nr_air_len)


@kernel(inline="always")
def _next_symbol_user(s, p, gnb: int) -> int:
    """The user one data symbol of ``gnb`` goes to: fewest symbols in this slot, then served longest ago."""
    best = -1
    for user in range(p.num_users):
        if s.nr_gnb[user] != gnb or s.nr_slot_left[user] <= 0.0:
            continue
        if best < 0 or s.nr_slot_sym[user] < s.nr_slot_sym[best] or (
                s.nr_slot_sym[user] == s.nr_slot_sym[best] and s.nr_rr_last[user] < s.nr_rr_last[best]):
            best = user
    return best


@kernel
def on_nr_slot(s, p, t_ms: float) -> None:
    """One slot: every gNB hands out its data symbols, the users transmit, the next slot is scheduled."""
    waiting = 0
    for user in range(p.num_users):
        s.nr_slot_sym[user] = 0
        s.nr_slot_left[user] = 0.0
        if s.q_length[user, LINK_NR] > 0 and s.nr_bits_per_symbol[user] > 0:
            s.nr_slot_left[user] = rlc_unscheduled_bytes(s, user, LINK_NR, s.q_nr_head_left)
            if s.nr_slot_left[user] > 0.0:
                waiting += 1
    if waiting > 0:
        for gnb in range(p.num_gnbs):
            for _ in range(DATA_SYMBOLS_PER_SLOT):
                user = _next_symbol_user(s, p, gnb)
                if user < 0:
                    break  # every user of this gNB is covered: the rest of the slot stays idle
                s.nr_slot_sym[user] += 1
                s.nr_slot_left[user] -= s.nr_bits_per_symbol[user] / 8.0
                s.nr_rr_clock[0] += 1
                s.nr_rr_last[user] = s.nr_rr_clock[0]
        arrive_ms = t_ms + p.nr_slot_ms + p.nr_proc_delay_ms
        for user in range(p.num_users):
            if s.nr_slot_sym[user] > 0:
                s.st_nr_symbols[user] += s.nr_slot_sym[user]
                nbytes = s.nr_slot_sym[user] * s.nr_bits_per_symbol[user] // 8
                rlc_transmit(s, user, nbytes, LINK_NR, s.q_nr_head_left, s.nr_air_buf, s.nr_air_head,
                             s.nr_air_len, arrive_ms, EV_NR_UE_ARRIVAL)
    schedule(s, t_ms + p.nr_slot_ms, EV_NR_SLOT, 0, 0)
