"""RMCAT: the NADA model over a trace-driven bottleneck (models/rmcat.py via RmcatSimulation), its config and the
Gymnasium env ``netgym-lite/RMCAT-v0``."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netgym_lite  # noqa: F401  (registers the envs)
from netgym_lite.config import SCENARIO_DIR, load_config, parse_env_config, raw_env_config
from netgym_lite.envs.rmcat import get_reward
from netgym_lite.errors import ActionError, ConfigError
from netgym_lite.rmcat_sim import RmcatSimulation

ONE_MBPS_TRACE = {"time_ms": [0], "bw_kbps": [1000], "delay_ms": [10], "loss": [0.0]}


def sim_of(**overrides) -> RmcatSimulation:
    return RmcatSimulation(load_config("rmcat", **overrides))


def values(records: list[dict], name: str) -> list[float]:
    return next(r for r in records if r["name"] == name)["value"]


def run(sim: RmcatSimulation, steps: int, rates=None) -> list[dict[str, list[float]]]:
    """``steps`` intervals; per interval the records as {name: values} plus the interval's delivery stats."""
    out = []
    for _ in range(steps):
        if rates is not None:
            sim.set_rates(np.asarray(rates, dtype=np.float64))
        recs = sim.advance()
        row = {r["name"]: r["value"] for r in recs}
        row["ts"] = recs[0]["ts"]
        row["interval"] = sim.interval_stats()
        row["conservation"] = sim.conservation()
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------- the model
def test_every_packet_is_delivered_dropped_or_still_in_the_network() -> None:
    sim = sim_of(nada_flows=2, udp_flows=1, udp_flow_bw_kbps=300, upd_flow_start_time_diff_ms=500,
                 bottleneck_queue_packets=10,
                 bw_trace={"time_ms": [0, 2000], "bw_kbps": [800, 400], "delay_ms": [10, 30], "loss": [0.02, 0.0]})
    for k, row in enumerate(run(sim, 40, rates=[1_500_000.0, np.nan])):  # flow 0 overloads, flow 1 on NADA
        c = row["conservation"]
        assert np.array_equal(c["sent"], c["delivered"] + c["dropped"] + c["in_system"]), (k, c)
        assert np.all(c["in_system"] >= 0)
    c = sim.conservation()
    assert c["sent"].shape == (3,) and c["sent"].min() > 0  # both NADA flows and the UDP flow sent
    assert c["dropped_link"].sum() > 0  # 2 % link loss in the first 2 s


def test_queueing_delay_grows_while_the_send_rate_exceeds_the_trace_bandwidth() -> None:
    over = run(sim_of(bw_trace=ONE_MBPS_TRACE, bottleneck_queue_packets=10_000), 20, rates=[1_500_000.0])
    qdel = [row["qdel"][0] for row in over]
    assert all(b > a for a, b in zip(qdel[5:], qdel[6:], strict=False)), qdel
    # 1.5 Mbps into 1 Mbps: a packet sent at s waits q(s) = 0.5 (s - s0); one received at T was sent at
    # T - q - c, so the delay seen at the receiver (and reported) grows by 0.5 / 1.5 = 1/3 ms per ms
    assert qdel[-1] - qdel[10] == pytest.approx((over[-1]["ts"] - over[10]["ts"]) / 3, rel=0.05)
    owd = [row["interval"]["owd_ms"][0] for row in over]
    assert owd[-1] - owd[10] == pytest.approx((over[-1]["ts"] - over[10]["ts"]) / 3, rel=0.05)
    delivered_bits = sum(row["interval"]["rx_bytes"][0] * 8 for row in over[10:])
    assert delivered_bits / 1.0 == pytest.approx(1_000_000, rel=0.01)  # 10 intervals, 1 s: the link is saturated
    under = run(sim_of(bw_trace=ONE_MBPS_TRACE), 20, rates=[500_000.0])
    assert max(row["qdel"][0] for row in under[5:]) < 1.0
    assert under[-1]["rrate"][0] == pytest.approx(500_000, rel=0.02)


