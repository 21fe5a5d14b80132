"""Scenario configuration: dialects, defaults, overrides, validation errors (netgym_lite.config)."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netgym_lite.config as config_module
from netgym_lite.config import (
    DEFAULT_SCENARIO,
    load_config,
    parse_env_config,
    raw_env_config,
    reward_type_of,
    rl_config_of,
)
from netgym_lite.config_types import Position, ScenarioConfig
from netgym_lite.errors import ConfigError

# Fixtures: NetworkGym's shipped nqos_split config.json at three commits (IntelLabs/networkgym, Apache-2.0), as data.
DATA = Path(__file__).parent / "data"
OLDEST = DATA / "nqos_split_aba951b.json"  # 2023, user_left_right_speed_m/s, GMA/Wi-Fi/LTE
GMA_2023 = DATA / "nqos_split_381578e.json"  # 2023, user_random_walk, DFP flag, handover flag
QOS_2023 = DATA / "nqos_split_7f2abc0.json"  # 2023, subscribed stats, qos_requirement, downlink_traffic
UNIFIED = DATA / "nqos_split_head.json"  # last release: per_slice_config, NR gNBs, lowercase sections
DEFAULT_DICT = json.loads(DEFAULT_SCENARIO.read_text())


def _load(**overrides):
    """The default scenario (from memory: keeps hypothesis fast) with overrides."""
    return load_config(DEFAULT_DICT, **overrides)


def _unified_without_unsupported(**overrides):
    """NetworkGym's last shipped config, minus what netgym-lite refuses (NR cells, per-slice differences)."""
    fixed = {
        "nr_gnb_locations": [],
        "per_slice_config": {
            "transport_protocol": ["udp", "udp"],
            "qos_loss_target": [0.01, 0.01],
            "qos_delay_requirement_ms": [10, 10],
        },
    }
    return load_config(UNIFIED, **{**fixed, **overrides})


# --------------------------------------------------------------------------------------------------------------
# Defaults and shipped files
# --------------------------------------------------------------------------------------------------------------

def test_default_scenario_file_equals_dataclass_defaults():
    assert load_config() == ScenarioConfig()


def test_default_scenario_has_design_doc_values():
    cfg = load_config()
    assert cfg.env == "nqos_split"
    assert cfg.num_users == 4
    assert cfg.lte_enb_locations == (Position(0, 0, 3),)
    assert cfg.wifi_ap_locations == (Position(15, 0, 3), Position(35, 0, 3))
    area = cfg.user_location_range
    assert (area.min_x, area.max_x, area.min_y, area.max_y, area.z) == (0, 55, 0, 10, 1.5)
    walk = cfg.user_random_walk
    assert (walk.min_speed_mps, walk.max_speed_mps, walk.distance_m) == (1, 2, 3)
    assert walk.min_direction_rad == 0 and walk.max_direction_rad == pytest.approx(2 * math.pi, abs=1e-5)
    assert (cfg.measurement_start_time_ms, cfg.measurement_interval_ms, cfg.measurement_guard_interval_ms) == (
        1000, 100, 0)
    assert (cfg.steps_per_episode, cfg.episodes_per_session, cfg.random_seed) == (10, 5, 2)
    assert cfg.traffic.transport == "tcp"
    assert cfg.traffic.udp_poisson_arrival and cfg.traffic.min_udp_rate_per_user_mbps == 6
    assert cfg.traffic.max_udp_rate_per_user_mbps == 6
    assert cfg.lte.resource_block_num == 50
    assert (cfg.gma.downlink_mode, cfg.gma.uplink_mode, cfg.gma.split_burst) == ("split", "auto", 32)
    assert not cfg.wifi.enable_rx_signal_based_handover and not cfg.wifi.ap_share_same_band
    assert cfg.max_wait_time_for_action_ms == 600_000  # the file says -1
    assert cfg.subscribed_network_stats == ()


