"""Uplink (``ul``) records: the TCP ACKs of the users' downloads on the up links (design.md §5, docs/models.md).

Downlink traffic only, so what a user sends up is its TCP receiver's ACKs (one per delivery batch,
``TCP_ACK_BYTES`` each, after the fixed uplink delay of the ACK link plus its backhaul); UDP users send nothing.
Expected values come from the model's parameters (ACK size, ACK delays, interval), never from hard-coded numbers.
"""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pytest

from netgym_lite.config import load_config
from netgym_lite.config_types import NrConfig, Position, ScenarioConfig
from netgym_lite.models.measurement import METRIC_KEYS
from netgym_lite.models.tcp_receiver import TCP_ACK_BYTES
from netgym_lite.sim import Simulation

LINKS = ("wifi", "lte")
# the rows the ACK counts fill (missed_action: no action steers the ACKs, always 0)
UL_KEYS = tuple(k for k in METRIC_KEYS if "::ul::" in k and not k.startswith("wifi::")
                and not k.endswith("missed_action"))


def by_key(records: list[dict]) -> dict[str, dict]:
    return {f"{r['source']}::{r['name']}": r for r in records}


def ack_delay_ms(sim: Simulation, link: str) -> float:
    p = sim.params
    return {"wifi": p.ack_delay_wifi_ms + p.wifi_backhaul_ms, "lte": p.ack_delay_lte_ms + p.lte_backhaul_ms}[link]


@pytest.fixture(scope="module")
def tcp_run() -> tuple[Simulation, list[tuple[dict, np.ndarray]]]:
    """Four TCP downloads (default scenario, walking users), twelve intervals: records and cumulative dl packets
    received by each TCP receiver."""
    sim = Simulation(load_config(num_users=4))
    out = []
    for _ in range(12):
        table = sim._advance_measured()
        rx = sim.state.st_total_delivered.copy()  # packets handed to the receiver since the start
        out.append((by_key(sim.records(table)), rx))
    return sim, out


def test_ul_records_are_produced_for_every_user_like_the_dl_ones(tcp_run) -> None:
    sim, out = tcp_run
    assert set(UL_KEYS) == {f"gma::ul::{m}" for m in (
        "rate", "tx_rate", "owd", "max_owd", "qos_rate", "delay_violation", "delay_test_1_violation",
        "delay_test_2_violation", "measurement_ok")} | {
        f"gma::{link}::ul::{m}" for link in LINKS
        for m in ("rate", "owd", "max_owd", "traffic_ratio", "qos_rate", "priority", "split_ratio")}
    for r, _ in out:
        for k in UL_KEYS:
            assert r[k]["id"] == r["gma::dl::rate"]["id"] == [1, 2, 3, 4], k
            assert r[k]["ts"] == r["gma::dl::rate"]["ts"]
            assert len(r[k]["value"]) == sim.num_users


def test_ul_rate_is_the_ack_bytes_and_at_most_one_ack_per_delivered_segment(tcp_run) -> None:
    sim, out = tcp_run
    interval_ms = sim.cfg.step_interval_ms
    ack_bytes = TCP_ACK_BYTES
    acks_total = np.zeros(sim.num_users)
    sent_total = np.zeros(sim.num_users)
    assert max(ack_delay_ms(sim, link) for link in LINKS) < interval_ms
    for r, rx_total in out:
        ul = np.array(r["gma::ul::rate"]["value"])
        links = sum(np.array(r[f"gma::{link}::ul::rate"]["value"]) for link in LINKS)
        np.testing.assert_allclose(ul, links, atol=1e-5)
        acks = ul * 1e6 * interval_ms / 1000.0 / 8.0 / ack_bytes  # ACKs that arrived this interval
        np.testing.assert_allclose(acks, np.round(acks), atol=1e-3)  # whole ACKs of ack_bytes each
        acks_total += np.round(acks)
        # an ACK answers at least one segment the receiver got (ACKs arrive after the segments they answer)
        assert np.all(acks_total <= rx_total)
        # every user that got data this interval sent ACKs for it (the ACK delay is far below the interval)
        got = np.array(r["gma::dl::rate"]["value"]) > 0
        assert np.all(ul[got] > 0)
        # ACKs are never lost: every ACK sent arrives one ACK delay (< the interval) later, so the ones sent but
        # not yet arrived were all sent this interval
        tx_acks = np.array(r["gma::ul::tx_rate"]["value"]) * 1e6 * interval_ms / 1000.0 / 8.0 / ack_bytes
        sent_total += np.round(tx_acks)
        assert np.all(sent_total >= acks_total) and np.all(sent_total - acks_total <= np.round(tx_acks))
    # so the uplink carries at most ack_bytes per packet_bytes delivered on the downlink, and not nothing
    _, rx_total = out[-1]
    assert np.all(acks_total > 0)


