"""Simulation: one NetworkGym session's network, advanced one measurement interval at a time.

    sim = Simulation(cfg, seed=None)        # seed None -> cfg.random_seed
    records = sim.advance()                 # first call: ts = start + interval (1100 by default)
    sim.set_wifi_split(shares)              # (N,) Wi-Fi share in [0, 1]; NaN = system default for that user
                                            # (or (N, 3) link shares [wifi, nr, lte] in a scenario with gNBs)
    records = sim.advance()                 # next interval, ts += interval

Python builds the state once (:func:`build`), then enters numba once per ``advance``: clearing the previous
interval's counters, the interval (split update, mobility, radio, event loop) and its measurement table. Records
follow design.md §5: ids from 1, every per-user record covers all users, −1 where a metric has no value this
interval.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config_types import ScenarioConfig, rbg_count, rbg_size
from .core.batch import advance_interval
from .core.events import (
    C_OVERFLOW,
    C_PROCESSED,
    EV_LTE_TTI,
    EV_NR_SLOT,
    EV_QOS_TEST,
    EV_TCP_ACK,
    make_event_queue,
    schedule,
)
from .core.ref import to_ref
from .core.rng import STREAM_SHADOWING, make_streams
from .core.state import (
    PKT_COLUMNS,
    PKT_T_GMA_MS,
    REORDER_SLOTS,
    SCHED_PF,
    SCHED_RR,
    STAT_VIOL_COLUMNS,
    TCP_WINDOW,
    TRANSPORT_BBR,
    TRANSPORT_TCP,
    TRANSPORT_UDP,
    Params,
    State,
    cache_line_rows,
    minstrel_rate_control,
    params_class,
)
from .errors import NetgymError
from .models import fq_codel, lte_phy, minstrel, nr_phy, tcp_bbr, wifi_phy
from .models.channel import noise_dbm
from .models.measurement import UL_COUNTED_KEYS, close_interval, fill_downlink_capacity, metric_keys
from .models.mobility import start_walks
from .models.radio import update_radio
from .models.traffic import start_udp
from .records import ALLOCATION_KEYS, CELL_KEYS, build_records, rounded_cells, slice_metrics, swap_direction

LTE_PROCESSING_DELAY_MS = 2.0  # calibrated: ns-3's unloaded LTE one-way delay 4.6 ms incl. 1 ms backhaul
ACK_DELAY_WIFI_MS = 0.35  # an ACK's channel access + airtime on an idle Wi-Fi uplink
ACK_DELAY_LTE_MS = 4.0  # scheduling request + grant + TTI + processing on the LTE uplink
# Uplink data on LTE: a packet sent in TTI t reaches the eNB at t + 1 + this. ns-3's buffer-status report →
# grant → PUSCH pipeline, traced with NS_LOG=LteUeMac:LteEnbMac (benchmarks/ns3/README.md "Uplink"): the BSR
# reaches the eNB 4.9 ms after the data arrives, the grant the UE 2.2 ms later, the data the eNB 4.7 ms after
# that (PUSCH 4 TTIs after the grant, TS 36.213 §8.0): 11.8 ms in all from the TTI the UE first could send.
LTE_UL_PIPELINE_MS = 4.9 + 2.2 + 4.7 - 1.0
QOS_PROHIBIT_MS = 5000.0  # a link that failed a user's QoS test is not tried again for 5 s (design.md §6)
DFP_SHARE = (0.7, 0.9)  # dynamic flow prioritisation marks 70-90 % of each link's flows high priority
NR_TB_DECODE_MS = 0.1  # ns-3 5G-LENA's TbDecodeLatency (100 µs)
NR_CTRL_LATENCY_SLOTS = 2  # ns-3 5G-LENA's L1L2CtrlLatency: a slot's allocation is made 2 slots ahead
NR_ACK_SLOTS = 4  # an ACK on the NR uplink: scheduling request, grant (5G-LENA's N2 = 2 slots), slot, decode
STREAM_NR_LOS = 0x4E52  # seed-sequence key of the per-session LOS draws (separate from every other stream)


def _nr_params(cfg: ScenarioConfig) -> dict:
    """Params of the NR link (models/nr.py); placeholders when the scenario has no gNB."""
    nr = cfg.nr
    n_gnbs = len(cfg.nr_gnb_locations)
    slot = nr_phy.slot_ms(nr.numerology)
    prbs = nr_phy.prb_count(nr.bandwidth_mhz, nr.numerology)
    return {
        "num_gnbs": n_gnbs,
        "gnb_pos": np.array([[g.x, g.y, g.z] for g in cfg.nr_gnb_locations], np.float64).reshape(n_gnbs, 3),
        "nr_backhaul_ms": float(nr.backhaul_delay_ms),
        "nr_slot_ms": slot,
        # uplink data waits one slot more: scheduling request, then the grant N2 slots ahead (as an ACK does)
        "nr_proc_delay_ms": (NR_CTRL_LATENCY_SLOTS if cfg.downlink else NR_ACK_SLOTS - 1) * slot + NR_TB_DECODE_MS,
        "nr_prbs": prbs,
        # uplink data: the UE sends in whole slots (TDMA), its power over every PRB
        "nr_tx_per_prb_dbm": (nr.tx_power_dbm if cfg.downlink else nr.ue_tx_power_dbm) - 10.0 * math.log10(prbs),
        "nr_noise_per_prb_dbm": nr_phy.noise_per_prb_dbm(nr.numerology, nr.noise_figure_db),
        "nr_frequency_ghz": float(nr.frequency_ghz),
        "nr_los_model": nr_phy.LOS_MODELS[nr.los_model],
        "nr_rlc_bytes": int(nr.rlc_buffer_bytes),
        # an ACK of uplink data comes down like downlink data: a slot, the control latency, decoding
        "ack_delay_nr_ms": (NR_ACK_SLOTS if cfg.downlink else 1 + NR_CTRL_LATENCY_SLOTS) * slot + NR_TB_DECODE_MS,
    }


def _params(cfg: ScenarioConfig) -> Params:
    w, lte, gma = cfg.wifi, cfg.lte, cfg.gma
    n_aps = len(cfg.wifi_ap_locations)
    ap_channel = np.zeros(n_aps, np.int64) if w.ap_share_same_band else np.arange(n_aps, dtype=np.int64)
    enb = cfg.lte_enb_locations[0]
    area = cfg.user_location_range
    walk = cfg.user_random_walk
    return params_class(cfg.downlink, w.rate_control == "minstrel_ht")(
        num_users=cfg.num_users,
        num_aps=n_aps,
        num_channels=1 if w.ap_share_same_band else n_aps,
        traffic_start_ms=float(cfg.measurement_start_time_ms),
        interval_ms=float(cfg.step_interval_ms),
        wifi_backhaul_ms=float(w.backhaul_delay_ms),
        lte_backhaul_ms=float(lte.backhaul_delay_ms),
        wifi_overhead_us=wifi_phy.txop_overhead_us(w.standard),
        wifi_max_ampdu_bytes=float(w.max_ampdu_bytes),
        wifi_queue_packets=int(w.ap_queue_packets),
        ap_channel=ap_channel,
        ap_pos=np.array([[a.x, a.y, a.z] for a in cfg.wifi_ap_locations], np.float64).reshape(n_aps, 3),
        enb_pos=np.array([enb.x, enb.y, enb.z], np.float64),
        wifi_rates_mbps=wifi_phy.phy_rate_table_mbps(w.standard, w.channel_width_mhz, w.spatial_streams),
        wifi_min_snr_db=wifi_phy.min_snr_table_db(w.standard),
        wifi_rc_table=(minstrel.rate_table(w.standard, w.channel_width_mhz, w.spatial_streams)
                       if w.rate_control == "minstrel_ht" else np.zeros((minstrel.RC_ROWS, 1))),
        wifi_tx_power_dbm=float(w.tx_power_dbm),
        wifi_noise_dbm=noise_dbm(w.channel_width_mhz * 1e6, w.noise_figure_db),
        wifi_pl=np.array([w.path_loss.exponent, w.path_loss.reference_loss_db, w.path_loss.reference_distance_m]),
        handover=bool(w.enable_rx_signal_based_handover),
        lte_rbs=int(lte.resource_block_num),
        lte_rbg_size=rbg_size(lte.resource_block_num),
        lte_rbgs=rbg_count(lte.resource_block_num),
        num_slices=max(len(cfg.slices), 1),
        qos_steer=cfg.env == "qos_steer",
        qos_window_ms=float(cfg.qos.test_duration_ms),
        qos_prohibit_ms=QOS_PROHIBIT_MS,
        dfp=cfg.env == "qos_steer" and bool(gma.enable_dynamic_flow_prioritization),
        user_slice=np.array(cfg.slice_of_user, np.int64),
        lte_scheduler=SCHED_PF if lte.scheduler == "pf" else SCHED_RR,
        lte_rlc_bytes=int(lte.rlc_buffer_bytes),
        **_lte_budget(cfg),
        lte_pl=np.array([lte.path_loss.exponent, lte.path_loss.reference_loss_db, lte.path_loss.reference_distance_m]),
        **_nr_params(cfg),
        split_burst=int(gma.split_burst),
        reorder_timeout_ms=float(gma.reordering_timeout_ms),
        ack_delay_wifi_ms=ACK_DELAY_WIFI_MS,  # an idle channel's access + airtime, either way
        ack_delay_lte_ms=ACK_DELAY_LTE_MS if cfg.downlink else 1.0 + LTE_PROCESSING_DELAY_MS,
        ul_stats=wants_ul_stats(cfg.subscribed_network_stats, cfg.downlink),
        gma_threshold_ms=float(gma.delay_threshold_ms),
        gma_stable=bool(gma.stable),
        gma_loss_balancing=bool(gma.loss_balancing),
        area=np.array([area.min_x, area.max_x, area.min_y, area.max_y], np.float64),
        walk=np.array([walk.min_speed_mps, walk.max_speed_mps, walk.min_direction_rad, walk.max_direction_rad,
                       walk.distance_m], np.float64),
        **_user_params(cfg),
    )


def wants_ul_stats(subscribed: tuple[str, ...], downlink: bool = True) -> bool:
    """Whether the core counts the ACK direction's traffic (``Params.ul_stats``): when the records may carry one of
    its keys (``gma::…ul::`` with downlink data, ``gma::…dl::`` with uplink data), i.e. the subscription is empty
    (everything) or names one. Otherwise the per-ACK bookkeeping is skipped and those table rows are −1; the
    simulated network is the same either way."""
    keys = UL_COUNTED_KEYS if downlink else tuple(swap_direction(key) for key in UL_COUNTED_KEYS)
    return not subscribed or any(key in keys for key in subscribed)


def _lte_budget(cfg: ScenarioConfig) -> dict[str, float]:
    """LTE link budget and pipeline delay of the data direction. Uplink data: the UE's power over the whole
    band, as its sounding reference signal, whose SINR sets the uplink MCS in ns-3 (lte_phy.lte_ul_mcs),
    received with the eNB's noise figure; the BSR/grant pipeline ``LTE_UL_PIPELINE_MS``."""
    lte = cfg.lte
    rbs = lte.resource_block_num
    if cfg.downlink:
        return {"lte_proc_delay_ms": LTE_PROCESSING_DELAY_MS,
                "lte_tx_per_rb_dbm": lte.tx_power_dbm - 10.0 * math.log10(rbs),
                "lte_noise_per_rb_dbm": noise_dbm(lte_phy.RB_BANDWIDTH_HZ, lte.noise_figure_db)}
    return {"lte_proc_delay_ms": LTE_UL_PIPELINE_MS,
            "lte_tx_per_rb_dbm": lte.ue_tx_power_dbm - 10.0 * math.log10(rbs),
            "lte_noise_per_rb_dbm": noise_dbm(lte_phy.RB_BANDWIDTH_HZ, lte.enb_noise_figure_db)}


