"""Spearman's ρ of many pairs at once: the batched ranks and correlations are, bit for bit, the
textbook computation (``scipy.stats.rankdata`` ranks, ``np.corrcoef``), and the lagged
association's circular-shift test is its definition, one shift at a time."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata

from marginscope.analytics.association import spearman, spearman_rows
from marginscope.analytics.market_response import lagged_association


def _textbook(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def _pairs(seed: int, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Short series with ties, NaNs, infinities and constant sides."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.integers(1, 35))
        a = rng.integers(0, 1 + i % 9, n).astype(float) if i % 2 else rng.normal(size=n)
        b = rng.normal(size=n) if i % 3 else rng.integers(0, 4, n).astype(float)
        a[rng.random(n) < (0.15 if i % 5 == 0 else 0.0)] = np.nan
        b[rng.random(n) < (0.15 if i % 7 == 0 else 0.0)] = np.inf
        out.append((a, b))
    return out


def test_spearman_is_the_correlation_of_averaged_ranks_bit_for_bit():
    pairs = _pairs(11, 400)
    for a, b in pairs:
        assert repr(spearman(a, b)) == repr(_textbook(a, b))
    assert any(math.isnan(spearman(a, b)) for a, b in pairs)  # constant or too short sides


def test_rows_are_each_pair_on_its_own():
    rng = np.random.default_rng(12)
    a = rng.integers(0, 6, (50, 20)).astype(float)
    b = rng.normal(size=(50, 20))
    b[rng.random((50, 20)) < 0.1] = np.nan
    rows = spearman_rows(a, b)
    assert [repr(float(r)) for r in rows] == [
        repr(_textbook(x, y)) for x, y in zip(a, b, strict=True)
    ]


def _by_definition(x: np.ndarray, y: np.ndarray, lags=(0, 1, 2, 3), block=3) -> dict:
    """The circular-shift test of the module docstring, one shift and one lag at a time."""
    n = x.size

    def rhos(series):
        out = []
        for k in lags:
            a, b = x[k:], series[: n - k]
            keep = np.isfinite(a) & np.isfinite(b)
            out.append(_textbook(a[keep], b[keep]) if keep.sum() >= 8 else math.nan)
        return out

    observed = rhos(y)
    best = max(abs(r) for r in observed if math.isfinite(r))
    shifts = range(block, n - block + 1)
    hits = 0
    for s in shifts:
        null = [abs(r) for r in rhos(np.roll(y, s)) if math.isfinite(r)]
        hits += bool(null) and max(null) >= best - 1e-12
    return {"rho": observed, "p_value": (1 + hits) / (1 + len(shifts))}


def test_the_circular_shift_test_is_its_definition():
    rng = np.random.default_rng(13)
    for i in range(40):
        n = int(rng.integers(12, 40))
        x = rng.normal(size=n)
        y = rng.integers(0, 3, n).astype(float) if i % 2 else rng.normal(size=n)
        y[rng.random(n) < 0.2] = np.nan  # days without a market value
        got, want = lagged_association(x, y), _by_definition(x, y)
        assert repr(got["rho"]) == repr(want["rho"])
        assert got["p_value"] == want["p_value"]
