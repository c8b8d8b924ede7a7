"""Countries from the tz database with modelling weights (the U.S. the largest), time zones."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.sim.population import (
    HEAD_SHARES,
    MICRO,
    UNINHABITED,
    country_names,
    country_weights,
    make_population,
    utc_offsets,
)
from marginscope.telemetry.schema import country_codes


def test_countries_are_the_inhabited_codes_of_tzdata_iso3166_tab():
    names = country_names()
    assert len(names) >= 180
    assert set(names) <= country_codes()  # every code is one the telemetry schema accepts
    assert not set(names) & UNINHABITED
    assert names["US"] == "United States"


def test_weights_sum_to_one_with_the_us_the_largest():
    weights = country_weights()
    assert len(weights) >= 180 and not set(weights) & MICRO
    assert set(weights) | MICRO == set(country_names())
    assert sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) > 0
    assert max(weights, key=weights.get) == "US"
    assert all(weights[c] == pytest.approx(s) for c, s in HEAD_SHARES.items())


def test_weights_do_not_depend_on_anything_but_the_fixed_tail_seed():
    country_weights.cache_clear()
    again = country_weights()
    assert list(again.items()) == list(country_weights().items())


def test_every_country_has_a_trader_and_habits_are_in_range():
    population = make_population(5000, np.random.default_rng(1))
    assert (population.country_counts() >= 1).all()
    assert population.activity.min() > 0
    assert set(np.unique(population.leverage)) <= {1, 2, 3, 5, 10, 20, 25, 50, 75, 100, 125}
    assert population.wallet.min() > 0 and np.isfinite(population.long_tilt).all()


def test_utc_offsets_follow_daylight_saving():
    days = np.array(["2025-11-01", "2025-11-03"], dtype="datetime64[D]")
    offsets = utc_offsets(("America/New_York", "Asia/Kolkata", "UTC"), days)
    assert offsets[0].tolist() == [-4, -5]   # US DST ended on 2 Nov 2025
    assert offsets[1].tolist() == [5, 5]     # +5:30 rounds down to the hour
    assert offsets[2].tolist() == [0, 0]
