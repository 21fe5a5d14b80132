"""QoS steering (NetworkGym's ``qos_steer``): whole flows on one link, QoS tests, prohibit timers, priorities.

GMA's QoS-aware steering as design.md §6 describes it, modelled at flow level:

* Every flow runs on one link at a time (Wi-Fi first). Every ``test_duration_ms`` (a test window) each flow is
  tested on its current link: it **passes** when packets were delivered, at most ``delay_violation_target`` of
  them exceeded ``delay_bound_ms`` and at most ``loss_target`` of the packets sent were dropped (counted over
  the window). A failed test makes that link **prohibited** for the user for ``qos_prohibit_ms`` (5 s).
* The agent's action (per user: 0 = LTE, 1 = Wi-Fi) applies at the interval boundary; a move onto a prohibited
  link is refused (the flow stays; counted in ``qos_blocked``).
* The system default (users without an action this interval), at each window end: a flow that failed on its
  link moves to the other link if that link passed its last test or is not prohibited (not failed within the
  prohibit period) and is in coverage.
* Dynamic flow prioritisation (``enable_dynamic_flow_prioritization``): at each interval boundary a share
  f ~ U[0.7, 0.9] (drawn once per session) of each link's flows, in user order, is marked high priority; on LTE a
  flow is admitted as high priority only while the cell's high-priority load Σ rate_u / capacity_u stays ≤ 1
  (admission control, capacity_u = the user's full-cell rate). Both MACs serve high-priority flows first.
"""

from __future__ import annotations

import math

from ..core.events import EV_QOS_TEST, schedule
from ..core.jit import kernel

LINK_WIFI = 0
LINK_LTE = 1
# qos_win_base columns
_SENT, _DELIVERED, _DROPPED, _OVER = 0, 1, 2, 3


@kernel(inline="always")
def current_link(s, p, user: int) -> int:
    """The link carrying the user's flow (steering moves whole flows: the split is all or nothing)."""
    return LINK_WIFI if 2 * s.wifi_units[user] >= p.split_burst else LINK_LTE


@kernel(inline="always")
def _link_usable(s, user: int, link: int) -> bool:
    if link == LINK_WIFI:
        return s.wifi_rate_mbps[user] > 0.0
    return s.lte_bits_per_rb[user] > 0


@kernel(inline="always")
def _move(s, p, user: int, link: int) -> None:
    s.wifi_units[user] = p.split_burst if link == LINK_WIFI else 0
    s.qos_moves[user] += 1


@kernel
def apply_steering(s, p, action_units, t_ms: float) -> None:
    """Interval boundary: the agent's link per user (units ≥ 0: half the burst or more = Wi-Fi), refused onto a
    prohibited link; users without an action (−1) are left to the system default until the next boundary."""
    for user in range(p.num_users):
        if action_units[user] < 0:
            s.qos_auto[user] = True
            s.missed_action[user] += 1
            continue
        s.qos_auto[user] = False
        want = LINK_WIFI if 2 * action_units[user] >= p.split_burst else LINK_LTE
        if p.num_aps == 0:
            want = LINK_LTE
        if want == current_link(s, p, user):
            continue
        if t_ms < s.qos_prohibit_until_ms[user, want]:
            s.qos_blocked[user] += 1
            continue
        _move(s, p, user, want)


@kernel
def on_qos_test(s, p, t_ms: float) -> None:
    """A test window ends: test every flow on its link, steer the system-default ones, open the next window."""
    for user in range(p.num_users):
        sent = s.st_total_sent[user] - s.qos_win_base[user, _SENT]
        delivered = s.st_total_delivered[user] - s.qos_win_base[user, _DELIVERED]
        dropped = s.st_total_dropped[user] - s.qos_win_base[user, _DROPPED]
        over = s.qos_viol_total[user] - s.qos_win_base[user, _OVER]
        s.qos_win_base[user, _SENT] = s.st_total_sent[user]
        s.qos_win_base[user, _DELIVERED] = s.st_total_delivered[user]
        s.qos_win_base[user, _DROPPED] = s.st_total_dropped[user]
        s.qos_win_base[user, _OVER] = s.qos_viol_total[user]
        # the window is the link's it started on: an agent's move at this same instant (an interval boundary)
        # applies to the next window (a move inside a window would count the window to its first link)
        link = s.qos_win_link[user]
        s.qos_win_link[user] = current_link(s, p, user)
        if sent == 0:
            continue  # no traffic in this window: nothing to test
        passed = (delivered > 0 and over <= p.user_viol_target[user] * delivered
                  and dropped <= p.user_loss_target[user] * sent)
        s.qos_last_pass[user, link] = 1 if passed else 0
        if passed:
            continue
        s.qos_prohibit_until_ms[user, link] = t_ms + p.qos_prohibit_ms
        other = 1 - link
        if not s.qos_auto[user] or link != s.qos_win_link[user] or not _link_usable(s, user, other):
            continue
        if s.qos_last_pass[user, other] == 1 or t_ms >= s.qos_prohibit_until_ms[user, other]:
            _move(s, p, user, other)
            s.qos_win_link[user] = other
    schedule(s, t_ms + p.qos_window_ms, EV_QOS_TEST, 0, 0)


@kernel
def update_priorities(s, p) -> None:
    """Dynamic flow prioritisation at an interval boundary (module docstring); all flows low priority without."""
    for user in range(p.num_users):
        s.user_prio[user] = 0
    if not p.dfp:
        return
    for link in range(2):
        n_link = 0
        for user in range(p.num_users):
            if current_link(s, p, user) == link:
                n_link += 1
        quota = int(math.ceil(s.dfp_fraction[0] * n_link))
        lte_load = 0.0
        for user in range(p.num_users):
            if quota == 0:
                break
            if current_link(s, p, user) != link:
                continue
            if link == LINK_LTE:
                capacity_mbps = s.lte_bits_per_rb[user] * p.lte_rbs / 1000.0
                load = s.udp_rate_mbps[user] / capacity_mbps if capacity_mbps > 0 else math.inf
                if lte_load + load > 1.0:
                    continue  # admission control: this flow would overload the cell's high-priority share
                lte_load += load
            s.user_prio[user] = 1
            quota -= 1
