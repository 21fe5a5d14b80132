"""SimPy reference model of netgym-lite: a readable, slow, independent implementation of the models in
docs/models.md, used as the oracle the numba core is checked against.

It reuses only the pure formula helpers (:mod:`netgym_lite.models.channel`, :mod:`netgym_lite.models.wifi_phy`,
:mod:`netgym_lite.models.lte_phy`) and never imports :mod:`netgym_lite.core` or a numba kernel.

Scope (everything else raises :class:`netgym_lite.errors.ConfigError` or is ignored as stated):
- UDP downlink only (CBR, or Poisson with ``udp_poisson_arrival``); ``traffic.transport != "udp"`` raises
  ConfigError: TCP is not modelled here.
- Static users: positions from ``cfg.user_locations``, or drawn uniformly in ``cfg.user_location_range``
  (at its ``z``) with the seed. **Mobility is out of scope**: nonzero ``user_random_walk`` speeds are
  ignored and users stay where they start. Consequently Wi-Fi handover never triggers (users stay with the
  strongest AP) and SNRs / rates are fixed for the whole run.
- Wi-Fi: association by strongest AP, ideal rate control, per-AP or shared channels, TXOPs with A-MPDU,
  start-time byte-fair user selection, Bianchi collisions between ≥ 2 backlogged APs on one channel.
- LTE: 1 ms TTIs, RBG-by-RBG PF or RR scheduler, RLC byte buffers, TTI + 2 ms processing delay.
- LTE details as the core's ``models/lte.py``: RLC fill level counts whole packets, each TTI takes
  ⌊bits/8⌋ bytes per user, PF averages the bits of the RBGs given. (RR stamps RBGs, the core TTIs.)
- NR (scenarios with gNBs, :mod:`.nr`): nearest-gNB attachment, TR 38.901 UMa path loss, per-slot TDMA round
  robin per gNB (symbol by symbol), RLC byte buffers (shared with LTE), slot + 2 slots + 0.1 ms to the UE; a
  fixed ``nr_share`` per user splits over three links (smooth weighted round robin of the burst units).
- GMA: a FIXED split per user (``wifi_share`` → k = round(s·B) units of ``split_burst`` B, accumulator
  rule), GMA and per-link sequence numbers, receiver reordering with per-link loss detection and
  ``reordering_timeout_ms`` (docs/models.md "GMA"). The system-default split algorithm (and
  measurement-interval reporting) is out of scope; the core's first interval all on Wi-Fi is not modelled.
- Traffic starts at t = 0 (no ``measurement_start_time_ms`` offset); per-user UDP rates are drawn from
  ``cfg.traffic`` with the seed or given (``udp_rate_mbps``); statistics cover
  [warmup_ms, warmup_ms + duration_ms), see :class:`ReferenceResult` for which events count.

Entry point: :func:`run_reference`.
"""

from netgym_lite.reference.network import Conservation, ReferenceResult, run_reference

__all__ = ["Conservation", "ReferenceResult", "run_reference"]
