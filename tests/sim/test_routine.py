"""Routine sessions: the local-time rhythm they follow, and that they stay on simulated days."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.sim.behaviour import DIURNAL, REASONS, TEMPLATES, WEEKDAY, local_rhythm
from marginscope.sim.routine import ROUTINE_TEMPLATES


def test_local_rhythm_reads_the_local_hour_and_weekday():
    monday = np.datetime64("2025-11-03")  # a Monday
    table = local_rhythm(monday)
    assert table.shape == (27, 24)
    utc = 12  # row of offset 0
    assert table[utc] == pytest.approx(np.asarray(DIURNAL) * WEEKDAY[0])
    # UTC+3 at 22:00 UTC is 01:00 on Tuesday; UTC−5 at 02:00 UTC is 21:00 on Sunday
    assert table[utc + 3, 22] == pytest.approx(DIURNAL[1] * WEEKDAY[1])
    assert table[utc - 5, 2] == pytest.approx(DIURNAL[21] * WEEKDAY[6])


def test_routine_sessions_are_one_calculator_on_simulated_days(small):
    sessions = small.sessions
    routine = sessions.reason == REASONS.index("routine")
    keys = np.asarray(list(TEMPLATES))[sessions.template[routine].astype(int)]
    assert set(keys) == set(ROUTINE_TEMPLATES)
    assert all(len(TEMPLATES[k]) == 1 for k in ROUTINE_TEMPLATES)
    assert (sessions.hour[routine] >= small.path.first).all()
    # a third or more of the sessions, none of them tied to the agent's state
    assert 0.3 < routine.mean() < 0.8