def test_default_scenario_rl_config():
    assert rl_config_of() == {"agent": "", "reward_type": "utility"}
    assert reward_type_of() == "utility"
    assert reward_type_of({"rl_config": {"reward_type": "delay"}}) == "delay"
    assert reward_type_of({"num_users": 3}) == "utility"  # a bare env_config has no rl_config


def test_shipped_scenario_is_found_by_name():
    assert load_config("traffic_mgmt") == load_config()


@pytest.mark.parametrize("fixture", [OLDEST, GMA_2023, QOS_2023])
def test_networkgym_2023_configs_load(fixture):
    cfg = load_config(fixture)
    assert cfg.num_users == 4 and cfg.lte.resource_block_num == 50
    assert cfg.wifi_ap_locations == (Position(15, 0, 3), Position(35, 0, 3))


def test_networkgym_2023_config_equals_our_default():
    # Same scenario in the 2023 dialect (GMA/Wi-Fi/LTE, enb_locations, downlink): translation loses nothing.
    assert load_config(GMA_2023) == load_config()


def test_oldest_left_right_speed_becomes_a_constant_speed_walk_along_x():
    walk = load_config(OLDEST).user_random_walk
    assert walk.min_speed_mps == walk.max_speed_mps == 2
    assert walk.min_direction_rad == walk.max_direction_rad == 0
    assert walk.distance_m > 1e9  # never re-drawn: only reflections at the edges turn the user


def test_qos_requirement_of_2023_config_is_read():
    qos = load_config(QOS_2023).qos
    assert (qos.delay_bound_ms, qos.delay_test_1_thresh_ms, qos.delay_test_2_thresh_ms) == (1000, 2000, 4000)
    assert len(load_config(QOS_2023).subscribed_network_stats) > 10


def test_unified_config_as_shipped_loads_with_its_two_gnbs():
    cfg = load_config(UNIFIED)
    assert cfg.has_nr and len(cfg.nr_gnb_locations) == 2
    assert cfg.nr_gnb_locations[1].x == 250 and cfg.nr_gnb_locations[1].z == 15
    assert cfg.links == ("wifi", "nr", "lte")
    # NetworkGym's scenario values as the section's defaults (only backhaul_delay_ms is in its config)
    assert (cfg.nr.frequency_ghz, cfg.nr.bandwidth_mhz, cfg.nr.tx_power_dbm, cfg.nr.scheduler) == (3.5, 20, 40.0, "rr")


def test_unified_config_loads_once_nr_and_per_slice_differences_are_removed():
    cfg = _unified_without_unsupported()
    assert cfg.num_users == 5  # per_slice_config.num_users [1, 4] summed
    assert cfg.random_seed == 30 and cfg.episodes_per_session == 100
    assert cfg.lte_enb_locations == (Position(150, 50, 15),)
    assert len(cfg.wifi_ap_locations) == 8
    assert cfg.traffic.transport == "udp" and not cfg.traffic.udp_poisson_arrival
    assert cfg.traffic.min_udp_rate_per_user_mbps == 2
    assert (cfg.qos.delay_bound_ms, cfg.qos.loss_target, cfg.qos.test_duration_ms) == (10, 0.01, 500)
    assert cfg.gma.downlink_mode == "auto"
    assert cfg.max_wait_time_for_action_ms == 100_000
    assert cfg.wifi.enable_rx_signal_based_handover
    assert cfg.raw["num_users"] == 5


def test_per_slice_differences_give_each_slice_its_own_traffic_and_qos():
    cfg = load_config(UNIFIED, nr_gnb_locations=[])  # slices: 1 udp user (10 ms bound), 4 TcpBbr users
    first, second = cfg.slices
    assert first.traffic.transport == "udp" and second.traffic.transport == "tcp_bbr"
    assert (first.qos.delay_bound_ms, first.qos.loss_target) == (10, 0.01)
    assert (second.qos.delay_bound_ms, second.qos.loss_target) == (1_000_000, 1.0)
    assert [t.transport for t in cfg.user_traffic] == ["udp"] + ["tcp_bbr"] * 4
    assert [q.delay_bound_ms for q in cfg.user_qos] == [10] + [1_000_000] * 4
    # values every slice shares stay scenario-wide
    assert cfg.traffic.min_udp_rate_per_user_mbps == 2 and not cfg.traffic.udp_poisson_arrival
    assert cfg.qos.test_duration_ms == 500


