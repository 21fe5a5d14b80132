"""Link heuristics for TrafficMgmt: the baselines of the NeurIPS 2024 offline-RL study (design.md §6).

Each heuristic is a small policy object ``agent(obs, info) -> action`` that ignores ``obs`` and reads the raw
NetworkGym records in ``info["network_stats"]``, so it works under any observation wrapper. The action is the
Wi-Fi share of each user's downlink, a float32 array of shape ``(N,)`` in [0, 1] (LTE gets ``1 − share``).

The rules, per user:

* **argmax**: all traffic on the link with the larger max rate: share 1 if ``wifi::dl::max_rate`` ≥
  ``lte::dl::max_rate`` else 0 (a tie goes to Wi-Fi; the study's ``np.argmax`` gave it to LTE).
* **argmin**: the opposite, ``1 − argmax`` (a tie goes to LTE).
* **utility_argmax**: per-link utility ``u = ln(1 + rate) − ln(1 + owd)`` from ``gma::<link>::dl::rate`` (Mbps)
  and ``gma::<link>::dl::owd`` (ms); share 1 if ``u_wifi ≥ u_lte`` else 0.
* **utility_logistic**: share ``sigmoid(u_wifi − u_lte)``.

A missing value is −1 in the records (design.md §5). **A link without an owd loses**: its utility counts as −∞,
so utility_argmax gives all traffic to the other link and utility_logistic gives share 0 (Wi-Fi has no owd, LTE
has) or 1 (LTE has none, Wi-Fi has). When **neither** link has an owd (nothing delivered this interval)
utility_argmax applies its tie rule (share 1, Wi-Fi — where GMA starts every flow) and utility_logistic returns
0.5 (sigmoid of an equal difference). A missing max rate (−1) loses against any valid one; a negative or missing
rate counts as 0 Mbps.

These heuristics are stateless, so a link that gets no traffic reports no owd and keeps losing: utility_argmax
and utility_logistic stay on one link until that link's own owd disappears. That is the study's behaviour too
(its observation kept the last owd but zeroed the rate of an unused link).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netgym_lite.envs.traffic_mgmt import find_record, record_values

__all__ = [
    "ArgmaxAgent",
    "ArgminAgent",
    "LinkHeuristic",
    "UtilityArgmaxAgent",
    "UtilityLogisticAgent",
    "link_utilities",
    "num_users_of",
]


def num_users_of(records: Sequence[Mapping[str, Any]]) -> int:
    """Number of users a measurement covers: the largest user id of its per-user records.

    Per-cell records (whose values are dicts) are skipped. ``gma::dl::rate`` is read first since every
    TrafficMgmt measurement carries it; 0 if no per-user record is present.
    """
    rec = find_record(records, "gma", "dl::rate")
    candidates = [rec] if rec is not None else list(records)
    n = 0
    for r in candidates:
        values = r.get("value", ())
        if values and isinstance(values[0], Mapping):
            continue
        for uid in r.get("id", ()):
            try:
                n = max(n, int(uid))
            except (TypeError, ValueError):
                continue
    return n


def link_utilities(records: Sequence[Mapping[str, Any]], num_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user link utilities ``(u_wifi, u_lte)``, ``u = ln(1 + rate) − ln(1 + owd)`` (rate Mbps, owd ms).

    A link without a valid owd (−1, missing or non-finite) gets ``-inf``; a negative rate counts as 0.
    """
    out = []
    for link in ("wifi", "lte"):
        rate = record_values(records, "gma", f"{link}::dl::rate", num_users)
        owd = record_values(records, "gma", f"{link}::dl::owd", num_users)
        rate = np.where(np.isfinite(rate) & (rate > 0), rate, 0.0)
        valid = np.isfinite(owd) & (owd >= 0)
        u = np.full(num_users, -np.inf)
        u[valid] = np.log1p(rate[valid]) - np.log1p(owd[valid])
        out.append(u)
    return out[0], out[1]


class LinkHeuristic:
    """Base class: a stateless policy over the records of the current measurement.

    ``num_users`` fixes the action length; when None it is read from each measurement's records.
    Subclasses implement :meth:`shares`.
    """

    #: Registry name of the heuristic (as in :data:`netgym_lite.agents.AGENTS`).
    name = ""

    def __init__(self, num_users: int | None = None) -> None:
        self.num_users = num_users

    def shares(self, records: Sequence[Mapping[str, Any]], num_users: int) -> np.ndarray:
        """Wi-Fi share per user (float64, shape ``(num_users,)``) for one measurement."""
        raise NotImplementedError

    def __call__(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        """Action for the measurement in ``info["network_stats"]`` (``obs`` is not used)."""
        records = info["network_stats"]
        n = self.num_users if self.num_users is not None else num_users_of(records)
        return np.clip(self.shares(records, n), 0.0, 1.0).astype(np.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_users={self.num_users!r})"


class ArgmaxAgent(LinkHeuristic):
    """All traffic on the link with the larger max rate: share 1 if Wi-Fi max rate ≥ LTE max rate, else 0."""

    name = "argmax"

    def shares(self, records: Sequence[Mapping[str, Any]], num_users: int) -> np.ndarray:
        """1.0 where ``wifi::dl::max_rate`` ≥ ``lte::dl::max_rate`` (a missing value, −1, loses), else 0.0."""
        lte = record_values(records, "lte", "dl::max_rate", num_users)
        wifi = record_values(records, "wifi", "dl::max_rate", num_users)
        lte = np.where(np.isfinite(lte) & (lte >= 0), lte, -1.0)
        wifi = np.where(np.isfinite(wifi) & (wifi >= 0), wifi, -1.0)
        return (wifi >= lte).astype(np.float64)


class ArgminAgent(ArgmaxAgent):
    """All traffic on the link with the smaller max rate: ``1 − argmax`` (a tie goes to LTE)."""

    name = "argmin"

    def shares(self, records: Sequence[Mapping[str, Any]], num_users: int) -> np.ndarray:
        """0.0 where argmax gives 1.0 and vice versa."""
        return 1.0 - super().shares(records, num_users)


class UtilityArgmaxAgent(LinkHeuristic):
    """All traffic on the link with the better utility ``ln(1+rate) − ln(1+owd)``; a link without owd loses."""

    name = "utility_argmax"

    def shares(self, records: Sequence[Mapping[str, Any]], num_users: int) -> np.ndarray:
        """1.0 where ``u_wifi ≥ u_lte`` (both −∞ when neither link has an owd: Wi-Fi), else 0.0."""
        u_wifi, u_lte = link_utilities(records, num_users)
        return (u_wifi >= u_lte).astype(np.float64)


class UtilityLogisticAgent(LinkHeuristic):
    """Wi-Fi share ``sigmoid(u_wifi − u_lte)``; a link without owd loses (share 0 or 1), neither has one: 0.5."""

    name = "utility_logistic"

    def shares(self, records: Sequence[Mapping[str, Any]], num_users: int) -> np.ndarray:
        """``1 / (1 + exp(u_lte − u_wifi))`` with the missing-owd rules of the module docstring."""
        u_wifi, u_lte = link_utilities(records, num_users)
        out = np.full(num_users, 0.5)
        both = np.isfinite(u_wifi) & np.isfinite(u_lte)
        out[both] = 1.0 / (1.0 + np.exp(u_lte[both] - u_wifi[both]))
        out[np.isfinite(u_wifi) & ~np.isfinite(u_lte)] = 1.0
        out[~np.isfinite(u_wifi) & np.isfinite(u_lte)] = 0.0
        return out