def test_nada_converges_to_the_bottleneck_and_follows_the_bandwidth_steps() -> None:
    # NetworkGym's default trace: 1000 kbps, 2000 kbps at 10 s, 500 kbps at 50 s, 1000 kbps at 70 s
    rows = run(sim_of(), 900)  # measurements at 1.1 .. 91 s, system default (NADA)
    at = {row["ts"]: row for row in rows}

    def mean(name: str, t0_ms: int, t1_ms: int) -> float:
        return float(np.mean([at[t][name][0] for t in range(t0_ms, t1_ms + 1, 100)]))

    assert mean("srate", 6000, 9900) == pytest.approx(1_000_000, rel=0.03)
    # equilibrium of the gradual update: x_curr = XREF * RMAX / r (RFC 8698 §4.3) = 15 ms at 1 Mbps
    assert mean("xcurr", 6000, 9900) == pytest.approx(15.0, abs=2.0)
    assert mean("srate", 12000, 49900) > 1_450_000  # 2 Mbps link: NADA reaches its RMAX of 1.5 Mbps
    assert mean("srate", 60000, 69900) == pytest.approx(500_000, rel=0.05)
    assert mean("xcurr", 64000, 69900) == pytest.approx(30.0, abs=2.0)  # 10 * 1.5 / 0.5
    assert mean("srate", 80000, 90000) == pytest.approx(1_000_000, rel=0.03)
    assert mean("rtt", 12000, 49900) == pytest.approx(20 + 4, abs=2.0)  # 2 x 10 ms + 4 ms to serve 1000 B
    assert int(rows[-1]["conservation"]["dropped"].sum()) == 0


def test_losses_come_only_from_the_trace_or_a_full_buffer() -> None:
    lossless = sim_of()
    run(lossless, 300)
    assert lossless.conservation()["dropped"].sum() == 0  # NADA on a loss-free trace, 100-packet buffer
    lossy = sim_of(bw_trace={**ONE_MBPS_TRACE, "loss": [0.05]}, random_seed=3)
    rows = run(lossy, 300)
    c = lossy.conservation()
    assert c["dropped_queue"].sum() == 0
    assert c["dropped_link"][0] / c["sent"][0] == pytest.approx(0.05, abs=0.01)
    assert rows[-1]["plr"][0] == pytest.approx(0.05, abs=0.03) and rows[-1]["avgint"][0] > 0
    assert rows[-1]["xcurr"][0] > 10 * (rows[-1]["plr"][0] / 0.01) ** 2  # loss penalty of RFC 8698 §4.2 eq. 2
    overflow = sim_of(bw_trace=ONE_MBPS_TRACE, bottleneck_queue_packets=20)
    run(overflow, 30, rates=[1_500_000.0])
    c = overflow.conservation()
    assert c["dropped_link"].sum() == 0 and c["dropped_queue"][0] > 0


def test_an_agent_rate_holds_for_one_interval_then_nada_resumes_from_it() -> None:
    sim = sim_of(bw_trace=ONE_MBPS_TRACE)
    run(sim, 50)
    sim.set_rates(np.array([300_000.0]))
    first = run(sim, 1)[0]
    assert first["srate"][0] == 300_000.0  # the rate in use during the interval
    assert first["interval"]["tx_pkts"][0] in (3, 4)  # 300 kbps x 100 ms / 8000 bits = 3.75 packets sent
    nada_next = first["nada_srate"][0]
    assert 300_000.0 < nada_next < 1_000_000.0  # NADA ramps up from the agent's rate
    second = run(sim, 1)[0]
    assert second["srate"][0] == pytest.approx(nada_next)


def test_flow_ids_start_at_zero_and_flows_start_in_turn() -> None:
    sim = sim_of(nada_flows=3, nada_flow_start_time_diff_ms=1050, measurement_start_time_ms=1000)
    recs = sim.advance()  # ts 1100: flows 0 and 1 started (0 ms, 1050 ms), flow 2 starts at 2100 ms
    assert all(r["id"] == [0, 1, 2] for r in recs)
    srate = values(recs, "srate")
    assert srate[0] > 0 and srate[2] == -1  # -1: no reports yet
    for _ in range(20):
        recs = sim.advance()
    assert min(values(recs, "rrate")) > 0


