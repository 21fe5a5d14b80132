"""LTE downlink MAC: per-TTI resource allocation with RAN slicing, RLC segmentation, fixed processing delay.

Every 1 ms TTI the eNB hands its resource block groups (RBGs, TS 36.213 §7.1.6.1) out one by one: to the
user with the highest proportional-fair metric r_u / R̄_u (Jalali et al., VTC 2000; R̄ an EWMA over ~100
TTIs as ns-3's PfFfMacScheduler), or round robin, within the slice rules of :func:`_rbg_user` (without
slicing there is one slice whose shared cap is every RBG). Only users with unscheduled bytes compete, so a light user
frees RBGs for the others. Bytes leave the queue head (RLC UM segments a packet across TTIs); a packet whose
last byte goes in TTI t reaches the UE at t + 1 ms + ``lte_proc_delay_ms`` (HARQ/processing pipeline).
With uplink data the TTI grants the uplink instead (:func:`_uplink_tti`).
"""

from __future__ import annotations

from ..core.events import EV_LTE_TTI, EV_UE_ARRIVAL, schedule
from ..core.jit import kernel
from ..core.state import SCHED_PF, uplink_data
from .rlc import PDCP_SDU_OVERHEAD_BYTES, air_deliver, rlc_enqueue, rlc_transmit, rlc_unscheduled_bytes

LINK_LTE = 1
PF_WINDOW_TTIS = 100.0
UL_MIN_RBS = 3  # ns-3's PfFfMacScheduler: no uplink grant below 3 RBs (so at most RBs/3 UEs per TTI)
__all__ = ["PDCP_SDU_OVERHEAD_BYTES", "lte_enqueue", "on_lte_delivery", "on_lte_tti"]


@kernel(inline="always")
def lte_enqueue(s, p, pid: int) -> None:
    """A packet reaches the eNB: into the user's RLC buffer, or dropped when it would overflow."""
    rlc_enqueue(s, pid, LINK_LTE, s.q_lte_head_left, p.lte_rlc_bytes)


@kernel(inline="always")
def _pick_user(s, p, only_slice: int, skip_slice: int, shared: bool) -> int:
    """The next user for one RBG among users with unscheduled bytes: PF metric or round robin, high-priority
    flows (``user_prio``) before the others.

    ``only_slice`` ≥ 0 restricts the choice to that slice, ``skip_slice`` ≥ 0 excludes one; ``shared``
    excludes slices that already took their shared-RBG cap in this TTI.
    """
    best = -1
    best_metric = 0.0
    best_prio = 0
    for user in range(p.num_users):
        if s.lte_tti_left[user] <= 0.0 or s.lte_bits_per_rb[user] <= 0:
            continue
        sl = p.user_slice[user]
        if (only_slice >= 0 and sl != only_slice) or sl == skip_slice:
            continue
        if shared and s.lte_slice_shared[sl] >= s.lte_slice_rbg[sl, 2]:
            continue
        if p.lte_scheduler == SCHED_PF:
            metric = s.lte_tti_metric[user]  # constant within the TTI: computed once by on_lte_tti
        else:
            metric = -float(s.lte_rr_last[user])
        prio = s.user_prio[user]  # high-priority flows first (dynamic flow prioritisation), then the metric
        if best < 0 or prio > best_prio or (prio == best_prio and metric > best_metric):
            best = user
            best_metric = metric
            best_prio = prio
    return best


@kernel(inline="always")
def _rbg_user(s, p, kind: int, owner: int) -> int:
    """Who gets one RBG of a kind: dedicated (0) serves only its slice; prioritized (1) serves its slice
    first and is lent to the others when that slice has no data left; shared (2) anyone under their cap."""
    if kind == 0:
        return _pick_user(s, p, owner, -1, False)
    if kind == 1:
        user = _pick_user(s, p, owner, -1, False)
        if user < 0:
            user = _pick_user(s, p, -1, owner, False)
        return user
    user = _pick_user(s, p, -1, -1, True)
    if user >= 0:
        s.lte_slice_shared[p.user_slice[user]] += 1
    return user


@kernel(inline="always")
def on_lte_delivery(s, p, t_ms: float, user: int, count: int) -> None:
    """The packets one TTI finished for a user reach the UE (in order), then the owed TCP ACK leaves."""
    air_deliver(s, p, t_ms, user, count, s.lte_air_buf, s.lte_air_head, s.lte_air_len)


