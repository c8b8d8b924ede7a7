"""The day permutation: the random sets of days are the first ``m`` of an argsort of uniform
draws, and the p-value is its definition (``analytics_methods.md`` §6), drawn from the same
stream."""

from __future__ import annotations

import numpy as np

from marginscope.analytics.permutation import _smallest, day_permutation_p, tv_distance


def _argsort_pick(keys: np.ndarray, m: int) -> np.ndarray:
    chosen = np.zeros(keys.shape)
    np.put_along_axis(chosen, np.argsort(keys, axis=1)[:, :m], 1.0, axis=1)
    return chosen


def test_the_chosen_days_are_the_argsorts_first_m_even_with_ties():
    rng = np.random.default_rng(3)
    uniform = rng.random((500, 40))
    tied = rng.integers(0, 4, (500, 40)).astype(float)  # ties at the cut in most rows
    for keys in (uniform, tied):
        for m in (0, 1, 17, 39, 40):
            chosen = _smallest(keys, m)
            assert np.array_equal(chosen, _argsort_pick(keys, m))
            assert np.all(chosen.sum(axis=1) == m)


def _by_definition(span: np.ndarray, ref: np.ndarray, rng: np.random.Generator) -> float:
    """``(1 + #{TV* ≥ TV}) / (1 + B)`` with B = 999, then 9,999 when p < 0.01."""
    pooled = np.vstack([span, ref])
    observed = float(tv_distance(span.sum(axis=0), ref.sum(axis=0)))
    hits = done = 0
    for block in (999, 9000):
        keys = rng.random((block, len(pooled)))
        for row in keys:
            inside = pooled[np.sort(np.argsort(row)[: len(span)])].sum(axis=0)
            hits += bool(tv_distance(inside, pooled.sum(axis=0) - inside) >= observed - 1e-12)
        done += block
        if (1 + hits) / (1 + done) >= 0.01:
            break
    return (1 + hits) / (1 + done)


def test_the_p_value_is_its_definition_on_the_same_stream():
    data = np.random.default_rng(4)
    for shift in (0.0, 0.3):  # no change (999 draws), a shift (9,999 draws, some hits)
        span = data.poisson(40, (8, 6)).astype(float)
        span[:, 0] *= 1 + shift
        span = np.round(span)
        ref = data.poisson(40, (20, 6)).astype(float)
        fast, slow = np.random.default_rng(9), np.random.default_rng(9)
        p = day_permutation_p(span, ref, fast)
        assert p == _by_definition(span, ref, slow)
        assert (p > 0.5) if shift == 0 else (1e-4 < p < 0.01)
        assert fast.random() == slow.random()  # as many draws taken
