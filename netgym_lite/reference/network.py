"""The SimPy reference network: wiring of sources, GMA, backhauls, Wi-Fi, LTE and the GMA receivers, and
:func:`run_reference`, which runs one scenario and returns its window statistics.

Roles, one SimPy process each (docs/models.md "Topology"):
- a UDP source per user (CBR or Poisson, docs/models.md "Traffic") feeding the GMA splitter;
- a backhaul delay line per link;
- a channel process per Wi-Fi channel (:mod:`.wifi`), the LTE TTI process and its processing delay line
  (:mod:`.lte`);
- a reordering timer per user's GMA receiver (:mod:`.gma`).

Scope and simplifications are listed in :mod:`netgym_lite.reference`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import simpy

from netgym_lite.config_types import LINK_LTE, LINK_NR, LINK_WIFI, NUM_LINKS, ScenarioConfig
from netgym_lite.errors import ConfigError, field_error
from netgym_lite.reference.common import CountingEnvironment, DelayLine, Packet, Recorder
from netgym_lite.reference.gma import GmaSplitter, Reorderer, wifi_units
from netgym_lite.reference.lte import LteCell
from netgym_lite.reference.nr import NrCells
from netgym_lite.reference.wifi import WifiNetwork


def _empty() -> np.ndarray:
    return np.zeros(0)


def _empty_links() -> np.ndarray:
    return np.zeros((0, NUM_LINKS), dtype=np.int64)


@dataclass
class Conservation:
    """Whole-run packet accounting at the end of the run (from t = 0, not only the window).

    Every packet that entered GMA is in exactly one place: released by the GMA receiver, tail-dropped,
    on a backhaul, in an AP queue / RLC buffer (a Wi-Fi packet on the air in a TXOP is still queued; a
    partly scheduled LTE packet is still buffered), on the LTE air (scheduled, in the TTI + processing
    delay), or held in the reordering buffer. ``arrived`` counts arrivals at the UE per link.
    """

    sent: np.ndarray  # (N,)
    sent_per_link: np.ndarray  # (N, 2)
    arrived: np.ndarray  # (N, 2)
    released: np.ndarray  # (N,)
    dropped: np.ndarray  # (N, 2)
    in_backhaul: np.ndarray  # (N, 2)
    in_queue: np.ndarray  # (N, 2)
    in_lte_air: np.ndarray  # (N,)
    held: np.ndarray  # (N,)
    in_nr_air: np.ndarray = field(default_factory=_empty)  # (N,) with gNBs: scheduled, in the slot + pipeline

    def unaccounted(self) -> np.ndarray:
        """sent − (released + dropped + in backhaul + queued + on the LTE/NR air + held), per user: zeros."""
        nr_air = self.in_nr_air if self.in_nr_air.size else 0
        return self.sent - (self.released + self.dropped.sum(1) + self.in_backhaul.sum(1)
                            + self.in_queue.sum(1) + self.in_lte_air + nr_air + self.held)


@dataclass
class ReferenceResult:
    """Statistics of the measurement window [warmup_ms, warmup_ms + duration_ms).

    sent / offered count packets entering GMA in the window; link throughput / owd count arrivals at the
    UE in the window; throughput / owd / delivered count releases by the GMA receiver (after reordering)
    in the window; drops count tail drops happening in the window. Rates are payload bytes·8 / window.
    """

    duration_ms: float  # measured window length
    throughput_mbps: np.ndarray  # (N,) delivered after reordering, payload bytes*8/window
    link_throughput_mbps: np.ndarray  # (N, 2) per link [wifi, lte]
    mean_owd_ms: np.ndarray  # (N,) mean owd after reordering (nan if no packet)
    link_mean_owd_ms: np.ndarray  # (N, 2)
    offered_mbps: np.ndarray  # (N,)
    sent_packets: np.ndarray  # (N,) entered GMA in the window
    delivered_packets: np.ndarray  # (N,)
    dropped_packets: np.ndarray  # (N, 2) tail drops per link
    events: int  # SimPy events processed (for events/s in benchmarks)
    # Extras (diagnostics and invariants); per-user arrays, (N,) unless noted.
    # (N, 2) packets entering GMA in the window, by the link the split chose
    sent_link_packets: np.ndarray = field(default_factory=_empty_links)
    link_packets: np.ndarray = field(default_factory=_empty_links)  # (N, 2) UE arrivals in the window
    udp_rate_mbps: np.ndarray = field(default_factory=_empty)  # per-user UDP rate (drawn or given)
    wifi_units: np.ndarray = field(default_factory=_empty)  # k of split_burst
    wifi_ap: np.ndarray = field(default_factory=_empty)  # associated AP index
    wifi_rate_mbps: np.ndarray = field(default_factory=_empty)  # ideal-rate-control PHY rate (0 = out of range)
    lte_bits_per_rb: np.ndarray = field(default_factory=_empty)
    nr_units: np.ndarray = field(default_factory=_empty)  # with gNBs: NR units of split_burst
    nr_bits_per_symbol: np.ndarray = field(default_factory=_empty)  # with gNBs
    nr_gnb: np.ndarray = field(default_factory=_empty)  # with gNBs: attached (nearest) gNB
    user_xyz: np.ndarray = field(default_factory=_empty)  # (N, 3) static positions
    wifi_txops: int = 0  # TXOPs started (whole run)
    wifi_collisions: int = 0  # of which collided
    # (N,) whole run: GMA numbers the receiver marked lost from a link's LSN jump / reordering-timer expiries
    reorder_lost_marked: np.ndarray = field(default_factory=_empty)
    reorder_timeouts: np.ndarray = field(default_factory=_empty)
    conservation: Conservation | None = None


def user_positions(cfg: ScenarioConfig, rng: np.random.Generator) -> np.ndarray:
    """(N, 3) static user positions: ``cfg.user_locations``, or uniform in ``cfg.user_location_range`` at
    its ``z`` (mobility is out of the reference's scope: users never move)."""
    n = cfg.num_users
    if cfg.user_locations is not None:
        if len(cfg.user_locations) != n:
            raise field_error(ConfigError, "user_locations", len(cfg.user_locations),
                              f"exactly num_users={n} positions")
        return np.array([[p.x, p.y, p.z] for p in cfg.user_locations], dtype=np.float64).reshape(n, 3)
    area = cfg.user_location_range
    xyz = np.empty((n, 3))
    xyz[:, 0] = rng.uniform(area.min_x, area.max_x, n)
    xyz[:, 1] = rng.uniform(area.min_y, area.max_y, n)
    xyz[:, 2] = area.z
    return xyz


def _validate(cfg: ScenarioConfig, duration_ms: float, warmup_ms: float) -> None:
    if cfg.traffic.transport != "udp":
        raise field_error(ConfigError, "traffic.transport", cfg.traffic.transport,
                          "'udp' only in the SimPy reference (TCP is not modelled there)")
    if any(sl.traffic or sl.qos for sl in cfg.slices):
        raise field_error(ConfigError, "per_slice_config", "<per-slice traffic or QoS>",
                          "the same traffic and QoS for every slice in the SimPy reference")
    if not cfg.downlink:
        raise field_error(ConfigError, "downlink", cfg.downlink, "True (the reference is downlink only)")
    if cfg.wifi.rate_control != "ideal":
        raise field_error(ConfigError, "wifi.rate_control", cfg.wifi.rate_control, "'ideal'")
    if cfg.wifi.queue_discipline != "fifo":
        raise field_error(ConfigError, "wifi.queue_discipline", cfg.wifi.queue_discipline, "'fifo'")
    if not len(cfg.wifi_ap_locations) or not len(cfg.lte_enb_locations):  # (the NR link needs both, too)
        raise field_error(ConfigError, "wifi_ap_locations/lte_enb_locations", "empty", "at least one each")
    if cfg.num_users < 1:
        raise field_error(ConfigError, "num_users", cfg.num_users, "≥ 1")
    if not duration_ms > 0.0:
        raise field_error(ConfigError, "duration_ms", duration_ms, "> 0")
    if not warmup_ms >= 0.0:
        raise field_error(ConfigError, "warmup_ms", warmup_ms, "≥ 0")
    t = cfg.traffic
    if t.packet_size_bytes <= 0 or t.min_udp_rate_per_user_mbps < 0 or \
            t.max_udp_rate_per_user_mbps < t.min_udp_rate_per_user_mbps:
        raise field_error(ConfigError, "traffic", t, "packet size > 0 and 0 ≤ min rate ≤ max rate")


class ReferenceNetwork:
    """One scenario's SimPy model (build it, then ``env.run(until=...)``)."""

    def __init__(self, cfg: ScenarioConfig, wifi_share: np.ndarray | float, start_ms: float, end_ms: float,
                 seed: int, udp_rate_mbps: np.ndarray | None = None, nr_share: np.ndarray | float = 0.0) -> None:
        n = cfg.num_users
        links = 3 if cfg.has_nr else NUM_LINKS
        # One child generator per purpose, so that e.g. changing the traffic does not move the users.
        pos_ss, shadow_ss, rate_ss, arrival_ss, collision_ss = np.random.SeedSequence(seed).spawn(5)
        self.cfg = cfg
        self.env = CountingEnvironment()
        self.recorder = Recorder(n, start_ms, end_ms, links)
        self.user_xyz = user_positions(cfg, np.random.default_rng(pos_ss))
        # Shadowing: once per (user, transmitter) per session (docs/models.md "Channel").
        shadow_rng = np.random.default_rng(shadow_ss)
        wifi_shadow = shadow_rng.normal(0.0, 1.0, (n, len(cfg.wifi_ap_locations))) * cfg.wifi.shadowing_std_db
        lte_shadow = shadow_rng.normal(0.0, 1.0, n) * cfg.lte.shadowing_std_db

        self.wifi = WifiNetwork(self.env, cfg, self.user_xyz, wifi_shadow, np.random.default_rng(collision_ss),
                                self._at_ue, self.recorder)
        self.lte = LteCell(self.env, cfg, self.user_xyz, lte_shadow, self._at_ue, self.recorder)
        backhauls = {LINK_WIFI: DelayLine(self.env, cfg.wifi.backhaul_delay_ms, self.wifi.enqueue, n),
                     LINK_LTE: DelayLine(self.env, cfg.lte.backhaul_delay_ms, self.lte.enqueue, n)}
        self.nr = None
        nr_units = None
        if cfg.has_nr:  # the NR link (its own seed child, so two-link runs draw exactly as before)
            nr_rng = np.random.default_rng(np.random.SeedSequence([seed, LINK_NR]))
            los_draw = nr_rng.uniform(0.0, 1.0, (n, len(cfg.nr_gnb_locations)))
            nr_shadow = nr_rng.normal(0.0, 1.0, los_draw.shape) * cfg.nr.shadowing_std_db
            self.nr = NrCells(self.env, cfg, self.user_xyz, los_draw, nr_shadow, self._at_ue, self.recorder)
            backhauls[LINK_NR] = DelayLine(self.env, cfg.nr.backhaul_delay_ms, self.nr.enqueue, n)
            nr_units = wifi_units(nr_share, n, cfg.gma.split_burst)
        self.backhaul = [backhauls[link] for link in range(links)]  # indexed by link id
        units = wifi_units(wifi_share, n, cfg.gma.split_burst)
        if nr_units is not None and np.any(units + nr_units > cfg.gma.split_burst):
            raise field_error(ConfigError, "nr_share", nr_share, "shares with wifi_share + nr_share ≤ 1 per user")
        self.splitter = GmaSplitter(units, cfg.gma.split_burst, nr_units)
        self.receivers = [Reorderer(self.env, cfg.gma.reordering_timeout_ms, self.recorder.on_release,
                                    partial(self.splitter.take_link_seq, u))
                          for u in range(n)]

        t = cfg.traffic
        drawn = np.random.default_rng(rate_ss).uniform(t.min_udp_rate_per_user_mbps, t.max_udp_rate_per_user_mbps, n)
        self.udp_rate_mbps = drawn if udp_rate_mbps is None else _given_rates(udp_rate_mbps, n)
        for u, ss in enumerate(arrival_ss.spawn(n)):
            self.env.process(self._udp_source(u, np.random.default_rng(ss)))

    def _udp_source(self, user: int, rng: np.random.Generator) -> Generator[simpy.Event, None, None]:
        """UDP downlink of one user from t = 0 (docs/models.md "Traffic"): CBR gaps of size·8/r (first
        packet after a uniform random fraction of a gap) or exponential gaps with that mean."""
        t = self.cfg.traffic
        rate = self.udp_rate_mbps[user]
        if rate <= 0.0:
            return
        gap_ms = t.packet_size_bytes * 8.0 / (rate * 1e3)  # bits / (bits per ms)
        poisson = t.udp_poisson_arrival
        yield self.env.timeout(rng.exponential(gap_ms) if poisson else rng.uniform() * gap_ms)
        while True:
            self._send(user)
            yield self.env.timeout(rng.exponential(gap_ms) if poisson else gap_ms)

    def _send(self, user: int) -> None:
        """A packet enters GMA now: sequence number, split (link and LSN), backhaul."""
        pkt = Packet(user, self.splitter.new_sequence(user), self.cfg.traffic.packet_size_bytes, self.env.now)
        pkt.link = self.splitter.choose_link(user)
        pkt.lsn = self.splitter.new_link_sequence(user, pkt.link, pkt.seq)
        self.recorder.on_sent(pkt)
        self.backhaul[pkt.link].put(pkt)

    def _at_ue(self, pkt: Packet) -> None:
        """A packet reached its UE over its link (``pkt.t_arrival`` = now)."""
        self.recorder.on_link_arrival(pkt)
        self.receivers[pkt.user].on_arrival(pkt)

    def conservation(self) -> Conservation:
        """Whole-run packet accounting now."""
        rec = self.recorder
        queues = [np.array([len(q) for q in self.wifi.queues], dtype=np.int64), self.lte.in_buffer]
        if self.nr is not None:
            queues.append(self.nr.in_buffer)
        in_queue = np.stack(queues, axis=1)
        return Conservation(
            sent=rec.total_sent.copy(), sent_per_link=rec.total_sent_link.copy(),
            arrived=rec.total_link_arrivals.copy(), released=rec.total_released.copy(),
            dropped=rec.total_dropped.copy(),
            in_backhaul=np.stack([line.in_transit for line in self.backhaul], axis=1),
            in_queue=in_queue, in_lte_air=self.lte.air.in_transit.copy(),
            held=np.array([r.num_held for r in self.receivers], dtype=np.int64),
            in_nr_air=self.nr.air.in_transit.copy() if self.nr is not None else _empty(),
        )


def _given_rates(udp_rate_mbps: np.ndarray, n: int) -> np.ndarray:
    rates = np.asarray(udp_rate_mbps, dtype=np.float64).reshape(-1)
    if rates.shape != (n,) or not np.all(np.isfinite(rates)) or np.any(rates < 0.0):
        raise field_error(ConfigError, "udp_rate_mbps", udp_rate_mbps, f"{n} finite rates ≥ 0 (Mbps)")
    return rates.copy()


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def run_reference(cfg: ScenarioConfig, *, wifi_share: np.ndarray | float, duration_ms: float,
                  warmup_ms: float = 200.0, seed: int | None = None,
                  udp_rate_mbps: np.ndarray | None = None, nr_share: np.ndarray | float = 0.0) -> ReferenceResult:
    """Run the SimPy reference model of ``cfg`` with a fixed GMA split and return the window statistics.

    Traffic starts at t = 0; the window is [warmup_ms, warmup_ms + duration_ms) and the run stops at its
    end. ``wifi_share`` (scalar or (N,)) in [0, 1] becomes k = round(share·split_burst) Wi-Fi units per
    user. ``seed`` None uses ``cfg.random_seed``. ``udp_rate_mbps`` (N,) replaces the per-user UDP rates drawn
    from ``cfg.traffic`` (e.g. to run the rates another simulator drew). In a scenario with gNBs ``nr_share``
    (scalar or (N,)) is each user's NR share (units round(share·B); LTE carries the rest). Raises ConfigError for anything out of the reference's
    scope (see :mod:`netgym_lite.reference`), ActionError for a bad share.
    """
    _validate(cfg, duration_ms, warmup_ms)
    end_ms = warmup_ms + duration_ms
    net = ReferenceNetwork(cfg, wifi_share, warmup_ms, end_ms, cfg.random_seed if seed is None else seed,
                           udp_rate_mbps, nr_share)
    net.env.run(until=end_ms)

    rec = net.recorder
    to_mbps = 8.0 / (duration_ms * 1e3)  # bytes per window → Mbps
    return ReferenceResult(
        duration_ms=float(duration_ms),
        throughput_mbps=rec.released_bytes * to_mbps,
        link_throughput_mbps=rec.link_bytes * to_mbps,
        mean_owd_ms=_mean(rec.released_owd_sum, rec.released_packets),
        link_mean_owd_ms=_mean(rec.link_owd_sum, rec.link_packets),
        offered_mbps=rec.sent_bytes * to_mbps,
        sent_packets=rec.sent_packets.copy(),
        delivered_packets=rec.released_packets.copy(),
        dropped_packets=rec.dropped_packets.copy(),
        events=net.env.events,
        sent_link_packets=rec.sent_link_packets.copy(),
        link_packets=rec.link_packets.copy(),
        udp_rate_mbps=net.udp_rate_mbps.copy(),
        wifi_units=net.splitter.units.copy(),
        wifi_ap=net.wifi.ap.copy(),
        wifi_rate_mbps=net.wifi.rate_mbps.copy(),
        lte_bits_per_rb=net.lte.bits_per_rb.copy(),
        nr_units=net.splitter.nr_units.copy() if net.nr is not None else _empty(),
        nr_bits_per_symbol=net.nr.bits_per_symbol.copy() if net.nr is not None else _empty(),
        nr_gnb=net.nr.gnb.copy() if net.nr is not None else _empty(),
        user_xyz=net.user_xyz.copy(),
        wifi_txops=sum(c.txops for c in net.wifi.channels),
        wifi_collisions=sum(c.collisions for c in net.wifi.channels),
        reorder_lost_marked=np.array([r.lost_marked for r in net.receivers], dtype=np.int64),
        reorder_timeouts=np.array([r.skips for r in net.receivers], dtype=np.int64),
        conservation=net.conservation(),
    )