def _dl_gains(cfg: ScenarioConfig) -> tuple[float, float]:
    """With uplink data: the downlink's SNR minus the uplink's (dB), LTE and NR, for the dl::max_rate rows
    (measurement.fill_downlink_capacity)."""
    lte, nr = cfg.lte, cfg.nr
    # both spread over the band: eNB power over the UE's noise figure vs the UE's over the eNB's
    lte_gain = (lte.tx_power_dbm - lte.noise_figure_db) - (lte.ue_tx_power_dbm - lte.enb_noise_figure_db)
    return lte_gain, nr.tx_power_dbm - nr.ue_tx_power_dbm  # NR: both over every PRB, the same noise figure


_TRANSPORT_IDS = {"udp": TRANSPORT_UDP, "tcp": TRANSPORT_TCP, "tcp_bbr": TRANSPORT_BBR}


def _user_params(cfg: ScenarioConfig) -> dict[str, np.ndarray]:
    """Per-user traffic and QoS targets (each user's slice's own, or the scenario's)."""
    traffic, qos = cfg.user_traffic, cfg.user_qos
    return {
        "user_transport": np.array([_TRANSPORT_IDS[t.transport] for t in traffic], np.int64),
        "user_packet_bytes": np.array([t.packet_size_bytes for t in traffic], np.int64),
        "user_poisson": np.array([t.udp_poisson_arrival for t in traffic], np.bool_),
        "user_delay_bound_ms": np.array([q.delay_bound_ms for q in qos], np.float64),
        "user_delay_test_ms": np.array([[q.delay_test_1_thresh_ms, q.delay_test_2_thresh_ms] for q in qos],
                                       np.float64).reshape(cfg.num_users, 2),
        "user_viol_target": np.array([q.delay_violation_target for q in qos], np.float64),
        "user_loss_target": np.array([q.loss_target for q in qos], np.float64),
    }


