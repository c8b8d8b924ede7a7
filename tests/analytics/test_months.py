"""Month over month: weekday-standardised rates, and an incomplete previous month refused."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from marginscope.analytics.cube import weekday
from marginscope.analytics.months import month_over_month, rate_ratio
from marginscope.sim.planted import planted_month

from .conftest import cube_of

WEEKLY = np.array([1.06, 1.08, 1.05, 1.03, 1.00, 0.88, 0.90])


def test_a_different_weekday_mix_is_not_a_change():
    # October 2025 has 5 Fridays/Saturdays/... ; November 5 Saturdays and Sundays: the plain
    # totals differ by the weekday mix, the standardised rates do not.
    oct_days = np.arange(np.datetime64("2025-10-01"), np.datetime64("2025-11-01"))
    nov_days = np.arange(np.datetime64("2025-11-01"), np.datetime64("2025-12-01"))
    before, after = 1000 * WEEKLY[weekday(oct_days)], 1000 * WEEKLY[weekday(nov_days)]
    change, _, _ = rate_ratio(after, before, weekday(nov_days), weekday(oct_days))
    assert abs(after.sum() / before.sum() * 31 / 30 - 1) > 0.003  # the mix alone moves it
    assert change == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(2)
    noisy = [
        rate_ratio(
            1.05 * after * rng.lognormal(0, 0.12, 30),
            before * rng.lognormal(0, 0.12, 31),
            weekday(nov_days),
            weekday(oct_days),
        )
        for _ in range(300)
    ]
    covered = np.mean([low <= 0.05 <= high for _, low, high in noisy])
    assert 0.90 <= covered <= 0.99  # a 95 % interval around a planted +5 %
    widths = np.median([high - low for _, low, high in noisy])
    assert widths == pytest.approx(2 * 2.0 * 0.031, rel=0.25)  # §10: SE ≈ 0.031 at CV 12 %


def test_the_previous_month_is_compared_only_when_complete():
    full = planted_month(3, (), history_days=61)  # September and October in the lead-in
    summary = month_over_month(cube_of(full), date(2025, 11, 1), date(2025, 12, 1), 10, 9, k=10)
    assert summary["complete"] and summary["month"] == "2025-10" and summary["days"] == 31
    october = full.counts[full.day_index("2025-10-01") : full.day_index("2025-11-01")].sum()
    assert summary["setups"] == int(october)
    assert summary["change"] == pytest.approx(full.setups / october - 1, abs=1e-6)
    short = planted_month(3, ())  # data from Oct 4 only
    partial = month_over_month(cube_of(short), date(2025, 11, 1), date(2025, 12, 1), 10, 9, k=10)
    assert partial is None or (partial["complete"] is False and partial["change"] is None)


def test_a_small_previous_month_cell_is_hidden_not_zero():
    # A tool with 4 checks last month: the published figure is null (hidden), never 0, and
    # the block hands the report the raw counts it protects (recounted from the cube).
    from marginscope.analytics.disclosure import Disclosure
    from marginscope.report.build import _protect_previous

    full = planted_month(3, (), history_days=61)
    cube = cube_of(full)
    oct_first, nov_first = cube.index("2025-10-01"), cube.index("2025-11-01")
    rare = cube.tools.index(cube.tools[-1])
    cube.counts[oct_first:nov_first, rare] = 0
    cube.counts[oct_first + 3, rare, 0, 0] = 4
    block = month_over_month(cube, date(2025, 11, 1), date(2025, 12, 1), 10, 9, k=10)
    raw = block["tools"][cube.tools[rare]]
    assert raw["previous"] == 4 and raw["change"] is None
    assert raw["current"] == int(cube.counts[nov_first:, rare].sum())
    published = _protect_previous(block, Disclosure(10).protect(), 10)
    assert published["tools"][cube.tools[rare]]["previous"] is None
    others = [part["previous"] for t, part in published["tools"].items() if t != cube.tools[rare]]
    assert None in others  # complementary: the month total minus the rest gives nothing back
