"""Day-permutation tests of a distribution shift (total-variation distance), and their wording.

The unit of independence is the day (checks of one day and of one session are alike), so a
shift of a distribution — of hours, of setup values — between a span and the reference is
tested by relabelling whole days (``analytics_methods.md`` §6): the span's and the reference's
day rows are pooled and ``B`` random sets of as many days as the span are drawn;
``p = (1 + #{TV* ≥ TV}) / (1 + B)``, never 0. ``B`` starts at 999 and goes to 9,999 when
``p < 0.01``, enough resolution for Benjamini–Hochberg across a month of tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["covered_days", "day_numbers", "day_permutation_p", "p_text", "tv_distance"]


def tv_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``½ Σ |p − q|`` between count vectors (last axis = values; stacks allowed)."""
    pa = a / np.maximum(a.sum(axis=-1, keepdims=True), 1e-12)
    pb = b / np.maximum(b.sum(axis=-1, keepdims=True), 1e-12)
    return 0.5 * np.abs(pa - pb).sum(axis=-1)


def _smallest(keys: np.ndarray, m: int) -> np.ndarray:
    """(rows × n) 0/1: each row's ``m`` smallest keys, the first ``m`` of its argsort (a
    random set of ``m`` days per row when the keys are uniform draws).

    The keys up to each row's ``m``-th smallest are marked (sorting the values is faster than
    arg-sorting them); only when that key ties with the next in some row (two equal 53-bit
    draws) is the argsort itself consulted, so the set is always the argsort's."""
    n = keys.shape[1]
    if m in (0, n):
        return np.full(keys.shape, float(m == n))
    ordered = np.sort(keys, axis=1)
    if (ordered[:, m - 1] < ordered[:, m]).all():
        return (keys <= ordered[:, m - 1 : m]).astype(float)
    chosen = np.zeros(keys.shape)
    np.put_along_axis(chosen, np.argsort(keys, axis=1)[:, :m], 1.0, axis=1)
    return chosen


_BLAS_ONE_THREAD = 200_000
"""Rows × days × values of a product OpenBLAS runs on one thread (it threads above 4 × 65,536
multiply-adds). Threaded, a 999 × 58 × 24 product took 10–50× longer on a busy 2-core machine,
waiting for the other core."""


def _products(chosen: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """``chosen @ pooled`` in blocks of rows small enough for one BLAS thread. The sums are of
    day counts (or halves of them: local hours), exact in any order, so the blocks give the
    numbers of one product."""
    rows = max(1, _BLAS_ONE_THREAD // max(1, pooled.size))
    return np.vstack([chosen[i : i + rows] @ pooled for i in range(0, len(chosen), rows)])


def day_permutation_p(span: np.ndarray, ref: np.ndarray, rng: np.random.Generator) -> float:
    """Permutation p-value of the TV distance between ``span`` and ``ref`` (days × values)."""
    pooled = np.vstack([span, ref])
    observed = float(tv_distance(span.sum(axis=0), ref.sum(axis=0)))
    total = pooled.sum(axis=0)
    hits, done = 0, 0
    for block in (999, 9000):
        chosen = _smallest(rng.random((block, pooled.shape[0])), span.shape[0])
        inside = _products(chosen, pooled)
        hits += int((tv_distance(inside, total - inside) >= observed - 1e-12).sum())
        done += block
        if (1 + hits) / (1 + done) >= 0.01:
            break
    return (1 + hits) / (1 + done)


def p_text(p: float) -> str:
    """``p ≤ 0.0001`` at the resolution floor, else ``p = 0.012`` (never "p = 0.000")."""
    return "p ≤ 0.0001" if p <= 1e-4 else f"p = {p:.2g}"


def day_numbers(first: str, last: str) -> np.ndarray:
    """Days since 1970-01-01 from ``first`` to ``last`` (inclusive ISO days)."""
    return np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1).astype(np.int64)


def covered_days(spans: Sequence[tuple[str, ...]]) -> np.ndarray:
    """:func:`day_numbers` from the spans' first day to their last (none without spans)."""
    if not spans:
        return np.zeros(0, dtype=np.int64)
    return day_numbers(min(s[0] for s in spans), max(s[1] for s in spans))
