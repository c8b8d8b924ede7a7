"""Lift against lift: the methods note's worked example and a planted pair of spikes."""

from __future__ import annotations

import math
from datetime import date

import pytest

from marginscope.analytics import analyze
from marginscope.analytics.lift_ratio import lift_ratio, ratio_of_lifts
from marginscope.sim.planted import Spike, planted_month

from .conftest import cube_of


def test_the_methods_worked_example():
    # §9: margin-call +60 %, liquidation-price +25 % → RL 1.28; SDs 0.10 and 0.09,
    # correlation 0.6 → s_d² = 0.0073, V = s_d²(1 + 1/4) = 0.0091; t = 2.58, p = 0.017 (t₂₁).
    s_d2 = 0.10**2 + 0.09**2 - 2 * 0.6 * 0.10 * 0.09
    assert s_d2 == pytest.approx(0.0073, abs=1e-4)
    ratio, low, high, t, p = ratio_of_lifts(0.60, 0.25, s_d2 * 1.25, 21)
    assert ratio == pytest.approx(1.28)
    assert t == pytest.approx(2.58, abs=0.01)
    assert p == pytest.approx(0.017, abs=0.001)
    normal = math.exp(2.080 * math.sqrt(s_d2 * 1.25))
    assert 1 / normal == pytest.approx(0.82, abs=0.01) and normal == pytest.approx(1.22, abs=0.01)
    assert low < ratio < high


def test_a_planted_pair_of_spikes_gives_the_ratio_of_their_lifts():
    month = planted_month(
        5,
        (
            Spike("2025-11-21", 1.5, tool="margin_call"),
            Spike("2025-11-21", 0.72, tool="liquidation_price"),
        ),
    )
    cube = cube_of(month)
    day = month.day_index("2025-11-21")
    result = lift_ratio(
        cube, "margin_call", "liquidation_price", (day, day + 1), (day - 48, day - 20)
    )
    planted = 2.5 / 1.72
    print(
        f"\nLIFT vs LIFT Nov 21: planted {planted:.3f}, recovered {result.ratio:.3f} "
        f"[{result.low:.3f}, {result.high:.3f}], p {result.p_value:.2g}"
    )
    assert result.low <= planted <= result.high
    assert result.p_value < 0.05
    analysis = analyze(cube, "2025-11", k=10, today=date(2026, 1, 1))
    found = [d.to_dict() for d in analysis.details if d.kind == "lift_ratio"]
    assert found and found[0]["tool_a"] == "margin_call"
    assert found[0]["ratio_ci"][0] <= found[0]["ratio"] <= found[0]["ratio_ci"][1]
