"""The calm reference: worked examples, and a month-long crisis planted and recovered.

Planted quarters come from ``marginscope.sim.planted`` with 61 lead-in days (September and a
calm October); "normal" is the 28 days before November. Printed side by side (run with
``-s``) and written to ``test-artifacts/crisis_planted_vs_recovered.txt``.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from marginscope.analytics import analyze
from marginscope.analytics.baseline import Baseline
from marginscope.analytics.lift import lift
from marginscope.analytics.reference import (
    default_reference,
    family_critical,
    fit_reference,
    parse_reference,
)
from marginscope.analytics.spikes import scan_spikes
from marginscope.errors import InputError
from marginscope.sim.planted import Spike, planted_month

from .conftest import cube_of
from .sessions_sim import show

AFTER = date(2026, 1, 1)
CRISIS_DAYS = [date(2025, 11, 4) + timedelta(days=i) for i in range(18)]  # Nov 4 … Nov 21
CRISIS_SIZES = np.linspace(0.55, 0.73, len(CRISIS_DAYS))
CRISIS = (
    *(
        Spike(d.isoformat(), float(s), tool="liquidation_price")
        for d, s in zip(CRISIS_DAYS, CRISIS_SIZES, strict=True)
    ),
    Spike("2025-11-21", 2.06, tool="margin_call"),
    Spike("2025-11-22", 0.63, tool="futures", days=7),
)
NULL_SEEDS = (21, 22, 23, 24, 25)


def test_the_methods_worked_example_test_and_the_underlying_lift_interval():
    # analytics_methods.md §2: Ê = 1,000, σ̂² = 0.009, Var(log Ê) = s²/n_d = 0.0025, t₂₁;
    # observed 1,450 → t = 3.32, p = 0.003 (two-sided); lift +45 %. The interval of the
    # underlying lift keeps σ̂²: √(0.009 + 1/1450 + 0.0025) = 0.1104, × 2.080 = 0.2297,
    # 1.45 · exp(±0.2297) − 1 = +15.2 % … +82.4 %.
    base = Baseline(
        expected=1000.0,
        level=1000.0,
        factor=1.0,
        dispersion=10.0,
        days=28,
        masked=0,
        window_sum=28000.0,
        log_variance=0.0025,
        normal_low=0.0,
        normal_high=0.0,
        low_confidence=False,
        degrees_of_freedom=21,
        day_variance=0.009,
    )
    result = lift(1450, base, direction="both")
    assert result.z == pytest.approx(3.32, abs=0.01)
    assert result.p_value == pytest.approx(0.003, abs=0.0005)
    assert result.lift == pytest.approx(0.45)
    assert result.low == pytest.approx(0.152, abs=0.003)
    assert result.high == pytest.approx(0.824, abs=0.003)


def test_one_critical_value_per_family():
    # §2: m = 600, R = 12, q = 0.05 → a 99.9 % level, c = 3.82 with t₂₁.
    assert family_critical(0.05, 12, 600, 21) == pytest.approx(3.819, abs=5e-3)
    assert family_critical(0.05, 0, 600, 21) == family_critical(0.05, 1, 600, 21)


def _fits(rng, level, cv, runs=200):
    weekly = np.array([1.06, 1.08, 1.05, 1.03, 1.00, 0.88, 0.90])
    weekdays = np.arange(28) % 7
    return [
        fit_reference(
            rng.poisson(level * weekly[weekdays] * rng.lognormal(-(cv**2) / 2, cv, 28)), weekdays
        )
        for _ in range(runs)
    ]


def test_day_noise_is_multiplicative_the_same_cv_at_300_and_10000_a_day():
    rng = np.random.default_rng(5)
    for level in (300.0, 10_000.0):
        sigma = np.sqrt(np.median([f.day_variance for f in _fits(rng, level, 0.10)]))
        assert sigma == pytest.approx(0.10, abs=0.02)


def test_weekday_factors_are_kept_when_clear_and_shrunk_toward_one_when_noisy():
    rng = np.random.default_rng(6)
    raw = 0.88 / 1.08  # Saturday against Tuesday

    def ratio(fits):
        return float(np.median([math.exp(f.log_expected(5) - f.log_expected(1)) for f in fits]))

    clear = _fits(rng, 10_000.0, 0.01)
    assert ratio(clear) == pytest.approx(raw, abs=0.01)
    assert np.median([f.weight for f in clear]) > 0.95
    noisy = _fits(rng, 10_000.0, 0.10)  # log-factor spread 0.075 ≈ noise 0.1/√4: shrunk
    weights = [f.weight for f in noisy]
    assert 0.2 < np.median(weights) < 0.9
    assert raw < ratio(noisy) < 1.0


def test_an_outlier_in_the_reference_is_screened_and_a_small_series_has_no_weekdays():
    weekdays = np.arange(28) % 7
    y = np.full(28, 1000.0) + np.random.default_rng(1).normal(0, 20, 28)
    y[10] = 5000.0
    fit = fit_reference(y, weekdays)
    assert fit.dropped == 1
    assert math.exp(fit.log_expected(int(weekdays[10]))) == pytest.approx(1000, rel=0.05)
    assert fit_reference(np.full(28, 12.0), weekdays).weight == 0.0
    assert fit_reference(np.full(10, 1000.0), weekdays[:10]) is None


def test_two_unusual_days_on_one_weekday_do_not_mask_each_other():
    # four Fridays: one ordinary, a crash, a smaller surge, and an ordinary one a little low.
    # Judged all at once, the low ordinary Friday looks as unusual against the crash and the
    # surge (median 2,200) as the surge does against it; judged again after the crash is
    # screened, only the surge is unusual (as the generalized ESD steps one day at a time).
    weekdays = np.arange(28) % 7
    y = np.full(28, 1000.0) + np.random.default_rng(3).normal(0, 10, 28)
    y[11], y[18], y[25] = 5000.0, 2200.0, 950.0
    fit = fit_reference(y, weekdays)
    assert fit.dropped == 2
    kept = np.delete(y, [11, 18])  # the crash and the surge left out, both ordinary kept
    assert fit.mean_count == pytest.approx(kept.mean(), rel=1e-12)


def test_the_reference_option_is_parsed_and_bad_spans_name_the_option():
    first = date(2025, 11, 1)
    assert default_reference(first) == (date(2025, 10, 4), date(2025, 10, 31))
    assert parse_reference("2025-10-01..2025-10-31", first) == (
        date(2025, 10, 1),
        date(2025, 10, 31),
    )
    for bad in ("2025-10-01", "2025-10-20..2025-10-25", "2025-10-01..2025-11-02", "x..y"):
        with pytest.raises(InputError, match="--reference"):
            parse_reference(bad, first)


@pytest.fixture(scope="module")
def crisis():
    month = planted_month(31, CRISIS, history_days=61)
    return month, analyze(cube_of(month), "2025-11", k=10, today=AFTER)


def _planted(month, tool, day):
    return float(month.true_ratio(tool)[month.day_index(day)] - 1.0)


def _realised(month, tool, day):
    i, t = month.day_index(day), month.tools.index(tool)
    return float(month.counts[i, t].sum() / month.null_mean[i, t].sum() - 1.0)


def test_a_month_long_crisis_is_flagged_on_its_last_days_with_the_right_lift(crisis):
    month, analysis = crisis
    tests = {(t.date, t.tool, t.segment): t for t in analysis.spikes}
    rows = (
        [(d.isoformat(), "liquidation_price") for d in CRISIS_DAYS]
        + [("2025-11-21", "margin_call")]
        + [((date(2025, 11, 22) + timedelta(days=i)).isoformat(), "futures") for i in range(7)]
    )
    lines = [
        "CRISIS (fixed reference Oct 4–31; planted lift vs recovered lift [FCR CI], q)",
        f"{'date':<11}{'tool':<18}{'planted':>8}{'realised':>9}  {'recovered':<22}"
        f"{'q':>9}  flagged",
    ]
    for day, tool in rows:
        test, planted = tests[(day, tool, "all")], _planted(month, tool, day)
        r = test.result
        lines.append(
            f"{day:<11}{tool:<18}{planted:>+8.2f}{_realised(month, tool, day):>+9.2f}  "
            f"{r.lift:+.2f} [{r.low:+.2f}, "
            f"{r.high:+.2f}]{'':<4}{test.q_value:>9.2g}  "
            f"{'yes' if test.flagged else 'no'}"
        )
    table = "\n".join(lines)
    show("crisis_planted_vs_recovered.txt", table)

    for day, tool in rows:
        test, planted = tests[(day, tool, "all")], _planted(month, tool, day)
        assert test.flagged, (day, tool)
        assert test.result.low <= planted <= test.result.high, (day, tool)
    for day in CRISIS_DAYS[-3:]:  # the last three days: the right lift, not a shrunk one:
        # the day's realised lift (its counts over the noise-free normal) within the error of
        # the reference's weekday estimate (SE ≈ 0.04 on the log scale)
        test = tests[(day.isoformat(), "liquidation_price", "all")]
        realised = _realised(month, "liquidation_price", day.isoformat())
        assert abs(math.log1p(test.result.lift) - math.log1p(realised)) < 0.15
    assert analysis.reference == ("2025-10-04", "2025-10-31")


def test_normal_does_not_climb_with_the_crisis(crisis):
    _, analysis = crisis
    expected = analysis.expected()
    weekdays = analysis.cube.weekdays[analysis.start : analysis.end]
    for d in range(7):  # one yardstick: the same weekday is expected the same all month
        same = expected[weekdays == d]
        assert np.allclose(same, same[0])
    shares = [
        t.baseline.share
        for t in analysis.shares
        if t.tool == "margin_call" and t.segment == "region:US"
    ]
    assert max(shares) == min(shares)


def test_the_live_trailing_baseline_no_longer_learns_the_crisis(crisis):
    _, analysis = crisis
    cube = analysis.cube
    start = analysis.start
    tests = scan_spikes(
        cube, start, analysis.end, series=[("liquidation_price", "all"), ("margin_call", "all")]
    )
    flagged = {(t.date, t.tool) for t in tests if t.flagged}
    for day in CRISIS_DAYS[-3:]:
        assert (day.isoformat(), "liquidation_price") in flagged
    assert ("2025-11-21", "margin_call") in flagged


def _false_findings(month, analysis) -> int:
    spikes = sum(
        t.flagged and month.true_ratio(t.tool, t.segment)[t.day] < 1.05 for t in analysis.spikes
    )
    shares = sum(t.flagged for t in analysis.shares)
    return spikes + shares + len(analysis.details)  # no contrast exists in a null quarter


def test_null_quarters_raise_at_most_a_few_false_findings():
    counts = []
    for seed in NULL_SEEDS:
        month = planted_month(seed, (), history_days=61)
        analysis = analyze(cube_of(month), "2025-11", k=10, today=AFTER)
        counts.append(int(_false_findings(month, analysis)))
    line = (
        f"null quarters (seeds {NULL_SEEDS}): false findings per month (spike, share "
        f"shift, contrast) {counts}"
    )
    print(line)
    show("null_quarters.txt", line)
    assert max(counts) <= 5


def test_null_quarters_end_to_end_raise_at_most_five_false_findings_of_every_kind(tmp_path):
    """The whole report (engine, event-level pass, every kind) on quarters with nothing
    planted: every finding is false."""
    from collections import Counter

    from marginscope.report import build_report
    from marginscope.sim.planted import write_duckdb

    lines = []
    for seed in (26, 27):
        path = tmp_path / f"null{seed}.duckdb"
        write_duckdb(planted_month(seed, (), history_days=61, scale=0.5), path)
        document = build_report(path, "2025-11", k=10, today=AFTER, charts=False).to_dict()
        kinds = Counter(f["kind"] for f in document["findings"] if f["kind"] != "phase")
        lines.append(
            f"null quarter seed {seed}: {sum(kinds.values())} false findings {dict(kinds)}"
        )
        assert sum(kinds.values()) <= 5, kinds
        assert document["summary"]["previous_month"]["complete"] is True
    show("null_quarters_end_to_end.txt", "\n".join(lines))
