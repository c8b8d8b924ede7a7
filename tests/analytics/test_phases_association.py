"""Change points, phase labels, and the wording of market associations."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.analytics.association import (
    CITED,
    coincident,
    lagged_correlations,
    market_context,
    spearman,
)
from marginscope.analytics.phases import change_points, tool_mix_phases
from marginscope.market.snapshot import load_snapshot

TOOLS = ["liquidation_price", "margin_call", "position_size", "leverage"]


def test_change_points_find_the_steps_of_a_piecewise_constant_signal():
    rng = np.random.default_rng(0)
    signal = np.concatenate([np.zeros(12), np.full(9, 3.0), np.full(9, -2.0)])
    x = signal[:, None] + rng.normal(0, 0.5, (30, 2))
    assert change_points(x, penalty=2 * 2 * np.log(30)) == [12, 21]
    assert change_points(rng.normal(0, 1, (30, 2)), penalty=2 * 2 * np.log(30)) == []


def _mix(weights_by_day: list[list[float]], total: float = 4000.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    shares = np.asarray(weights_by_day) / np.sum(weights_by_day, axis=1, keepdims=True)
    return rng.poisson(shares * total).astype(float)


def test_a_one_day_spike_is_not_a_phase_but_a_shift_of_the_mix_is():
    normal = [0.4, 0.2, 0.25, 0.15]
    days = [normal] * 30
    days[10] = [0.7, 0.1, 0.12, 0.08]  # a one-day surge of liquidation-price checks
    phases = tool_mix_phases(_mix(days), TOOLS, reference=np.asarray(normal) * 1e5)
    assert len(phases) == 1 and phases[0].label == "usual mix"
    shifted = [normal] * 18 + [[0.3, 0.15, 0.35, 0.2]] * 12
    phases = tool_mix_phases(_mix(shifted), TOOLS, reference=np.asarray(normal) * 1e5)
    assert [p.start for p in phases] == [0, 18]
    assert phases[1].theme == "repositioning"
    assert phases[1].dominant[0][0] in ("position_size", "leverage")


@pytest.fixture(scope="module")
def november():
    from datetime import date

    return market_context(load_snapshot(), date(2025, 11, 1), date(2025, 12, 1),
                          origin="snapshot")


def test_events_are_cited_as_coinciding_or_a_day_after_never_as_causes(november):
    same_day = coincident(november, "2025-11-21", lags=(0,))
    next_day = coincident(november, "2025-11-22")
    assert same_day and all(a.lag == 0 and a.wording == "coincided with" for a in same_day)
    assert any(a.lag == 1 and a.wording == "came a day after" for a in next_day)
    assert all(a.event.kind in CITED for a in same_day + next_day)
    assert all(a.event.source for a in same_day)
    for association in same_day + next_day:
        assert "caus" not in association.wording


def test_the_btc_closes_come_from_the_cited_daily_series(november):
    assert november.close[20] == pytest.approx(85090.6875)  # btc_daily_2025.csv, 2025-11-21
    assert "yahoo_finance" in november.price_source


def test_spearman_and_its_permutation_test():
    x = np.arange(30, dtype=float)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    rng = np.random.default_rng(3)
    strong, = lagged_correlations(x + rng.normal(0, 3, 30), x, usage_name="u", market_name="m",
                                  lags=(0,))
    assert strong.rho > 0.8 and strong.p_value < 0.01
    assert "not evidence of a cause" in strong.wording
    weak, = lagged_correlations(rng.normal(size=30), rng.normal(size=30), usage_name="u",
                                market_name="m", lags=(1,))
    assert weak.days == 29 and weak.p_value > 0.05


def _month_phases(month):
    """Phases of a planted month's November against its 28 days before (as ``analyze``)."""
    matrix = month.counts.sum(axis=tuple(range(2, month.counts.ndim)))
    first = int(np.flatnonzero(month.days == np.datetime64("2025-11-01"))[0])
    phases = tool_mix_phases(matrix[first:], list(month.tools), matrix[first - 28:first].sum(0))
    return [month.days[first + p.start] for p in phases[1:]]


def test_a_month_whose_mix_does_not_change_is_divided_at_most_one_time_in_twenty():
    """The penalty is calibrated by simulation for a 5 % false-phase rate (``null_penalty``).
    On 80 null months of the planted generator (gamma day-level noise per tool) 2 are divided;
    a calibration that skipped the estimation of each tool's noise level divided 18."""
    from marginscope.sim.planted import planted_month

    divided = [seed for seed in range(100, 180) if _month_phases(planted_month(seed, ()))]
    assert len(divided) / 80 <= 0.05, divided


def test_a_shift_carried_by_one_tool_of_ten_is_found():
    """Margin-call checks × 1.5 for 8 days (the other nine tools unchanged): the phase start
    is found within a day in 27 of 30 months; the BIC-type ``2 · p · log n`` found 11."""
    from marginscope.sim.planted import PhaseShift, planted_month

    shift = (PhaseShift("2025-11-14", "2025-11-21", {"margin_call": 1.5}),)
    start = np.datetime64("2025-11-14")
    found = [any(abs((day - start).astype(int)) <= 1 for day in
                 _month_phases(planted_month(seed, shift))) for seed in range(200, 230)]
    assert np.mean(found) >= 0.8


def test_the_vectorised_programme_finds_the_least_cost_of_every_segmentation():
    # independent recomputation: every split of n = 11 days into K + 1 segments of ≥ 3 days,
    # costed directly as the sum of squared deviations from each segment's mean
    from itertools import combinations

    from marginscope.analytics.phases import _best_costs

    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (5, 11, 3))
    x[:, 6:] += 2.0
    costs = _best_costs(x, min_size=3, max_changes=3)
    assert costs.shape == (5, 3)  # 11 // 3 − 1 = 2 changes at most
    for draw in range(5):
        for k in range(3):
            least = min(
                sum(((x[draw, a:b] - x[draw, a:b].mean(axis=0)) ** 2).sum()
                    for a, b in zip((0, *cuts), (*cuts, 11), strict=True))
                for cuts in combinations(range(1, 11), k)
                if all(b - a >= 3 for a, b in zip((0, *cuts), (*cuts, 11), strict=True)))
            assert costs[draw, k] == pytest.approx(least, rel=1e-10)
