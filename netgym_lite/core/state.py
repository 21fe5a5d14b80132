"""Simulation state: named tuples of numpy arrays (struct of arrays), one group per model.

Kernels receive ``(s, p)``: ``s`` is the mutable :class:`State`, ``p`` the read-only :class:`Params`.
Link index 0 is Wi-Fi, 1 is LTE, 2 is NR (``config_types.LINK_WIFI`` / ``LINK_LTE`` / ``LINK_NR``); per-link
arrays (``[U, L]`` below) have L = 3 columns when the scenario has gNBs, else L = 2 (so a scenario without NR
is unchanged). Sizes are fixed at
construction from the scenario's bounds (queue limits, TCP window), so the hot loop never allocates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import overload

TCP_WINDOW = 4096  # receiver window in packets; also the size of the per-user sequence rings
REORDER_SLOTS = 8192  # GMA receiver ring (power of two, > any gap a run can open)
MAX_AMPDU_MPDUS = 64  # Block Ack window (ns-3 default)

# Columns of ``State.pkt`` (int64[cap, PKT_COLUMNS]): a packet's integer fields side by side, so the per-packet
# work (enqueue, A-MPDU building, delivery) touches one cache line per packet, not one per field (the 8 columns
# of int64 are 64 bytes: the rows are allocated cache-line aligned, see :func:`cache_line_rows`).
PKT_USER = 0
PKT_LINK = 1
PKT_GMA_SEQ = 2
PKT_LINK_SEQ = 3  # per-link sequence number (GMA's LSN)
PKT_TCP_SEQ = 4  # -1 for UDP
PKT_SIZE = 5  # payload bytes
PKT_T_GMA_MS = 6  # float64 (the row read as float64, State.pkt_t_gma_ms): when the packet entered GMA
PKT_T_QUEUE_NS = 7  # Wi-Fi "fq_codel" only (models/fq_codel.py): when the packet entered its current queue, ns
PKT_COLUMNS = 8  # a row is one cache line
CACHE_LINE_BYTES = 64


def cache_line_rows(rows: int, columns: int, dtype: type = np.int64) -> np.ndarray:
    """Zeros of shape ``(rows, columns)`` whose data starts on a cache-line boundary (numpy only guarantees 16
    bytes), so that a row of exactly one cache line never straddles two."""
    itemsize = np.dtype(dtype).itemsize
    spare = CACHE_LINE_BYTES // itemsize
    buf = np.zeros(rows * columns + spare, dtype)
    start = (-buf.ctypes.data % CACHE_LINE_BYTES) // itemsize
    return buf[start:start + rows * columns].reshape(rows, columns)


TRANSPORT_UDP = 0
TRANSPORT_TCP = 1  # loss-based (models/tcp.py)
TRANSPORT_BBR = 2  # BBR-like rate-based (models/tcp_bbr.py)
SCHED_PF = 0
SCHED_RR = 1
# Columns of ``State.st_viol`` (int64[U, STAT_VIOL_COLUMNS]): the downlink's delay violations (0 bound, 1 test 1,
# 2 test 2), then the uplink's TCP ACKs per link (models/tcp_receiver.py). (They were put here when every State
# field slowed every non-inlined kernel call, before the kernels took the State by reference: core/ref.py.)
UL_ACKS_IN = 3  # st_viol[u, UL_ACKS_IN + link]: ACKs that arrived over the link this interval
UL_ACKS_OUT = 6  # st_viol[u, UL_ACKS_OUT + link]: ACKs sent on it this interval
STAT_VIOL_COLUMNS = 9


class Params(NamedTuple):
    """Scenario constants the kernels read (never written after construction)."""

    num_users: int
    num_aps: int
    num_channels: int
    traffic_start_ms: float
    interval_ms: float  # measurement interval + guard
    wifi_backhaul_ms: float
    lte_backhaul_ms: float
    wifi_overhead_us: float
    wifi_max_ampdu_bytes: float
    wifi_queue_packets: int
    ap_channel: np.ndarray  # int64[num_aps]
    ap_pos: np.ndarray  # float64[num_aps, 3]
    enb_pos: np.ndarray  # float64[3]
    wifi_rates_mbps: np.ndarray  # PHY rate per MCS
    wifi_min_snr_db: np.ndarray  # minimum SNR per MCS
    wifi_tx_power_dbm: float
    wifi_noise_dbm: float  # noise over the channel width incl. noise figure
    wifi_pl: np.ndarray  # [exponent, reference loss dB, reference distance m]
    handover: bool
    lte_rbs: int
    lte_rbg_size: int
    lte_rbgs: int  # RBGs per TTI: ceil(rbs / rbg_size), the last one possibly smaller
    num_slices: int
    qos_steer: bool  # QoSSteer: whole-flow steering with QoS tests and prohibit timers (models/qos_steer.py)
    qos_window_ms: float  # length of a QoS test window
    qos_prohibit_ms: float  # a link that failed a user's QoS test is not tried again for this long
    dfp: bool  # dynamic flow prioritisation
    user_slice: np.ndarray  # int64[U]: slice index of each user
    lte_scheduler: int
    lte_rlc_bytes: int
    lte_proc_delay_ms: float
    lte_tx_per_rb_dbm: float
    lte_noise_per_rb_dbm: float
    lte_pl: np.ndarray
    # NR (models/nr.py, nr_phy.py); num_gnbs = 0 means no NR link at all
    num_gnbs: int
    gnb_pos: np.ndarray  # float64[num_gnbs, 3]
    nr_backhaul_ms: float
    nr_slot_ms: float
    nr_proc_delay_ms: float  # slot end -> UE arrival beyond the slot itself
    nr_prbs: int
    nr_tx_per_prb_dbm: float
    nr_noise_per_prb_dbm: float
    nr_frequency_ghz: float
    nr_los_model: int  # nr_phy.LOS_3GPP / LOS_ALWAYS / NLOS_ALWAYS
    nr_rlc_bytes: int
    ack_delay_nr_ms: float
    split_burst: int
    reorder_timeout_ms: float
    ack_delay_wifi_ms: float
    ack_delay_lte_ms: float
    ul_stats: bool  # count the ACK direction's traffic for its records (off when none of them is subscribed)
    gma_threshold_ms: float
    gma_stable: bool
    gma_loss_balancing: bool
    area: np.ndarray  # [min_x, max_x, min_y, max_y]
    walk: np.ndarray  # [min_speed, max_speed, min_dir, max_dir, distance]
    # Per user: traffic and QoS targets (its slice's own, or the scenario's; config_types.ScenarioConfig.user_*)
    user_transport: np.ndarray  # int64[U]: TRANSPORT_UDP / TRANSPORT_TCP / TRANSPORT_BBR
    user_packet_bytes: np.ndarray  # int64[U]
    user_poisson: np.ndarray  # bool[U]: Poisson (else CBR) UDP arrivals
    user_delay_bound_ms: np.ndarray  # float64[U]
    user_delay_test_ms: np.ndarray  # float64[U, 2]: delay test 1 and 2 thresholds
    user_viol_target: np.ndarray  # float64[U]: share of packets over the delay bound a QoS flow may have
    user_loss_target: np.ndarray  # float64[U]
    # Wi-Fi rate control
    wifi_rc_table: np.ndarray  # float64[minstrel.RC_ROWS, rates]: Minstrel-HT's rates (1 column when ideal)


class UplinkParams(Params):
    """The Params of a scenario with uplink data (``downlink_traffic: false``): the flows run from the UEs to the
    network. The kernels call the data direction "dl" and the ACK direction "ul" either way; only the records'
    names swap (records.py).

    The same fields in another class, hence another numba type: every kernel compiles a specialization of its
    own in which :func:`uplink_data` is the constant True, and the downlink's specialization carries no uplink
    code. A runtime switch cost the downlink ~20 % of the bare default simulation (and a bool plus two floats
    as Params members ~30 %), though it does no work there: the event loop is one large function whose
    optimisation shifts with every branch and member.
    """

    __slots__ = ()


class MinstrelParams(Params):
    """The Params of a scenario with Wi-Fi rate control "minstrel_ht" (models/minstrel.py): another numba type, so
    the kernels compile a specialization in which :func:`minstrel_rate_control` is the constant True, and the ideal
    rate control's carries no Minstrel code (a runtime flag cost the default simulation ~25 %)."""

    __slots__ = ()