def test_a_slice_value_is_checked_like_the_scenario_value_and_named_with_its_index():
    per_slice = {"transport_protocol": ["udp", "TcpCubic"]}
    with pytest.raises(ConfigError, match=re.escape("env_config.per_slice_config.transport_protocol[1]='TcpCubic'")):
        load_config(UNIFIED, nr_gnb_locations=[], per_slice_config=per_slice)
    per_slice = {"qos_loss_target": [0.01, 1.5]}
    with pytest.raises(ConfigError, match=re.escape("env_config.per_slice_config.qos_loss_target[1]=1.5")):
        load_config(UNIFIED, nr_gnb_locations=[], per_slice_config=per_slice)


# --------------------------------------------------------------------------------------------------------------
# Overrides and the env-start dict
# --------------------------------------------------------------------------------------------------------------

def test_top_level_override():
    assert _load(num_users=8).num_users == 8
    assert load_config(num_users=8).raw["num_users"] == 8


def test_nested_override_changes_only_that_key():
    cfg = _load(lte={"resource_block_num": 25})
    assert cfg.lte.resource_block_num == 25
    assert cfg.lte.measurement_interval_ms == 100  # the rest of the section is kept
    assert cfg.raw["lte"] == {"backhaul_delay_ms": 0, "resource_block_num": 25, "measurement_interval_ms": 100,
                              "measurement_guard_interval_ms": 0}


def test_override_merges_into_the_users_own_section_spelling():
    raw = raw_env_config(GMA_2023, lte={"resource_block_num": 25}, ap_locations=[{"x": 1, "y": 2, "z": 3}])
    assert "lte" not in raw and raw["LTE"]["resource_block_num"] == 25
    assert raw["LTE"]["measurement_interval_ms"] == 100
    assert load_config(GMA_2023, wifi_ap_locations=[{"x": 1, "y": 2, "z": 3}]).wifi_ap_locations == (
        Position(1, 2, 3),)


def test_none_override_removes_a_key():
    cfg = _load(user_location_range=None)
    assert "user_location_range" not in cfg.raw and cfg.user_location_range == ScenarioConfig().user_location_range


def test_interval_override_applies_to_every_section():
    cfg = _load(measurement_interval_ms=1000)
    assert cfg.measurement_interval_ms == cfg.gma.measurement_interval_ms == 1000
    assert cfg.wifi.measurement_interval_ms == cfg.lte.measurement_interval_ms == 1000
    assert cfg.raw["env_end_time_ms"] == 1000 + 1000 * 51
    guarded = _load(measurement_guard_interval_ms=20)
    assert guarded.lte.measurement_guard_interval_ms == guarded.measurement_guard_interval_ms == 20
    assert guarded.raw["env_end_time_ms"] == 1000 + 120 * 51


def test_raw_env_config_has_the_keys_networkgyms_client_adds():
    raw = raw_env_config(steps_per_episode=7, episodes_per_session=3, measurement_start_time_ms=500)
    assert raw["type"] == "env-start" and raw["env"] == "nqos_split"
    assert raw["env_end_time_ms"] == 500 + 100 * (7 * 3 + 1)
    assert raw["measurement_interval_ms"] == 100 and raw["measurement_guard_interval_ms"] == 0
    assert raw["num_users"] == 4
    assert "rl_config" not in raw


