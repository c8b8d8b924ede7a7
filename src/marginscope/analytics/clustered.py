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

import numpy as np

__all__ = ["cluster_ratio", "cluster_ratio_from_sums", "paired_log_ratio"]


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