class UplinkMinstrelParams(UplinkParams):
    """Uplink data with Minstrel-HT rate control (both of the above)."""

    __slots__ = ()


_UPLINK = (UplinkParams, UplinkMinstrelParams)
_MINSTREL = (MinstrelParams, UplinkMinstrelParams)


def params_class(downlink: bool, minstrel: bool) -> type[Params]:
    """The Params class of a scenario's data direction and Wi-Fi rate control."""
    return ((Params, MinstrelParams), (UplinkParams, UplinkMinstrelParams))[not downlink][minstrel]


def _class_flag(classes: tuple[type, ...], doc: str):
    """A predicate on the Params' class: ``isinstance`` in Python, a compile-time constant inside the kernels (its
    numba overload returns True or False by the argument's type)."""

    def flag(p: Params) -> bool:
        return isinstance(p, classes)

    flag.__doc__ = doc

    @overload(flag)
    def _typed(p):
        # a Params tuple's numba type names its class; a reference to one (core/ref.py) the tuple's class
        if getattr(p, "instance_class", None) in classes or getattr(p, "tuple_class", None) in classes:
            return lambda p: True
        return lambda p: False

    return flag


uplink_data = _class_flag(_UPLINK, "Whether the data flows up (``p`` is an uplink Params class).")
minstrel_rate_control = _class_flag(_MINSTREL, "Whether Wi-Fi rate control is Minstrel-HT.")


