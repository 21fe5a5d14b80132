"""Scenario configuration: read NetworkGym ``env_config`` JSON in any dialect, normalise, validate.

Three layers, so that a new NetworkGym dialect is a new *translation*, never a rewrite:

1. **Input schema** (:data:`TOP_LEVEL_KEYS`, :data:`SECTION_KEYS`, :data:`NESTED_KEYS`): every key any accepted
   dialect may carry, in its original spelling. A key outside it is a :class:`~netgym_lite.errors.ConfigError`.
2. **Translators** (:data:`TRANSLATORS`): small functions, each turning one dialect feature into the canonical
   form (lowercase sections ``gma``/``wifi``/``lte``, the last release's location keys, flat traffic keys,
   ``user_random_walk``). They record where each canonical key came from so errors name what the user wrote.
3. **Builder**: reads the canonical dict into the frozen dataclasses of :mod:`netgym_lite.config_types`,
   checking types and ranges. Anything missing takes the defaults of design.md §6 (the dataclass defaults,
   which equal ``scenarios/traffic_mgmt.json``).

Public entry points: :func:`load_config` (client side: file/dict + overrides → typed config),
:func:`raw_env_config` (the ``env-start`` dict that goes on the wire, with the keys NetworkGym's client adds),
:func:`parse_env_config` (server side: a received ``env-start`` → typed config), :func:`rl_config_of` and
:func:`reward_type_of` (the ``rl_config`` part, kept out of :class:`ScenarioConfig` because the server never
receives it).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from netgym_lite.config_types import (
    NR_LOS_MODELS,
    NR_PRB_TABLE,
    GmaConfig,
    LteConfig,
    NrConfig,
    PathLoss,
    Position,
    QosRequirement,
    RandomWalk,
    ScenarioConfig,
    SliceConfig,
    TrafficConfig,
    UserArea,
    WifiConfig,
)
from netgym_lite.errors import ConfigError, field_error

__all__ = [
    "DEFAULT_SCENARIO",
    "REWARD_TYPES",
    "SCENARIO_DIR",
    "SUPPORTED_ENVS",
    "load_config",
    "parse_env_config",
    "raw_env_config",
    "reward_type_of",
    "rl_config_of",
]

SCENARIO_DIR = Path(__file__).parent / "scenarios"
DEFAULT_SCENARIO = SCENARIO_DIR / "traffic_mgmt.json"

SUPPORTED_ENVS = ("nqos_split", "qos_steer", "network_slicing", "rmcat")
# Every env's rewards (design.md §6): nqos_split's four, network_slicing's, qos_steer's.
REWARD_TYPES = ("utility", "normalized_utility", "throughput", "delay", "slicing", "wifi_qos_user_num",
                "media_utility")
RESOURCE_BLOCKS = (6, 15, 25, 50, 75, 100)
WIFI_STANDARDS = ("802.11ax", "802.11ac")
CHANNEL_WIDTHS_MHZ = (20, 40, 80, 160)
GMA_MODES = ("auto", "split", "steer")  # the three modes NetworkGym's ns-3 scenario accepts
# Burst units a split is quantised to. "gma2" is adaptive 8..128 in NetworkGym; we use its maximum for now.
SPLIT_BURST = {"gma": 32, "gma2": 128}
MAX_USERS = 1024
#: Environments whose flows may run uplink (``downlink_traffic: false``; models/wifi.py, sim.py "uplink data").
UPLINK_ENVS = ("nqos_split", "qos_steer")
# NetworkGym's rule: a wait < 0 or > 600000 ms means 600000 ms (10 minutes).
MAX_WAIT_MS = 600_000
MIN_PACKET_BYTES, MAX_PACKET_BYTES = 64, 9000  # up to a jumbo frame
MAX_AMPDU_BYTES = 6_500_631  # 802.11ax maximum A-MPDU length
MAX_SEED = 2**63 - 1  # seeds travel as int64 into the numba core
MAX_INTERVAL_MS = 3_600_000  # one hour per measurement
MAX_COUNT = 10**9  # steps per episode, episodes per session
MAX_END_TIME_MS = 10**12  # ~31 simulated years: keeps every time in the core's int64 nanoseconds

# ----------------------------------------------------------------------------------------------------------------
# 1. Input schema: every accepted key, in the spelling of every dialect.
# ----------------------------------------------------------------------------------------------------------------

#: Section spellings → canonical section name (2023 "GMA"/"Wi-Fi"/"LTE", last release lowercase).
SECTION_ALIASES: dict[str, str] = {
    "GMA": "gma", "gma": "gma",
    "Wi-Fi": "wifi", "wifi": "wifi",
    "LTE": "lte", "lte": "lte",
    "NR": "nr", "nr": "nr",
}

#: Old top-level key → canonical key.
TOP_LEVEL_ALIASES: dict[str, str] = {
    "enb_locations": "lte_enb_locations",
    "ap_locations": "wifi_ap_locations",
    "downlink": "downlink_traffic",
    "app_and_measurement_start_time_ms": "measurement_start_time_ms",
}

_CLIENT_ADDED_KEYS = frozenset({
    "env", "env_end_time_ms", "measurement_interval_ms", "measurement_guard_interval_ms", "num_users",
    "simulation_time_s",  # what the 2023 client added instead of env_end_time_ms
})

_NETGYM_LITE_TOP_KEYS = frozenset({"user_locations", "packet_size_bytes"})

#: NetworkGym's rmcat keys (its typo ``upd_flow_start_time_diff_ms`` included), the ``bw_trace`` its client adds,
#: and netgym-lite's ``bottleneck_queue_packets``; read by :mod:`netgym_lite.config_rmcat`.
RMCAT_KEYS = frozenset({
    "nada_flows", "nada_flow_start_time_diff_ms", "tcp_flows", "tcp_flow_start_time_diff_ms", "udp_flows",
    "udp_flow_bw_kbps", "upd_flow_start_time_diff_ms", "topo_default_bw_kbps", "topo_default_delay_ms",
    "bw_trace_file", "bw_trace", "bottleneck_queue_packets",
})

#: Every accepted top-level (non-section) key of an env_config.
TOP_LEVEL_KEYS = frozenset({
    "type", "subscribed_network_stats", "steps_per_episode", "episodes_per_session", "random_seed",
    "downlink", "downlink_traffic", "max_wait_time_for_action_ms",
    "enb_locations", "lte_enb_locations", "ap_locations", "wifi_ap_locations", "nr_gnb_locations",
    "num_users", "per_slice_config", "user_left_right_speed_m/s", "user_random_walk", "user_location_range",
    "measurement_start_time_ms", "app_and_measurement_start_time_ms",
    "transport_protocol", "udp_poisson_arrival", "min_udp_rate_per_user_mbps", "max_udp_rate_per_user_mbps",
    "respond_action_after_measurement", "qos_requirement", "slice_list",
}) | _CLIENT_ADDED_KEYS | _NETGYM_LITE_TOP_KEYS | RMCAT_KEYS

_INTERVAL_KEYS = frozenset({"measurement_interval_ms", "measurement_guard_interval_ms"})
_RADIO_KEYS = frozenset({"tx_power_dbm", "noise_figure_db", "frequency_ghz", "path_loss", "shadowing_std_db"})

#: Canonical section → accepted keys (NetworkGym's plus netgym-lite's own, design.md §7).
SECTION_KEYS: dict[str, frozenset[str]] = {
    "gma": frozenset({
        "downlink_mode", "uplink_mode", "mx_algorithm", "enable_dynamic_flow_prioritization",
        "delay_threshold_ms", "stable", "loss_balancing", "split_burst", "reordering_timeout_ms",
    }) | _INTERVAL_KEYS,
    "wifi": frozenset({
        "ap_share_same_band", "enable_rx_signal_based_handover", "backhaul_delay_ms",
        "standard", "channel_width_mhz", "spatial_streams", "rate_control", "max_ampdu_bytes", "ap_queue_packets",
        "queue_discipline",
    }) | _INTERVAL_KEYS | _RADIO_KEYS,
    "lte": frozenset({"resource_block_num", "backhaul_delay_ms", "scheduler", "rlc_buffer_bytes",
                      "ue_tx_power_dbm", "enb_noise_figure_db"})
    | _INTERVAL_KEYS | _RADIO_KEYS,
    "nr": frozenset({
        "backhaul_delay_ms", "bandwidth_mhz", "numerology", "frequency_ghz", "tx_power_dbm", "noise_figure_db",
        "ue_tx_power_dbm",
        "shadowing_std_db", "los_model", "scheduler", "rlc_buffer_bytes",
    }),
}

_PER_SLICE_KEYS = frozenset({
    "num_users", "dedicated_rbg", "prioritized_rbg", "shared_rbg", "packet_size_bytes", "transport_protocol",
    "udp_poisson_arrival", "min_udp_rate_per_user_mbps", "max_udp_rate_per_user_mbps", "qos_test_duration_ms",
    "qos_loss_target", "qos_delay_violation_target", "qos_delay_requirement_ms", "delay_test_1_thresh_ms",
    "delay_test_2_thresh_ms", "downlink_mode", "uplink_mode",
})

#: Nested dicts (by key name, wherever they appear) → accepted keys.
NESTED_KEYS: dict[str, frozenset[str]] = {
    "user_random_walk": frozenset({
        "min_speed_m/s", "max_speed_m/s", "min_direction_gradients", "max_direction_gradients", "distance_m",
    }),
    "user_location_range": frozenset({"min_x", "max_x", "min_y", "max_y", "z"}),
    "qos_requirement": frozenset({
        "delay_bound_ms", "delay_test_1_thresh_ms", "delay_test_2_thresh_ms", "delay_violation_target",
        "loss_target", "test_duration_ms",
    }),
    "per_slice_config": _PER_SLICE_KEYS,
    "slice_list": frozenset({"num_users", "dedicated_rbg", "prioritized_rbg", "shared_rbg"}),
    "path_loss": frozenset({"model", "exponent", "reference_loss_db", "reference_distance_m"}),
}

#: Keys a whole NetworkGym config file may hold next to ``env_config`` (client-side; ignored here except
#: ``rl_config``). Includes the keys of every ``common_config.json`` NetworkGym shipped, which its client merges in.
WHOLE_CONFIG_KEYS = frozenset({
    "env_config", "rl_config", "rl_config_option_list", "action_template",
    "session_name", "session_key", "server_ip", "server_port", "algorithm_client_port",
    "connect_via_server_ip_and_server_port", "local_fowarded_port", "enable_wandb", "enable_terminal_redering",
    "description",  # netgym-lite: free text about the scenario (scenario files are meant to be read)
})

_HINT = "see design.md §4/§7 or scenarios/traffic_mgmt.json"


def _unknown_key_error(path: str, key: str, allowed: Iterable[str]) -> ConfigError:
    """An error for a key outside the schema, suggesting the closest accepted spelling."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    sample = ", ".join(allowed[:8])
    return field_error(ConfigError, f"{path}.{key}" if path else key, "<unknown key>",
                       f"{hint}a known key ({sample}, ...; {_HINT})")