def test_ul_owd_is_the_ack_links_uplink_delay_and_minus_one_on_an_unused_link(tcp_run) -> None:
    sim, out = tcp_run
    unused_seen = 0
    for r, _ in out:
        for link in LINKS:
            rate = np.array(r[f"gma::{link}::ul::rate"]["value"])
            owd = np.array(r[f"gma::{link}::ul::owd"]["value"])
            max_owd = np.array(r[f"gma::{link}::ul::max_owd"]["value"])
            used = rate > 0
            # a fixed ACK path: every ACK on the link takes exactly its uplink delay (≥ the access delay)
            np.testing.assert_allclose(owd[used], ack_delay_ms(sim, link), atol=1e-6)
            np.testing.assert_allclose(max_owd[used], ack_delay_ms(sim, link), atol=1e-6)
            assert np.all(owd[~used] == -1.0) and np.all(max_owd[~used] == -1.0)
            unused_seen += int(np.count_nonzero(~used))
        ratios = np.array([r[f"gma::{link}::ul::traffic_ratio"]["value"] for link in LINKS])
        sent = np.array(r["gma::ul::tx_rate"]["value"]) > 0
        np.testing.assert_allclose(ratios[:, sent].sum(axis=0), 100.0, atol=1e-4)
        assert np.all(ratios[:, ~sent] == -1.0)
        owd = np.array(r["gma::ul::owd"]["value"])
        max_owd = np.array(r["gma::ul::max_owd"]["value"])
        lo = min(ack_delay_ms(sim, link) for link in LINKS)
        hi = max(ack_delay_ms(sim, link) for link in LINKS)
        assert np.all((owd >= lo - 1e-6) & (owd <= max_owd + 1e-6) & (max_owd <= hi + 1e-6))
    assert unused_seen > 0  # auto uplink: ACKs take one link, the other carries nothing


def udp_cfg() -> ScenarioConfig:
    base = ScenarioConfig()
    return dc.replace(
        base,
        num_users=3,
        user_locations=(Position(12.0, 2.0, 1.5), Position(20.0, 5.0, 1.5), Position(33.0, 1.0, 1.5)),
        traffic=dc.replace(base.traffic, transport="udp", min_udp_rate_per_user_mbps=4.0,
                           max_udp_rate_per_user_mbps=4.0),
    )


def test_udp_flows_send_nothing_on_the_uplink() -> None:
    sim = Simulation(udp_cfg())
    for _ in range(3):
        r = by_key(sim.advance())
        assert all(v > 0 for v in r["gma::dl::rate"]["value"])
        for k in UL_KEYS:
            if k.endswith(("priority", "split_ratio", "measurement_ok")):
                continue  # defined without traffic: the flow's priority, the configured ACK link, a valid report
            expected = 0.0 if k.endswith("rate") else -1.0
            assert r[k]["value"] == [expected] * 3, k
        assert r["gma::ul::measurement_ok"]["value"] == [1.0] * 3


def test_ul_records_follow_the_subscription() -> None:
    wanted = ["gma::ul::rate", "gma::lte::ul::owd", "gma::dl::rate", "wifi::ul::max_rate"]
    sim = Simulation(load_config(num_users=2, subscribed_network_stats=wanted))
    for _ in range(2):
        records = sim.advance()
        assert sorted(f"{r['source']}::{r['name']}" for r in records) == sorted(wanted)