class State(NamedTuple):
    """Everything one simulation mutates: one flat named tuple of arrays.

    The kernels take it by reference (``core/ref.py``: one pointer per call, whatever the number of fields);
    fields are grouped by model with a prefix (``q_``, ``wifi_``, ``lte_``, ``pkt_``, ``rx_``, ``tcp_``, ``st_``,
    ``ev_``; per-user radio/mobility/GMA-sender fields have none).
    """

    # --- event queue (core/events.py)
    ev_t: np.ndarray  # float64[cap] event times
    ev_seq: np.ndarray  # int64[cap] insertion numbers (tie-break)
    ev_kind: np.ndarray  # int64[cap]
    ev_a: np.ndarray  # int64[cap]
    ev_b: np.ndarray  # int64[cap]
    ev_counters: np.ndarray  # int64[5]: size, next insertion number, overflow flag, events processed, first timer
    ev_timer_t: np.ndarray  # float64[2 + channels]: due time of each timer (inf = not pending)
    ev_timer_seq: np.ndarray  # int64[2 + channels]: its insertion number
    rng: np.ndarray  # uint64[streams, 4]
    clock: np.ndarray  # float64[1]: current simulated time (ms)
    # --- users: Per-user radio, mobility and GMA-sender state.
    pos: np.ndarray  # float64[U, 3]
    walk_speed: np.ndarray  # m/s of the current walk segment
    walk_dir: np.ndarray  # radians
    walk_left_m: np.ndarray  # metres left in the current segment
    wifi_shadow_db: np.ndarray  # float64[U, num_aps]
    lte_shadow_db: np.ndarray  # float64[U]
    wifi_ap: np.ndarray  # int64[U] associated AP
    wifi_rate_mbps: np.ndarray  # PHY rate at the current SNR (0 = out of range)
    lte_bits_per_rb: np.ndarray  # int64[U]
    udp_rate_mbps: np.ndarray
    wifi_units: np.ndarray  # int64[U]: GMA split, Wi-Fi units out of split_burst
    nr_units: np.ndarray  # int64[U]: NR units out of split_burst (LTE carries the rest); 0 without gNBs
    gma_acc_link: np.ndarray  # int64[U, 3]: per-link split accumulators (three-link splitting only)
    gma_acc: np.ndarray  # int64[U]: split accumulator
    gma_tx_seq: np.ndarray  # int64[U]: next GMA sequence number
    gma_counter: np.ndarray  # int64[U, L]: system-default step counters per link
    gma_last_owd: np.ndarray  # float64[U, L]: owd per link seen by the system default last time
    ack_link: np.ndarray  # int64[U]
    gma_last_tx_pkts: np.ndarray  # int64[U, L]: last interval's packets sent per link (system default input)
    gma_last_rx_pkts: np.ndarray  # int64[U, L]: ... received per link
    gma_last_owd_sum: np.ndarray  # float64[U, L]: ... sum of their owd
    gma_last_drops: np.ndarray  # int64[U, L]: ... dropped per link
    missed_action: np.ndarray  # int64[U]: intervals the agent left to the system default
    link_seq_tx: np.ndarray  # int64[U, L]: next per-link sequence number (GMA's LSN) at the sender
    link_seq_map: np.ndarray  # int64[U, L, REORDER_SLOTS]: GMA sequence number sent with each LSN
    # --- qos: QoS tests, steering and flow priorities (models/qos_steer.py).
    qos_viol_total: np.ndarray  # int64[U]: packets delivered over the delay bound since the start
    qos_win_base: np.ndarray  # int64[U, 4]: [sent, delivered, dropped, over bound] when the window began
    qos_last_pass: np.ndarray  # int64[U, 2]: last test result per link: -1 untested, 0 failed, 1 passed
    qos_prohibit_until_ms: np.ndarray  # float64[U, 2]: no move onto the link before this time
    qos_win_link: np.ndarray  # int64[U]: the link the user's flow was on when the current test window began
    qos_auto: np.ndarray  # bool[U]: steered by the system default this interval
    qos_blocked: np.ndarray  # int64[U]: agent moves refused by a prohibit timer (since the start)
    qos_moves: np.ndarray  # int64[U]: link changes (since the start)
    user_prio: np.ndarray  # int64[U]: 1 = high priority flow (dynamic flow prioritisation), else 0
    dfp_fraction: np.ndarray  # float64[1]: share of each link's flows marked high priority (drawn at start)
    # --- queues: Per-user, per-link FIFO rings of packet ids at the AP / eNB.
    q_buf: np.ndarray  # int64[U, L, cap]
    q_head: np.ndarray  # int64[U, L]
    q_length: np.ndarray  # int64[U, L]
    q_nbytes: np.ndarray  # int64[U, L]
    q_lte_head_left: np.ndarray  # int64[U]: bytes of the LTE head packet not yet scheduled
    # --- wifi: Per-channel TXOP state and per-user fair-share counters.
    wifi_busy: np.ndarray  # bool[num_channels]
    wifi_txop_user: np.ndarray  # int64[num_channels]
    wifi_txop_npkts: np.ndarray  # int64[num_channels]
    wifi_txop_bytes: np.ndarray  # int64[num_channels]
    wifi_txop_collided: np.ndarray  # bool[num_channels]
    wifi_served_bytes: np.ndarray  # float64[U] virtual time: bytes served (the AP's byte-fair choice, "fifo" only)
    # --- lte: Scheduler state.
    lte_pf_avg_bits: np.ndarray  # float64[U] EWMA of served bits per TTI
    lte_rr_last: np.ndarray  # int64[U] value of lte_rr_clock when last given an RBG
    lte_tti_left: np.ndarray  # float64[U] scratch: bytes still unscheduled in this TTI
    lte_tti_bits: np.ndarray  # int64[U] scratch: bits scheduled in this TTI
    lte_tti_metric: np.ndarray  # float64[U] scratch: PF metric of the users waiting in this TTI
    lte_rr_clock: np.ndarray  # int64[1]: RBGs allocated so far (round-robin clock)
    lte_slice_rbg: np.ndarray  # int64[S, 3]: per-slice caps in RBGs [dedicated, prioritized, shared] (the action)
    lte_slice_shared: np.ndarray  # int64[S] scratch: shared RBGs a slice got in this TTI
    lte_air_buf: np.ndarray  # int64[U, cap]: packets scheduled over the air, in order (FIFO ring)
    lte_air_head: np.ndarray  # int64[U]
    lte_air_len: np.ndarray  # int64[U]
    # --- nr: attachment, channel and per-slot scheduler state (models/nr.py); size-1 placeholders without gNBs.
    nr_gnb: np.ndarray  # int64[U]: attached gNB (-1 none)
    nr_bits_per_symbol: np.ndarray  # int64[U]: bits one data symbol carries over the whole band
    nr_los_draw: np.ndarray  # float64[U, G]: uniform draw deciding LOS against the 3GPP LOS probability
    nr_shadow_db: np.ndarray  # float64[U, G]
    q_nr_head_left: np.ndarray  # int64[U]: bytes of the NR head packet not yet scheduled
    nr_slot_left: np.ndarray  # float64[U] scratch: bytes still unscheduled in this slot
    nr_slot_sym: np.ndarray  # int64[U] scratch: symbols given in this slot
    nr_rr_last: np.ndarray  # int64[U]: nr_rr_clock when last given a symbol
    nr_rr_clock: np.ndarray  # int64[1]: symbols handed out so far
    nr_air_buf: np.ndarray  # int64[U, cap]: packets on the air to the UE (FIFO ring)
    nr_air_head: np.ndarray  # int64[U]
    nr_air_len: np.ndarray  # int64[U]
    # --- packets: Packet pool and its free-list stack.
    pkt: np.ndarray  # int64[cap, PKT_COLUMNS]: a packet's integer fields in one row (PKT_USER, PKT_SIZE, ...)
    pkt_t_gma_ms: np.ndarray  # float64[cap]: when the packet entered GMA at the sender (column PKT_T_GMA_MS of
    # the pkt rows read as float64, a strided view: the time travels in the packet's cache line too)
    pkt_free: np.ndarray  # int64[cap]: stack of free ids
    pkt_counters: np.ndarray  # int64[2]: [free count, overflow flag]
    pkt_in_system: np.ndarray  # int64[U]: allocated packets per user
    # --- reorder: GMA receiver reordering per user.
    rx_slot: np.ndarray  # int64[U, REORDER_SLOTS]: packet id waiting at seq % slots, -1 empty, -2 known lost
    rx_link_next: np.ndarray  # int64[U, L]: next LSN expected per link (a jump reveals losses)
    rx_next_seq: np.ndarray  # int64[U]
    rx_buffered: np.ndarray  # int64[U]
    rx_deadline_ms: np.ndarray  # float64[U]: when to stop waiting (inf = no timer)
    rx_timer_pending: np.ndarray  # bool[U]: an event is in the queue
    # --- tcp: NewReno sender and cumulative-ACK receiver per user (packet-counted).
    tcp_cwnd: np.ndarray
    tcp_ssthresh: np.ndarray
    tcp_snd_una: np.ndarray  # int64
    tcp_snd_nxt: np.ndarray
    tcp_high_tx: np.ndarray  # one past the highest sequence ever sent
    tcp_dupacks: np.ndarray
    tcp_in_recovery: np.ndarray  # bool
    tcp_recover: np.ndarray
    tcp_srtt_ms: np.ndarray  # 0 = no sample yet
    tcp_rttvar_ms: np.ndarray
    tcp_min_rtt_ms: np.ndarray  # float64[U]: smallest RTT sample so far (HyStart)
    tcp_round_end: np.ndarray  # int64[U]: the round trip ends when this sequence is acknowledged (HyStart)
    tcp_round_samples: np.ndarray  # int64[U]: RTT samples taken in this round (HyStart uses the first 8)
    tcp_round_min_rtt_ms: np.ndarray  # float64[U]: smallest of them
    tcp_rto_ms: np.ndarray
    tcp_rto_deadline_ms: np.ndarray  # inf = disarmed
    tcp_rto_event_ms: np.ndarray  # float64[U]: time of the earliest queued RTO event (inf = none)
    tcp_last_retx_ms: np.ndarray  # float64[U]: when the latest retransmission left (Karn's rule)
    tcp_partial_acked: np.ndarray  # bool[U]: a partial ACK was seen in this recovery (RFC 6582 step 5)
    tcp_recover_flight: np.ndarray  # float64[U]: segments in flight when the recovery began (PRR)
    tcp_prr_credit: np.ndarray  # float64[U]: transmissions earned in this recovery, not yet used (PRR)
    tcp_hole_next: np.ndarray  # int64[U]: where the search for the next hole to repair resumes
    tcp_recovery_start_ms: np.ndarray  # float64[U]: when the current recovery began
    tcp_sent_ms: np.ndarray  # float64[U, TCP_WINDOW]
    tcp_retx: np.ndarray  # bool[U, TCP_WINDOW]
    tcp_rcv_nxt: np.ndarray
    tcp_rcv_have: np.ndarray  # bool[U, TCP_WINDOW]
    tcp_ack_segments: np.ndarray  # int64[U]: segments received since the last ACK
    tcp_losses: np.ndarray  # int64[U]: congestion events (fast retransmit or timeout)
    tcp_timeouts: np.ndarray  # int64[U]
    # --- bbr: BBR's path model and pacing clock per user (models/tcp_bbr.py; unused by other senders).
    bbr_mode: np.ndarray  # int64[U]: STARTUP / DRAIN / PROBE_BW / PROBE_RTT
    bbr_btl_bw: np.ndarray  # float64[U]: bottleneck bandwidth estimate (segments per ms)
    bbr_bw_ring: np.ndarray  # float64[U, 10]: largest delivery rate of each of the last 10 rounds
    bbr_round: np.ndarray  # int64[U]: round trips counted
    bbr_next_round_delivered: np.ndarray  # int64[U]: a round ends when a segment sent after this is delivered
    bbr_delivered: np.ndarray  # int64[U]: segments delivered so far
    bbr_delivered_ms: np.ndarray  # float64[U]: when the latest delivery was reported
    bbr_tx_delivered: np.ndarray  # int64[U, TCP_WINDOW]: bbr_delivered when each segment left
    bbr_tx_delivered_ms: np.ndarray  # float64[U, TCP_WINDOW]: bbr_delivered_ms when each segment left
    bbr_min_rtt_ms: np.ndarray  # float64[U]: propagation delay estimate (inf = none yet)
    bbr_min_rtt_stamp_ms: np.ndarray  # float64[U]: when it was measured
    bbr_full_bw: np.ndarray  # float64[U]: bandwidth when STARTUP last saw 25 % growth
    bbr_full_bw_rounds: np.ndarray  # int64[U]: rounds since
    bbr_filled_pipe: np.ndarray  # bool[U]
    bbr_cycle_idx: np.ndarray  # int64[U]: PROBE_BW gain phase
    bbr_cycle_stamp_ms: np.ndarray  # float64[U]: when the phase began
    bbr_probe_rtt_done_ms: np.ndarray  # float64[U]: PROBE_RTT ends then (inf = flight not yet down to 4)
    bbr_next_send_ms: np.ndarray  # float64[U]: the pacing clock: earliest time of the next burst
    bbr_pace_event_ms: np.ndarray  # float64[U]: time of the queued pacing event (inf = none)
    # --- stats: Accumulators of the current measurement interval (reset at every interval end), plus totals.
    st_tx_bytes: np.ndarray  # float64[U] bytes entering GMA
    st_tx_pkts: np.ndarray  # int64[U, L] packets sent per link
    st_link_rx_bytes: np.ndarray  # float64[U, L]
    st_link_rx_pkts: np.ndarray  # int64[U, L]
    st_link_owd_sum: np.ndarray  # float64[U, L]
    st_link_owd_max: np.ndarray  # float64[U, L]
    st_rx_bytes: np.ndarray  # float64[U] released after reordering
    st_rx_pkts: np.ndarray  # int64[U]
    st_owd_sum: np.ndarray  # float64[U]
    st_owd_max: np.ndarray  # float64[U]
    st_viol: np.ndarray  # int64[U, 9] packets over delay bound, test 1, test 2; uplink ACKs in/out per link
    st_drops: np.ndarray  # int64[U, L]
    st_rbs: np.ndarray  # float64[U] LTE RBs allocated
    st_nr_symbols: np.ndarray  # int64[U] NR data symbols allocated
    st_total_sent: np.ndarray  # int64[U] since start
    st_total_delivered: np.ndarray  # int64[U]
    st_total_dropped: np.ndarray  # int64[U]
    # --- Wi-Fi rate control
    wifi_rc: np.ndarray  # float64[U, columns]: Minstrel-HT's per-station state (models/minstrel.py); [1, 1] if ideal
    # --- Wi-Fi queue discipline "fq_codel": per-flow FqCoDel and MAC-queue state (models/fq_codel.py); [1, 1] if fifo
    wifi_fq: np.ndarray  # float64[U + 1, fq_codel.FQ_COLUMNS]: per-flow DRR and CoDel state; row U: list clock
    wifi_fq_buf: np.ndarray  # int64[U, FQ_LIMIT_PACKETS + 2]: each user's FqCoDel flow, a ring of packet ids
    # --- Wi-Fi DCF of the stations (uplink data only; models/wifi.py)
    wifi_dcf_stage: np.ndarray  # int64[U]: backoff stage (window 16·2^stage − 1)
