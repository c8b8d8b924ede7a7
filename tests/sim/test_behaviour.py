"""Intensities answer the market state as documented (noise-free, from ``intensities``)."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.sim.behaviour import (
    NOVEMBER_2025_PHASES,
    TOOLS,
    Phase,
    Responses,
    intensities,
    phase_index,
)
from marginscope.sim.market_state import market_state

CALM_ONLY = (Phase("calm", "2025-09-01T00:00:00Z", "start of the data"),)


@pytest.fixture(scope="module")
def state():
    return market_state("2025-10-01", "2025-11-30")


def _rate(intensity, tool, day):
    return intensity.rate[intensity.days.tolist().index(np.datetime64(day)), TOOLS.index(tool)]


def test_phase_in_force_by_the_hour():
    ts = np.array(["2025-11-23T15:59", "2025-11-23T16:00", "2025-11-04T00:00"],
                  dtype="datetime64[us]").astype(np.int64)
    names = [NOVEMBER_2025_PHASES[i].name for i in phase_index(NOVEMBER_2025_PHASES, ts)]
    assert names == ["margin defense", "repositioning", "defensive checks"]


def test_a_straddled_day_mixes_its_phases_by_hours(state):
    intensity = intensities(state)
    day = intensity.days.tolist().index(np.datetime64("2025-11-23"))
    assert intensity.phase[day, 2:].tolist() == pytest.approx([16 / 24, 8 / 24])


def test_liquidation_checks_rise_with_drawdown_and_range_without_any_phase(state):
    calm = intensities(state, CALM_ONLY)
    # Nov 21: depth 0.36 and 2.7× the usual range; Nov 1: depth 0.13, a quiet Saturday.
    assert _rate(calm, "liquidation_price", "2025-11-21") > 1.3 * _rate(
        calm, "liquidation_price", "2025-11-01")
    # and the Oct 10 crash (7 % down, 5.4× range) against the quiet days before it
    assert _rate(calm, "margin_call", "2025-10-10") > 1.5 * _rate(calm, "margin_call",
                                                                   "2025-10-08")


def test_margin_defense_on_round_number_breaks(state):
    no_break = intensities(state, CALM_ONLY, Responses(break_defense=0.0))
    with_break = intensities(state, CALM_ONLY)
    ratio = with_break.rate / no_break.rate
    column = TOOLS.index("margin_call")
    days = [str(d) for d in state.days]
    assert ratio[days.index("2025-11-04"), column] == pytest.approx(1.35)
    assert ratio[days.index("2025-11-05"), column] == pytest.approx(1.175)   # the day after
    assert ratio[days.index("2025-11-10"), column] == pytest.approx(1.0)


def test_sizing_follows_the_weeks_fall_and_funding_checks_negative_prints(state):
    calm = intensities(state, CALM_ONLY)
    mix = calm.mix()
    days = [str(d) for d in state.days]
    funding = mix[:, TOOLS.index("funding_rate")]
    negative = state.negative_funding > 0
    assert funding[negative].mean() > funding[~negative].mean()
    sizing = mix[:, TOOLS.index("position_size")]
    assert sizing[days.index("2025-11-17")] > sizing[days.index("2025-11-10")]  # 13 % vs 0.5 %


def test_phases_move_the_device_mix_and_the_us_factor(state):
    intensity = intensities(state)
    days = [str(d) for d in state.days]
    mobile = intensity.devices[:, 0]
    desktop = intensity.devices[:, 1]
    assert mobile[days.index("2025-11-21")] > mobile[days.index("2025-11-01")]
    assert desktop[days.index("2025-11-27")] > desktop[days.index("2025-11-01")]
    assert intensity.us[days.index("2025-11-10")] > intensity.us[days.index("2025-10-20")]


def test_a_bad_schedule_is_refused(state):
    with pytest.raises(InputError, match="phase"):
        intensities(state, (Phase("x", "2025-09-01T00:00:00Z", "", tools={"nope": 2.0}),))
    with pytest.raises(InputError, match="phases"):
        intensities(state, (Phase("late", "2025-11-01T00:00:00Z", ""),))
