"""The typed internal scenario configuration.

Every NetworkGym ``env_config`` dialect is normalised by :mod:`netgym_lite.config` into one
:class:`ScenarioConfig`; the simulation only ever reads this form. Units live in the field names
(``_ms``, ``_m``, ``_mbps``, ``_dbm``, ``_db``, ``_ghz``, ``_mhz``). All instances are frozen: a change of
configuration is a new config (``dataclasses.replace``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Link ids used throughout netgym-lite (array index order).  NetworkGym's own link ids on the wire are
# Wi-Fi 0, NR 2, LTE 11; records use the names "wifi"/"lte"/"nr".
LINK_WIFI = 0
LINK_LTE = 1
LINK_NR = 2  # present only in scenarios with gNBs (per-link arrays then have 3 columns)
NUM_LINKS = 2
LINK_NAMES = ("wifi", "lte", "nr")


# TS 38.101-1 Table 5.3.2-1: NR maximum transmission bandwidth in PRBs by SCS (kHz) and channel bandwidth (MHz).
NR_PRB_TABLE: dict[int, dict[int, int]] = {
    15: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 40: 216, 50: 270},
    30: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133, 60: 162, 70: 189, 80: 217, 90: 245,
         100: 273},
    60: {10: 11, 15: 18, 20: 24, 25: 31, 30: 38, 40: 51, 50: 65, 60: 79, 70: 93, 80: 107, 90: 121, 100: 135},
}
NR_LOS_MODELS = ("3gpp", "los", "nlos")  # models/nr_phy.py: LOS drawn against TR 38.901's probability, or fixed


def rbg_size(resource_block_num: int) -> int:
    """Resource block group size for a bandwidth (3GPP TS 36.213 Table 7.1.6.1-1)."""
    if resource_block_num <= 10:
        return 1
    if resource_block_num <= 26:
        return 2
    if resource_block_num <= 63:
        return 3
    return 4


def rbg_count(resource_block_num: int) -> int:
    """RBGs per TTI: ceil(RBs / RBG size); the last RBG may hold fewer RBs (TS 36.213 §7.1.6.1)."""
    return -(-resource_block_num // rbg_size(resource_block_num))


@dataclass(frozen=True)
class Position:
    """A point in metres."""

    x: float
    y: float
    z: float


@dataclass(frozen=True)
class UserArea:
    """Rectangle users start in and walk inside (metres); ``z`` is the users' antenna height."""

    min_x: float = 0.0
    max_x: float = 55.0
    min_y: float = 0.0
    max_y: float = 10.0
    z: float = 1.5


@dataclass(frozen=True)
class RandomWalk:
    """ns-3 RandomWalk2d in distance mode, as NetworkGym configures it (``user_random_walk``)."""

    min_speed_mps: float = 1.0
    max_speed_mps: float = 2.0
    min_direction_rad: float = 0.0
    max_direction_rad: float = 6.283184
    distance_m: float = 3.0


@dataclass(frozen=True)
class PathLoss:
    """Log-distance path loss PL(d) = PL(d0) + 10 n log10(d/d0) (Rappaport, Wireless Comms, eq. 4.68)."""

    model: str = "log_distance"
    exponent: float = 3.0
    reference_loss_db: float = 46.68
    reference_distance_m: float = 1.0


@dataclass(frozen=True)
class TrafficConfig:
    """Downlink traffic of every user.

    ``transport`` is "tcp" (loss-based NewReno-like sender, backlogged), "tcp_bbr" (BBR-like rate-based
    sender, backlogged; NetworkGym's "TcpBbr") or "udp" (CBR, or Poisson when ``udp_poisson_arrival``);
    each user's UDP rate is drawn uniformly in [min, max] Mbps at session start.
    """

    transport: str = "tcp"
    udp_poisson_arrival: bool = True
    min_udp_rate_per_user_mbps: float = 6.0
    max_udp_rate_per_user_mbps: float = 6.0
    packet_size_bytes: int = 1400