def _free_list(out: np.ndarray) -> np.ndarray:
    """The packet pool's free list at the start, written into ``out``: every id, the lowest on top (taken first)."""
    out[:] = np.arange(out.size - 1, -1, -1, dtype=np.int64)
    return out


def _bbr_state(n: int, z: Callable[..., np.ndarray] = np.zeros) -> dict[str, np.ndarray]:
    """BBR's per-user model at the start of a download (tcp_bbr.py): STARTUP, no samples yet."""
    inf = np.full
    return {
        "bbr_mode": z(n, np.int64), "bbr_btl_bw": z(n), "bbr_bw_ring": z((n, tcp_bbr.BW_WINDOW_ROUNDS)),
        "bbr_round": z(n, np.int64), "bbr_next_round_delivered": z(n, np.int64),
        "bbr_delivered": z(n, np.int64), "bbr_delivered_ms": z(n),
        "bbr_tx_delivered": z((n, TCP_WINDOW), np.int64), "bbr_tx_delivered_ms": z((n, TCP_WINDOW)),
        "bbr_min_rtt_ms": inf(n, np.inf), "bbr_min_rtt_stamp_ms": z(n),
        "bbr_full_bw": z(n), "bbr_full_bw_rounds": z(n, np.int64), "bbr_filled_pipe": z(n, np.bool_),
        "bbr_cycle_idx": z(n, np.int64), "bbr_cycle_stamp_ms": z(n), "bbr_probe_rtt_done_ms": inf(n, np.inf),
        "bbr_next_send_ms": z(n), "bbr_pace_event_ms": inf(n, np.inf),
    }


def _capacities(cfg: ScenarioConfig, p: Params) -> tuple[int, int, int]:
    """(queue ring size, packet pool size, event heap size) bounding everything a run can hold."""
    lte_pkts = cfg.lte.rlc_buffer_bytes // int(p.user_packet_bytes.min()) + 2
    nr_pkts = cfg.nr.rlc_buffer_bytes // int(p.user_packet_bytes.min()) + 2 if p.num_gnbs else 0
    qcap = max(p.wifi_queue_packets, lte_pkts, nr_pkts) + 1
    tcp_users = int(np.count_nonzero(p.user_transport != TRANSPORT_UDP))
    udp_per_user = p.wifi_queue_packets + lte_pkts + nr_pkts + 4096
    pool = tcp_users * 2 * TCP_WINDOW + (p.num_users - tcp_users) * udp_per_user
    if cfg.wifi.queue_discipline == "fq_codel":  # each queue disc (the AP's; each station's with uplink data)
        pool += (max(p.num_aps, 1) if cfg.downlink else p.num_users) * (fq_codel.FQ_LIMIT_PACKETS + 1)
    heap = pool + p.num_users * (TCP_WINDOW + 8) + 64
    return qcap, pool, heap


