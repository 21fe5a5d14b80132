"""The event loop: ``run_until`` pops events in time order and hands each to its model;
``run_interval`` wraps it with what happens at an interval boundary (split update, mobility, radio).

Promise: after ``run_until(s, p, t_end)`` every event with time < ``t_end`` has been handled, none later;
``s.clock[0] == t_end``. Events at exactly ``t_end`` belong to the next interval. The loop is one numba
function, so Python is entered once per call, never per event.
"""

from __future__ import annotations

from ..models.gma_default import apply_split
from ..models.gma_reorder import on_reorder_timeout
from ..models.gma_split import link_arrival
from ..models.lte import on_lte_delivery, on_lte_tti
from ..models.mobility import move_users
from ..models.nr import on_nr_delivery, on_nr_slot
from ..models.qos_steer import apply_steering, on_qos_test, update_priorities
from ..models.radio import update_radio
from ..models.tcp import on_tcp_ack, on_tcp_pace, on_tcp_rto
from ..models.tcp_receiver import count_ack_arrival
from ..models.traffic import on_udp_arrival
from ..models.wifi import on_txop_end
from .events import (
    ACK_LINK_SHIFT,
    ACK_SEGMENTS_SHIFT,
    EV_LINK_ARRIVAL,
    EV_LTE_TTI,
    EV_NR_SLOT,
    EV_NR_UE_ARRIVAL,
    EV_QOS_TEST,
    EV_REORDER_TIMEOUT,
    EV_TCP_ACK,
    EV_TCP_PACE,
    EV_TCP_RTO,
    EV_UDP_ARRIVAL,
    EV_UE_ARRIVAL,
    EV_WIFI_TXOP_END,
    next_time,
    pop,
)
from .jit import kernel

USER_MASK = (1 << ACK_LINK_SHIFT) - 1


@kernel
def run_until(s, p, t_end_ms: float) -> None:
    """Handle every pending event with time < ``t_end_ms`` (see module docstring)."""
    while next_time(s) < t_end_ms:
        t, kind, a, b = pop(s)
        s.clock[0] = t
        if kind == EV_LINK_ARRIVAL:
            link_arrival(s, p, t, a)
        elif kind == EV_UE_ARRIVAL:
            on_lte_delivery(s, p, t, a, b)
        elif kind == EV_WIFI_TXOP_END:
            on_txop_end(s, p, t, a)
        elif kind == EV_LTE_TTI:
            on_lte_tti(s, p, t)
        elif kind == EV_UDP_ARRIVAL:
            on_udp_arrival(s, p, t, a)
        elif kind == EV_TCP_ACK:
            segments = a >> ACK_SEGMENTS_SHIFT
            if segments > 0:  # a real ACK (0 = the kick that starts a download)
                count_ack_arrival(s, p, t, a & USER_MASK, (a >> ACK_LINK_SHIFT) & 3)
            on_tcp_ack(s, p, t, a & USER_MASK, b, segments)
        elif kind == EV_TCP_RTO:
            on_tcp_rto(s, p, t, a)
        elif kind == EV_REORDER_TIMEOUT:
            on_reorder_timeout(s, p, t, a)
        elif kind == EV_QOS_TEST:
            on_qos_test(s, p, t)
        elif kind == EV_TCP_PACE:
            on_tcp_pace(s, p, t, a)
        elif kind == EV_NR_SLOT:
            on_nr_slot(s, p, t)
        elif kind == EV_NR_UE_ARRIVAL:
            on_nr_delivery(s, p, t, a, b)
    s.clock[0] = t_end_ms


@kernel
def run_interval(s, p, action_units, apply_action: bool, move_ms: float, t_end_ms: float) -> None:
    """One measurement interval: the new split or steering (agent's units, −1 = system default), users move
    and the radio is re-evaluated for the interval, flow priorities are set, then every event before
    ``t_end_ms`` runs."""
    if apply_action:
        if p.qos_steer:
            apply_steering(s, p, action_units, s.clock[0])
        else:
            apply_split(s, p, action_units)
    move_users(s, p, move_ms)
    update_radio(s, p, False)
    if p.dfp:
        update_priorities(s, p)
    run_until(s, p, t_end_ms)