def _check_keys(d: Mapping[str, Any], path: str, allowed: Iterable[str]) -> None:
    allowed = frozenset(allowed)
    for key in d:
        if key not in allowed:
            raise _unknown_key_error(path, key, allowed)


def _check_known_keys(env_config: Mapping[str, Any]) -> None:
    """Reject any key no accepted dialect has, before translation (so errors use the user's spelling)."""
    _check_keys(env_config, "env_config", TOP_LEVEL_KEYS | SECTION_ALIASES.keys())
    for key, value in env_config.items():
        if not isinstance(value, dict):
            continue  # type errors are reported by the builder
        if key in SECTION_ALIASES:
            section = SECTION_ALIASES[key]
            _check_keys(value, f"env_config.{key}", SECTION_KEYS[section])
            if isinstance(value.get("path_loss"), dict):
                _check_keys(value["path_loss"], f"env_config.{key}.path_loss", NESTED_KEYS["path_loss"])
        elif key in NESTED_KEYS:
            _check_keys(value, f"env_config.{key}", NESTED_KEYS[key])


# ----------------------------------------------------------------------------------------------------------------
# 2. Translators: one dialect feature each, into the canonical form.
# ----------------------------------------------------------------------------------------------------------------

class _Origins:
    """Where each canonical field came from, so errors name what the user wrote (e.g. ``LTE.resource_block_num``)."""

    def __init__(self) -> None:
        self._map: dict[str, str] = {}

    def note(self, canonical: str, original: str) -> None:
        self._map[canonical] = original

    def path(self, canonical: str) -> str:
        """``env_config.<original spelling>`` of a dotted canonical field path."""
        if canonical in self._map:
            return "env_config." + self._map[canonical]
        head, _, rest = canonical.partition(".")
        head = self._map.get(head, head)
        return "env_config." + (f"{head}.{rest}" if rest else head)


Translator = Callable[[dict, _Origins], None]


def _rename_sections(d: dict, origins: _Origins) -> None:
    """2023 ``GMA``/``Wi-Fi``/``LTE`` → ``gma``/``wifi``/``lte``."""
    for spelled, canonical in SECTION_ALIASES.items():
        if spelled == canonical or spelled not in d:
            continue
        if canonical in d:
            raise field_error(ConfigError, f"env_config.{spelled}", "<section>",
                              f"one spelling of the section: {spelled!r} or {canonical!r}, not both")
        d[canonical] = d.pop(spelled)
        origins.note(canonical, spelled)


def _rename_top_keys(d: dict, origins: _Origins) -> None:
    """2023 ``enb_locations``/``ap_locations``/``downlink``/``app_and_measurement_start_time_ms`` → last release."""
    for old, canonical in TOP_LEVEL_ALIASES.items():
        if old not in d:
            continue
        value = d.pop(old)
        if canonical in d and d[canonical] != value:
            raise field_error(ConfigError, f"env_config.{old}", value,
                              f"the same value as env_config.{canonical} ({d[canonical]!r}), or only one of them")
        d[canonical] = value
        origins.note(canonical, old)


def _left_right_to_random_walk(d: dict, origins: _Origins) -> None:
    """Oldest dialect: users move left/right at a constant speed.

    Expressed as a random walk with one fixed speed, initial direction +x and a re-draw distance no walk reaches,
    so the only direction changes are the reflections at the area's edges: back and forth along x.
    """
    key = "user_left_right_speed_m/s"
    if key not in d:
        return
    speed = d.pop(key)
    if "user_random_walk" in d:
        raise field_error(ConfigError, f"env_config.{key}", speed,
                          "either user_left_right_speed_m/s (oldest dialect) or user_random_walk, not both")
    d["user_random_walk"] = {
        "min_speed_m/s": speed, "max_speed_m/s": speed,
        "min_direction_gradients": 0.0, "max_direction_gradients": 0.0,
        "distance_m": 1e12,
    }
    for sub in ("min_speed_m/s", "max_speed_m/s"):
        origins.note(f"user_random_walk.{sub}", key)


