"""The synthetic generator: seeded, labelled synthetic, and its truth is what was planted."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from marginscope.analytics.queries import SYNTHETIC_ID_PREFIX as ANALYTICS_PREFIX
from marginscope.errors import InputError
from marginscope.sim.planted import (
    SYNTHETIC_ID_PREFIX,
    PhaseShift,
    ShareShift,
    Spike,
    planted_month,
)
from marginscope.telemetry.schema import ARROW_SCHEMA


def test_the_same_seed_gives_the_same_month_and_another_seed_does_not():
    a, b, c = planted_month(7, ()), planted_month(7, ()), planted_month(8, ())
    assert np.array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)


def test_every_event_is_marked_synthetic_and_the_report_reads_the_same_mark(small_story):
    events = small_story.events
    assert ANALYTICS_PREFIX is SYNTHETIC_ID_PREFIX  # the report reads the one rule
    assert small_story.synthetic is True
    assert pc.all(pc.starts_with(events["event_id"], SYNTHETIC_ID_PREFIX)).as_py()
    assert events.schema.equals(ARROW_SCHEMA)
    assert events.num_rows == int(small_story.counts.sum())


def test_event_ids_are_unique_and_days_hold_their_counts(small_story):
    events = small_story.events
    assert pc.count_distinct(events["event_id"]).as_py() == events.num_rows
    days = pc.strftime(events["ts"], format="%Y-%m-%d").to_numpy(zero_copy_only=False)
    expected = small_story.counts.sum(axis=(1, 2, 3))
    got = np.array([np.sum(days == str(d)) for d in small_story.days])
    assert np.array_equal(got, expected)


def test_an_isolated_spike_multiplies_its_series_and_nothing_else():
    month = planted_month(1, (Spike("2025-11-12", 0.5, tool="stops"),))
    day = month.day_index("2025-11-12")
    assert month.true_ratio("stops")[day] == pytest.approx(1.5)
    assert month.true_ratio("leverage")[day] == pytest.approx(1.0)
    assert month.true_ratio("stops")[day - 1] == pytest.approx(1.0)


def test_a_share_shift_sets_the_share_and_keeps_the_total():
    month = planted_month(1, (ShareShift("2025-11-21", "region:US", 0.34, tool="margin_call"),))
    day = month.day_index("2025-11-21")
    assert month.true_share("margin_call", "region:US")[day] == pytest.approx(0.34)
    assert month.true_ratio("margin_call")[day] == pytest.approx(1.0)
    assert month.true_share("margin_call", "region:US", planted=False)[day] == pytest.approx(
        0.18, abs=1e-9)


def test_a_phase_changes_the_tool_mix_but_not_the_daily_total():
    month = planted_month(1, (PhaseShift("2025-11-25", "2025-11-30", {"position_size": 2.0}),))
    day = month.day_index("2025-11-27")
    assert month.mean[day].sum() == pytest.approx(month.null_mean[day].sum())
    assert month.true_ratio("position_size")[day] > 1.5
    assert month.true_ratio("leverage")[day] < 1.0


def test_effects_outside_the_month_are_refused():
    with pytest.raises(InputError, match="effects"):
        planted_month(1, (Spike("2025-10-20", 0.5),))