def test_raw_env_config_of_old_dialect_adds_end_time_from_its_start_key():
    raw = raw_env_config(OLDEST)
    assert raw["app_and_measurement_start_time_ms"] == 1000  # the scenario's own dialect is kept
    assert raw["env_end_time_ms"] == 1000 + 100 * 51


def test_guard_interval_counts_in_the_end_time():
    gma = {"measurement_interval_ms": 90, "measurement_guard_interval_ms": 10}
    raw = raw_env_config(DEFAULT_DICT, gma=gma)  # wifi/lte say 100 + 0: same sum, accepted
    assert raw["measurement_interval_ms"] == 90 and raw["measurement_guard_interval_ms"] == 10
    assert raw["env_end_time_ms"] == 1000 + 100 * 51


@pytest.mark.parametrize("scenario", [None, OLDEST, GMA_2023, QOS_2023])
def test_server_side_parse_of_the_wire_dict_round_trips(scenario):
    cfg = load_config(scenario, num_users=6, lte={"resource_block_num": 25})
    wire = json.loads(json.dumps(cfg.raw))
    again = parse_env_config(wire)
    assert again == cfg
    assert again.raw == cfg.raw


def test_unified_wire_dict_round_trips():
    cfg = _unified_without_unsupported()
    assert parse_env_config(json.loads(json.dumps(cfg.raw))) == cfg


def test_parse_does_not_modify_its_input():
    raw = raw_env_config(OLDEST)
    before = copy.deepcopy(raw)
    cfg = parse_env_config(raw)
    assert raw == before and cfg.raw == before and cfg.raw is not raw


def test_bare_env_config_dict_takes_defaults_for_missing_keys():
    cfg = load_config({"num_users": 2, "lte": {"resource_block_num": 100}})
    assert cfg.num_users == 2 and cfg.lte.resource_block_num == 100
    assert cfg.wifi_ap_locations == ScenarioConfig().wifi_ap_locations


def test_max_wait_follows_networkgyms_rule():
    assert _load(max_wait_time_for_action_ms=-1).max_wait_time_for_action_ms == 600_000
    assert _load(max_wait_time_for_action_ms=-7).max_wait_time_for_action_ms == 600_000
    assert _load(max_wait_time_for_action_ms=600_001).max_wait_time_for_action_ms == 600_000
    assert _load(max_wait_time_for_action_ms=5000).max_wait_time_for_action_ms == 5000


def test_mx_algorithm_sets_split_burst():
    assert _load(gma={"mx_algorithm": "gma"}).gma.split_burst == 32
    assert _load(gma={"mx_algorithm": "gma2"}).gma.split_burst == 128


def test_netgym_lite_radio_keys_are_read():
    cfg = _load(wifi={"standard": "802.11ac", "channel_width_mhz": 40.0, "spatial_streams": 2,
                      "path_loss": {"exponent": 3.5}, "ap_queue_packets": 100},
                lte={"scheduler": "rr", "rlc_buffer_bytes": 20000, "tx_power_dbm": 20},
                gma={"delay_threshold_ms": 5, "stable": False, "loss_balancing": True},
                packet_size_bytes=1000,
                num_users=2, user_locations=[{"x": 1, "y": 2}, {"x": 3, "y": 4, "z": 2}])
    assert cfg.wifi.standard == "802.11ac" and cfg.wifi.channel_width_mhz == 40
    assert isinstance(cfg.wifi.channel_width_mhz, int)
    assert cfg.wifi.path_loss.exponent == 3.5 and cfg.wifi.path_loss.reference_loss_db == 46.68
    assert cfg.lte.scheduler == "rr" and cfg.lte.rlc_buffer_bytes == 20000 and cfg.lte.tx_power_dbm == 20
    assert (cfg.gma.delay_threshold_ms, cfg.gma.stable, cfg.gma.loss_balancing) == (5, False, True)
    assert cfg.traffic.packet_size_bytes == 1000
    assert cfg.user_locations == (Position(1, 2, 1.5), Position(3, 4, 2))