@dataclass(frozen=True)
class QosRequirement:
    """Delay bound and test thresholds used for ``delay_violation`` / ``delay_test_*`` / ``qos_rate``."""

    delay_bound_ms: float = 100.0
    delay_test_1_thresh_ms: float = 1_000_000.0
    delay_test_2_thresh_ms: float = 1_000_000.0
    delay_violation_target: float = 0.02
    loss_target: float = 0.001
    # Length of a QoS test window (NetworkGym's ``per_slice_config.qos_test_duration_ms``; design.md §6 QoSSteer).
    test_duration_ms: float = 500.0


@dataclass(frozen=True)
class GmaConfig:
    """Generic Multi-Access (GMA) convergence layer settings.

    ``delay_threshold_ms`` / ``stable`` / ``loss_balancing`` drive the system-default split algorithm
    (NetworkGym's scenario: 10 ms, stable on; the ns-3 attribute default is 5 ms).
    ``split_burst`` is the number of integer units a split is quantised to (32 for mx_algorithm "gma").
    ``reordering_timeout_ms``: how long the receiver holds out-of-order packets waiting for a gap.
    """

    downlink_mode: str = "split"
    uplink_mode: str = "auto"
    mx_algorithm: str = "gma"
    enable_dynamic_flow_prioritization: bool = False
    measurement_interval_ms: int = 100
    measurement_guard_interval_ms: int = 0
    delay_threshold_ms: float = 10.0
    stable: bool = True
    loss_balancing: bool = False
    split_burst: int = 32
    reordering_timeout_ms: float = 20.0


@dataclass(frozen=True)
class WifiConfig:
    """Wi-Fi radio and MAC settings (netgym-lite's own keys in design.md §7 plus NetworkGym's)."""

    standard: str = "802.11ax"
    channel_width_mhz: int = 20
    spatial_streams: int = 1
    frequency_ghz: float = 5.0
    tx_power_dbm: float = 16.0
    noise_figure_db: float = 7.0
    path_loss: PathLoss = field(default_factory=PathLoss)
    shadowing_std_db: float = 0.0
    rate_control: str = "ideal"
    max_ampdu_bytes: int = 65535
    # 500 packets per user: ns-3's default Wi-Fi MAC queue (500 packets); with it a saturated 14 Mbps
    # station sees ~400 ms of queueing, the figure ns-3 reports (shared/reference/ns3.md, layout A).
    ap_queue_packets: int = 500
    # "fifo": one tail-drop FIFO of ap_queue_packets per user; "fq_codel": ns-3's Wi-Fi queues, FqCoDel per flow
    # in front of one MAC queue of ap_queue_packets shared by the AP's users (models/fq_codel.py)
    queue_discipline: str = "fifo"
    backhaul_delay_ms: float = 0.0
    ap_share_same_band: bool = False
    enable_rx_signal_based_handover: bool = False
    measurement_interval_ms: int = 100
    measurement_guard_interval_ms: int = 0


@dataclass(frozen=True)
class LteConfig:
    """LTE radio and MAC settings."""

    resource_block_num: int = 50
    tx_power_dbm: float = 30.0
    noise_figure_db: float = 9.0  # the UE's receiver (ns-3 LteUePhy); the eNB's is enb_noise_figure_db
    # uplink data only: UE power class 3, 23 dBm (3GPP TS 36.101 §6.2.2), spread over the UE's RBs;
    # ns-3 LteEnbPhy's noise figure 5 dB
    ue_tx_power_dbm: float = 23.0
    enb_noise_figure_db: float = 5.0
    frequency_ghz: float = 2.12
    path_loss: PathLoss = field(default_factory=lambda: PathLoss(reference_loss_db=38.97))
    shadowing_std_db: float = 0.0
    scheduler: str = "pf"
    rlc_buffer_bytes: int = 10240
    backhaul_delay_ms: float = 0.0
    measurement_interval_ms: int = 100
    measurement_guard_interval_ms: int = 0


