"""Minstrel-HT rate control (``wifi.rate_control: minstrel_ht``, models/minstrel.py) and the MPDU error model it
learns from (wifi_phy.mpdu_success_probability). Expected values come from the model's own tables (ns-3's PER
points, the PHY rates) or from the same scenario with ideal rate control, never from hard-coded throughputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from netgym_lite.config import load_config
from netgym_lite.errors import ConfigError
from netgym_lite.models import minstrel, wifi_phy
from netgym_lite.sim import Simulation

WIDTH_MHZ = 40
STANDARD = "802.11ac"


def wifi_cell(distances_m: list[float], rate_mbps: float, rate_control: str, **overrides) -> dict:
    """Users around one AP at ``distances_m`` (spread over the circle), Wi-Fi only, CBR UDP at ``rate_mbps`` each."""
    angles = np.linspace(0.0, 2 * np.pi, len(distances_m), endpoint=False)
    return dict(
        num_users=len(distances_m),
        user_locations=[{"x": d * np.cos(a), "y": d * np.sin(a), "z": 3.0} for d, a in zip(distances_m, angles, strict=True)],
        user_random_walk={"min_speed_m/s": 0, "max_speed_m/s": 0},
        wifi_ap_locations=[{"x": 0, "y": 0, "z": 3}],
        lte_enb_locations={"x": 5000, "y": 0, "z": 15},
        transport_protocol="udp", udp_poisson_arrival=False,
        min_udp_rate_per_user_mbps=rate_mbps, max_udp_rate_per_user_mbps=rate_mbps,
        wifi={"standard": STANDARD, "channel_width_mhz": WIDTH_MHZ, "rate_control": rate_control,
              "tx_power_dbm": 16, "path_loss": {"exponent": 3.0, "reference_loss_db": 46.68}},
        **overrides,
    )


def run_cell(steps: int, seed: int = 1, **cell) -> tuple[Simulation, np.ndarray]:
    """(simulation, Wi-Fi Mbps per interval and user) with every packet on Wi-Fi."""
    sim = Simulation(load_config(**cell), seed=seed)
    mbps = []
    for _ in range(steps):
        sim.set_wifi_split(np.ones(sim.num_users))
        st = sim.advance_stats()
        mbps.append(st.st.link_rx_bytes[:, 0] * 8 / (st.interval_ms * 1e3))
    return sim, np.array(mbps)


# ---------------------------------------------------------------------------------------------- PHY tables
@pytest.mark.parametrize("standard", ["802.11ac", "802.11ax"])
def test_mpdu_error_curve_passes_through_ns3_points(standard: str) -> None:
    points = np.array(wifi_phy._PER_POINTS_DB[standard])
    curve = wifi_phy.per_curve_db(standard)
    for (s90, s50, s10), (c50, width) in zip(points, curve, strict=True):
        assert wifi_phy.mpdu_success_probability(s50, c50, width, wifi_phy.PER_REF_BYTES) == pytest.approx(0.5)
        # where the model's success is 10 % and 90 %: within 0.2 dB of ns-3's (its curves are not symmetric)
        for snr, success in ((s90, 0.1), (s10, 0.9)):
            model_snr = c50 + width * math.log(success / (1.0 - success))
            assert wifi_phy.mpdu_success_probability(model_snr, c50, width, wifi_phy.PER_REF_BYTES) == pytest.approx(
                success)
            assert model_snr == pytest.approx(snr, abs=0.2)
    # the curves are ordered: every MCS needs more SNR than the one below
    assert np.all(np.diff(curve[:, 0]) > 0)


def test_longer_mpdus_fail_more_often() -> None:
    s50, width = wifi_phy.per_curve_db(STANDARD)[4]
    short = wifi_phy.mpdu_success_probability(s50, s50, width, 500.0)
    ref = wifi_phy.mpdu_success_probability(s50, s50, width, wifi_phy.PER_REF_BYTES)
    long = wifi_phy.mpdu_success_probability(s50, s50, width, 2.0 * wifi_phy.PER_REF_BYTES)
    assert short > ref > long
    assert long == pytest.approx(ref**2)


def test_rate_table_has_a_group_per_width_up_to_the_channel() -> None:
    table = minstrel.rate_table(STANDARD, WIDTH_MHZ, 1)
    mcs = wifi_phy.phy_rate_table_mbps(STANDARD, WIDTH_MHZ, 1).shape[0]
    assert table.shape == (minstrel.RC_ROWS, 2 * mcs)
    narrow = wifi_phy.phy_rate_table_mbps(STANDARD, 20, 1)
    valid = wifi_phy.valid_mcs(STANDARD, 20, 1)
    assert not valid[9]  # VHT MCS 9 at 20 MHz with one stream: not whole data bits per symbol
    np.testing.assert_allclose(table[minstrel.RC_RATE, :mcs], np.where(valid, narrow, 0.0))
    np.testing.assert_allclose(table[minstrel.RC_RATE, mcs:], wifi_phy.phy_rate_table_mbps(STANDARD, WIDTH_MHZ, 1))
    assert table[minstrel.RC_SNR_GAIN, 0] == pytest.approx(10 * math.log10(2))
    assert table[minstrel.RC_SNR_GAIN, mcs] == 0.0
    # a faster rate sends the 1200-byte frame in less airtime (its throughput ranking)
    supported = table[minstrel.RC_RATE] > 0
    order = np.argsort(table[minstrel.RC_RATE, supported])
    assert np.all(np.diff(table[minstrel.RC_FIRST_US, supported][order]) <= 0)


def test_rate_control_names_are_checked() -> None:
    assert load_config(wifi={"rate_control": "minstrel_ht"}).wifi.rate_control == "minstrel_ht"
    with pytest.raises(ConfigError, match="rate_control.*ideal.*minstrel_ht"):
        load_config(wifi={"rate_control": "minstrel"})


# -------------------------------------------------------------------------------------------- behaviour
def test_a_lone_station_starts_at_the_lowest_rate_and_learns_its_best() -> None:
    """Near the AP every MCS works: Minstrel starts at 20 MHz MCS 0 and within a few seconds sends at the
    channel's fastest rate, delivering what ideal rate control does."""
    cell = wifi_cell([5.0], 400.0, "minstrel_ht")
    sim, learned = run_cell(40, **cell)
    _, ideal = run_cell(40, **wifi_cell([5.0], 400.0, "ideal"))
    table = sim.params.wifi_rc_table
    assert learned[0, 0] < 0.5 * ideal[0, 0]  # the first interval still runs on the first, slow rates
    fastest = int(np.argmax(table[minstrel.RC_RATE]))
    assert int(sim.state.wifi_rc[0, minstrel.C_MAX_TP]) == fastest
    assert learned[-10:].mean() == pytest.approx(ideal[-10:].mean(), rel=0.05)


