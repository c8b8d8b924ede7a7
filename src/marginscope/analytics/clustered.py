"""Ratio estimators with clusters (days or sessions) as the unit of independence.

Checks on one day share that day's shocks and checks in one session share a person, so a
share or a probability estimated from checks is a *ratio of sums* over clusters, and its
variance comes from the clusters (``analytics_methods.md`` §4–§5; Cameron & Miller 2015):

* ratio ``p̂ = Σ_c y_c / Σ_c x_c``, variance
  ``S/(S−1) · Σ_c (y_c − p̂ x_c)² / (Σ_c x_c)²`` (:func:`cluster_ratio`); written with sums of
  squares so an engine can return ``Σy, Σx, Σy², Σxy, Σx²`` per day and a span adds them up
  (:func:`cluster_ratio_from_sums`);
* log ratio of two shares paired by day (A and B share the day's shock, which cancels):
  ``u_d = (T_A,d − p̂_A N_A,d)/(p̂_A N_A)``, ``v_d`` alike, ``Var(log R̂) = D/(D−1) Σ (u_d − v_d)²``
  (:func:`paired_log_ratio`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

__all__ = [
    "ClusterChange",
    "binary_sums",
    "cluster_change",
    "cluster_ratio",
    "cluster_ratio_from_sums",
    "paired_log_ratio",
]

MAX_DF = 200
"""Degrees of freedom beyond which Student t is taken at 200 (indistinguishable)."""


def cluster_ratio(y: np.ndarray, x: np.ndarray) -> tuple[float, float, int]:
    """``(p̂, SE, clusters)`` of ``Σy/Σx`` with one cluster per element (``x > 0`` kept)."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    keep = x > 0
    y, x = y[keep], x[keep]
    clusters = int(keep.sum())
    if clusters == 0 or x.sum() <= 0:
        return math.nan, math.nan, clusters
    p = float(y.sum() / x.sum())
    if clusters < 2:
        return p, math.inf, clusters
    variance = clusters / (clusters - 1) * float(((y - p * x) ** 2).sum()) / float(x.sum()) ** 2
    return p, math.sqrt(variance), clusters


def cluster_ratio_from_sums(
    sy: float, sx: float, syy: float, sxy: float, sxx: float, clusters: int
) -> tuple[float, float]:
    """``(p̂, SE)`` of the cluster ratio from ``Σy, Σx, Σy², Σxy, Σx²`` and the cluster count."""
    if sx <= 0 or clusters < 1:
        return math.nan, math.nan
    p = sy / sx
    if clusters < 2:
        return p, math.inf
    squares = max(0.0, syy - 2.0 * p * sxy + p * p * sxx)
    return p, math.sqrt(clusters / (clusters - 1) * squares) / sx


def paired_log_ratio(
    ta: np.ndarray, na: np.ndarray, tb: np.ndarray, nb: np.ndarray
) -> tuple[float, float, float, float, int]:
    """``(share_a, share_b, log R̂, SE(log R̂), days)`` of ``R̂ = p̂_A / p̂_B``, paired by day.

    Days where either segment has no checks are left out. ``R̂`` is NaN when a share is 0.
    """
    ta, na, tb, nb = (np.asarray(v, dtype=float) for v in (ta, na, tb, nb))
    keep = (na > 0) & (nb > 0)
    ta, na, tb, nb = ta[keep], na[keep], tb[keep], nb[keep]
    days = int(keep.sum())
    if days == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    pa, pb = ta.sum() / na.sum(), tb.sum() / nb.sum()
    if pa <= 0 or pb <= 0:
        return float(pa), float(pb), math.nan, math.nan, days
    u = (ta - pa * na) / (pa * na.sum())
    v = (tb - pb * nb) / (pb * nb.sum())
    se = math.sqrt(days / (days - 1) * float(((u - v) ** 2).sum())) if days > 1 else math.inf
    return float(pa), float(pb), math.log(pa / pb), se, days


def binary_sums(successes: float, clusters: float) -> tuple[float, float, float, float, float]:
    """``(Σy, Σx, Σy², Σxy, Σx²)`` when every cluster is one trial (``x = 1``, ``y ∈ {0, 1}``):
    a session's path, or whether it reached the next funnel step. Then the clustered variance
    is the binomial one (times ``S/(S−1)``)."""
    return successes, clusters, successes, successes, clusters


@dataclass(frozen=True)
class ClusterChange:
    """A cluster ratio in a span against the reference: estimate, 95 % interval, p-value."""

    probability: float
    low: float
    high: float
    normal_probability: float
    p_value: float
    trials: int
    clusters: int


def cluster_change(now: tuple, ref: tuple) -> ClusterChange:
    """Compare two cluster ratios given as ``(Σy, Σx, Σy², Σxy, Σx², clusters)``.

    The span's ``p̂`` with a 95 % interval (Student t, clusters − 1 df, capped at
    :data:`MAX_DF`, clipped to [0, 1]); the difference to the reference's ``p̂₀`` tested
    two-sided with the variances added (disjoint days are independent), t with
    ``min(S, S₀) − 1`` df.
    """
    p, se = cluster_ratio_from_sums(*now[:5], int(now[5]))
    p0, se0 = cluster_ratio_from_sums(*ref[:5], int(ref[5]))
    clusters, clusters0 = int(now[5]), int(ref[5])
    if not (math.isfinite(p) and math.isfinite(p0)) or min(clusters, clusters0) < 2:
        return ClusterChange(p, math.nan, math.nan, p0, math.nan, int(now[1]), clusters)
    c = student_t.ppf(0.975, min(clusters - 1, MAX_DF))
    spread = math.sqrt(se**2 + se0**2)
    z = (p - p0) / spread if spread > 0 else 0.0
    df = min(clusters, clusters0, MAX_DF + 1) - 1
    p_value = min(1.0, 2.0 * float(student_t.sf(abs(z), df)))
    return ClusterChange(
        p, max(0.0, p - c * se), min(1.0, p + c * se), p0, p_value, int(now[1]), clusters
    )