def test_udp_transport_spellings_networkgym_accepts():
    assert _load(transport_protocol="UDP").traffic.transport == "udp"
    assert _load(transport_protocol="Tcp").traffic.transport == "tcp"


def test_zero_width_area_is_allowed():
    area = _load(user_location_range={"min_x": 5, "max_x": 5, "min_y": 0, "max_y": 0}).user_location_range
    assert (area.min_x, area.max_x, area.min_y, area.max_y) == (5, 5, 0, 0)


def test_loading_prints_nothing(capsys):
    load_config(OLDEST)
    with pytest.raises(ConfigError):
        _load(num_users=0)
    assert capsys.readouterr() == ("", "")


def test_library_never_exits():
    source = Path(config_module.__file__).read_text()
    assert "sys.exit" not in source and "print(" not in source


# --------------------------------------------------------------------------------------------------------------
# Rejections: each names the field (as the user spelled it)
# --------------------------------------------------------------------------------------------------------------

BAD_OVERRIDES = [
    ({"colour": "red"}, "env_config.colour"),
    ({"lte": {"resource_blocks": 25}}, "env_config.lte.resource_blocks"),
    ({"user_random_walk": {"speed": 1}}, "env_config.user_random_walk.speed"),
    ({"wifi": {"path_loss": {"model": "log_distance", "gamma": 2}}}, "env_config.wifi.path_loss.gamma"),
    ({"num_users": True}, "env_config.num_users"),
    ({"num_users": 4.5}, "env_config.num_users"),
    ({"num_users": "4"}, "env_config.num_users"),
    ({"num_users": 0}, "env_config.num_users"),
    ({"num_users": 1025}, "env_config.num_users"),
    ({"steps_per_episode": 1}, "env_config.steps_per_episode"),
    ({"episodes_per_session": 0}, "env_config.episodes_per_session"),
    ({"random_seed": -1}, "env_config.random_seed"),
    ({"random_seed": float("nan")}, "env_config.random_seed"),
    ({"udp_poisson_arrival": 1}, "env_config.udp_poisson_arrival"),
    ({"min_udp_rate_per_user_mbps": -1}, "env_config.min_udp_rate_per_user_mbps"),
    ({"max_udp_rate_per_user_mbps": float("inf")}, "env_config.max_udp_rate_per_user_mbps"),
    ({"min_udp_rate_per_user_mbps": 8, "max_udp_rate_per_user_mbps": 6}, "env_config.min_udp_rate_per_user_mbps"),
    ({"user_random_walk": {"min_speed_m/s": -1}}, "env_config.user_random_walk.min_speed_m/s"),
    ({"user_random_walk": {"min_speed_m/s": 3}}, "env_config.user_random_walk.min_speed_m/s"),  # > max 2
    ({"user_random_walk": {"distance_m": 0}}, "env_config.user_random_walk.distance_m"),
    ({"user_random_walk": {"max_direction_gradients": -1}}, "env_config.user_random_walk.min_direction_gradients"),
    ({"user_location_range": {"min_x": 10, "max_x": 5}}, "env_config.user_location_range.min_x"),
    ({"user_location_range": {"min_y": 11}}, "env_config.user_location_range.min_y"),
    ({"lte": {"resource_block_num": 30}}, "env_config.lte.resource_block_num"),
    ({"lte": {"resource_block_num": True}}, "env_config.lte.resource_block_num"),
    ({"lte": {"backhaul_delay_ms": -1}}, "env_config.lte.backhaul_delay_ms"),
    ({"wifi": {"backhaul_delay_ms": -0.5}}, "env_config.wifi.backhaul_delay_ms"),
    ({"gma": {"measurement_interval_ms": 0}}, "env_config.gma.measurement_interval_ms"),
    ({"gma": {"measurement_guard_interval_ms": -1}}, "env_config.gma.measurement_guard_interval_ms"),
    ({"wifi": {"measurement_interval_ms": 200}}, "env_config.wifi.measurement_interval_ms"),
    ({"lte": {"measurement_guard_interval_ms": 5}}, "env_config.lte.measurement_interval_ms"),
    ({"num_users": 2, "user_locations": [{"x": 0, "y": 0, "z": 1}]}, "env_config.user_locations"),
    ({"user_locations": {"x": 0, "y": 0}}, "env_config.user_locations"),
    ({"transport_protocol": "quic"}, "env_config.transport_protocol"),
    ({"downlink_traffic": "no"}, "env_config.downlink_traffic"),
    ({"respond_action_after_measurement": False}, "env_config.respond_action_after_measurement"),
    ({"gma": {"mx_algorithm": "gma3"}}, "env_config.gma.mx_algorithm"),
    ({"gma": {"downlink_mode": "wifi"}}, "env_config.gma.downlink_mode"),
    ({"wifi": {"standard": "802.11n"}}, "env_config.wifi.standard"),
    ({"wifi": {"channel_width_mhz": 30}}, "env_config.wifi.channel_width_mhz"),
    ({"wifi": {"spatial_streams": 5}}, "env_config.wifi.spatial_streams"),
    ({"wifi": {"spatial_streams": 0}}, "env_config.wifi.spatial_streams"),
    ({"wifi": {"rate_control": "minstrel"}}, "env_config.wifi.rate_control"),
    ({"wifi": {"path_loss": {"model": "3gpp_umi"}}}, "env_config.wifi.path_loss.model"),
    ({"wifi": {"max_ampdu_bytes": 100}}, "env_config.wifi.max_ampdu_bytes"),  # below one packet
    ({"lte": {"scheduler": "mt"}}, "env_config.lte.scheduler"),
    ({"lte": {"path_loss": {"reference_distance_m": 0}}}, "env_config.lte.path_loss.reference_distance_m"),
    ({"lte_enb_locations": []}, "env_config.lte_enb_locations"),
    ({"lte_enb_locations": [{"x": 0, "y": 0, "z": 3}, {"x": 9, "y": 0, "z": 3}]}, "env_config.lte_enb_locations"),
    ({"wifi_ap_locations": []}, "env_config.wifi_ap_locations"),
    ({"wifi_ap_locations": [{"x": 0, "y": 0}]}, "env_config.wifi_ap_locations[0].z"),
    ({"wifi_ap_locations": [{"x": 0, "y": 0, "z": 3, "h": 1}]}, "env_config.wifi_ap_locations[0].h"),
    ({"nr_gnb_locations": [{"x": 0, "y": 0}]}, "env_config.nr_gnb_locations[0].z"),
    ({"nr_gnb_locations": {"x": 0, "y": 0, "z": 3}, "nr": {"numerology": 3}}, "env_config.nr.numerology"),
    ({"nr_gnb_locations": [{"x": 0, "y": 0, "z": 3}], "nr": {"bandwidth_mhz": 60}}, "env_config.nr.bandwidth_mhz"),
    ({"nr": {"los_model": "umi"}}, "env_config.nr.los_model"),
    ({"nr": {"scheduler": "pf"}}, "env_config.nr.scheduler"),
    ({"nr": {"rlc_buffer_bytes": 10}}, "env_config.nr.rlc_buffer_bytes"),
    ({"nr": {"frequency_ghz": 0.1}}, "env_config.nr.frequency_ghz"),
    ({"nr": {"backhaul_delay_ms": -1}}, "env_config.nr.backhaul_delay_ms"),
    ({"subscribed_network_stats": "gma::dl::rate"}, "env_config.subscribed_network_stats"),
    ({"subscribed_network_stats": [1]}, "env_config.subscribed_network_stats"),
    ({"packet_size_bytes": 10}, "env_config.packet_size_bytes"),
    ({"measurement_start_time_ms": -1}, "env_config.measurement_start_time_ms"),
    ({"qos_requirement": {"loss_target": 2}}, "env_config.qos_requirement.loss_target"),
    ({"qos_requirement": {"delay_bound_ms": 0}}, "env_config.qos_requirement.delay_bound_ms"),
    ({"type": "env-action"}, "env_config.type"),
    ({"gma": "split"}, "env_config.gma"),
    ({"steps_per_episode": 10**9, "episodes_per_session": 10**9}, "env_config.steps_per_episode"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_OVERRIDES, ids=[f for _, f in BAD_OVERRIDES])
def test_bad_value_raises_config_error_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as info:
        _load(**overrides)
    message = str(info.value)
    assert message.startswith(field + "=") or (field + "=") in message
    assert "allowed" in message


def test_error_names_value_and_what_is_allowed():
    with pytest.raises(ConfigError, match=re.escape(
            "env_config.lte.resource_block_num=30 is invalid: allowed one of 6, 15, 25, 50, 75, 100")):
        _load(lte={"resource_block_num": 30})


def test_unknown_key_error_suggests_the_close_spelling():
    with pytest.raises(ConfigError, match="did you mean 'resource_block_num'"):
        _load(lte={"resource_block_nums": 25})


def test_transport_names_of_networkgym_map_to_the_senders():
    assert _load(transport_protocol="TcpBbr").traffic.transport == "tcp_bbr"
    assert _load(transport_protocol="TcpNewReno").traffic.transport == "tcp"
    with pytest.raises(ConfigError, match=r"transport_protocol='TcpCubic'.*ns-3 TCP variant netgym-lite does not"):
        _load(transport_protocol="TcpCubic")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"LTE": {"resource_block_num": 7}}, "env_config.LTE.resource_block_num"),
    ({"downlink": "no"}, "env_config.downlink"),
    ({"enb_locations": []}, "env_config.enb_locations"),
    ({"user_left_right_speed_m/s": -2}, "env_config.user_left_right_speed_m/s"),
    ({"app_and_measurement_start_time_ms": -5}, "env_config.app_and_measurement_start_time_ms"),
    ({"Wi-Fi": {"measurement_interval_ms": 50}}, "env_config.Wi-Fi.measurement_interval_ms"),
])
def test_old_dialect_errors_use_the_old_spelling(overrides, field):
    with pytest.raises(ConfigError, match=re.escape(field + "=")):
        load_config(OLDEST, **overrides)