# per_slice_config keys that must be the same in every slice → canonical destination (section or "" for top level).
_PER_SLICE_COMMON: dict[str, tuple[str, str]] = {
    "qos_test_duration_ms": ("qos_requirement", "test_duration_ms"),
    "downlink_mode": ("gma", "downlink_mode"),
    "uplink_mode": ("gma", "uplink_mode"),
}
# per_slice_config keys a slice may set for itself (traffic, QoS targets): one common value when every slice
# gives the same, otherwise kept per slice (SliceConfig.traffic / .qos).
_PER_SLICE_OWN: dict[str, tuple[str, str]] = {
    "transport_protocol": ("", "transport_protocol"),
    "udp_poisson_arrival": ("", "udp_poisson_arrival"),
    "min_udp_rate_per_user_mbps": ("", "min_udp_rate_per_user_mbps"),
    "max_udp_rate_per_user_mbps": ("", "max_udp_rate_per_user_mbps"),
    "packet_size_bytes": ("", "packet_size_bytes"),
    "qos_delay_requirement_ms": ("qos_requirement", "delay_bound_ms"),
    "qos_delay_violation_target": ("qos_requirement", "delay_violation_target"),
    "qos_loss_target": ("qos_requirement", "loss_target"),
    "delay_test_1_thresh_ms": ("qos_requirement", "delay_test_1_thresh_ms"),
    "delay_test_2_thresh_ms": ("qos_requirement", "delay_test_2_thresh_ms"),
}
_SLICE_OWN = "_own"  # canonical (internal) key of a slice: {"<section>.<key>" or "<key>": (value, original path)}
# Per-slice LTE resource caps (design.md §6, NetworkSlicing): applied by the LTE scheduler in every env.
_PER_SLICE_RBG = ("dedicated_rbg", "prioritized_rbg", "shared_rbg")
_SLICES = "_slices"  # canonical (internal) key: a list of {num_users, dedicated_rbg, prioritized_rbg, shared_rbg}


def _per_slice_lists(psc: Any) -> tuple[dict, int]:
    """Check ``per_slice_config`` is a dict of equally long non-empty lists; return it and the slice count."""
    path = "env_config.per_slice_config"
    if not isinstance(psc, dict):
        raise field_error(ConfigError, path, psc, "a dict of per-slice lists")
    n = None
    for key, value in psc.items():
        if not isinstance(value, list) or not value:
            raise field_error(ConfigError, f"{path}.{key}", value, "a non-empty list with one value per slice")
        if n is not None and len(value) != n:
            raise field_error(ConfigError, f"{path}.{key}", value,
                              f"a list of {n} values (one per slice, as the other per_slice_config lists)")
        n = len(value)
    if "num_users" not in psc:
        raise field_error(ConfigError, f"{path}.num_users", None, "a list of user counts per slice (required)")
    return psc, n or 0


def _per_slice_to_flat(d: dict, origins: _Origins) -> None:
    """Last release's ``per_slice_config`` (arrays per slice) → flat scenario keys.

    ``num_users`` is summed (as NetworkGym's client does). netgym-lite's traffic, QoS and GMA mode are one per
    scenario, so every slice must carry the same value for them; the RBG caps stay in ``raw`` for slicing.
    """
    if "per_slice_config" not in d:
        return
    psc, _ = _per_slice_lists(d.pop("per_slice_config"))
    path = "env_config.per_slice_config"
    counts = [_integer(v, f"{path}.num_users", lo=0) for v in psc["num_users"]]
    total = sum(counts)
    if "num_users" in d and d["num_users"] != total:
        raise field_error(ConfigError, "env_config.num_users", d["num_users"],
                          f"the sum of per_slice_config.num_users {psc['num_users']} = {total} (or leave it out)")
    d["num_users"] = total
    origins.note("num_users", "per_slice_config.num_users")
    slices = [{"num_users": c} for c in counts]
    for key in _PER_SLICE_RBG:
        for i, v in enumerate(psc.get(key, [])):
            slices[i][key] = _integer(v, f"{path}.{key}", lo=0)
    d[_SLICES] = slices
    origins.note(_SLICES, "per_slice_config")
    for key, (section, dest) in _PER_SLICE_COMMON.items():
        if key in psc:
            _put_common_slice_value(d, origins, key, psc[key], section, dest)
    for key, (section, dest) in _PER_SLICE_OWN.items():
        values = psc.get(key)
        if values is None:
            continue
        if all(v == values[0] for v in values[1:]):
            _put_common_slice_value(d, origins, key, values, section, dest)
            continue
        for i, v in enumerate(values):  # this slice's own value, validated by the builder
            own = slices[i].setdefault(_SLICE_OWN, {})
            own[f"{section}.{dest}" if section else dest] = (v, f"{path}.{key}[{i}]")


def _slice_list_to_slices(d: dict, origins: _Origins) -> None:
    """2023 ``slice_list`` (a list of per-slice dicts) → the canonical slices; ``num_users`` is their sum
    (as NetworkGym's slicing adapter computes it)."""
    if "slice_list" not in d:
        return
    path = "env_config.slice_list"
    value = d.pop("slice_list")
    if _SLICES in d:
        raise field_error(ConfigError, path, value, "either slice_list or per_slice_config, not both")
    if not isinstance(value, list) or not value:
        raise field_error(ConfigError, path, value, "a non-empty list of {num_users, dedicated_rbg, "
                          "prioritized_rbg, shared_rbg} objects, one per slice")
    slices = []
    for i, entry in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict):
            raise field_error(ConfigError, where, entry, "a JSON object (dict)")
        _check_keys(entry, where, NESTED_KEYS["slice_list"])
        if "num_users" not in entry:
            raise field_error(ConfigError, f"{where}.num_users", None, "a user count (required)")
        sl = {"num_users": _integer(entry["num_users"], f"{where}.num_users", lo=0)}
        for key in _PER_SLICE_RBG:
            if key in entry:
                sl[key] = _integer(entry[key], f"{where}.{key}", lo=0)
        slices.append(sl)
    total = sum(sl["num_users"] for sl in slices)
    if not 1 <= total <= MAX_USERS:
        raise field_error(ConfigError, path, f"<slices of {total} users in all>",
                          f"slices whose num_users sum to 1..{MAX_USERS}")
    if "num_users" in d and d["num_users"] != total:
        raise field_error(ConfigError, "env_config.num_users", d["num_users"],
                          f"the sum of slice_list's num_users = {total} (or leave it out)")
    d["num_users"] = total
    d[_SLICES] = slices
    origins.note("num_users", "slice_list")
    origins.note(_SLICES, "slice_list")


def _put_common_slice_value(d: dict, origins: _Origins, key: str, values: list, section: str, dest: str) -> None:
    path = f"env_config.per_slice_config.{key}"
    if any(v != values[0] for v in values[1:]):
        raise field_error(ConfigError, path, values,
                          "the same value for every slice: the QoS test duration and the GMA modes are one per "
                          "scenario (traffic and QoS targets may differ per slice)")
    target = d.setdefault(section, {}) if section else d
    if not isinstance(target, dict):
        return  # the builder reports the section's type error
    if dest in target and target[dest] != values[0]:
        where = f"{section}.{dest}" if section else dest
        raise field_error(ConfigError, path, values,
                          f"values equal to env_config.{where} ({target[dest]!r}), or give only one of them")
    target[dest] = values[0]
    origins.note(f"{section}.{dest}" if section else dest, f"per_slice_config.{key}")


#: Per env: the translators applied, in order, to a copy of the received env_config. A new dialect = a new entry.
_COMMON_TRANSLATORS: list[Translator] = [
    _rename_sections, _rename_top_keys, _left_right_to_random_walk, _per_slice_to_flat, _slice_list_to_slices,
]
TRANSLATORS: dict[str, list[Translator]] = {
    "nqos_split": _COMMON_TRANSLATORS,
    "network_slicing": _COMMON_TRANSLATORS,
    "qos_steer": _COMMON_TRANSLATORS,
    "rmcat": [],  # one dialect (netgym_lite.config_rmcat)
}


