"""The ``rmcat`` env_config: NetworkGym's keys, verbatim (its typo ``upd_flow_start_time_diff_ms`` included), and the
``bw_trace`` columns its client adds (the trace CSV parsed into a dict of columns, design.md §4).

:func:`build_rmcat` is what :func:`netgym_lite.config.parse_env_config` runs for ``env == "rmcat"``;
:func:`read_bw_trace_csv` and :func:`attach_bw_trace` do what NetworkGym's rmcat adapter does on the client side.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netgym_lite.config import (
    MAX_COUNT,
    MAX_SEED,
    RMCAT_KEYS,
    _check_keys,
    _intervals,
    _max_wait,
    _number,
    _Origins,
    _Reader,
    _session_checks,
    _stats,
)
from netgym_lite.config_types import BandwidthTrace, RmcatConfig, ScenarioConfig
from netgym_lite.errors import ConfigError, field_error

__all__ = ["MAX_FLOWS", "STAT_KEYS", "STAT_NAMES", "attach_bw_trace", "build_rmcat", "read_bw_trace_csv"]

MAX_FLOWS = 64
#: The records an rmcat session produces (source ``rmcat``), in NetworkGym's order.
STAT_NAMES = ("loglen", "qdel", "rtt", "ploss", "plr", "xcurr", "rrate", "srate", "nada_srate", "avgint", "curint")
STAT_KEYS = tuple(f"rmcat::{name}" for name in STAT_NAMES)
TRACE_COLUMNS = ("time_ms", "bw_kbps", "delay_ms", "loss")
#: Session keys an rmcat env_config may carry besides :data:`netgym_lite.config.RMCAT_KEYS`.
SESSION_KEYS = frozenset({
    "type", "env", "env_end_time_ms", "subscribed_network_stats", "steps_per_episode", "episodes_per_session",
    "random_seed", "max_wait_time_for_action_ms", "measurement_start_time_ms", "measurement_interval_ms",
    "measurement_guard_interval_ms", "num_users", "packet_size_bytes", "respond_action_after_measurement",
})


def read_bw_trace_csv(path: str | os.PathLike) -> dict[str, list[float]]:
    """A bandwidth-trace CSV (header ``time_ms,bw_kbps,delay_ms,loss``) as a dict of float columns, the form
    NetworkGym's rmcat client puts into ``env_config["bw_trace"]``."""
    columns: dict[str, list[float]] = {}
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.DictReader(f)):
                for key, value in row.items():
                    try:
                        columns.setdefault(key, []).append(float(value))
                    except (TypeError, ValueError):
                        raise field_error(ConfigError, f"bw_trace_file {path} row {i + 1} column {key}", value,
                                          "a number") from None
    except OSError as exc:
        raise field_error(ConfigError, "env_config.bw_trace_file", str(path),
                          f"a readable CSV file ({exc.strerror})") from exc
    return columns


def attach_bw_trace(env_config: dict, base_dir: Path | None) -> None:
    """Client side, as NetworkGym's rmcat adapter: when ``bw_trace_file`` is given without ``bw_trace``, read the
    CSV (relative to the scenario file's folder, else the working directory) into ``bw_trace``."""
    name = env_config.get("bw_trace_file")
    if "bw_trace" in env_config or not isinstance(name, str):
        return
    path = Path(name)
    if not path.is_absolute() and base_dir is not None and (base_dir / path).is_file():
        path = base_dir / path
    env_config["bw_trace"] = read_bw_trace_csv(path)


def _trace(r: _Reader, delay_default_ms: float) -> BandwidthTrace | None:
    if not r.has("bw_trace"):
        return None
    path = r.path("bw_trace")
    raw = r.raw("bw_trace")
    if not isinstance(raw, dict):
        raise field_error(ConfigError, path, raw, "a dict of equally long columns time_ms, bw_kbps, delay_ms, loss")
    _check_keys(raw, path, TRACE_COLUMNS)
    for key in ("time_ms", "bw_kbps"):
        if key not in raw:
            raise field_error(ConfigError, f"{path}.{key}", None, "a list of numbers (required)")
    n = None
    cols: dict[str, list[float]] = {}
    bounds = {"time_ms": (0.0, None), "bw_kbps": (0.0, None), "delay_ms": (0.0, 10_000.0), "loss": (0.0, 1.0)}
    for key in TRACE_COLUMNS:
        if key not in raw:
            continue
        values = raw[key]
        if not isinstance(values, list) or not values or (n is not None and len(values) != n):
            want = f"{n} numbers (as long as the other columns)" if n else "a non-empty list of numbers"
            raise field_error(ConfigError, f"{path}.{key}", values, want)
        n = len(values)
        lo, hi = bounds[key]
        cols[key] = [_number(v, f"{path}.{key}[{i}]", lo=lo, hi=hi) for i, v in enumerate(values)]
    times = cols["time_ms"]
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            raise field_error(ConfigError, f"{path}.time_ms[{i}]", times[i],
                              f"a time after time_ms[{i - 1}] = {times[i - 1]} (rows in increasing time)")
    assert n is not None
    return BandwidthTrace(
        time_ms=tuple(times), bw_kbps=tuple(cols["bw_kbps"]),
        delay_ms=tuple(cols.get("delay_ms", [delay_default_ms] * n)), loss=tuple(cols.get("loss", [0.0] * n)),
    )