# ---------------------------------------------------------------------------------------------- config
def test_networkgym_keys_are_accepted_verbatim_and_bad_ones_named() -> None:
    cfg = load_config("rmcat", udp_flows=2, upd_flow_start_time_diff_ms=1234)
    assert cfg.rmcat.udp_flow_start_time_diff_ms == 1234.0 and cfg.num_users == 1
    with pytest.raises(ConfigError, match="tcp_flows"):
        load_config("rmcat", tcp_flows=1)
    with pytest.raises(ConfigError, match=r"bw_trace\.time_ms\[1\]"):
        load_config("rmcat", bw_trace={"time_ms": [0, 0], "bw_kbps": [1, 2], "delay_ms": [1, 1], "loss": [0, 0]})
    with pytest.raises(ConfigError, match=r"bw_trace\.loss\[0\]"):
        load_config("rmcat", bw_trace={"time_ms": [0], "bw_kbps": [100], "delay_ms": [1], "loss": [1.5]})
    with pytest.raises(ConfigError, match=r"bw_trace\.delay_ms"):
        load_config("rmcat", bw_trace={"time_ms": [0, 5], "bw_kbps": [100, 200], "delay_ms": [1], "loss": [0, 0]})
    with pytest.raises(ConfigError, match="lte"):
        load_config("rmcat", lte={"resource_block_num": 25})
    with pytest.raises(ConfigError, match="num_users"):
        parse_env_config({**raw_env_config("rmcat"), "num_users": 3})


def test_a_trace_starting_late_uses_the_topo_defaults_before_it() -> None:
    cfg = load_config("rmcat", topo_default_bw_kbps=300,
                      bw_trace={"time_ms": [5000], "bw_kbps": [900], "delay_ms": [20], "loss": [0]})
    assert cfg.rmcat.bw_trace.time_ms == (0.0, 5000.0) and cfg.rmcat.bw_trace.bw_kbps == (300.0, 900.0)


def test_bw_trace_file_is_read_relative_to_the_scenario(tmp_path) -> None:
    import json

    (tmp_path / "trace.csv").write_text("time_ms,bw_kbps,delay_ms,loss\n0,700,5,0.0\n3000,900,5,0.0\n")
    whole = json.loads((SCENARIO_DIR / "rmcat.json").read_text())
    del whole["env_config"]["bw_trace"]
    whole["env_config"]["bw_trace_file"] = "trace.csv"
    (tmp_path / "s.json").write_text(json.dumps(whole))
    raw = raw_env_config(tmp_path / "s.json")
    assert raw["bw_trace"] == {"time_ms": [0.0, 3000.0], "bw_kbps": [700.0, 900.0], "delay_ms": [5.0, 5.0],
                               "loss": [0.0, 0.0]}


# ---------------------------------------------------------------------------------------------- the env
def test_rmcat_env_passes_gymnasiums_env_checker() -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make("netgym-lite/RMCAT-v0", steps_per_episode=5, episodes_per_session=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unbounded Box and the unnormalised rate action are by design
        check_env(env.unwrapped)
    assert env.observation_space.shape == (3, 1) and env.action_space.shape == (1,)
    assert env.action_space.low[0] == 150_000 and env.action_space.high[0] == 1_500_000
    env.close()


def rollout(seed: int, actions: list, **overrides) -> tuple[list[np.ndarray], list[float]]:
    env = gym.make("netgym-lite/RMCAT-v0", **overrides)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for a in actions:
        obs, r, *_ = env.step(a)
        observations.append(obs)
        rewards.append(r)
    env.close()
    return observations, rewards


def test_same_seed_same_run_and_seeds_matter_on_a_lossy_trace() -> None:
    lossy = {"bw_trace": {**ONE_MBPS_TRACE, "loss": [0.03]}}
    actions = [[], [600_000.0], [], [1_200_000.0]] * 5
    a = rollout(4, actions, **lossy)
    b = rollout(4, actions, **lossy)
    c = rollout(5, actions, **lossy)
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True)) and a[1] == b[1]
    assert a[1] != c[1]