def test_old_dialect_downlink_false_means_uplink_data():
    assert load_config(OLDEST, downlink=False).downlink is False
    assert load_config(OLDEST).downlink is True


@pytest.mark.parametrize(("per_slice", "field"), [
    ({"packet_size_bytes": [10, 10]}, "env_config.per_slice_config.packet_size_bytes"),
    ({"num_users": [1, -1]}, "env_config.per_slice_config.num_users"),
    ({"shared_rbg": [25, -1]}, "env_config.per_slice_config.shared_rbg"),
    ({"downlink_mode": ["auto", "split"]}, "env_config.per_slice_config.downlink_mode"),
    ({"uplink_mode": ["auto"]}, "env_config.per_slice_config.uplink_mode"),  # wrong length
    ({"qos_test_duration_ms": [0, 0]}, "env_config.per_slice_config.qos_test_duration_ms"),
])
def test_per_slice_errors_name_the_per_slice_key(per_slice, field):
    fixed = {"transport_protocol": ["udp", "udp"], "qos_loss_target": [0.01, 0.01],
             "qos_delay_requirement_ms": [10, 10]}
    with pytest.raises(ConfigError, match=re.escape(field + "=")):
        load_config(UNIFIED, nr_gnb_locations=[], per_slice_config={**fixed, **per_slice})


