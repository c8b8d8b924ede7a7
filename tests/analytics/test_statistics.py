"""Baseline, lift and multiplicity: worked examples and properties that must hold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marginscope.analytics.baseline import Baseline, dow_baseline
from marginscope.analytics.lift import lift, t_tail, t_to_z
from marginscope.analytics.spikes import bh_adjust

WEEKLY = np.array([1.06, 1.08, 1.05, 1.03, 1.00, 0.88, 0.90])


def weekly_series(days: int = 57, level: float = 1000.0, seed: int | None = None):
    weekdays = np.arange(days) % 7
    mean = level * WEEKLY[weekdays]
    if seed is None:
        return np.round(mean), weekdays
    return np.random.default_rng(seed).poisson(mean).astype(float), weekdays


def test_the_anchor_worked_example_interval_is_reproduced():
    # analytics_anchors.md §3.4: obs 3,000, baseline 28,000 over 28 days (E ≈ 1,000), φ = 8
    # → SE ≈ 0.054 and a ratio of 2.70–3.34, i.e. +170% to +234%.
    baseline = Baseline(expected=1000.0, level=1000.0, factor=1.0, dispersion=8.0, days=28,
                        masked=0, window_sum=28000.0, log_variance=8.0 / 28000.0,
                        normal_low=900.0, normal_high=1100.0, low_confidence=False)
    result = lift(3000, baseline)
    assert result.lift == pytest.approx(2.0)
    assert result.low == pytest.approx(1.697, abs=0.002)
    assert result.high == pytest.approx(2.337, abs=0.002)


def test_a_clean_weekly_rhythm_is_learned_exactly():
    counts, weekdays = weekly_series()
    for t in (40, 44, 56):
        base = dow_baseline(counts, weekdays, t)
        assert base.expected == pytest.approx(counts[t], rel=0.002)


def test_doubling_every_count_leaves_the_lift_unchanged():
    counts, weekdays = weekly_series(seed=4)
    counts[50] *= 1.6
    once = lift(int(counts[50]), dow_baseline(counts, weekdays, 50))
    twice = lift(int(2 * counts[50]), dow_baseline(2 * counts, weekdays, 50))
    assert twice.lift == pytest.approx(once.lift, rel=1e-9)
    assert (twice.high - twice.low) <= (once.high - once.low)  # more data, no wider


def test_a_masked_spike_in_the_history_does_not_move_the_baseline():
    counts, weekdays = weekly_series(seed=5)
    flagged = np.zeros(len(counts), dtype=bool)
    clean = dow_baseline(counts, weekdays, 50, flagged)
    spiked = counts.copy()
    spiked[45] *= 4
    flagged[45] = True
    assert dow_baseline(spiked, weekdays, 50, flagged).expected == pytest.approx(
        dow_baseline(counts, weekdays, 50, flagged).expected)
    assert dow_baseline(spiked, weekdays, 50, flagged).masked == 1
    assert clean.masked == 0


def test_poisson_noise_gives_dispersion_near_one_and_overdispersed_noise_more():
    rng = np.random.default_rng(9)
    weekdays = np.arange(57) % 7
    mean = 800.0 * WEEKLY[weekdays]
    poisson = rng.poisson(mean).astype(float)
    noisy = rng.poisson(mean * rng.gamma(100, 0.01, mean.size)).astype(float)  # CV 10 %
    phi_poisson = np.median([dow_baseline(poisson, weekdays, t).dispersion
                             for t in range(28, 57)])
    phi_noisy = np.median([dow_baseline(noisy, weekdays, t).dispersion for t in range(28, 57)])
    assert phi_poisson < 1.6
    assert 4.0 < phi_noisy < 16.0  # 1 + 0.1² · 800 = 9


def test_too_little_history_means_no_baseline_and_a_negligible_one_means_no_percent():
    counts, weekdays = weekly_series(days=20)
    assert dow_baseline(counts, weekdays, 10) is None
    tiny = np.zeros(40)
    tiny[::9] = 1
    base = dow_baseline(tiny, np.arange(40) % 7, 35)
    result = lift(7, base)
    assert result.lift is None and result.p_value == 1.0  # 0 → 7 is not "+700%"


def test_benjamini_hochberg_matches_the_step_up_by_hand():
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    q = bh_adjust(p)
    # q_(i) = min_{j>=i} p_(j) m / j
    expected = [0.01, 0.04, 0.084, 0.084, 0.084, 0.1, 0.1057143, 0.216, 0.216, 0.216]
    assert q == pytest.approx(expected, abs=1e-6)
    assert bh_adjust([]).size == 0


def test_benjamini_hochberg_leaves_untestable_comparisons_out_of_the_family():
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
    with_gaps = [*p[:3], float("nan"), *p[3:], float("nan")]
    q = bh_adjust(with_gaps)
    # the tests made keep the q-values of the family without the NaNs (m = 10, not 12)
    assert list(q[:3]) + list(q[4:-1]) == pytest.approx(list(bh_adjust(p)), abs=1e-12)
    assert q[3] == q[-1] == 1.0  # not a test: never flagged
    assert list(bh_adjust([float("nan")] * 3)) == [1.0, 1.0, 1.0]


def test_student_t_conversion_is_more_cautious_than_normal():
    assert t_to_z(3.0, 20) < 3.0
    assert t_to_z(3.0, 1e6) == pytest.approx(3.0, abs=1e-4)
    # t(20) upper 2.5% point is 2.086 (tables): it should map close to z = 1.96
    assert t_to_z(2.086, 20) == pytest.approx(1.96, abs=0.02)
    assert math.isfinite(t_to_z(50.0, 5))


def test_student_t_tails_are_scipys_for_one_statistic_or_many():
    from scipy.stats import t as student_t

    t = np.array([-4.0, -1.2, 0.0, 0.7, 2.086, 9.0])
    df = np.array([5, 20, 27, 20, 20, 3])
    assert t_tail(2.086, 20) == pytest.approx(0.025, abs=2e-4)  # t(20) tables
    assert list(t_tail(t, df)) == [student_t.sf(a, b) for a, b in zip(t, df, strict=True)]
    assert list(t_tail(t, df, "down")) == [student_t.cdf(a, b) for a, b in zip(t, df, strict=True)]
    assert list(t_tail(t, df, "both")) == [min(1.0, 2 * student_t.sf(abs(a), b))
                                           for a, b in zip(t, df, strict=True)]
    assert t_tail(float("nan"), 20, "both") == 1.0  # as min(1, NaN) gave: a test, never flagged
    assert math.isnan(t_tail(float("nan"), 20))
