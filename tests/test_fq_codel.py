"""Wi-Fi queue discipline "fq_codel" (models/fq_codel.py): the kernels against the readable reference
(reference/fq_codel.py), packet for packet, and the behaviour it gives a saturated cell."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_minstrel import run_cell, wifi_cell

from netgym_lite.config import load_config
from netgym_lite.core.state import PKT_SIZE, PKT_T_QUEUE_NS, PKT_USER
from netgym_lite.errors import ConfigError
from netgym_lite.models import fq_codel
from netgym_lite.models.packets import alloc_packet, free_packet, queue_pop
from netgym_lite.reference.fq_codel import FqCoDelMac, Packet
from netgym_lite.sim import Simulation

USERS = 3
MAC_LIMIT = 12  # small, so that the MAC queue fills and the queue disc holds packets back


def test_queue_discipline_names_are_checked() -> None:
    assert load_config(wifi={"queue_discipline": "fq_codel"}).wifi.queue_discipline == "fq_codel"
    assert load_config().wifi.queue_discipline == "fifo"
    with pytest.raises(ConfigError, match="queue_discipline.*fifo.*fq_codel"):
        load_config(wifi={"queue_discipline": "codel"})


def test_the_simpy_reference_refuses_fq_codel() -> None:
    from netgym_lite.reference.network import run_reference

    with pytest.raises(ConfigError, match="wifi.queue_discipline"):
        run_reference(load_config(transport_protocol="udp", wifi={"queue_discipline": "fq_codel"}), wifi_share=1.0, duration_ms=100.0)


def _kernel_queues(sim: Simulation) -> tuple[list[list[int]], list[list[int]]]:
    """Per user, (pids in the MAC queue, pids in the FqCoDel flow), from the State arrays."""
    s = sim.state
    mac, flow = [], []
    for user in range(sim.num_users):
        mac.append([int(s.q_buf[user, 0, (s.q_head[user, 0] + k) % s.q_buf.shape[2]]) for k in range(s.q_length[user, 0])])
        head, length = int(s.wifi_fq[user, fq_codel.FQ_HEAD]), int(s.wifi_fq[user, fq_codel.FQ_LEN])
        flow.append([int(s.wifi_fq_buf[user, (head + k) % s.wifi_fq_buf.shape[1]]) for k in range(length)])
    return mac, flow


# one operation: (kind, user, amount, ms to wait before it)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["arrive", "arrive", "burst", "transmit", "expire"]),
        st.integers(0, USERS - 1),
        st.integers(1, 40),
        st.integers(0, 120_000).map(lambda us: us / 1000.0),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, sizes=st.lists(st.integers(60, 2300), min_size=1, max_size=7))
def test_kernels_follow_the_reference_packet_for_packet(ops, sizes) -> None:
    replay(ops, sizes)


def test_an_overflowing_queue_disc_trims_its_fattest_flow_like_the_reference() -> None:
    # 12,000 packets at once: over the 10,240 limit, user 0's flow (the fattest) loses 64 head packets at a time
    ref = replay([("burst", 0, 40, 0.0)] * 3 + [("burst", 1, 5, 1.0), ("transmit", 0, 12, 2.0)], [1400])
    assert len(ref.dropped) >= 64 and {i.user for i in ref.dropped} == {0}


def replay(ops: list[tuple[str, int, int, float]], sizes: list[int]) -> FqCoDelMac:
    """Drive the kernels and the reference through the same operations, comparing them after each."""
    cell = wifi_cell([10.0, 20.0, 30.0], 1.0, "ideal")  # USERS users of one AP: one queue disc, one MAC queue
    cell["wifi"] = {**cell["wifi"], "queue_discipline": "fq_codel", "ap_queue_packets": MAC_LIMIT}
    sim = Simulation(load_config(**cell), seed=1)
    s, p = sim.state_ref, sim.params_ref
    ref = FqCoDelMac(USERS, MAC_LIMIT)
    pids: dict[int, Packet] = {}
    t_ms = 0.0
    n = 0
    for kind, user, amount, wait_ms in ops:
        t_ms += wait_ms
        if kind in ("arrive", "burst"):
            for _ in range(amount if kind == "arrive" else amount * 100):
                size = sizes[n % len(sizes)]
                n += 1
                pid = alloc_packet(s, user, 0, n, -1, size, t_ms)
                pids[pid] = item = Packet(pid, user, size)
                ref.arrive(item, t_ms)
                fq_codel.enqueue(s, p, t_ms, pid)
        elif kind == "transmit":
            count = min(amount, int(sim.state.q_length[user, 0]))
            for item in ref.transmitted(user, count, t_ms) if count else []:
                pid = queue_pop(s, user, 0)
                assert pid == item.pid
                free_packet(s, pid)
            if count:
                fq_codel.fill_mac_queue(s, p, t_ms, user)
        else:
            ref.expire(t_ms)
            fq_codel.expire(s, p, t_ms, 0)
        mac, flow = _kernel_queues(sim)
        assert mac == [[i.pid for i in q] for q in ref.mac], (kind, t_ms)
        assert flow == [[i.pid for i in f.packets] for f in ref.flows], (kind, t_ms)
        assert sum(len(q) for q in mac) <= MAC_LIMIT
        # the queue-entry times and the drops per user agree as well
        stamps = [int(sim.state.pkt[i, PKT_T_QUEUE_NS]) for q in mac for i in q]
        assert stamps == [i.t_ns for q in ref.mac for i in q]
        drops = np.bincount([i.user for i in ref.dropped], minlength=USERS)
        np.testing.assert_array_equal(sim.state.st_drops[:, 0], drops)
        assert [f.count for f in ref.flows] == list(sim.state.wifi_fq[:USERS, fq_codel.CD_COUNT].astype(int))
    return ref


def test_codel_drops_on_its_control_law_when_the_sojourn_stays_above_the_target() -> None:
    """A flow held back by a one-packet MAC queue: it gets one packet a ms, the MAC sends one every 2 ms.

    The packet leaving at odd ms i waited (i - 1) / 2 ms, so the sojourn reaches the 5 ms target at i = 11 and
    CoDel may drop once it has stayed above for the 100 ms interval: the first drop at i = 113 (> 111), the next
    at 100 ms / sqrt(count) intervals: 213, 213 + 70.7 (at i = 285), + 57.7 (343), + 50 (393)."""
    sim = Simulation(load_config(num_users=1, wifi={"queue_discipline": "fq_codel", "ap_queue_packets": 1}), seed=1)
    s, p = sim.state_ref, sim.params_ref
    drop_times = []
    for i in range(400):
        pid = alloc_packet(s, 0, 0, i, -1, 1500, float(i))
        fq_codel.enqueue(s, p, float(i), pid)
        if i % 2:
            before = sim.state.st_drops[0, 0]
            free_packet(s, queue_pop(s, 0, 0))
            fq_codel.fill_mac_queue(s, p, float(i), 0)
            drop_times += [i] * int(sim.state.st_drops[0, 0] - before)
    assert drop_times == [113, 213, 285, 343, 393]
    assert sim.state.wifi_fq[0, fq_codel.CD_COUNT] == 5


# -------------------------------------------------------------------------------------------- a saturated cell
DISTANCES_16 = [10.0 + 2.5 * i for i in range(16)]


@pytest.fixture(scope="module")
def saturated_16() -> dict[str, tuple[Simulation, np.ndarray]]:
    runs = {}
    for disc in ("fifo", "fq_codel"):
        cell = wifi_cell(DISTANCES_16, 6.0, "ideal")  # 96 Mbps offered to a ~60 Mbps cell
        cell["wifi"] = {**cell["wifi"], "queue_discipline": disc}
        runs[disc] = run_cell(40, **cell)
    return runs


def test_the_mac_queue_is_shared_and_full_under_overload(saturated_16) -> None:
    sim, _ = saturated_16["fq_codel"]
    mac, flow = fq_codel.mac_queue_share(sim.state.wifi_fq, sim.state.q_length)
    assert mac.sum() == sim.params.wifi_queue_packets  # 500 packets for all 16 users, not 500 each
    assert flow.sum() > 0  # the rest waits in FqCoDel
    # DRR hands the flows turns (~31 packets each on average; the station just served holds fewer)
    assert mac.max() <= 0.2 * mac.sum(), mac


def test_fq_codel_cuts_the_overload_delay_and_keeps_the_shares_equal(saturated_16) -> None:
    delays = {}
    for disc, (sim, mbps) in saturated_16.items():
        late = mbps[20:].mean(axis=0)
        assert late.max() / late.min() < 1.15, (disc, late)
        st = sim.advance_stats().st
        delays[disc] = st.link_owd_sum[:, 0].sum() / st.link_rx_pkts[:, 0].sum()
    # fifo: 500 packets per user (16 x 500 queued); fq_codel: 500 in all plus what CoDel lets wait
    assert delays["fq_codel"] < 0.5 * delays["fifo"], delays


@pytest.mark.parametrize("downlink", [True, False])
def test_fq_codel_keeps_every_packet_accounted_for_with_tcp_walks_and_handovers(downlink: bool) -> None:
    """TrafficMgmt's TCP flows, users walking fast between two APs 40 m apart, handover on (a user's MAC packets
    then count at its new AP): every allocated packet is where the State says, the flows hold what their counters
    say, and data flows."""
    cfg = load_config("traffic_mgmt", downlink_traffic=downlink, num_users=12,
                      wifi_ap_locations=[{"x": 0, "y": 0, "z": 3}, {"x": 40, "y": 0, "z": 3}],
                      user_location_range={"min_x": 0, "max_x": 40, "min_y": 0, "max_y": 5, "z": 1.5},
                      user_random_walk={"min_speed_m/s": 10, "max_speed_m/s": 20, "distance_m": 30},
                      wifi={"queue_discipline": "fq_codel", "enable_rx_signal_based_handover": True})
    sim = Simulation(cfg, seed=4)
    delivered = 0
    handovers = 0
    for _ in range(80):
        before = sim.state.wifi_ap.copy()
        st = sim.advance_stats().st
        handovers += int((sim.state.wifi_ap != before).sum())
        delivered += int(st.link_rx_pkts[:, 0].sum())
        s = sim.state
        assert s.pkt_free.shape[0] - s.pkt_counters[0] == s.pkt_in_system.sum()  # pool and owners agree
        assert s.pkt_counters[1] == 0  # the pool never ran out
        mac, flow = fq_codel.mac_queue_share(s.wifi_fq, s.q_length)
        for user in range(sim.num_users):
            head, length = int(s.wifi_fq[user, fq_codel.FQ_HEAD]), int(s.wifi_fq[user, fq_codel.FQ_LEN])
            ids = s.wifi_fq_buf[user, (head + np.arange(length)) % s.wifi_fq_buf.shape[1]]
            assert (s.pkt[ids, PKT_USER] == user).all()
            assert s.pkt[ids, PKT_SIZE].sum() == s.wifi_fq[user, fq_codel.FQ_BYTES]
        assert flow.sum() <= fq_codel.FQ_LIMIT_PACKETS
    assert handovers >= 5 and delivered > 1000
