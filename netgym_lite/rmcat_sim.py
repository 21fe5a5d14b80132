"""RmcatSimulation: one NetworkGym ``rmcat`` session's network, advanced one measurement interval at a time.

    sim = RmcatSimulation(cfg, seed=None)   # cfg.env == "rmcat"; seed None -> cfg.random_seed
    records = sim.advance()                 # first call: ts = start + interval (1100 by default)
    sim.set_rates(rates_bps)                # (F,) sending rate per NADA flow; NaN = NADA for that flow
    records = sim.advance()                 # next interval, ts += interval

The network is :mod:`netgym_lite.models.rmcat` (one numba call per interval). Records follow design.md §5 with
flow ids from 0: ``rmcat::<name>`` with ``id = [0, ..., F-1]`` and one value per NADA flow, −1 while a flow has
no reports yet. Units: ``qdel``/``rtt`` ms, ``xcurr`` ms (NADA's congestion signal), ``rrate``/``srate``/
``nada_srate`` bps, ``ploss`` packets, ``plr`` ratio, ``loglen``/``avgint``/``curint`` packets.
"""

from __future__ import annotations

import numpy as np

from .batch import TypedListBatch
from .config_rmcat import STAT_KEYS, STAT_NAMES
from .config_types import ScenarioConfig
from .core.batch import run_rmcat_batch
from .core.rng import make_streams
from .errors import NetgymError
from .models import rmcat as m

#: Record names (source ``rmcat``) in NetworkGym's order → row of the model's stats table.
RECORD_ROWS = dict(zip(STAT_NAMES, (m.S_LOGLEN, m.S_QDEL, m.S_RTT, m.S_PLOSS, m.S_PLR, m.S_XCURR, m.S_RRATE,
                                     m.S_SRATE, m.S_NADA_SRATE, m.S_AVGINT, m.S_CURINT), strict=True))
RECORD_KEYS = STAT_KEYS
RATE_MIN_BPS, RATE_MAX_BPS = m.RMIN_BPS, m.RMAX_BPS


def build_params(cfg: ScenarioConfig) -> m.RmcatParams:
    """The model's constants from an rmcat config."""
    rc = cfg.rmcat
    if rc is None:
        raise NetgymError(f"RmcatSimulation needs an rmcat config, got env={cfg.env!r}")
    f, u = rc.nada_flows, rc.udp_flows
    tr = rc.bw_trace
    starts = [i * rc.nada_flow_start_time_diff_ms for i in range(f)]
    starts += [(j + 1) * rc.udp_flow_start_time_diff_ms for j in range(u)]
    return m.RmcatParams(
        num_nada=f,
        num_flows=f + u,
        packet_bits=8.0 * rc.packet_size_bytes,
        queue_packets=rc.bottleneck_queue_packets,
        trace_t_ms=np.array(tr.time_ms, np.float64),
        trace_bw_bps=np.array(tr.bw_kbps, np.float64) * 1000.0,
        trace_delay_ms=np.array(tr.delay_ms, np.float64),
        trace_loss=np.array(tr.loss, np.float64),
        flow_start_ms=np.array(starts, np.float64),
        udp_rate_bps=np.array([0.0] * f + [rc.udp_flow_bw_kbps * 1000.0] * u, np.float64),
    )