@dataclass(frozen=True)
class NrConfig:
    """NR (5G) radio and MAC settings (the ``nr`` section; design.md §7 "the same shape with NR values").

    Defaults follow NetworkGym's ns-3 scenario (3.5 GHz, one 20 MHz band per gNB, 40 dBm, TDMA round robin,
    3GPP UMa) and ns-3 5G-LENA's defaults where the scenario sets nothing (numerology 0, noise figure 5 dB).
    ``los_model``: "3gpp" (LOS drawn against TR 38.901's UMa LOS probability), "los" or "nlos".
    ``rlc_buffer_bytes``: per-user RLC buffer at the gNB (as LTE's; see docs/models.md "NR").
    """

    bandwidth_mhz: int = 20
    numerology: int = 0
    frequency_ghz: float = 3.5
    tx_power_dbm: float = 40.0
    noise_figure_db: float = 5.0  # both ends (5G-LENA's UE and gNB default)
    ue_tx_power_dbm: float = 23.0  # uplink data only: power class 3 (TS 38.101-1 §6.2.1), over every PRB (TDMA)
    shadowing_std_db: float = 0.0
    los_model: str = "3gpp"
    scheduler: str = "rr"
    rlc_buffer_bytes: int = 10240
    backhaul_delay_ms: float = 0.0


@dataclass(frozen=True)
class SliceConfig:
    """One RAN slice of the LTE cell (NetworkGym's ``slice_list`` entry / ``per_slice_config`` column).

    The three RBG counts are per-slice caps applied in every TTI, not a partition (design.md §6): dedicated
    RBGs serve only this slice; prioritized RBGs serve it first and are lent to other slices when it has no
    data; of the remaining RBGs the slice takes at most ``shared_rbg``. A count above the cell's RBG count
    means all of them. Users are assigned to slices in order (slice 0 gets users 1..num_users[0], ...).
    """

    num_users: int
    dedicated_rbg: int = 0
    prioritized_rbg: int = 0
    shared_rbg: int = 1_000_000
    # The slice's own traffic and QoS targets (``per_slice_config`` lists whose values differ between slices);
    # None = the scenario's ``traffic`` / ``qos``.
    traffic: TrafficConfig | None = None
    qos: QosRequirement | None = None


@dataclass(frozen=True)
class BandwidthTrace:
    """The rmcat bottleneck over time (NetworkGym's ``bw_trace``): row i holds from ``time_ms[i]`` until the next
    row (piecewise constant); ``loss`` is the probability that a packet is lost on the link."""

    time_ms: tuple[float, ...] = (0.0,)
    bw_kbps: tuple[float, ...] = (1000.0,)
    delay_ms: tuple[float, ...] = (10.0,)
    loss: tuple[float, ...] = (0.0,)


@dataclass(frozen=True)
class RmcatConfig:
    """NetworkGym's ``rmcat`` env: NADA media flows (ids 0..nada_flows-1) and UDP cross traffic over one
    trace-driven bottleneck (:mod:`netgym_lite.models.rmcat`). NADA flow i starts at
    ``i * nada_flow_start_time_diff_ms``, UDP flow j at ``(j + 1) * udp_flow_start_time_diff_ms`` (NetworkGym's key
    is spelled ``upd_flow_start_time_diff_ms``). ``bw_trace`` rows before its first time use the topo defaults.
    ``bottleneck_queue_packets`` (netgym-lite's key) is the drop-tail FIFO depth: ns-3's default queue, 100 packets.
    """

    nada_flows: int = 1
    nada_flow_start_time_diff_ms: float = 1.0
    tcp_flows: int = 0
    tcp_flow_start_time_diff_ms: float = 50000.0
    udp_flows: int = 0
    udp_flow_bw_kbps: float = 100.0
    udp_flow_start_time_diff_ms: float = 50000.0
    topo_default_bw_kbps: float = 1000.0
    topo_default_delay_ms: float = 10.0
    bw_trace: BandwidthTrace = field(default_factory=BandwidthTrace)
    bottleneck_queue_packets: int = 100
    packet_size_bytes: int = 1000  # ns3-rmcat's media packet size