def test_system_default_is_nada_and_an_action_sets_the_rate() -> None:
    env = gym.make("netgym-lite/RMCAT-v0", nada_flows=2)
    _, info = env.reset(seed=0)
    for _ in range(30):
        prev = {r["name"]: r["value"] for r in info["network_stats"]}
        obs, _, _, _, info = env.step([])
        now = {r["name"]: r["value"] for r in info["network_stats"]}
        assert now["srate"] == pytest.approx(prev["nada_srate"])  # NADA's rate is the rate sent next
    _, _, _, _, info = env.step(np.array([200_000.0, 1_400_000.0], np.float32))
    now = {r["name"]: r["value"] for r in info["network_stats"]}
    assert now["srate"] == [200_000.0, 1_400_000.0]
    with pytest.raises(ActionError, match=r"action\[1\]=1600000"):
        env.step([200_000.0, 1_600_000.0])
    env.close()


def test_media_utility_rewards_rate_and_penalises_delay_and_loss() -> None:
    def recs(rrate: float, qdel: float, plr: float) -> list[dict]:
        return [{"source": "rmcat", "name": n, "id": [0], "ts": 1100, "value": [v]}
                for n, v in (("rrate", rrate), ("qdel", qdel), ("plr", plr))]

    assert get_reward(recs(1e6, 0, 0), 1) == pytest.approx(0.0)
    assert get_reward(recs(np.e * 1e6, 100, 0), 1) == pytest.approx(0.0)  # 100 ms queueing = one e-fold of rate
    assert get_reward(recs(1e6, 0, 0.1), 1) == pytest.approx(-1.0)
    assert get_reward(recs(-1, -1, -1), 1) == pytest.approx(np.log(1e-3))  # no reports yet: the rate floor


def test_cli_run_prints_a_per_flow_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from netgym_lite.cli import main

    assert main(["run", "--env", "rmcat", "--steps", "30", "-q", "--set", "nada_flows=2"]) == 0
    out = capsys.readouterr().out
    assert "2 flows" in out and "rrate_kbps" in out
    lines = [ln.split() for ln in out.splitlines() if ln.split() and ln.split()[0] in ("0", "1")]
    assert len(lines) == 2


# ---------------------------------------------------------------------------------------------- vs SimPy
def test_model_matches_the_simpy_reference_on_a_fixed_rate_schedule() -> None:
    pytest.importorskip("simpy")
    from netgym_lite.reference.rmcat import run_rmcat_reference

    trace = {"time_ms": [0, 700, 1500, 2300], "bw_kbps": [1000, 400, 1500, 700], "delay_ms": [10, 25, 25, 40],
             "loss": [0.0, 0.0, 0.0, 0.0]}
    cfg = load_config("rmcat", nada_flows=2, nada_flow_start_time_diff_ms=13, measurement_start_time_ms=0,
                      bw_trace=trace, bottleneck_queue_packets=30)
    # per interval and flow: rates that under- and overload each trace row in turn
    schedule = [[150_000.0 + (97_000.0 * i) % 1_300_000.0, 1_500_000.0 - (131_000.0 * i) % 1_200_000.0]
                for i in range(30)]
    sim = RmcatSimulation(cfg)
    bits = np.zeros(2)
    owd_sum = np.zeros(2)
    pkts = np.zeros(2)
    for rates in schedule:
        sim.set_rates(np.array(rates))
        sim.advance()
        iv = sim.interval_stats()
        bits += iv["rx_bytes"][:2] * 8
        pkts += iv["rx_pkts"][:2]
        owd_sum += np.nan_to_num(iv["owd_ms"][:2]) * iv["rx_pkts"][:2]
    ref = run_rmcat_reference(cfg.rmcat.bw_trace, schedule, 100.0, packet_bytes=1000, queue_packets=30,
                              start_ms=[0.0, 13.0])
    c = sim.conservation()
    assert c["dropped_queue"].sum() > 0  # the schedule overflows the buffer at times: drops are compared too
    np.testing.assert_allclose(c["sent"], ref.sent, rtol=0.01)
    np.testing.assert_allclose(c["dropped"], ref.dropped, rtol=0.02, atol=2)
    np.testing.assert_allclose(bits, ref.rx_bits.sum(axis=0), rtol=0.01)
    np.testing.assert_allclose(owd_sum / pkts, ref.owd_sum_ms.sum(axis=0) / ref.rx_pkts.sum(axis=0), rtol=0.02)


