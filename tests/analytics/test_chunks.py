"""Day-by-day execution (:mod:`marginscope.analytics.chunks`) gives the one pass's rows, and
a session is one id on one UTC day on every path (seq order, the window, day by day), which
also gives the cube's sessions per day and region from the same pass."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from marginscope.analytics import chunks
from marginscope.analytics.aggregate import aggregate, with_sessions
from marginscope.analytics.sequences import sequences
from marginscope.analytics.sources import open_events
from marginscope.errors import InputError

from .conftest import plain_sql
from .sessions_sim import FIRST, FOLLOWING, World, simulate
from .test_sequences import _flat


@pytest.fixture(scope="module")
def events() -> pa.Table:
    return simulate(8, world=World(base_sessions=120.0), last=date(2025, 10, 16))


def test_day_by_day_gives_the_one_pass_sequences(events, monkeypatch):
    table = open_events(events)
    one_pass = sequences(table, FIRST, FOLLOWING)
    monkeypatch.setattr(chunks, "MIN_ROWS", 0)
    ran = []
    real = chunks.by_day

    def counting(*args, **kwargs):
        ran.append(kwargs["rows"])
        return real(*args, **kwargs)

    monkeypatch.setattr("marginscope.analytics.sequences.by_day", counting)
    day_by_day = sequences(table, FIRST, FOLLOWING)
    assert ran == [events.num_rows]  # the seq path ran through by_day, over every event
    assert _flat(day_by_day) == _flat(one_pass)
    assert day_by_day.n.sum() == one_pass.n.sum() > 1000


@pytest.mark.parametrize("days", [1, 2, 5])
def test_by_day_runs_each_day_once_and_keeps_the_rows(events, monkeypatch, days):
    monkeypatch.setattr(chunks, "MIN_ROWS", 0)
    monkeypatch.setattr(chunks, "DAYS", days)  # a last chunk shorter than the others
    table = open_events(events)

    def per_day(rows):
        return rows.group_by(day=rows.ts.date()).aggregate(n=rows.count())

    out = chunks.by_day(table, FIRST, FOLLOWING, per_day, rows=events.num_rows)
    days = (FOLLOWING - FIRST).days
    assert out.num_rows == 13  # Oct 4 … Oct 16 hold events; the later days none
    assert sum(out["n"].to_pylist()) == events.num_rows
    assert days > out.num_rows
    # the temporary views are gone
    views = table.get_backend().con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'marginscope_day_%'"
    ).fetchall()
    assert views == [(0,)]


def _midnight_session() -> pa.Table:
    """One session id with checks at 23:58 and 23:59 on Oct 5 and at 00:01 on Oct 6."""
    night = datetime(2025, 10, 5, 23, 58)
    times = [night, night + timedelta(minutes=1), night + timedelta(minutes=3)]
    return pa.table(
        {
            "event_id": ["syn-m0", "syn-m1", "syn-m2"],
            "ts": pa.array(times, type=pa.timestamp("us", tz="UTC")),
            "tool": ["liquidation_price", "margin_call", "futures"],
            "device": ["mobile"] * 3,
            "country": ["US", "US", "DE"],
            "session": ["s-night"] * 3,
            "seq": pa.array([0, 1, 2], pa.int16()),
        }
    )


@pytest.mark.parametrize("use_seq", [True, False])
def test_a_session_past_midnight_is_two_sessions(use_seq, monkeypatch):
    table = open_events(_midnight_session())
    day = (date(2025, 10, 5) - date(1970, 1, 1)).days
    # vocabulary (sorted): futures 0, liquidation_price 1, margin_call 2
    expected = [(day, "mobile", (1, 2), 1), (day + 1, "mobile", (0,), 1)]
    assert _flat(sequences(table, FIRST, FOLLOWING, use_seq=use_seq)) == expected
    monkeypatch.setattr(chunks, "MIN_ROWS", 0)  # day by day: the same two sessions
    assert _flat(sequences(table, FIRST, FOLLOWING, use_seq=use_seq)) == expected


def test_the_session_order_pass_gives_the_cubes_session_reach(events, monkeypatch):
    first, month = date(2025, 10, 4), date(2025, 10, 10)
    seqs = sequences(open_events(events), first, FOLLOWING)
    by_pass = aggregate(events, first, FOLLOWING, reach_from=month).reach
    uncounted = aggregate(events, first, FOLLOWING, reach_from=month, sessions=False)
    assert uncounted.reach.sessions is None and uncounted.reach.total_sessions is None
    given = with_sessions(uncounted, seqs.reach).reach
    assert np.array_equal(given.sessions, by_pass.sessions)
    assert np.array_equal(given.visitors, by_pass.visitors)
    assert given.total_sessions == by_pass.total_sessions > 500
    monkeypatch.setattr(chunks, "MIN_ROWS", 0)  # the session pass day by day: the same
    assert np.array_equal(aggregate(events, first, FOLLOWING, reach_from=month).reach.sessions,
                          by_pass.sessions)
    # an independent count: distinct (session, UTC day) per day, U.S. or not
    con = plain_sql(events)
    rows = con.execute(
        "SELECT CAST(ts AS DATE), max(country = 'US'), count(DISTINCT session) FROM e "
        "WHERE ts >= TIMESTAMPTZ '2025-10-10' AND session IS NOT NULL "
        "GROUP BY CAST(ts AS DATE), country = 'US'"
    ).fetchall()
    cube = aggregate(events, first, FOLLOWING, reach=False)
    for day, us, n in rows:
        assert given.sessions[cube.index(str(day)), 0 if us else 1] == n


def test_sessions_are_added_only_from_rows_of_one_day(events):
    cube = aggregate(events, date(2025, 10, 4), FOLLOWING, sessions=False)
    day = int(cube.days[3].astype(np.int64))
    rows = pa.table({"first": [day, day], "last": [day, day + 1], "us_min": [1, 0],
                     "us_max": [1, 0], "n": [5, 2]})
    with pytest.raises(InputError, match=r"rows\[1\].*sessions of one day"):
        with_sessions(cube, rows)
    added = with_sessions(cube, rows.slice(0, 1)).reach
    assert added.sessions[3].tolist() == [5, 0, 5] and added.total_sessions == 5
    assert added.sessions.sum() == 10  # that day's U.S. (all U.S. checks) and "all" columns