@dataclass(frozen=True)
class ScenarioConfig:
    """One normalised scenario: everything the simulation and the session need.

    ``raw`` keeps the validated NetworkGym ``env_config`` dict as received (what goes on the wire).
    """

    env: str = "nqos_split"
    num_users: int = 4
    steps_per_episode: int = 10
    episodes_per_session: int = 5
    random_seed: int = 2
    downlink: bool = True
    max_wait_time_for_action_ms: int = 600_000
    measurement_start_time_ms: int = 1000
    measurement_interval_ms: int = 100
    measurement_guard_interval_ms: int = 0
    subscribed_network_stats: tuple[str, ...] = ()
    lte_enb_locations: tuple[Position, ...] = (Position(0.0, 0.0, 3.0),)
    wifi_ap_locations: tuple[Position, ...] = (Position(15.0, 0.0, 3.0), Position(35.0, 0.0, 3.0))
    nr_gnb_locations: tuple[Position, ...] = ()  # empty = no NR link
    user_locations: tuple[Position, ...] | None = None
    user_location_range: UserArea = field(default_factory=UserArea)
    user_random_walk: RandomWalk = field(default_factory=RandomWalk)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    qos: QosRequirement = field(default_factory=QosRequirement)
    gma: GmaConfig = field(default_factory=GmaConfig)
    wifi: WifiConfig = field(default_factory=WifiConfig)
    lte: LteConfig = field(default_factory=LteConfig)
    nr: NrConfig = field(default_factory=NrConfig)
    # RAN slices; empty = one slice holding every user with all RBGs shared (no slicing).
    slices: tuple[SliceConfig, ...] = ()
    # NetworkGym's rmcat env (None for the multi-access envs); num_users is then the number of NADA flows.
    rmcat: RmcatConfig | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_nr(self) -> bool:
        """The scenario has gNBs: every user has an NR link (a third link in the GMA split)."""
        return bool(self.nr_gnb_locations)

    @property
    def links(self) -> tuple[str, ...]:
        """Every user's links in NetworkGym's link-id order (Wi-Fi 0, NR 2, LTE 11): the columns of a
        ``gma::dl::split_weight`` row."""
        names = (("wifi",) if self.wifi_ap_locations else ()) + (("nr",) if self.has_nr else ())
        return names + ("lte",) if self.has_nr else ("wifi", "lte")

    @property
    def step_interval_ms(self) -> int:
        """Simulated time between two measurements (interval + guard)."""
        return self.measurement_interval_ms + self.measurement_guard_interval_ms

    @property
    def env_end_time_ms(self) -> int:
        """NetworkGym's session end: start + interval * (L*E + 1)."""
        return self.measurement_start_time_ms + self.step_interval_ms * (
            self.steps_per_episode * self.episodes_per_session + 1
        )

    @property
    def slice_rbg_caps(self) -> tuple[tuple[int, int, int], ...]:
        """Configured [dedicated, prioritized, shared] RBGs per slice, each capped at the cell's RBG count (a
        larger count means all). Without slices: one slice sharing every RBG."""
        rbgs = rbg_count(self.lte.resource_block_num)
        if not self.slices:
            return ((0, 0, rbgs),)
        return tuple((min(s.dedicated_rbg, rbgs), min(s.prioritized_rbg, rbgs), min(s.shared_rbg, rbgs))
                     for s in self.slices)

    @property
    def slice_of_user(self) -> tuple[int, ...]:
        """Slice index (0-based) of each user: users fill the slices in order."""
        if not self.slices:
            return (0,) * self.num_users
        return tuple(i for i, sl in enumerate(self.slices) for _ in range(sl.num_users))

    @property
    def user_traffic(self) -> tuple[TrafficConfig, ...]:
        """Each user's traffic: its slice's own when the slice has one, else the scenario's."""
        own = [sl.traffic for sl in self.slices] or [None]
        return tuple(own[i] or self.traffic for i in self.slice_of_user)

    @property
    def user_qos(self) -> tuple[QosRequirement, ...]:
        """Each user's QoS targets: its slice's own when the slice has one, else the scenario's."""
        own = [sl.qos for sl in self.slices] or [None]
        return tuple(own[i] or self.qos for i in self.slice_of_user)

    @property
    def max_packet_size_bytes(self) -> int:
        """The largest packet any user sends (buffer sizing, A-MPDU checks)."""
        return max([self.traffic.packet_size_bytes] + [t.packet_size_bytes for t in self.user_traffic])

    @property
    def measurements_per_session(self) -> int:
        """L*E: the number of env-measurement messages a session sends."""
        return self.steps_per_episode * self.episodes_per_session