def _nr_state(cfg: ScenarioConfig, p: Params, n: int, seed: int,
              z: Callable[..., np.ndarray] = np.zeros) -> dict[str, np.ndarray]:
    """The NR fields of State (size-1 placeholders when the scenario has no gNB, so nothing else changes)."""
    g = p.num_gnbs
    air = 1
    if g:
        # packets in flight between the gNB scheduler and the UE: slots up to the arrival, at the best MCS
        max_slot_bytes = nr_phy.bits_per_symbol(100.0, p.nr_prbs) * nr_phy.DATA_SYMBOLS_PER_SLOT / 8
        slots = 2 + (p.nr_proc_delay_ms + p.nr_slot_ms) / p.nr_slot_ms
        air = int(math.ceil(slots * max_slot_bytes / p.user_packet_bytes.min())) + 8
    draws = np.random.default_rng(np.random.SeedSequence([seed, STREAM_NR_LOS]))
    return {
        "nr_gnb": np.full(n, -1, np.int64), "nr_bits_per_symbol": z(n, np.int64),
        "nr_los_draw": draws.uniform(0.0, 1.0, (n, g)),
        "nr_shadow_db": draws.normal(0.0, 1.0, (n, g)) * cfg.nr.shadowing_std_db,
        "q_nr_head_left": z(n, np.int64), "nr_slot_left": z(n), "nr_slot_sym": z(n, np.int64),
        "nr_rr_last": z(n, np.int64), "nr_rr_clock": z(1, np.int64),
        "nr_air_buf": z((n, air), np.int64), "nr_air_head": z(n, np.int64), "nr_air_len": z(n, np.int64),
    }


RECYCLE_MIN_BYTES = 1 << 16
_HEAP_FIELDS = ("ev_t", "ev_seq", "ev_kind", "ev_a", "ev_b")