def _with_defaults(trace: BandwidthTrace | None, bw_kbps: float, delay_ms: float) -> BandwidthTrace:
    """The trace as the model reads it: starting at 0 ms, the topo defaults before its first row."""
    if trace is None:
        return BandwidthTrace((0.0,), (bw_kbps,), (delay_ms,), (0.0,))
    if trace.time_ms[0] == 0.0:
        return trace
    return BandwidthTrace((0.0, *trace.time_ms), (bw_kbps, *trace.bw_kbps), (delay_ms, *trace.delay_ms),
                          (0.0, *trace.loss))


def build_rmcat(d: Mapping[str, Any]) -> ScenarioConfig:
    """A received rmcat ``env-start`` → the typed config (``cfg.rmcat``; ``num_users`` = the NADA flows)."""
    for key in d:
        if key not in RMCAT_KEYS and key not in SESSION_KEYS:
            raise field_error(ConfigError, f"env_config.{key}", "<key>",
                              "a key rmcat uses (" + ", ".join(sorted(RMCAT_KEYS)) + ", or a session key)")
    r = _Reader(dict(d), "", _Origins())
    flows = r.integer("nada_flows", RmcatConfig.nada_flows, lo=1, hi=MAX_FLOWS)
    if r.has("num_users") and r.integer("num_users", flows) != flows:
        raise field_error(ConfigError, r.path("num_users"), r.raw("num_users"),
                          f"nada_flows = {flows} (rmcat's users are its NADA flows), or leave it out")
    tcp = r.integer("tcp_flows", 0, lo=0, hi=MAX_FLOWS)
    if tcp:
        raise field_error(ConfigError, r.path("tcp_flows"), tcp,
                          "0 (TCP cross traffic is not modelled in rmcat yet; udp_flows gives UDP cross traffic)")
    default_delay = r.number("topo_default_delay_ms", RmcatConfig.topo_default_delay_ms, lo=0.0, hi=10_000.0)
    default_bw = r.number("topo_default_bw_kbps", RmcatConfig.topo_default_bw_kbps, lo=0.0)
    if r.has("bw_trace_file") and not isinstance(r.raw("bw_trace_file"), str):
        raise field_error(ConfigError, r.path("bw_trace_file"), r.raw("bw_trace_file"), "a file name (string)")
    trace = _with_defaults(_trace(r, default_delay), default_bw, default_delay)
    rm = RmcatConfig(
        nada_flows=flows,
        nada_flow_start_time_diff_ms=r.number("nada_flow_start_time_diff_ms", 1.0, lo=0.0),
        tcp_flows=0,
        tcp_flow_start_time_diff_ms=r.number("tcp_flow_start_time_diff_ms", 50000.0, lo=0.0),
        udp_flows=r.integer("udp_flows", 0, lo=0, hi=MAX_FLOWS),
        udp_flow_bw_kbps=r.number("udp_flow_bw_kbps", 100.0, lo=0.0, lo_open=True, hi=100_000.0),
        udp_flow_start_time_diff_ms=r.number("upd_flow_start_time_diff_ms", 50000.0, lo=0.0),
        topo_default_bw_kbps=default_bw,
        topo_default_delay_ms=default_delay,
        bw_trace=trace,
        bottleneck_queue_packets=r.integer("bottleneck_queue_packets", 100, lo=1, hi=1_000_000),
        packet_size_bytes=r.integer("packet_size_bytes", RmcatConfig.packet_size_bytes, lo=64, hi=9000),
    )
    if trace.bw_kbps[-1] <= 0.0:
        raise field_error(ConfigError, r.path("bw_trace") + ".bw_kbps", list(trace.bw_kbps),
                          "a last row with bandwidth > 0 (the link would stall forever)")
    subscribed = _stats(r)
    if subscribed and not set(subscribed) & set(STAT_KEYS):
        raise field_error(ConfigError, r.path("subscribed_network_stats"), list(subscribed),
                          "[] (everything) or a list with at least one of " + ", ".join(STAT_KEYS))
    interval, guard = _intervals(r)
    cfg = ScenarioConfig(
        env="rmcat",
        num_users=flows,
        steps_per_episode=r.integer("steps_per_episode", ScenarioConfig.steps_per_episode, lo=2, hi=MAX_COUNT),
        episodes_per_session=r.integer("episodes_per_session", ScenarioConfig.episodes_per_session, lo=1,
                                       hi=MAX_COUNT),
        random_seed=r.integer("random_seed", ScenarioConfig.random_seed, lo=0, hi=MAX_SEED),
        max_wait_time_for_action_ms=_max_wait(r),
        measurement_start_time_ms=r.integer("measurement_start_time_ms", ScenarioConfig.measurement_start_time_ms,
                                            lo=0, hi=10**12),
        measurement_interval_ms=interval,
        measurement_guard_interval_ms=guard,
        subscribed_network_stats=subscribed,
        rmcat=rm,
    )
    _session_checks(r, cfg)
    return cfg