def test_both_spellings_of_a_section_are_refused():
    env_config = {**DEFAULT_DICT["env_config"], "LTE": {"resource_block_num": 25}}
    with pytest.raises(ConfigError, match=r"env_config\.LTE.*not both"):
        parse_env_config(env_config)


def test_old_and_new_key_with_different_values_are_refused():
    env_config = {**DEFAULT_DICT["env_config"], "enb_locations": {"x": 5, "y": 0, "z": 3}}
    with pytest.raises(ConfigError, match=r"env_config\.enb_locations"):
        parse_env_config(env_config)


def test_left_right_speed_and_random_walk_together_are_refused():
    with pytest.raises(ConfigError, match=re.escape("env_config.user_left_right_speed_m/s")):
        load_config(OLDEST, user_random_walk={"min_speed_m/s": 1})


def test_unknown_env_is_refused():
    with pytest.raises(ConfigError, match=r"env_config\.env='custom'.*nqos_split, qos_steer, network_slicing, rmcat"):
        load_config(env="custom")


def test_server_refuses_inconsistent_client_added_keys():
    raw = raw_env_config()
    with pytest.raises(ConfigError, match=r"env_config\.env_end_time_ms=999"):
        parse_env_config({**raw, "env_end_time_ms": 999})
    unified = _unified_without_unsupported().raw
    with pytest.raises(ConfigError, match=r"env_config\.num_users=4"):
        parse_env_config({**unified, "num_users": 4})