class RmcatSimulation:
    """One rmcat session's network (see module docstring). ``seed`` None uses ``cfg.random_seed``."""

    def __init__(self, cfg: ScenarioConfig, seed: int | None = None) -> None:
        self.cfg = cfg
        self.seed = int(cfg.random_seed if seed is None else seed)
        self.params = build_params(cfg)
        max_rate = max(m.RMAX_BPS, float(self.params.udp_rate_bps.max(initial=0.0)))
        self.state = m.make_state(self.params, make_streams(self.seed, 1), m.ring_size(self.params, max_rate))
        self.num_users = cfg.num_users  # the NADA flows
        self.ts_ms = 0
        wanted = set(cfg.subscribed_network_stats)
        #: Names of the records sent (source ``rmcat``), in order: those the subscription asks for.
        self.record_names = [name for name, key in zip(RECORD_ROWS, RECORD_KEYS, strict=True)
                             if not wanted or key in wanted]

    def set_rates(self, rates_bps: np.ndarray | None) -> None:
        """Sending rate per NADA flow for the next interval (bps in [150000, 1500000]); NaN (or ``None`` for
        all) = NADA decides. Takes effect at once (the next packet is paced at the new rate)."""
        s, p = self.state, self.params
        s.agent_bps[:] = -1.0
        if rates_bps is None:
            return
        rates = np.asarray(rates_bps, dtype=np.float64).reshape(-1)
        if rates.shape[0] != p.num_nada:
            raise NetgymError(f"rates has {rates.shape[0]} values, expected nada_flows={p.num_nada}")
        given = ~np.isnan(rates)
        if np.any((rates[given] < RATE_MIN_BPS) | (rates[given] > RATE_MAX_BPS)):
            raise NetgymError(f"rates must lie in [{RATE_MIN_BPS:.0f}, {RATE_MAX_BPS:.0f}] bps, got {rates.tolist()}")
        now = float(s.clock[0])
        for f in np.flatnonzero(given):
            s.agent_bps[f] = rates[f]
            m.set_rate(s, p, int(f), float(rates[f]), now)

    # The session's generic hook (the multi-access envs' action); rmcat has no Wi-Fi split.
    def set_wifi_split(self, shares: np.ndarray | None) -> None:
        """Not an rmcat action: only ``None`` (system default) is accepted."""
        if shares is not None and not np.all(np.isnan(np.asarray(shares, dtype=np.float64))):
            raise NetgymError("rmcat has no Wi-Fi split: its action is rmcat::srate")

    def advance(self) -> list[dict]:
        """Run to the next measurement time and return its records (filtered by the subscription)."""
        self.advance_interval()
        return self.records()

    def advance_interval(self) -> None:
        """Run one measurement interval (the first call also runs the warm-up up to the measurement start)."""
        s, p = self.state, self.params
        t_warm, t_end = self.prepare_interval()
        if t_warm >= 0.0:
            m.run_rmcat_interval(s, p, t_warm)
        m.run_rmcat_interval(s, p, t_end)
        self.finish_interval(t_end)

    # The two halves of an interval around the numba call, public so that a batch (RmcatBatch) runs many
    # simulations' intervals in one call with exactly this semantics.
    def prepare_interval(self) -> tuple[float, float]:
        """(end of the warm-up to run first, −1 when none; end of the interval)."""
        t_warm = -1.0
        if self.ts_ms == 0:
            self.ts_ms = int(self.cfg.measurement_start_time_ms)
            t_warm = float(self.ts_ms)
        return t_warm, float(self.ts_ms) + float(self.cfg.step_interval_ms)

    def finish_interval(self, t_end: float) -> None:
        """After the interval ran: the agent's rates expire, capacity is checked, ``ts_ms`` moves on."""
        s = self.state
        s.agent_bps[:] = -1.0  # an action holds for one interval
        if s.error[0]:
            raise NetgymError("simulation capacity exceeded (rmcat packet ring); lower the rates or the delay")
        self.ts_ms = int(round(t_end))

    def records(self, table: object = None, only: frozenset[str] | None = None) -> list[dict]:
        """The records of the interval just run (ids = flow ids from 0; −1 for a flow without reports yet), those
        of the full keys in ``only`` when given (``table`` is unused: the signature of ``Simulation.records``)."""
        st = self.state.stats
        valid = st[m.S_VALID] > 0
        ids = list(range(self.num_users))
        out = []
        for name in self.record_names:
            if only is not None and f"rmcat::{name}" not in only:
                continue
            values = np.where(valid, np.round(st[RECORD_ROWS[name]], 6), -1.0).tolist()
            out.append({"source": "rmcat", "name": name, "id": ids[:], "ts": self.ts_ms, "value": values})
        return out

    def interval_stats(self) -> dict[str, np.ndarray]:
        """Per flow (NADA flows first, then UDP cross traffic) over the interval just run: delivered bytes and
        packets, mean one-way delay of the delivered packets (ms; NaN without any), packets sent."""
        iv = self.state.interval
        pkts = iv[:, m.I_RX_PKTS]
        return {
            "rx_bytes": iv[:, m.I_RX_BYTES].copy(), "rx_pkts": pkts.copy(),
            "owd_ms": np.divide(iv[:, m.I_OWD_SUM_MS], pkts, out=np.full(pkts.shape, np.nan), where=pkts > 0),
            "tx_pkts": iv[:, m.I_TX_PKTS].copy(),
        }

    def conservation(self) -> dict[str, np.ndarray]:
        """Per-flow packet accounting: sent == delivered + dropped + in_system (always)."""
        t, ptr = self.state.totals, self.state.ptr
        return {
            "sent": t[:, m.T_SENT].copy(),
            "delivered": t[:, m.T_DELIVERED].copy(),
            "dropped": t[:, m.T_DROPPED_QUEUE] + t[:, m.T_DROPPED_LINK],
            "dropped_queue": t[:, m.T_DROPPED_QUEUE].copy(),
            "dropped_link": t[:, m.T_DROPPED_LINK].copy(),
            "in_system": ptr[:, m.P_WRITE] - ptr[:, m.P_DELIVERED],
        }