# ----------------------------------------------------------------------------------------------------------------
# 3. Builder: typed reads with range checks.
# ----------------------------------------------------------------------------------------------------------------

def _describe(kind: str, lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"{kind} in [{lo}, {hi}]" if not lo_open else f"{kind} in ({lo}, {hi}]"
    if lo is not None:
        return f"{kind} {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind


def _number(value: Any, path: str, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False) -> float:
    """A finite real number (bools are not numbers here, unlike in Python) within the bounds."""
    allowed = _describe("a finite number", lo, hi, lo_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise field_error(ConfigError, path, value, allowed)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond float range
        finite = False
    if not finite:
        raise field_error(ConfigError, path, value, allowed)
    if (lo is not None and (value <= lo if lo_open else value < lo)) or (hi is not None and value > hi):
        raise field_error(ConfigError, path, value, allowed)
    return float(value)


def _integer(value: Any, path: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """An integer within the bounds; integral floats (``25.0``, JSON round trips) count as integers."""
    allowed = _describe("an integer", lo, hi, False)
    if isinstance(value, bool):
        raise field_error(ConfigError, path, value, allowed)
    if isinstance(value, float):
        if not value.is_integer():
            raise field_error(ConfigError, path, value, allowed)
        value = int(value)
    if not isinstance(value, int):
        raise field_error(ConfigError, path, value, allowed)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise field_error(ConfigError, path, value, allowed)
    return value


class _Reader:
    """Typed, defaulted reads from one canonical dict; every error names the field as the user spelled it."""

    def __init__(self, d: Any, canonical: str, origins: _Origins) -> None:
        self.canonical = canonical  # dotted canonical path of this dict ("" = env_config itself)
        self.origins = origins
        if not isinstance(d, dict):
            raise field_error(ConfigError, origins.path(canonical), d, "a JSON object (dict)")
        self.d = d

    def path(self, key: str) -> str:
        return self.origins.path(f"{self.canonical}.{key}" if self.canonical else key)

    def has(self, key: str) -> bool:
        return key in self.d

    def raw(self, key: str, default: Any = None) -> Any:
        return self.d.get(key, default)

    def sub(self, key: str) -> _Reader:
        """The nested dict ``key`` (empty if absent)."""
        return _Reader(self.d.get(key, {}), f"{self.canonical}.{key}" if self.canonical else key, self.origins)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.d.get(key, default)
        if not isinstance(value, bool):
            raise field_error(ConfigError, self.path(key), value, "true or false")
        return value

    def integer(self, key: str, default: int, **bounds: Any) -> int:
        return _integer(self.d.get(key, default), self.path(key), **bounds)

    def number(self, key: str, default: float, **bounds: Any) -> float:
        return _number(self.d.get(key, default), self.path(key), **bounds)

    def int_choice(self, key: str, default: int, choices: Iterable[int]) -> int:
        """An integer from a fixed set (integral floats normalised to int)."""
        choices = tuple(choices)
        allowed = "one of " + ", ".join(map(str, choices))
        value = self.d.get(key, default)
        try:
            number = _integer(value, self.path(key))
        except ConfigError:
            number = None
        if number not in choices:
            raise field_error(ConfigError, self.path(key), value, allowed)
        return number

    def choice(self, key: str, default: Any, choices: Iterable[Any]) -> Any:
        value = self.d.get(key, default)
        choices = tuple(choices)
        # bool is an int in Python: never let true match 1
        if isinstance(value, bool) or value not in choices:
            raise field_error(ConfigError, self.path(key), value, "one of " + ", ".join(map(repr, choices)))
        return value

    def min_max(self, lo_key: str, hi_key: str, lo_default: float, hi_default: float,
                *, lo: float | None = None) -> tuple[float, float]:
        """A (min, max) pair of numbers, both >= ``lo``, with min <= max."""
        a = self.number(lo_key, lo_default, lo=lo)
        b = self.number(hi_key, hi_default, lo=lo)
        if a > b:
            raise field_error(ConfigError, self.path(lo_key), self.d.get(lo_key, lo_default),
                              f"a value <= {self.path(hi_key)} ({self.d.get(hi_key, hi_default)!r})")
        return a, b


def _position(value: Any, path: str, z_default: float | None = None) -> Position:
    """``{"x":..,"y":..,"z":..}`` in metres (``z`` optional only where a default height exists)."""
    if not isinstance(value, dict):
        raise field_error(ConfigError, path, value, 'a position {"x": m, "y": m, "z": m}')
    _check_keys(value, path, ("x", "y", "z"))
    for axis in ("x", "y") + (("z",) if z_default is None else ()):
        if axis not in value:
            raise field_error(ConfigError, f"{path}.{axis}", None, "a coordinate in metres (required)")
    z = value.get("z", z_default)
    return Position(_number(value["x"], f"{path}.x"), _number(value["y"], f"{path}.y"), _number(z, f"{path}.z"))


def _positions(value: Any, path: str, z_default: float | None = None) -> tuple[Position, ...]:
    """A list of positions; a single dict counts as a list of one (NetworkGym's eNB is a single dict)."""
    if isinstance(value, dict):
        return (_position(value, path, z_default),) if value else ()
    if not isinstance(value, list):
        raise field_error(ConfigError, path, value, 'a position {"x","y","z"} or a list of them')
    return tuple(_position(v, f"{path}[{i}]", z_default) for i, v in enumerate(value))


def _intervals(r: _Reader) -> tuple[int, int]:
    """The measurement interval and guard, checked equal (as interval+guard) across every place carrying them.

    NetworkGym's client demands equal interval+guard sums in gma, wifi and lte and copies gma's pair to the top
    level; we accept any subset of those places and take gma's pair, else the top level's, else wifi's/lte's.
    """
    carriers = [(name, r if name == "" else r.sub(name)) for name in ("gma", "", "wifi", "lte")
                if name == "" or isinstance(r.raw(name), dict)]
    pairs = []
    for name, sec in carriers:
        if not sec.has("measurement_interval_ms"):
            continue
        interval = sec.integer("measurement_interval_ms", 100, lo=1, hi=MAX_INTERVAL_MS)
        guard = sec.integer("measurement_guard_interval_ms", 0, lo=0, hi=MAX_INTERVAL_MS)
        pairs.append((name, sec, interval, guard))
    if not pairs:
        return 100, r.integer("measurement_guard_interval_ms", 0, lo=0, hi=MAX_INTERVAL_MS)
    _, _, interval, guard = pairs[0]
    for _name, sec, i, g in pairs[1:]:
        if i + g != interval + guard:
            where = pairs[0][1].path("measurement_interval_ms")
            raise field_error(ConfigError, sec.path("measurement_interval_ms"), f"{i} (+ guard {g})",
                              f"interval + guard equal to {where} + guard = {interval + guard} ms in every "
                              "section that carries measurement intervals (gma, wifi, lte, top level)")
    return interval, guard


def _section_intervals(sec: _Reader, interval: int, guard: int) -> dict[str, int]:
    """A section's own interval pair, inheriting the scenario's when it carries none."""
    if not sec.has("measurement_interval_ms"):
        return {"measurement_interval_ms": interval, "measurement_guard_interval_ms": guard}
    return {"measurement_interval_ms": sec.integer("measurement_interval_ms", interval, lo=1, hi=MAX_INTERVAL_MS),
            "measurement_guard_interval_ms": sec.integer("measurement_guard_interval_ms", 0, lo=0,
                                                         hi=MAX_INTERVAL_MS)}


def _path_loss(sec: _Reader, default: PathLoss) -> PathLoss:
    pl = sec.sub("path_loss")
    return PathLoss(
        model=pl.choice("model", default.model, ("log_distance",)),
        exponent=pl.number("exponent", default.exponent, lo=1.0, hi=8.0),
        reference_loss_db=pl.number("reference_loss_db", default.reference_loss_db, lo=0.0),
        reference_distance_m=pl.number("reference_distance_m", default.reference_distance_m, lo=0.0, lo_open=True),
    )


# Transport names as NetworkGym's configs spell them (ns-3 TCP type ids) → netgym-lite's senders (design.md §6).
TRANSPORT_NAMES = {
    "tcp": "tcp", "TCP": "tcp", "Tcp": "tcp", "TcpNewReno": "tcp",
    "TcpBbr": "tcp_bbr", "tcp_bbr": "tcp_bbr",
    "udp": "udp", "UDP": "udp", "Udp": "udp",
}


def _transport(r: _Reader) -> str:
    """"tcp" (loss-based), "tcp_bbr" (NetworkGym's "TcpBbr") or "udp"; other names are refused clearly."""
    value = r.raw("transport_protocol", TrafficConfig.transport)
    if isinstance(value, str) and value in TRANSPORT_NAMES:
        return TRANSPORT_NAMES[value]
    allowed = "one of " + ", ".join(repr(n) for n in TRANSPORT_NAMES)
    if isinstance(value, str) and value.lower().startswith("tcp"):
        allowed += f" ({value!r} is an ns-3 TCP variant netgym-lite does not model)"
    raise field_error(ConfigError, r.path("transport_protocol"), value, allowed)


def _traffic(r: _Reader) -> TrafficConfig:
    d = TrafficConfig()
    lo, hi = r.min_max("min_udp_rate_per_user_mbps", "max_udp_rate_per_user_mbps",
                       d.min_udp_rate_per_user_mbps, d.max_udp_rate_per_user_mbps, lo=0.0)
    return TrafficConfig(
        transport=_transport(r),
        udp_poisson_arrival=r.boolean("udp_poisson_arrival", d.udp_poisson_arrival),
        min_udp_rate_per_user_mbps=lo,
        max_udp_rate_per_user_mbps=hi,
        packet_size_bytes=r.integer("packet_size_bytes", d.packet_size_bytes, lo=MIN_PACKET_BYTES,
                                    hi=MAX_PACKET_BYTES),
    )


def _qos(r: _Reader) -> QosRequirement:
    q, d = r.sub("qos_requirement"), QosRequirement()
    return QosRequirement(
        delay_bound_ms=q.number("delay_bound_ms", d.delay_bound_ms, lo=0.0, lo_open=True),
        delay_test_1_thresh_ms=q.number("delay_test_1_thresh_ms", d.delay_test_1_thresh_ms, lo=0.0, lo_open=True),
        delay_test_2_thresh_ms=q.number("delay_test_2_thresh_ms", d.delay_test_2_thresh_ms, lo=0.0, lo_open=True),
        delay_violation_target=q.number("delay_violation_target", d.delay_violation_target, lo=0.0, hi=1.0),
        loss_target=q.number("loss_target", d.loss_target, lo=0.0, hi=1.0),
        test_duration_ms=q.number("test_duration_ms", d.test_duration_ms, lo=0.0, lo_open=True),
    )


def _gma(r: _Reader, interval: int, guard: int) -> GmaConfig:
    g, d = r.sub("gma"), GmaConfig()
    algorithm = g.choice("mx_algorithm", d.mx_algorithm, SPLIT_BURST)
    return GmaConfig(
        downlink_mode=g.choice("downlink_mode", d.downlink_mode, GMA_MODES),
        uplink_mode=g.choice("uplink_mode", d.uplink_mode, GMA_MODES),
        mx_algorithm=algorithm,
        enable_dynamic_flow_prioritization=g.boolean("enable_dynamic_flow_prioritization",
                                                     d.enable_dynamic_flow_prioritization),
        delay_threshold_ms=g.number("delay_threshold_ms", d.delay_threshold_ms, lo=0.0),
        stable=g.boolean("stable", d.stable),
        loss_balancing=g.boolean("loss_balancing", d.loss_balancing),
        split_burst=g.integer("split_burst", SPLIT_BURST[algorithm], lo=1, hi=1024),
        reordering_timeout_ms=g.number("reordering_timeout_ms", d.reordering_timeout_ms, lo=0.0),
        **_section_intervals(g, interval, guard),
    )


def _wifi(r: _Reader, interval: int, guard: int, packet_bytes: int) -> WifiConfig:
    w, d = r.sub("wifi"), WifiConfig()
    return WifiConfig(
        standard=w.choice("standard", d.standard, WIFI_STANDARDS),
        channel_width_mhz=w.int_choice("channel_width_mhz", d.channel_width_mhz, CHANNEL_WIDTHS_MHZ),
        spatial_streams=w.integer("spatial_streams", d.spatial_streams, lo=1, hi=4),
        frequency_ghz=w.number("frequency_ghz", d.frequency_ghz, lo=0.0, lo_open=True, hi=100.0),
        tx_power_dbm=w.number("tx_power_dbm", d.tx_power_dbm, lo=-50.0, hi=60.0),
        noise_figure_db=w.number("noise_figure_db", d.noise_figure_db, lo=0.0, hi=50.0),
        path_loss=_path_loss(w, d.path_loss),
        shadowing_std_db=w.number("shadowing_std_db", d.shadowing_std_db, lo=0.0, hi=30.0),
        rate_control=w.choice("rate_control", d.rate_control, ("ideal", "minstrel_ht")),
        # at least one packet must fit into an A-MPDU
        max_ampdu_bytes=w.integer("max_ampdu_bytes", d.max_ampdu_bytes, lo=packet_bytes, hi=MAX_AMPDU_BYTES),
        ap_queue_packets=w.integer("ap_queue_packets", d.ap_queue_packets, lo=1),
        queue_discipline=w.choice("queue_discipline", d.queue_discipline, ("fifo", "fq_codel")),
        backhaul_delay_ms=w.number("backhaul_delay_ms", d.backhaul_delay_ms, lo=0.0),
        ap_share_same_band=w.boolean("ap_share_same_band", d.ap_share_same_band),
        enable_rx_signal_based_handover=w.boolean("enable_rx_signal_based_handover",
                                                  d.enable_rx_signal_based_handover),
        **_section_intervals(w, interval, guard),
    )


def _lte(r: _Reader, interval: int, guard: int, packet_bytes: int) -> LteConfig:
    lt, d = r.sub("lte"), LteConfig()
    return LteConfig(
        resource_block_num=lt.int_choice("resource_block_num", d.resource_block_num, RESOURCE_BLOCKS),
        tx_power_dbm=lt.number("tx_power_dbm", d.tx_power_dbm, lo=-50.0, hi=60.0),
        noise_figure_db=lt.number("noise_figure_db", d.noise_figure_db, lo=0.0, hi=50.0),
        ue_tx_power_dbm=lt.number("ue_tx_power_dbm", d.ue_tx_power_dbm, lo=-50.0, hi=60.0),
        enb_noise_figure_db=lt.number("enb_noise_figure_db", d.enb_noise_figure_db, lo=0.0, hi=50.0),
        frequency_ghz=lt.number("frequency_ghz", d.frequency_ghz, lo=0.0, lo_open=True, hi=100.0),
        path_loss=_path_loss(lt, d.path_loss),
        shadowing_std_db=lt.number("shadowing_std_db", d.shadowing_std_db, lo=0.0, hi=30.0),
        scheduler=lt.choice("scheduler", d.scheduler, ("pf", "rr")),
        # a buffer smaller than one packet could never hold anything
        rlc_buffer_bytes=lt.integer("rlc_buffer_bytes", d.rlc_buffer_bytes, lo=packet_bytes),
        backhaul_delay_ms=lt.number("backhaul_delay_ms", d.backhaul_delay_ms, lo=0.0),
        **_section_intervals(lt, interval, guard),
    )


def _nr(r: _Reader, packet_bytes: int) -> NrConfig:
    """The ``nr`` section (design.md §7): bandwidth and numerology must name a row of TS 38.101-1 Table 5.3.2-1."""
    n, d = r.sub("nr"), NrConfig()
    numerology = n.integer("numerology", d.numerology, lo=0, hi=2)
    widths = tuple(NR_PRB_TABLE[15 * 2**numerology])
    return NrConfig(
        bandwidth_mhz=n.int_choice("bandwidth_mhz", d.bandwidth_mhz, widths),
        numerology=numerology,
        frequency_ghz=n.number("frequency_ghz", d.frequency_ghz, lo=0.5, hi=100.0),  # TR 38.901: 0.5-100 GHz
        tx_power_dbm=n.number("tx_power_dbm", d.tx_power_dbm, lo=-50.0, hi=60.0),
        noise_figure_db=n.number("noise_figure_db", d.noise_figure_db, lo=0.0, hi=50.0),
        ue_tx_power_dbm=n.number("ue_tx_power_dbm", d.ue_tx_power_dbm, lo=-50.0, hi=60.0),
        shadowing_std_db=n.number("shadowing_std_db", d.shadowing_std_db, lo=0.0, hi=30.0),
        los_model=n.choice("los_model", d.los_model, NR_LOS_MODELS),
        scheduler=n.choice("scheduler", d.scheduler, ("rr",)),
        # a buffer smaller than one packet could never hold anything
        rlc_buffer_bytes=n.integer("rlc_buffer_bytes", d.rlc_buffer_bytes, lo=packet_bytes),
        backhaul_delay_ms=n.number("backhaul_delay_ms", d.backhaul_delay_ms, lo=0.0),
    )


def _gnbs(r: _Reader, env: str) -> tuple[Position, ...]:
    """gNB positions (``nr_gnb_locations``); only nqos_split has an NR link."""
    gnbs = _positions(r.raw("nr_gnb_locations", []), r.path("nr_gnb_locations"))
    if gnbs and env != "nqos_split":
        raise field_error(ConfigError, r.path("nr_gnb_locations"), r.raw("nr_gnb_locations"),
                          f"an empty list for {env} (the NR link is modelled for nqos_split only)")
    return gnbs


def _area(r: _Reader) -> UserArea:
    a, d = r.sub("user_location_range"), UserArea()
    # A zero-width area is a line (or a point): fine. Only an inverted one is empty.
    min_x, max_x = a.min_max("min_x", "max_x", d.min_x, d.max_x)
    min_y, max_y = a.min_max("min_y", "max_y", d.min_y, d.max_y)
    return UserArea(min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y, z=a.number("z", d.z))


def _walk(r: _Reader) -> RandomWalk:
    w, d = r.sub("user_random_walk"), RandomWalk()
    lo, hi = w.min_max("min_speed_m/s", "max_speed_m/s", d.min_speed_mps, d.max_speed_mps, lo=0.0)
    dlo, dhi = w.min_max("min_direction_gradients", "max_direction_gradients",
                         d.min_direction_rad, d.max_direction_rad)
    return RandomWalk(min_speed_mps=lo, max_speed_mps=hi, min_direction_rad=dlo, max_direction_rad=dhi,
                      distance_m=w.number("distance_m", d.distance_m, lo=0.0, lo_open=True))


def _cells(r: _Reader, env: str, has_nr: bool = False) -> tuple[tuple[Position, ...], tuple[Position, ...]]:
    """Every env needs exactly one eNB; nqos_split also needs at least one Wi-Fi AP or gNB (slicing may have
    none)."""
    d = ScenarioConfig()
    enbs = _positions(r.raw("lte_enb_locations", _as_dict(d.lte_enb_locations[0])), r.path("lte_enb_locations"))
    if len(enbs) != 1:
        raise field_error(ConfigError, r.path("lte_enb_locations"), r.raw("lte_enb_locations"),
                          f"exactly one eNB position ({env} has one LTE cell; every user connects to it)")
    aps = _positions(r.raw("wifi_ap_locations", [_as_dict(p) for p in d.wifi_ap_locations]),
                     r.path("wifi_ap_locations"))
    if not aps and env == "nqos_split" and not has_nr:
        raise field_error(ConfigError, r.path("wifi_ap_locations"), r.raw("wifi_ap_locations"),
                          "at least one AP position (nqos_split connects every user to one eNB and one AP, or "
                          "to a gNB when nr_gnb_locations has one)")
    return enbs, aps


def _slices(r: _Reader, env: str, num_users: int) -> tuple[SliceConfig, ...]:
    """The canonical slices (from ``slice_list`` or ``per_slice_config``); network_slicing requires them."""
    raw = r.raw(_SLICES, None)
    if raw is None:
        if env == "network_slicing":
            raise field_error(ConfigError, "env_config.slice_list", None,
                              "a list of slices [{num_users, dedicated_rbg, prioritized_rbg, shared_rbg}, ...] "
                              "(or per_slice_config): network_slicing needs at least one slice")
        return ()
    slices = tuple(_slice(r, sl) for sl in raw)
    if sum(sl.num_users for sl in slices) != num_users:  # both come from the same lists; guard the invariant
        raise field_error(ConfigError, r.path(_SLICES), raw, f"slices whose num_users sum to {num_users}")
    return slices


def _slice(r: _Reader, raw: dict) -> SliceConfig:
    """One canonical slice; its own traffic / QoS values (if any) are read over the scenario's, so they get the
    same checks and defaults, and errors name ``per_slice_config.<key>[i]``."""
    own = raw.get(_SLICE_OWN)
    caps = {k: v for k, v in raw.items() if k != _SLICE_OWN}
    if not own:
        return SliceConfig(**caps)
    merged = copy.deepcopy(r.d)
    origins = _Origins()
    origins._map.update(r.origins._map)
    for canonical, (value, original) in own.items():
        section, _, key = canonical.rpartition(".")
        (merged.setdefault(section, {}) if section else merged)[key] = value
        origins.note(canonical, original.removeprefix("env_config."))
    sr = _Reader(merged, "", origins)
    traffic_keys = {c for c in own if "." not in c}
    return SliceConfig(**caps, traffic=_traffic(sr) if traffic_keys else None,
                       qos=_qos(sr) if len(traffic_keys) < len(own) else None)


def _as_dict(p: Position) -> dict[str, float]:
    return {"x": p.x, "y": p.y, "z": p.z}


def _stats(r: _Reader) -> tuple[str, ...]:
    value = r.raw("subscribed_network_stats", [])
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise field_error(ConfigError, r.path("subscribed_network_stats"), value,
                          'a list of stat names such as "gma::dl::rate" (empty = everything)')
    return tuple(value)


def _max_wait(r: _Reader) -> int:
    value = r.integer("max_wait_time_for_action_ms", -1)
    return MAX_WAIT_MS if value < 0 or value > MAX_WAIT_MS else value


def _users(r: _Reader, area: UserArea) -> tuple[int, tuple[Position, ...] | None]:
    num_users = r.integer("num_users", ScenarioConfig.num_users, lo=1, hi=MAX_USERS)
    if not r.has("user_locations"):
        return num_users, None
    value = r.raw("user_locations")
    if not isinstance(value, list):
        raise field_error(ConfigError, r.path("user_locations"), value, "a list of {x, y, z} positions")
    locations = _positions(value, r.path("user_locations"), z_default=area.z)
    if len(locations) != num_users:
        raise field_error(ConfigError, r.path("user_locations"), f"<{len(locations)} positions>",
                          f"exactly num_users = {num_users} positions, one per user")
    return num_users, locations


def _session_checks(r: _Reader, cfg: ScenarioConfig) -> None:
    """Keys that only mirror others (or are fixed in netgym-lite): check, never store."""
    if r.raw("type", "env-start") != "env-start":
        raise field_error(ConfigError, r.path("type"), r.raw("type"), "'env-start'")
    if not cfg.downlink and cfg.env not in UPLINK_ENVS:
        raise field_error(ConfigError, r.path("downlink_traffic"), False,
                          f"true for {cfg.env} (uplink data flows are modelled for {' and '.join(UPLINK_ENVS)} "
                          "only; network_slicing's slices schedule the downlink's RBs)")
    if not r.boolean("respond_action_after_measurement", True):
        raise field_error(ConfigError, r.path("respond_action_after_measurement"), False,
                          "true (netgym-lite always answers each measurement with one action)")
    r.integer("upd_flow_start_time_diff_ms", 0, lo=0)
    r.integer("simulation_time_s", 0, lo=0)  # 2023 client's end time (different formula): accepted, unused
    if cfg.env_end_time_ms > MAX_END_TIME_MS:
        raise field_error(ConfigError, r.path("steps_per_episode"), cfg.steps_per_episode,
                          f"a session that ends by {MAX_END_TIME_MS} ms (start + interval * (L*E + 1) is "
                          f"{cfg.env_end_time_ms} ms)")
    end = r.integer("env_end_time_ms", cfg.env_end_time_ms)
    if end != cfg.env_end_time_ms:
        raise field_error(ConfigError, r.path("env_end_time_ms"), end,
                          f"measurement_start_time_ms + interval * (L*E + 1) = {cfg.env_end_time_ms} "
                          "(or leave it out)")


def _build(canon: dict, origins: _Origins, env: str) -> ScenarioConfig:
    """Canonical dict → typed config, with every range and cross-field check."""
    r = _Reader(canon, "", origins)
    interval, guard = _intervals(r)
    traffic = _traffic(r)
    area = _area(r)
    num_users, user_locations = _users(r, area)
    gnbs = _gnbs(r, env)
    enbs, aps = _cells(r, env, bool(gnbs))
    slices = _slices(r, env, num_users)
    packet_bytes = max([traffic.packet_size_bytes] + [sl.traffic.packet_size_bytes for sl in slices if sl.traffic])
    cfg = ScenarioConfig(
        env=env,
        num_users=num_users,
        steps_per_episode=r.integer("steps_per_episode", ScenarioConfig.steps_per_episode, lo=2, hi=MAX_COUNT),
        episodes_per_session=r.integer("episodes_per_session", ScenarioConfig.episodes_per_session, lo=1,
                                       hi=MAX_COUNT),
        random_seed=r.integer("random_seed", ScenarioConfig.random_seed, lo=0, hi=MAX_SEED),
        downlink=r.boolean("downlink_traffic", True),
        max_wait_time_for_action_ms=_max_wait(r),
        measurement_start_time_ms=r.integer("measurement_start_time_ms", ScenarioConfig.measurement_start_time_ms,
                                            lo=0, hi=MAX_END_TIME_MS),
        measurement_interval_ms=interval,
        measurement_guard_interval_ms=guard,
        subscribed_network_stats=_stats(r),
        lte_enb_locations=enbs,
        wifi_ap_locations=aps,
        user_locations=user_locations,
        user_location_range=area,
        user_random_walk=_walk(r),
        traffic=traffic,
        qos=_qos(r),
        gma=_gma(r, interval, guard),
        wifi=_wifi(r, interval, guard, packet_bytes),
        lte=_lte(r, interval, guard, packet_bytes),
        nr_gnb_locations=gnbs,
        nr=_nr(r, packet_bytes),
        slices=slices,
    )
    _session_checks(r, cfg)
    if cfg.gma.enable_dynamic_flow_prioritization and env != "qos_steer":
        raise field_error(ConfigError, r.sub("gma").path("enable_dynamic_flow_prioritization"), True,
                          f"false for {env} (dynamic flow prioritisation is modelled for qos_steer's whole-flow "
                          "steering only)")
    return cfg


# ----------------------------------------------------------------------------------------------------------------
# Reading files, merging overrides, the public functions.
# ----------------------------------------------------------------------------------------------------------------

def _resolve_path(scenario: str | os.PathLike) -> Path:
    """A file path, or the name of a shipped scenario (``"traffic_mgmt"``)."""
    path = Path(scenario)
    if path.is_file():
        return path
    for candidate in (SCENARIO_DIR / path.name, SCENARIO_DIR / f"{path.name}.json"):
        if path.parent == Path(".") and candidate.is_file():
            return candidate
    shipped = sorted(p.stem for p in SCENARIO_DIR.glob("*.json"))
    raise field_error(ConfigError, "scenario", str(scenario),
                      f"an existing JSON file or a shipped scenario name ({', '.join(shipped) or 'none'})")


def _read_scenario(scenario: str | os.PathLike | Mapping | None) -> dict:
    """The whole config as a fresh dict (a file's JSON, a deep copy of a dict, or the default file)."""
    if scenario is None:
        scenario = DEFAULT_SCENARIO
    if isinstance(scenario, Mapping):
        return copy.deepcopy(dict(scenario))
    if not isinstance(scenario, (str, os.PathLike)):
        raise field_error(ConfigError, "scenario", scenario, "a path to a JSON file, a dict, or None")
    path = _resolve_path(scenario)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise field_error(ConfigError, "scenario", str(path),
                          f"valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except OSError as exc:
        raise field_error(ConfigError, "scenario", str(path), f"a readable file ({exc.strerror})") from exc
    if not isinstance(data, dict):
        raise field_error(ConfigError, "scenario", str(path), "a JSON object at the top level")
    return data


def _scenario_dir(scenario: str | os.PathLike | Mapping | None) -> Path | None:
    """The folder of a scenario given as a file (relative files it names are read from there)."""
    if isinstance(scenario, (str, os.PathLike)):
        try:
            return _resolve_path(scenario).parent
        except ConfigError:
            return None
    return None


def _is_whole(d: Mapping) -> bool:
    return "env_config" in d or "rl_config" in d


def _split_whole(d: dict) -> tuple[dict, dict]:
    """(env_config, rl_config) of a whole NetworkGym config, or of a bare env_config (rl_config empty)."""
    if not _is_whole(d):
        return d, {}
    _check_keys(d, "", WHOLE_CONFIG_KEYS)
    env_config = d.get("env_config", {})
    rl_config = d.get("rl_config", {})
    if not isinstance(env_config, dict):
        raise field_error(ConfigError, "env_config", env_config, "a JSON object (dict)")
    if not isinstance(rl_config, dict):
        raise field_error(ConfigError, "rl_config", rl_config, "a JSON object (dict)")
    return env_config, rl_config


def _canonical_key(key: str, existing: Mapping) -> str:
    """The key of ``existing`` that ``key`` names in another dialect's spelling (else ``key`` itself)."""
    if key in existing:
        return key
    canonical = SECTION_ALIASES.get(key) or TOP_LEVEL_ALIASES.get(key, key)
    for spelled in existing:
        if spelled != key and (SECTION_ALIASES.get(spelled) or TOP_LEVEL_ALIASES.get(spelled, spelled)) == canonical:
            return spelled
    return key


def _merge(base: dict, overrides: Mapping[str, Any], *, top: bool) -> dict:
    """Overrides on top of base: nested dicts key by key, other values replaced, ``None`` deletes a key.

    At the top level a key merges into the user's own spelling of it (``lte=`` into ``"LTE"``), so an override
    never creates a second spelling of the same section.
    """
    for key, value in overrides.items():
        target = _canonical_key(key, base) if top else key
        if value is None:
            base.pop(target, None)
        elif isinstance(value, Mapping) and isinstance(base.get(target), dict):
            _merge(base[target], value, top=False)
        else:
            base[target] = copy.deepcopy(value)
    return base


def _interval_sections(d: Mapping) -> list[str]:
    return [k for k in d if k in SECTION_ALIASES and isinstance(d[k], dict) and "measurement_interval_ms" in d[k]]


def _apply_interval_overrides(d: dict, overrides: Mapping[str, Any]) -> None:
    """A top-level interval/guard override changes every section carrying intervals (else it could never agree)."""
    for key in _INTERVAL_KEYS & overrides.keys():
        if overrides[key] is None:
            continue
        for section in _interval_sections(d):
            d[section][key] = overrides[key]


def _resolve_env(env_config: Mapping, env: str | None) -> str:
    name = env if env is not None else env_config.get("env", "nqos_split")
    if name not in SUPPORTED_ENVS:
        raise field_error(ConfigError, "env_config.env", name,
                          f"one of {', '.join(SUPPORTED_ENVS)} (other NetworkGym envs are not supported yet)")
    return name


def _translate(env_config: Mapping, env: str) -> tuple[dict, _Origins]:
    canon, origins = copy.deepcopy(dict(env_config)), _Origins()
    for translate in TRANSLATORS[env]:
        translate(canon, origins)
    return canon, origins


def parse_env_config(d: Mapping[str, Any]) -> ScenarioConfig:
    """Validate and normalise a NetworkGym ``env_config`` / ``env-start`` dict of any accepted dialect.

    This is what a server runs on a received ``env-start``. The dict is not modified; the result's ``raw``
    holds a deep copy of it. Raises :class:`~netgym_lite.errors.ConfigError` naming the field, the bad value
    and what is allowed.
    """
    if not isinstance(d, Mapping):
        raise field_error(ConfigError, "env_config", d, "a JSON object (dict)")
    _check_known_keys(d)
    env = _resolve_env(d, None)
    if env == "rmcat":
        from netgym_lite.config_rmcat import build_rmcat

        return _with_raw(build_rmcat(d), copy.deepcopy(dict(d)))
    canon, origins = _translate(d, env)
    cfg = _build(canon, origins, env)
    return _with_raw(cfg, copy.deepcopy(dict(d)))


def _with_raw(cfg: ScenarioConfig, raw: dict) -> ScenarioConfig:
    # ``raw`` is compare=False: configs built from different spellings of the same scenario compare equal.
    return dataclasses.replace(cfg, raw=raw)


def raw_env_config(scenario: str | os.PathLike | Mapping | None = None, *, env: str | None = None,
                   **overrides: Any) -> dict:
    """The ``env-start`` dict for a scenario: NetworkGym-shaped, in the scenario's own dialect, ready to send.

    ``scenario``: a JSON file path, a shipped scenario name, a dict (whole NetworkGym config or only its
    ``env_config``), or None for ``scenarios/traffic_mgmt.json``. ``overrides``: env_config keys merged on top,
    nested dicts key by key (``lte={"resource_block_num": 25}``), ``None`` removing a key; a top-level
    ``measurement_interval_ms``/``measurement_guard_interval_ms`` override applies to every section carrying one.
    ``env``: the env name to put in the dict (default: the dict's own ``env``, else "nqos_split").

    Adds what NetworkGym's client adds: ``type`` "env-start", ``env``, top-level ``measurement_interval_ms`` and
    ``measurement_guard_interval_ms`` (gma's), ``env_end_time_ms`` = start + interval·(L·E + 1), and ``num_users``
    (summed from ``per_slice_config`` when that is present). Validates everything (raises ConfigError).
    """
    env_config, _ = _split_whole(_read_scenario(scenario))
    merged = _merge(copy.deepcopy(env_config), overrides, top=True)
    _apply_interval_overrides(merged, overrides)
    merged.setdefault("type", "env-start")
    merged["env"] = _resolve_env(merged, env)
    if merged["env"] == "rmcat":  # NetworkGym's rmcat client reads bw_trace_file into bw_trace
        from netgym_lite.config_rmcat import attach_bw_trace

        attach_bw_trace(merged, _scenario_dir(scenario))
    # Client-derived keys are recomputed (NetworkGym's client overwrites them too); drop stale copies first.
    for key in ("env_end_time_ms", "simulation_time_s"):
        merged.pop(key, None)
    if _interval_sections(merged):  # the sections are the source; a top-level copy is only kept if overridden
        for key in _INTERVAL_KEYS - overrides.keys():
            merged.pop(key, None)
    if ("per_slice_config" in merged or "slice_list" in merged) and "num_users" not in overrides:
        merged.pop("num_users", None)
    cfg = parse_env_config(merged)
    merged["measurement_interval_ms"] = cfg.measurement_interval_ms
    merged["measurement_guard_interval_ms"] = cfg.measurement_guard_interval_ms
    merged["num_users"] = cfg.num_users
    merged["env_end_time_ms"] = cfg.env_end_time_ms
    return merged


def load_config(scenario: str | os.PathLike | Mapping | None = None, *, env: str | None = None,
                **overrides: Any) -> ScenarioConfig:
    """Load a scenario into the typed :class:`ScenarioConfig` (client side).

    Same arguments as :func:`raw_env_config`; equals ``parse_env_config(raw_env_config(scenario, **overrides))``,
    so ``cfg.raw`` is exactly the ``env-start`` dict to send.

    >>> load_config(num_users=8, lte={"resource_block_num": 25}).lte.resource_block_num
    25
    """
    return parse_env_config(raw_env_config(scenario, env=env, **overrides))


def rl_config_of(scenario: str | os.PathLike | Mapping | None = None, *,
                 default_reward: str = "utility") -> dict[str, Any]:
    """The scenario's ``rl_config`` with defaults (``agent`` "", ``reward_type`` ``default_reward``), validated.

    A bare env_config (no ``rl_config``) gets the defaults; ``reward_type`` "" (as NetworkGym's slicing and
    steering configs ship) also means "the env's default" and is kept as "". Kept out of
    :class:`ScenarioConfig` because it is client-side only: the server never receives it.
    """
    _, rl_config = _split_whole(_read_scenario(scenario))
    out = {"agent": "", "reward_type": default_reward, **rl_config}
    if out["reward_type"] == "":
        return out
    if not isinstance(out["agent"], str):
        raise field_error(ConfigError, "rl_config.agent", out["agent"], "a string")
    if out["reward_type"] not in REWARD_TYPES:
        raise field_error(ConfigError, "rl_config.reward_type", out["reward_type"],
                          "one of " + ", ".join(map(repr, REWARD_TYPES)))
    return out


def reward_type_of(scenario: str | os.PathLike | Mapping | None = None) -> str:
    """``rl_config.reward_type`` of a scenario (default "utility"), validated against :data:`REWARD_TYPES`."""
    return rl_config_of(scenario)["reward_type"] or "utility"