def test_acks_on_the_nr_uplink_give_the_nr_ul_records() -> None:
    # no AP; at numerology 1 the NR ACK path (4 slots + decode) is shorter than LTE's, so "auto" puts ACKs on NR
    base = ScenarioConfig()
    cfg = dc.replace(
        base, num_users=2, measurement_start_time_ms=100,
        user_locations=(Position(20.0, 0.0, 1.5), Position(40.0, 0.0, 1.5)), wifi_ap_locations=(),
        lte_enb_locations=(Position(-60.0, 0.0, 3.0),), nr_gnb_locations=(Position(0.0, 0.0, 25.0),),
        user_random_walk=dc.replace(base.user_random_walk, min_speed_mps=0.0, max_speed_mps=0.0),
        traffic=dc.replace(base.traffic, transport="tcp"), nr=NrConfig(numerology=1, los_model="los"),
    )
    sim = Simulation(cfg, 1)
    p = sim.params
    nr_delay = p.ack_delay_nr_ms + p.nr_backhaul_ms
    assert nr_delay < p.ack_delay_lte_ms + p.lte_backhaul_ms
    for _ in range(4):
        r = by_key(sim.advance())
        assert all(v > 0 for v in r["gma::nr::ul::rate"]["value"])
        assert r["gma::nr::ul::owd"]["value"] == pytest.approx([nr_delay] * 2)
        assert r["gma::nr::ul::traffic_ratio"]["value"] == [100.0] * 2
        assert r["gma::lte::ul::owd"]["value"] == [-1.0] * 2 and r["gma::wifi::ul::rate"]["value"] == [0.0] * 2
        assert r["gma::ul::rate"]["value"] == r["gma::nr::ul::rate"]["value"]


def test_ul_qos_violations_and_split_follow_the_ack_link(tcp_run) -> None:
    """Each ACK takes its link's fixed delay, so the violations are the share of ACKs on links slower than the
    bound; qos_rate is the rate when those stay within the target; split_ratio is 100 % on the ACK link."""
    sim, out = tcp_run
    p = sim.params
    for r, _ in out:
        rates = {link: np.array(r[f"gma::{link}::ul::rate"]["value"]) for link in LINKS}
        total = sum(rates.values())
        for u in range(sim.num_users):
            if total[u] == 0:
                assert r["gma::ul::delay_violation"]["value"][u] == -1.0
                continue
            over = sum(rates[link][u] for link in LINKS if ack_delay_ms(sim, link) > p.user_delay_bound_ms[u])
            viol = 100.0 * over / total[u]
            assert r["gma::ul::delay_violation"]["value"][u] == pytest.approx(viol, abs=1e-4)
            met = viol <= 100.0 * p.user_viol_target[u]
            assert r["gma::ul::qos_rate"]["value"][u] == pytest.approx(total[u] if met else 0.0, abs=1e-5)
        splits = np.array([r[f"gma::{link}::ul::split_ratio"]["value"] for link in LINKS])
        assert np.all(splits.sum(axis=0) == 100.0) and set(np.unique(splits)) <= {0.0, 100.0}
        # the ACKs of the interval went on the configured link
        for i, link in enumerate(LINKS):
            assert np.all(rates[link][splits[i] == 0.0] == 0.0)


def test_without_a_ul_subscription_the_bookkeeping_is_off_and_nothing_else_changes() -> None:
    """``Params.ul_stats`` gates the per-ACK counters: a subscription without ul keys gets −1 ul rows (never
    sent) and exactly the downlink values of a run that counts them; the same seed gives the same run."""
    dl = ["gma::dl::rate", "gma::dl::owd", "gma::wifi::dl::rate", "gma::lte::dl::owd", "lte::dl::max_rate"]
    runs = {}
    for name, subscribed in (("off", dl), ("on", dl + ["gma::ul::rate"]), ("on2", dl + ["gma::ul::rate"])):
        sim = Simulation(load_config(num_users=4, subscribed_network_stats=subscribed))
        assert sim.params.ul_stats == (name != "off")
        tables = [sim._advance_measured() for _ in range(8)]
        runs[name] = np.array(tables)
    dl_rows = [i for i, k in enumerate(METRIC_KEYS) if "::ul::" not in k]
    ul_rows = [i for i, k in enumerate(METRIC_KEYS) if k in UL_KEYS]
    np.testing.assert_array_equal(runs["off"][:, dl_rows], runs["on"][:, dl_rows])
    np.testing.assert_array_equal(runs["on"], runs["on2"])
    assert np.all(runs["off"][:, ul_rows] == -1.0)
    assert np.any(runs["on"][:, ul_rows] > 0)


def test_no_action_steers_the_acks_so_none_is_missed() -> None:
    """``gma::ul::missed_action`` (NetworkGym: missed agent actions for the uplink) is 0 while the dl one counts
    the intervals without an action, with or without the ACK bookkeeping."""
    for subscribed in ([], ["gma::ul::missed_action", "gma::dl::missed_action"]):
        sim = Simulation(load_config(num_users=2, subscribed_network_stats=subscribed))
        for _ in range(3):
            r = by_key(sim.advance())
        assert r["gma::ul::missed_action"]["value"] == [0.0, 0.0]
        assert min(r["gma::dl::missed_action"]["value"]) > 0