def test_bad_reward_type_is_refused():
    with pytest.raises(ConfigError, match=r"rl_config\.reward_type='fun'"):
        reward_type_of({"rl_config": {"reward_type": "fun"}, "env_config": {}})


def test_whole_config_with_unknown_top_level_key_is_refused():
    with pytest.raises(ConfigError, match="env_confg"):
        load_config({"rl_config": {}, "env_confg": {"num_users": 3}})


def test_missing_and_malformed_files_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"scenario=.*no_such_file"):
        load_config(tmp_path / "no_such_file.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"env_config": {"num_users": 4,}}')
    with pytest.raises(ConfigError, match="line 1"):
        load_config(broken)


# --------------------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------------------

ANY_VALUE = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
)

FIELDS = [
    lambda v: {"num_users": v},
    lambda v: {"steps_per_episode": v},
    lambda v: {"random_seed": v},
    lambda v: {"max_wait_time_for_action_ms": v},
    lambda v: {"min_udp_rate_per_user_mbps": v},
    lambda v: {"lte": {"resource_block_num": v}},
    lambda v: {"wifi": {"channel_width_mhz": v}},
    lambda v: {"gma": {"measurement_interval_ms": v, "measurement_guard_interval_ms": 0},
               "wifi": {"measurement_interval_ms": v}, "lte": {"measurement_interval_ms": v}},
    lambda v: {"user_location_range": {"min_x": v}},
    lambda v: {"user_random_walk": {"distance_m": v}},
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=ANY_VALUE)
def test_any_value_either_loads_or_raises_config_error(field, value):
    try:
        cfg = _load(**field(value))
    except ConfigError as exc:
        assert "env_config." in str(exc)
    else:
        # whatever loaded must survive the trip to a server unchanged
        assert parse_env_config(json.loads(json.dumps(cfg.raw))) == cfg


@settings(max_examples=60, deadline=None)
@given(num_users=st.integers(1, 1024), steps=st.integers(2, 50), episodes=st.integers(1, 20),
       start=st.integers(0, 10_000), interval=st.integers(1, 2000), guard=st.integers(0, 100))
def test_valid_values_are_kept_and_end_time_follows_networkgym(num_users, steps, episodes, start, interval, guard):
    cfg = _load(num_users=num_users, steps_per_episode=steps, episodes_per_session=episodes,
                measurement_start_time_ms=start, measurement_interval_ms=interval,
                measurement_guard_interval_ms=guard)
    assert (cfg.num_users, cfg.steps_per_episode, cfg.episodes_per_session) == (num_users, steps, episodes)
    assert cfg.raw["env_end_time_ms"] == start + (interval + guard) * (steps * episodes + 1) == cfg.env_end_time_ms
    assert cfg.raw["num_users"] == num_users