class RmcatBatch(TypedListBatch):
    """RMCAT simulations of one scenario shape advanced together by one numba call (``core.batch.run_rmcat_batch``),
    each with exactly :meth:`RmcatSimulation.advance_interval`'s semantics: the RMCAT envs' native vector env.
    The interface of :class:`netgym_lite.batch.SimulationBatch` (``sims``, ``tables``, ``advance``, ``replace``);
    records come from each simulation (``tables`` holds None). ``parallel`` is accepted and ignored: a simulation's
    step costs ~2 µs here, less than the Python around it, so threads would only add their start-up."""

    SHAPE = "the scenario shape (flows, trace, ring)"

    def __init__(self, sims: list[RmcatSimulation], parallel: bool = False) -> None:
        super().__init__(sims)
        n = len(sims)
        self.tables: list[None] = [None] * n
        self._t_warm = np.zeros(n)
        self._t_end = np.zeros(n)

    @staticmethod
    def simulation(cfg: ScenarioConfig, seed: int, recycle: RmcatSimulation | None = None) -> RmcatSimulation:
        return RmcatSimulation(cfg, seed=seed)  # (nothing worth recycling: its arrays are small)

    @staticmethod
    def _items(sim: RmcatSimulation) -> tuple[m.RmcatState, m.RmcatParams]:
        return sim.state, sim.params

    @staticmethod
    def _shape_of(sim: RmcatSimulation) -> tuple:
        return tuple(np.shape(a) for a in (*sim.state, *sim.params))

    def record_values(self, envs: np.ndarray, only: frozenset[str]) -> dict[str, np.ndarray]:
        """Per-flow keys as ``(len(envs), F)``, from the simulations' stats."""
        stats = np.stack([self.sims[i].state.stats for i in envs])
        valid = stats[:, m.S_VALID] > 0
        return {f"rmcat::{name}": np.where(valid, np.round(stats[:, RECORD_ROWS[name]], 6), -1.0)
                for name in self.sims[0].record_names if f"rmcat::{name}" in only}

    def advance(self, active: np.ndarray | None = None) -> None:
        """Run the next interval of every simulation (or of those with ``active[i]``) in one numba call."""
        active = np.ones(len(self.sims), dtype=np.bool_) if active is None else np.asarray(active, dtype=np.bool_)
        for i in np.flatnonzero(active):
            self._t_warm[i], self._t_end[i] = self.sims[i].prepare_interval()
        run_rmcat_batch(self._states, self._params, self._t_warm, self._t_end, active)
        for i in np.flatnonzero(active):
            self.sims[i].finish_interval(self._t_end[i])