@kernel
def _uplink_tti(s, p, t_ms: float) -> None:
    """One uplink TTI, as ns-3's PfFfMacScheduler grants the uplink: the RBs split equally among the UEs with
    data, at least ``UL_MIN_RBS`` each, handed out round robin from where the last TTI stopped (the RBs left
    over stay idle; a grant larger than the UE's data is not passed on). ``lte_rr_clock[0]`` keeps the next
    user to serve (the downlink's round-robin clock, unused with uplink data)."""
    active = 0
    for user in range(p.num_users):
        if s.q_length[user, LINK_LTE] > 0 and s.lte_bits_per_rb[user] > 0:
            active += 1
    if active == 0:
        return
    rbs_each = max(UL_MIN_RBS, p.lte_rbs // active)
    rb = 0
    user = s.lte_rr_clock[0] % p.num_users
    for _ in range(p.num_users):
        if rb + rbs_each > p.lte_rbs:
            break
        if s.q_length[user, LINK_LTE] > 0 and s.lte_bits_per_rb[user] > 0:
            rb += rbs_each
            s.st_rbs[user] += rbs_each
            s.lte_tti_bits[user] = s.lte_bits_per_rb[user] * rbs_each
            rlc_transmit(s, user, s.lte_tti_bits[user] // 8, LINK_LTE, s.q_lte_head_left, s.lte_air_buf,
                         s.lte_air_head, s.lte_air_len, t_ms + 1.0 + p.lte_proc_delay_ms, EV_UE_ARRIVAL)
        user = user + 1 if user + 1 < p.num_users else 0
    s.lte_rr_clock[0] = user


@kernel(inline="always")
def on_lte_tti(s, p, t_ms: float) -> None:
    """One TTI: allocate RBGs, transmit, update the PF averages, schedule the next TTI."""
    if uplink_data(p):
        _uplink_tti(s, p, t_ms)
        schedule(s, t_ms + 1.0, EV_LTE_TTI, 0, 0)
        return
    waiting = 0  # users with bytes not yet scheduled in this TTI
    for user in range(p.num_users):
        s.lte_tti_bits[user] = 0
        s.lte_tti_left[user] = 0.0
        if s.q_length[user, LINK_LTE] > 0:
            s.lte_tti_left[user] = rlc_unscheduled_bytes(s, user, LINK_LTE, s.q_lte_head_left)
            if s.lte_tti_left[user] > 0.0 and s.lte_bits_per_rb[user] > 0:
                waiting += 1
                if p.lte_scheduler == SCHED_PF:
                    # PF metric r_u / R̄_u: neither changes before the TTI ends, so one division per user per
                    # TTI instead of one per RBG
                    rate = s.lte_bits_per_rb[user] * p.lte_rbs
                    s.lte_tti_metric[user] = rate / max(s.lte_pf_avg_bits[user], 1e-9)
    if waiting > 0:
        # RBGs are handed out in order: every slice's dedicated block, then every slice's prioritized block,
        # then the shared rest (design.md §6; caps beyond the cell's RBGs simply run out of RBGs)
        for sl in range(p.num_slices):
            s.lte_slice_shared[sl] = 0
        kind = 0
        owner = 0
        block_left = s.lte_slice_rbg[0, 0]
        rb = 0
        # PF: the metrics stay put within a TTI and an RBG changes only its user's bytes left and its slice's
        # shared count, so the last RBG's user is again the pick for an RBG of the same kind and owner while it
        # still qualifies (the others' standing is unchanged): no scan over the users for that RBG.
        last_user = -1
        last_kind = -1
        last_owner = -1
        while rb < p.lte_rbs and waiting > 0:
            while kind < 2 and block_left <= 0:
                owner += 1
                if owner == p.num_slices:
                    owner = 0
                    kind += 1
                block_left = s.lte_slice_rbg[owner, kind] if kind < 2 else 0
            block_left -= 1
            nrb = min(p.lte_rbg_size, p.lte_rbs - rb)
            rb += nrb
            if (p.lte_scheduler == SCHED_PF and last_user >= 0 and kind == last_kind and owner == last_owner
                    and s.lte_tti_left[last_user] > 0.0
                    and (kind < 2 or s.lte_slice_shared[p.user_slice[last_user]]
                         < s.lte_slice_rbg[p.user_slice[last_user], 2])):
                user = last_user
                if kind == 2:
                    s.lte_slice_shared[p.user_slice[user]] += 1  # as _rbg_user counts a shared RBG
            else:
                user = _rbg_user(s, p, kind, owner)
            last_user = user
            if user < 0:
                continue  # a dedicated RBG whose slice has no data stays idle
            last_kind = kind
            last_owner = owner
            bits = s.lte_bits_per_rb[user] * nrb
            s.lte_tti_bits[user] += bits
            s.lte_tti_left[user] -= bits / 8.0
            if s.lte_tti_left[user] <= 0.0:
                waiting -= 1
            s.st_rbs[user] += nrb
            s.lte_rr_clock[0] += 1  # round robin is per RBG: the next RBG goes to someone else
            s.lte_rr_last[user] = s.lte_rr_clock[0]
        for user in range(p.num_users):
            if s.lte_tti_bits[user] > 0:
                rlc_transmit(s, user, s.lte_tti_bits[user] // 8, LINK_LTE, s.q_lte_head_left, s.lte_air_buf,
                             s.lte_air_head, s.lte_air_len, t_ms + 1.0 + p.lte_proc_delay_ms, EV_UE_ARRIVAL)
    alpha = 1.0 / PF_WINDOW_TTIS
    for user in range(p.num_users):
        s.lte_pf_avg_bits[user] = (1.0 - alpha) * s.lte_pf_avg_bits[user] + alpha * s.lte_tti_bits[user]
    schedule(s, t_ms + 1.0, EV_LTE_TTI, 0, 0)