def test_a_station_settles_where_the_error_curve_allows() -> None:
    """Between two MCSs' error curves the station ends on a rate whose MPDUs mostly arrive (the faster ones lose
    almost every MPDU), and delivers a good part of what the best such rate could."""
    table = minstrel.rate_table(STANDARD, WIDTH_MHZ, 1)
    curve = wifi_phy.per_curve_db(STANDARD)
    snr = 0.5 * (curve[4, 0] + curve[5, 0])  # at 40 MHz: MCS 4 works, MCS 5 fails
    distance = 10 ** ((16 - 46.68 - snr - wifi_noise_dbm()) / 30)
    sim, learned = run_cell(40, **wifi_cell([distance], 400.0, "minstrel_ht"))
    assert sim.state.wifi_rc[0, minstrel.C_SNR_DB] == pytest.approx(snr, abs=0.05)
    success = np.array([wifi_phy.mpdu_success_probability(snr + table[minstrel.RC_SNR_GAIN, r], table[minstrel.RC_S50, r],
                                                          table[minstrel.RC_WIDTH, r], wifi_phy.PER_REF_BYTES)
                        for r in range(table.shape[1])])
    chosen = int(sim.state.wifi_rc[0, minstrel.C_MAX_TP])
    assert success[chosen] > 0.9
    assert np.any(success[table[minstrel.RC_RATE] > table[minstrel.RC_RATE, chosen]] < 0.1)  # faster ones fail
    best = np.max(table[minstrel.RC_RATE] * success)
    assert 0.5 * best < learned[-10:].mean() < best


def wifi_noise_dbm() -> float:
    from netgym_lite.models.channel import noise_dbm

    return noise_dbm(WIDTH_MHZ * 1e6, 7.0)


def test_capacity_falls_with_saturated_stations_as_each_learns_slower() -> None:
    """With ideal rate control the cell's capacity hardly depends on the number of saturated stations; with
    Minstrel each station gets fewer transmissions, so it samples (and climbs) more slowly: 32 stations deliver
    clearly less than 2 over the same seconds, where ideal rate control delivers about the same."""
    # (seconds 3-6: two stations have found their best rate by then, as ns-3's 4-user cell does in 2-3 s)
    near = [10.0] * 32  # every station at the same SNR, so ideal rate control gives each the same rate
    agg = {}
    for control in ("ideal", "minstrel_ht"):
        for users in (2, 32):
            _, mbps = run_cell(60, **wifi_cell(near[:users], 400.0 / users, control))
            agg[control, users] = mbps[30:].sum(axis=1).mean()
    assert agg["ideal", 32] > 0.9 * agg["ideal", 2]
    assert agg["minstrel_ht", 2] > 0.9 * agg["ideal", 2]
    assert agg["minstrel_ht", 32] < 0.8 * agg["minstrel_ht", 2]


def test_minstrel_runs_are_seeded() -> None:
    cell = wifi_cell([12.0, 25.0, 38.0, 45.0], 60.0, "minstrel_ht")
    _, a = run_cell(20, seed=3, **cell)
    _, b = run_cell(20, seed=3, **cell)
    _, c = run_cell(20, seed=4, **cell)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