class _Recycler:
    """Array allocation for :func:`build`: fresh arrays, or the large ones (≥ 64 KiB: the packet pool, rings, the
    event heap) of a retired simulation's State, re-filled in place. Why: a new session's fresh arrays are
    ~5 MiB of new pages, and faulting them in cost more than the whole rest of building it; the vector envs
    start a new session for every sub-env each ``episodes_per_session × steps_per_episode`` steps. An array is
    taken only for the same shape and dtype and always re-filled, so the new state is exactly a fresh one."""

    def __init__(self, old: State | None) -> None:
        self._free: dict[tuple, list[np.ndarray]] = {}
        self.old = old
        if old is None:
            return
        skip = {"pkt", "pkt_t_gma_ms", *_HEAP_FIELDS}  # taken by name below
        seen: set[int] = set()
        for name, a in zip(old._fields, old, strict=True):
            # whole arrays only, each once (a view or an array under two names would be handed out twice)
            if name not in skip and a.nbytes >= RECYCLE_MIN_BYTES and a.base is None and id(a) not in seen:
                seen.add(id(a))
                self._free.setdefault((a.shape, a.dtype.str), []).append(a)

    def _take(self, shape: int | tuple[int, ...], dtype: type) -> np.ndarray | None:
        """A free recycled array of this shape and dtype, as the old run left it (None: none)."""
        if not self._free:  # (a fresh build skips the lookup)
            return None
        free = self._free.get(((shape,) if isinstance(shape, int) else tuple(shape), np.dtype(dtype).str))
        return free.pop() if free else None

    def full(self, shape: int | tuple[int, ...], value: float, dtype: type = np.float64) -> np.ndarray:
        """``np.full(shape, value, dtype)``, in a recycled array when one of that shape and dtype is free."""
        a = self._take(shape, dtype)
        if a is None:
            return np.zeros(shape, dtype) if value == 0 else np.full(shape, value, dtype)
        a.fill(value)
        return a

    def zeros(self, shape: int | tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        return self.full(shape, 0, dtype)

    def empty(self, shape: int | tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        """An array the caller fills whole (recycled, or ``np.empty``)."""
        a = self._take(shape, dtype)
        return np.empty(shape, dtype) if a is None else a

    def packet_rows(self, rows: int) -> np.ndarray:
        """The packet pool: (rows, PKT_COLUMNS) on cache-line boundaries (core.state.cache_line_rows), zeros when
        fresh. A recycled pool is not cleared: every column of a packet's row is written when the packet enters
        the network (``packets.alloc_packet``, then its link sequence number in ``gma_split.gma_send`` and its queue
        time when "fq_codel" queues it) before anything reads it."""
        old = None if self.old is None else self.old.pkt
        if old is not None and old.shape == (rows, PKT_COLUMNS):
            return old
        return cache_line_rows(rows, PKT_COLUMNS, np.int64)

    def event_queue(self, capacity: int, channels: int) -> dict[str, np.ndarray]:
        """The event queue's arrays (core.events.make_event_queue). Recycled heap slots are not cleared: a slot is
        written before it is read (only the first ``size`` are live), so what the old run left there is never seen."""
        queue = make_event_queue(0 if self._heap_fits(capacity) else capacity, channels)
        if self._heap_fits(capacity):
            queue.update({name: getattr(self.old, name) for name in _HEAP_FIELDS})
        return queue

    def _heap_fits(self, capacity: int) -> bool:
        return self.old is not None and self.old.ev_t.shape == (capacity,)


def build(cfg: ScenarioConfig, seed: int, recycle: State | None = None,
          params: tuple[Params, object] | None = None) -> tuple[State, Params, object, object]:
    """Create the arrays of one simulation at t = 0 (users placed, radio evaluated, traffic not started): the
    State and Params tuples and the kernels' references to them (core/ref.py). ``recycle``: the State of a
    simulation that will never run again, whose large arrays the new one may take over (:class:`_Recycler`).
    ``params``: (Params, its reference) of a simulation of this very ``cfg`` to share (Params depend on the
    config alone and are never written after construction)."""
    arrays = _Recycler(recycle)
    p, params_ref = params if params is not None else (_params(cfg), None)
    n = cfg.num_users
    rng = make_streams(seed)
    qcap, pool, heap = _capacities(cfg, p)
    # packets in flight between the eNB scheduler and the UE: at most 1 + processing TTIs' worth
    max_tti_bytes = p.lte_rbs * lte_phy.bits_per_rb(100.0, p.lte_rbs) / 8
    air = int(math.ceil((2 + p.lte_proc_delay_ms) * max_tti_bytes / p.user_packet_bytes.min())) + 8
    placement = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    if cfg.user_locations is not None:
        pos = np.array([[u.x, u.y, u.z] for u in cfg.user_locations], np.float64)
    else:
        a = cfg.user_location_range
        pos = np.column_stack([
            placement.uniform(a.min_x, a.max_x, n) if a.max_x > a.min_x else np.full(n, a.min_x),
            placement.uniform(a.min_y, a.max_y, n) if a.max_y > a.min_y else np.full(n, a.min_y),
            np.full(n, a.z),
        ])
    traffic = cfg.user_traffic
    udp_rate = placement.uniform([t.min_udp_rate_per_user_mbps for t in traffic],
                                 [t.max_udp_rate_per_user_mbps for t in traffic], n)
    shadow = np.random.default_rng(np.random.SeedSequence([seed, STREAM_SHADOWING]))
    z = arrays.zeros
    nl = 3 if p.num_gnbs else 2  # links: Wi-Fi, LTE (+ NR)
    pkt = arrays.packet_rows(pool)
    wifi_fq, wifi_fq_buf = fq_codel.initial_state(n, cfg.wifi.queue_discipline == "fq_codel")
    state = State(
        **arrays.event_queue(heap, p.num_channels),
        rng=rng,
        clock=z(1),
        pos=pos,
        walk_speed=z(n), walk_dir=z(n), walk_left_m=z(n),
        wifi_shadow_db=shadow.normal(0.0, 1.0, (n, p.num_aps)) * cfg.wifi.shadowing_std_db,
        lte_shadow_db=shadow.normal(0.0, 1.0, n) * cfg.lte.shadowing_std_db,
        wifi_ap=np.full(n, -1, np.int64),
        wifi_rate_mbps=z(n),
        lte_bits_per_rb=z(n, np.int64),
        udp_rate_mbps=udp_rate,
        # GMA starts with everything on Wi-Fi (on LTE when the scenario has no AP)
        wifi_units=np.full(n, p.split_burst if p.num_aps else 0, np.int64),
        gma_acc=z(n, np.int64),
        gma_tx_seq=z(n, np.int64),
        nr_units=z(n, np.int64),
        gma_acc_link=z((n, 3), np.int64),
        gma_counter=np.ones((n, nl), np.int64),
        gma_last_owd=np.full((n, nl), np.inf),
        ack_link=z(n, np.int64),
        gma_last_tx_pkts=z((n, nl), np.int64), gma_last_rx_pkts=z((n, nl), np.int64),
        gma_last_owd_sum=z((n, nl)), gma_last_drops=z((n, nl), np.int64), missed_action=z(n, np.int64),
        link_seq_tx=z((n, nl), np.int64),
        link_seq_map=z((n, nl, REORDER_SLOTS), np.int64),
        q_buf=z((n, nl, qcap), np.int64), q_head=z((n, nl), np.int64), q_length=z((n, nl), np.int64),
        q_nbytes=z((n, nl), np.int64), q_lte_head_left=z(n, np.int64),
        wifi_busy=z(p.num_channels, np.bool_), wifi_txop_user=z(p.num_channels, np.int64),
        wifi_txop_npkts=z(p.num_channels, np.int64), wifi_txop_bytes=z(p.num_channels, np.int64),
        wifi_txop_collided=z(p.num_channels, np.bool_), wifi_served_bytes=z(n), wifi_dcf_stage=z(n, np.int64),
        wifi_rc=(minstrel.initial_state(n, p.wifi_rc_table, p.wifi_rates_mbps.shape[0], seed) if minstrel_rate_control(p)
                 else z((1, 1))),
        wifi_fq=wifi_fq, wifi_fq_buf=wifi_fq_buf,
        lte_pf_avg_bits=z(n), lte_rr_last=z(n, np.int64), lte_tti_left=z(n), lte_tti_bits=z(n, np.int64),
        lte_tti_metric=z(n),
        lte_rr_clock=z(1, np.int64),
        lte_slice_rbg=np.array(cfg.slice_rbg_caps, np.int64), lte_slice_shared=z(p.num_slices, np.int64),
        qos_viol_total=z(n, np.int64), qos_win_base=z((n, 4), np.int64),
        qos_last_pass=np.full((n, 2), -1, np.int64), qos_prohibit_until_ms=np.full((n, 2), -np.inf),
        qos_win_link=np.full(n, 0 if p.num_aps else 1, np.int64), qos_auto=np.ones(n, np.bool_), qos_blocked=z(n, np.int64), qos_moves=z(n, np.int64),
        user_prio=z(n, np.int64), dfp_fraction=np.array([placement.uniform(*DFP_SHARE)]),
        lte_air_buf=z((n, air), np.int64), lte_air_head=z(n, np.int64), lte_air_len=z(n, np.int64),
        **_nr_state(cfg, p, n, seed, z),
        pkt=pkt, pkt_t_gma_ms=pkt.view(np.float64)[:, PKT_T_GMA_MS], pkt_free=_free_list(arrays.empty(pool, np.int64)),
        pkt_counters=np.array([pool, 0], np.int64), pkt_in_system=z(n, np.int64),
        rx_slot=arrays.full((n, REORDER_SLOTS), -1, np.int64), rx_link_next=z((n, nl), np.int64),
        rx_next_seq=z(n, np.int64), rx_buffered=z(n, np.int64), rx_deadline_ms=np.full(n, np.inf),
        rx_timer_pending=z(n, np.bool_),
        tcp_cwnd=np.full(n, 10.0), tcp_ssthresh=np.full(n, np.inf), tcp_snd_una=z(n, np.int64),
        tcp_snd_nxt=z(n, np.int64), tcp_high_tx=z(n, np.int64), tcp_dupacks=z(n, np.int64),
        tcp_in_recovery=z(n, np.bool_), tcp_recover=np.full(n, -1, np.int64), tcp_srtt_ms=z(n),
        tcp_rttvar_ms=z(n),
        tcp_min_rtt_ms=np.full(n, np.inf), tcp_round_end=z(n, np.int64),
        tcp_round_samples=z(n, np.int64), tcp_round_min_rtt_ms=np.full(n, np.inf), tcp_rto_ms=np.full(n, 1000.0), tcp_rto_deadline_ms=np.full(n, np.inf),
        tcp_rto_event_ms=np.full(n, np.inf), tcp_last_retx_ms=np.full(n, -np.inf),
        tcp_partial_acked=z(n, np.bool_), tcp_recover_flight=z(n), tcp_prr_credit=z(n),
        tcp_hole_next=z(n, np.int64), tcp_recovery_start_ms=z(n), tcp_sent_ms=z((n, TCP_WINDOW)), tcp_retx=z((n, TCP_WINDOW), np.bool_),
        tcp_rcv_nxt=z(n, np.int64), tcp_rcv_have=z((n, TCP_WINDOW), np.bool_),
        tcp_ack_segments=z(n, np.int64), tcp_losses=z(n, np.int64),
        tcp_timeouts=z(n, np.int64),
        **_bbr_state(n, z),
        **{f"st_{k}": v for k, v in new_stats(n, nl)._asdict().items()},
    )
    state_ref = to_ref(state)
    if params_ref is None:
        params_ref = to_ref(p)
    start_walks(state_ref, params_ref)
    update_radio(state_ref, params_ref, True)
    # ACK links for the first interval by the rule every interval end applies (on still-zero counters it changes
    # nothing else): without it a user out of Wi-Fi coverage would send its first interval's ACKs over Wi-Fi
    close_interval(state_ref, params_ref)
    return state, p, state_ref, params_ref


def split_units(shares: np.ndarray, burst: int) -> np.ndarray:
    """Wi-Fi shares in [0, 1] → integer Wi-Fi units of a burst of ``burst`` packets (nearest, ties to even)."""
    return np.rint(shares * burst).astype(np.int64)


def capped_rbgs(caps: np.ndarray, rbgs: int) -> np.ndarray:
    """Whole RBG counts (float) → int64, each at most the cell's ``rbgs`` (a count above means all)."""
    return np.minimum(caps, rbgs).astype(np.int64)


def burst_units(shares: np.ndarray, burst: int) -> np.ndarray:
    """Rows of link shares (summing to 1) → integer units summing to ``burst`` (largest remainder method:
    floors first, the units left over to the largest fractional parts, ties to the lower link index)."""
    exact = np.asarray(shares, dtype=np.float64) * burst
    whole = np.floor(exact + 1e-9).astype(np.int64)
    short = burst - whole.sum(axis=1)
    order = np.argsort(-(exact - whole), axis=1, kind="stable")
    for row in range(whole.shape[0]):
        whole[row, order[row, :short[row]]] += 1
    return whole


# The interval counters of State (its ``st_`` fields) without the prefix: what records are built from.
STAT_FIELDS = tuple(f[3:] for f in State._fields if f.startswith("st_"))
Stats = namedtuple("Stats", STAT_FIELDS)


def new_stats(n: int, links: int = 2) -> Stats:
    """Zeroed interval accumulators for ``n`` users and ``links`` links (3 with NR)."""
    return Stats(
        tx_bytes=np.zeros(n), tx_pkts=np.zeros((n, links), np.int64),
        link_rx_bytes=np.zeros((n, links)), link_rx_pkts=np.zeros((n, links), np.int64),
        link_owd_sum=np.zeros((n, links)), link_owd_max=np.zeros((n, links)),
        rx_bytes=np.zeros(n), rx_pkts=np.zeros(n, np.int64), owd_sum=np.zeros(n), owd_max=np.zeros(n),
        viol=np.zeros((n, STAT_VIOL_COLUMNS), np.int64), drops=np.zeros((n, links), np.int64), rbs=np.zeros(n),
        nr_symbols=np.zeros(n, np.int64),
        total_sent=np.zeros(n, np.int64), total_delivered=np.zeros(n, np.int64),
        total_dropped=np.zeros(n, np.int64),
    )


@dataclass
class IntervalStats:
    """A snapshot of one finished measurement interval (what records are built from)."""

    ts_ms: int
    interval_ms: float
    st: Stats
    wifi_units: np.ndarray
    wifi_ap: np.ndarray
    wifi_rate_mbps: np.ndarray
    lte_bits_per_rb: np.ndarray
    pos: np.ndarray
    missed_action: np.ndarray
    table: np.ndarray  # measurement table, rows = Simulation.metric_keys


class Simulation:
    """One session's network (see module docstring). ``seed`` None uses ``cfg.random_seed``."""

    def __init__(self, cfg: ScenarioConfig, seed: int | None = None, recycle: Simulation | None = None) -> None:
        self.cfg = cfg
        self.seed = int(cfg.random_seed if seed is None else seed)
        old_state = params = None
        if recycle is not None:  # its large arrays become ours (its Params too, for the same config): it must never
            if recycle.cfg is cfg:  # run again
                params = (recycle.params, recycle.params_ref)
            old_state, recycle.state, recycle.state_ref, recycle.params_ref = recycle.state, None, None, None
        self.state, self.params, self.state_ref, self.params_ref = build(cfg, self.seed, old_state, params)
        self.num_users = cfg.num_users
        self.ts_ms = 0
        self.has_nr = cfg.has_nr
        self.metric_keys = metric_keys(self.has_nr)  # rows of the measurement table
        self._dl_gains = (0.0, 0.0) if cfg.downlink else _dl_gains(cfg)  # uplink data: finish_interval
        self._no_action = np.full(cfg.num_users * (2 if self.has_nr else 1), -1, np.int64)
        self._action_units = self._no_action.copy()
        self.interval_open = False  # the last interval's counters are not closed yet (the next advance closes them)
        self.num_slices = self.params.num_slices
        self.default_allocation = np.array(cfg.slice_rbg_caps, np.int64)
        self._allocation = self.default_allocation
        self._cell_wanted: dict[frozenset[str] | None, bool] = {}  # records(): per ``only`` filter

    @property
    def events_processed(self) -> int:
        """Events handled by the core since the start (for events/s benchmarks)."""
        return int(self.state.ev_counters[C_PROCESSED])

    def _start_traffic(self) -> None:
        s, p = self.state_ref, self.params  # the kernels take the reference; Python reads the tuple
        start = p.traffic_start_ms
        schedule(s, float(math.ceil(start)), EV_LTE_TTI, 0, 0)
        if p.num_gnbs:
            schedule(s, float(math.ceil(start)), EV_NR_SLOT, 0, 0)
        if p.qos_steer:
            schedule(s, start + p.qos_window_ms, EV_QOS_TEST, 0, 0)
        for user in range(p.num_users):
            if p.user_transport[user] != TRANSPORT_UDP:
                schedule(s, start, EV_TCP_ACK, user, -1)
        start_udp(s, self.params_ref, start)

    def set_wifi_split(self, shares: np.ndarray | None) -> None:
        """Wi-Fi share per user for the next interval; NaN (or ``None`` for all) = system default.

        In a scenario with gNBs ``shares`` may also be ``(N, 3)``: per-user shares of [wifi, nr, lte] (rows
        summing to 1, a NaN row = system default), turned into integer burst units by largest remainders; an
        ``(N,)`` Wi-Fi share then leaves the rest on LTE."""
        if self.has_nr:
            self._action_units = self._link_units(shares)
            return
        if shares is None:
            self._action_units = self._no_action.copy()
            return
        shares = np.asarray(shares, dtype=np.float64).reshape(-1)
        if shares.shape[0] != self.num_users:
            raise NetgymError(f"shares has {shares.shape[0]} values, expected num_users={self.num_users}")
        if shares.size and 0.0 <= shares.min() and shares.max() <= 1.0:
            # every user given (a NaN fails both tests): the same units without the masks (~9 -> ~4 us)
            self._action_units = split_units(shares, self.params.split_burst)
            return
        units = np.full(self.num_users, -1, np.int64)
        given = ~np.isnan(shares)
        if np.any((shares[given] < 0) | (shares[given] > 1)):
            raise NetgymError(f"shares must lie in [0, 1], got {shares.tolist()}")
        units[given] = split_units(shares[given], self.params.split_burst)
        self._action_units = units

    def set_action_units(self, units: np.ndarray) -> None:
        """The next interval's action units as :meth:`set_wifi_split` would compute them (the vector envs' batch
        path computes all sub-envs' at once): ``num_users`` Wi-Fi units in [0, split_burst], or −1 for default."""
        units = np.asarray(units)
        if units.shape != self._no_action.shape or units.dtype != np.int64:
            raise NetgymError(f"action units of shape {units.shape} and dtype {units.dtype} are invalid: allowed "
                              f"int64 of shape {self._no_action.shape}")
        self._action_units = units

    def set_slice_caps(self, caps: np.ndarray) -> None:
        """The next interval's slice allocation as :meth:`set_slice_allocation` would store it (the vector envs'
        batch path computes all sub-envs' at once): int64 ``(S, 3)`` RBG counts, each at most the cell's RBGs."""
        caps = np.asarray(caps)
        if caps.shape != (self.num_slices, 3) or caps.dtype != np.int64:
            raise NetgymError(f"slice caps of shape {caps.shape} and dtype {caps.dtype} are invalid: allowed int64 "
                              f"of shape ({self.num_slices}, 3)")
        self._allocation = caps

    def _link_units(self, shares: np.ndarray | None) -> np.ndarray:
        """Three-link shares → action units: Wi-Fi units of every user, then NR units of every user."""
        n, burst = self.num_users, self.params.split_burst
        units = self._no_action.copy()
        if shares is None:
            return units
        shares = np.asarray(shares, dtype=np.float64)
        if shares.ndim == 1 and shares.shape[0] == n:
            shares = np.column_stack([shares, np.zeros(n), 1.0 - shares])
        if shares.shape != (n, 3):
            raise NetgymError(f"shares has shape {shares.shape}, expected ({n},) Wi-Fi shares or ({n}, 3) "
                              "shares [wifi, nr, lte]")
        given = ~np.isnan(shares).any(axis=1)
        rows = shares[given]
        if np.any(rows < 0) or np.any(np.abs(rows.sum(axis=1) - 1.0) > 1e-6):
            raise NetgymError(f"link shares must be non-negative rows summing to 1, got {shares.tolist()}")
        if self.params.num_aps == 0:
            rows = rows.copy()
            rows[:, 2] += rows[:, 0]  # no Wi-Fi in the scenario: its share goes to LTE
            rows[:, 0] = 0.0
        whole = burst_units(rows, burst)
        units[:n][given] = whole[:, 0]
        units[n:][given] = whole[:, 1]
        return units

    def set_slice_allocation(self, caps: np.ndarray | None) -> None:
        """Per-slice RBG caps for the next interval: ``(S, 3)`` non-negative integers [dedicated, prioritized,
        shared] (a count above the cell's RBGs means all; NaN keeps the configured count); ``None`` = the
        configured static allocation. Like the split, it holds for one interval."""
        if caps is None:
            self._allocation = self.default_allocation
            return
        caps = np.asarray(caps, dtype=np.float64)
        if caps.shape != (self.num_slices, 3):
            raise NetgymError(f"slice allocation has shape {caps.shape}, expected ({self.num_slices}, 3): "
                              "[dedicated, prioritized, shared] RBGs per slice")
        caps = np.where(np.isnan(caps), self.default_allocation, caps)
        if not np.all(np.isfinite(caps)) or np.any(caps < 0) or np.any(caps != np.round(caps)):
            raise NetgymError(f"slice allocation must hold non-negative whole RBG counts, got {caps.tolist()}")
        self._allocation = capped_rbgs(caps, self.params.lte_rbgs)

    def advance(self) -> list[dict]:
        """Run to the next measurement time and return its records (filtered by the subscription)."""
        return self.records(self._advance_measured())

    def _advance_measured(self) -> np.ndarray:
        """Close the last interval, run the next and measure it, in one call into the core; the interval's
        counters stay open until the next call (records and snapshots read them)."""
        apply, move_ms, t_end = self.prepare_interval()
        table = np.empty((len(self.metric_keys), self.num_users))
        advance_interval(self.state_ref, self.params_ref, self.interval_open, self.action_units, apply, move_ms, t_end, table)
        self.interval_open = True
        self.finish_interval(t_end, table)
        return table

    def records(self, table: np.ndarray, only: frozenset[str] | None = None) -> list[dict]:
        """The records of the interval just measured into ``table`` (before its counters are closed),
        filtered by the subscription and, if given, to the full keys in ``only``."""
        return build_records(table, self.ts_ms, self.cfg, self._cells(table, only), only)

    def cell_values(self, table: np.ndarray, only: frozenset[str]) -> dict[str, list[float]]:
        """The per-slice values of the interval's per-cell records among the full keys ``only``, by key, exactly as
        :meth:`records` would carry them (rounded; a key the subscription leaves out is absent)."""
        cells = rounded_cells(self._cells(table, only), tuple(self.cfg.subscribed_network_stats), only)
        return {key: values for key, _, _, values in cells}

    def _cells(self, table: np.ndarray, only: frozenset[str] | None) -> dict[str, list[float]]:
        """Unrounded per-slice values of the per-cell keys (none when no per-cell record would be sent)."""
        s = self.state
        cell: dict[str, list[float]] = {}
        if self.sends_cell_records(only):
            cell = slice_metrics(table, self.params.user_slice, self.num_slices, s.st_rx_pkts, s.st_viol[:, 0],
                                 self.cfg.downlink)
            if self.cfg.env == "network_slicing":
                for key, column in zip(ALLOCATION_KEYS, s.lte_slice_rbg.T, strict=True):
                    cell[key] = column.astype(np.float64).tolist()
        return cell

    def sends_cell_records(self, only: frozenset[str] | None) -> bool:
        """Some per-cell record passes the subscription and ``only`` (else the per-slice sums would be built
        only for ``build_records`` to drop them: the vector envs' TrafficMgmt adapters read none)."""
        wanted = self._cell_wanted.get(only)
        if wanted is None:
            subscribed = set(self.cfg.subscribed_network_stats)
            wanted = self._cell_wanted[only] = any(
                (not subscribed or key in subscribed) and (only is None or key in only)
                for key in tuple(map(swap_direction, CELL_KEYS)) + ALLOCATION_KEYS)
        return wanted

    def advance_stats(self) -> IntervalStats:
        """Like :meth:`advance` but returns the interval's raw counters and measurement table."""
        table = self._advance_measured()
        s = self.state
        snap = IntervalStats(
            ts_ms=self.ts_ms, interval_ms=float(self.cfg.step_interval_ms),
            st=Stats(*(getattr(s, "st_" + f).copy() for f in STAT_FIELDS)),
            wifi_units=s.wifi_units.copy(), wifi_ap=s.wifi_ap.copy(),
            wifi_rate_mbps=s.wifi_rate_mbps.copy(), lte_bits_per_rb=s.lte_bits_per_rb.copy(),
            pos=s.pos.copy(), missed_action=s.missed_action.copy(), table=table,
        )
        return snap

    # The two halves of an interval around the numba call, public so that a batch of simulations
    # (netgym_lite.batch) can run many intervals in one call with exactly the single-simulation semantics.
    def prepare_interval(self) -> tuple[bool, float, float]:
        """Before the core runs an interval: start the traffic on the first one, install the slice allocation;
        returns (apply the action, mobility time to move users by, interval end) for ``run_interval``."""
        first = self.ts_ms == 0
        if first:
            self._start_traffic()
            self.ts_ms = int(self.cfg.measurement_start_time_ms)
        interval = float(self.cfg.step_interval_ms)
        move_ms = float(self.cfg.measurement_start_time_ms) if first else interval
        self.state.lte_slice_rbg[:] = self._allocation
        return not first, move_ms, float(self.ts_ms) + interval

    @property
    def action_units(self) -> np.ndarray:
        """The pending per-user Wi-Fi units of the next interval (−1 = system default), followed by the NR units
        in a scenario with gNBs."""
        return self._action_units

    def finish_interval(self, t_end: float, table: np.ndarray | None = None) -> None:
        """After the core ran an interval: clear the one-interval action, check capacities, advance ``ts_ms``;
        with uplink data, put the downlink's capacity into the interval's measurement ``table``."""
        s = self.state
        if table is not None and not self.cfg.downlink:
            fill_downlink_capacity(self.state_ref, self.params_ref, table, *self._dl_gains)
        self._action_units = self._no_action.copy()
        self._allocation = self.default_allocation  # like the split: an interval without an action = default
        if s.ev_counters[C_OVERFLOW] or s.pkt_counters[1]:
            raise NetgymError("simulation capacity exceeded (event heap or packet pool); reduce load or users")
        self.ts_ms = int(round(t_end))

    def conservation(self) -> dict[str, np.ndarray]:
        """Per-user packet accounting: sent == delivered + dropped + in_system (always)."""
        s = self.state
        return {
            "sent": s.st_total_sent.copy(),
            "delivered": s.st_total_delivered.copy(),
            "dropped": s.st_total_dropped.copy(),
            "in_system": s.pkt_in_system.copy(),
        }
