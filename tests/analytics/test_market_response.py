"""Market response: a planted lagged association, an event study, and funding runs."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.analytics.market_response import event_study, funding_runs, lagged_association
from marginscope.market.snapshot import load_snapshot
from marginscope.sim.planted import Spike, planted_month

from .conftest import cube_of


def _ar1(rng, n, phi=0.6):
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal()
    return x


def test_a_planted_lag_one_association_is_found_at_lag_one():
    rng = np.random.default_rng(7)
    market = _ar1(rng, 90)
    activity = np.empty(90)
    activity[0] = rng.normal()
    activity[1:] = 0.8 * market[:-1] + 0.6 * rng.normal(size=89)  # activity follows by a day
    result = lagged_association(activity, market)
    print(
        f"\nplanted lag 1 (β = 0.8): recovered lag {result['lag']}, ρ {result['rho']}, "
        f"p {result['p_value']:.3f} over {result['shifts']} shifts"
    )
    assert result["lag"] == 1
    assert result["p_value"] == pytest.approx(1 / (1 + result["shifts"]))  # never 0


def test_autocorrelated_but_unrelated_series_are_rarely_called_associated():
    rng = np.random.default_rng(8)
    p = [lagged_association(_ar1(rng, 60), _ar1(rng, 60))["p_value"] for _ in range(60)]
    rate = np.mean(np.asarray(p) <= 0.05)
    print(f"\nnull AR(1) pairs (φ = 0.6, 60 days): {rate:.0%} with p ≤ 0.05")
    assert rate <= 0.12


def test_an_event_study_measures_the_days_after_and_the_placebo_before():
    month = planted_month(9, (Spike("2025-11-14", 0.30, tool="margin_call", days=6),))
    cube = cube_of(month)
    day0 = month.day_index("2025-11-14")
    study = event_study(cube.series("margin_call"), cube.weekdays, (0, 28), day0)
    after, before = study["after"], study["before"]
    tool = month.tools.index("margin_call")
    window = slice(day0, day0 + 6)
    daily = month.counts[window, tool].sum(axis=(1, 2)) / month.null_mean[window, tool].sum(
        axis=(1, 2)
    )
    realised = float(np.exp(np.log(daily).mean()) - 1)  # geometric mean, like the CAR
    print(
        f"\nevent study: planted +30 % on days 0…+5 (realised {realised:+.1%}), recovered mean "
        f"lift {after['mean_lift']:+.1%} (p {after['p_value']:.2g}); placebo −3…−1 "
        f"{before['mean_lift']:+.1%} (p {before['p_value']:.2g})"
    )
    # the recovered lift is the realised one up to the reference's estimation error
    assert abs(np.log1p(after["mean_lift"]) - np.log1p(realised)) < 0.1
    assert after["p_value"] < 0.01
    assert before["p_value"] > 0.01


def test_funding_turns_negative_only_for_a_run_of_three_prints():
    funding = load_snapshot().funding[0]
    runs = funding_runs(funding)
    # market_data.md §5 / methods §8: flickers on 9 and 11 Nov are single prints; the first
    # negative print of the late-November run is 23 Nov 16:00 UTC; the 72-h mean stays > 0.
    assert [r.start[:16] for r in runs] == ["2025-11-23T16:00"]
    assert runs[0].prints == 3 and runs[0].lowest_rate < 0 and not runs[0].sustained
    assert "turned negative" not in runs[0].to_dict()["text"]