def test_a_subscription_without_any_rmcat_stat_is_refused() -> None:
    with pytest.raises(ConfigError, match="subscribed_network_stats"):
        load_config("rmcat", subscribed_network_stats=["gma::dl::rate"])
    only_rtt = sim_of(subscribed_network_stats=["rmcat::rtt", "gma::dl::rate"]).advance()
    assert [r["name"] for r in only_rtt] == ["rtt"]


def test_srate_actions_on_the_wire_are_parsed_or_refused_naming_the_field() -> None:
    from netgym_lite.errors import ProtocolError
    from netgym_lite.ipc.rmcat_action import parse_rmcat_action

    def rec(value, **extra):
        return {"source": "rmcat", "name": "srate", "id": [0.0, 1.0], "ts": 1200, "value": value, **extra}

    assert np.isnan(parse_rmcat_action(rec([]), num_flows=2, last_ts=1200)).all()  # system default
    rates = parse_rmcat_action([rec([None, 400000.0], extra_key=1)], num_flows=2, last_ts=1200)
    assert np.isnan(rates[0]) and rates[1] == 400000.0  # null = NADA for that flow; extra keys ignored
    swapped = parse_rmcat_action({**rec([200000.0, 300000.0]), "id": [1, 0]}, num_flows=2, last_ts=1200)
    assert swapped.tolist() == [300000.0, 200000.0]  # placed by flow id
    with pytest.raises(ActionError, match=r"action_list\.value\[1\]=1600000.0 is out of range.*150000, 1500000"):
        parse_rmcat_action(rec([200000.0, 1600000.0]), num_flows=2, last_ts=1200)
    with pytest.raises(ActionError, match=r"action_list\.name='rmcat::rate'"):
        parse_rmcat_action({**rec([]), "name": "rate"}, num_flows=2, last_ts=1200)
    with pytest.raises(ActionError, match=r"action_list\.id\[1\]=2"):
        parse_rmcat_action({**rec([200000.0, 300000.0]), "id": [0, 2]}, num_flows=2, last_ts=1200)
    with pytest.raises(ProtocolError, match="stale"):
        parse_rmcat_action(rec([]), num_flows=2, last_ts=1100)


@settings(max_examples=15, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 2500), st.integers(0, 80), st.floats(0, 0.2)),
                  min_size=1, max_size=4),
    queue=st.integers(1, 60),
    rates=st.lists(st.one_of(st.none(), st.floats(150_000, 1_500_000)), min_size=2, max_size=2),
    udp_kbps=st.floats(50, 3000),
)
def test_conservation_and_link_capacity_hold_for_any_trace(rows, queue, rates, udp_kbps) -> None:
    times = sorted({0, *(r[0] for r in rows)})
    n = len(times)
    bw = [max(r[1], 1) for r in rows][:n] + [500] * (n - len(rows))
    delay = [r[2] for r in rows][:n] + [10] * (n - len(rows))
    loss = [r[3] for r in rows][:n] + [0.0] * (n - len(rows))
    sim = sim_of(nada_flows=2, udp_flows=1, udp_flow_bw_kbps=udp_kbps, upd_flow_start_time_diff_ms=300,
                 bottleneck_queue_packets=queue, measurement_start_time_ms=200,
                 bw_trace={"time_ms": times, "bw_kbps": bw, "delay_ms": delay, "loss": loss})
    delivered_bits = 0.0
    for _ in range(30):
        sim.set_rates(np.array([np.nan if r is None else r for r in rates]))
        recs = sim.advance()
        c = sim.conservation()
        assert np.array_equal(c["sent"], c["delivered"] + c["dropped"] + c["in_system"])
        assert np.all(c["in_system"] >= 0)
        delivered_bits += sim.interval_stats()["rx_bytes"].sum() * 8
        for r in recs:
            assert r["id"] == [0, 1] and len(r["value"]) == 2
    if max(loss) == 0:
        assert c["dropped_link"].sum() == 0
    # nothing is delivered faster than the link serves: at most the trace's bits over the run, plus one packet
    t = np.append(np.array(times, float), 3200.0)
    capacity = sum(bw[i] * 1000 * max(0.0, min(t[i + 1], 3200.0) - min(t[i], 3200.0)) / 1000 for i in range(n))
    assert delivered_bits <= capacity + 8000 * 3
