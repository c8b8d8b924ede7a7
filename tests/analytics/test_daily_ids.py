"""Visitors counted a day at a time (:mod:`marginscope.analytics.daily_ids`) give the exact
reach of the pass keyed over the span, and step aside when an id spans days or two ids share
a hash."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from marginscope.analytics import chunks, daily_ids
from marginscope.analytics.aggregate import aggregate
from marginscope.analytics.daily_ids import distinct_by_day
from marginscope.analytics.sources import open_events

from .conftest import plain_sql

FIRST, FOLLOWING = date(2025, 10, 1), date(2025, 10, 8)


def _events(repeat: bool = False) -> pa.Table:
    """Seven days of checks by daily ids (``v<day>-<i>``), some with checks from the U.S.
    and elsewhere on the same day; ``repeat``: one id also seen the next day."""
    rng = np.random.default_rng(5)
    rows: dict[str, list] = {"ts": [], "visitor": [], "country": []}
    for day in range(7):
        for i in range(int(rng.integers(150, 250))):
            for _ in range(int(rng.integers(1, 4))):
                second = int(rng.integers(0, 86_400))
                rows["ts"].append(datetime(2025, 10, 1 + day) + timedelta(seconds=second))
                rows["visitor"].append(f"v{day}-{i}")
                rows["country"].append(str(rng.choice(["US", "DE", "ZZ"], p=[0.3, 0.5, 0.2])))
    if repeat:
        rows["ts"].append(datetime(2025, 10, 3, 12))
        rows["visitor"].append("v1-0")  # v1-0 is seen on Oct 2: now also on Oct 3
        rows["country"].append("US")
    n = len(rows["ts"])
    return pa.table(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "ts": pa.array(rows["ts"], type=pa.timestamp("us", tz="UTC")),
            "tool": ["liquidation_price"] * n,
            "device": ["mobile"] * n,
            "country": rows["country"],
            "visitor": rows["visitor"],
            "session": [None] * n,
        }
    )


def _independent(events: pa.Table) -> tuple[np.ndarray, int]:
    """Per day (U.S., rest, all) distinct visitors, and the span's, by plain DuckDB SQL."""
    con = plain_sql(events)
    per_day = con.execute(
        "SELECT CAST(ts AS DATE) AS d, count(DISTINCT visitor) FILTER (country = 'US'), "
        "count(DISTINCT visitor) FILTER (country <> 'US'), count(DISTINCT visitor) "
        "FROM e GROUP BY d ORDER BY d"
    ).fetchall()
    total = con.execute("SELECT count(DISTINCT visitor) FROM e").fetchone()[0]
    return np.array([row[1:] for row in per_day]), total


@pytest.mark.parametrize("repeat", [False, True])
def test_day_by_day_visitors_are_the_exact_reach(repeat, monkeypatch):
    events = _events(repeat)
    expected, total = _independent(events)
    one_pass = aggregate(events, FIRST, FOLLOWING).reach
    monkeypatch.setattr(chunks, "MIN_ROWS", 0)
    split = distinct_by_day(open_events(events), FIRST, FOLLOWING, "visitor", rows=events.num_rows)
    assert (split is None) == repeat  # an id on two days: the one pass counts
    reach = aggregate(events, FIRST, FOLLOWING).reach
    for got in (one_pass, reach):
        assert np.array_equal(got.visitors, expected)
        assert got.total_visitors == total > 1000
    assert reach.multi_day == one_pass.multi_day == int(repeat)
    if not repeat:
        assert int(split["n"].to_numpy().sum()) == total == expected[:, 2].sum()


def test_two_ids_sharing_a_hash_send_the_count_to_the_one_pass(monkeypatch):
    events = _events()
    monkeypatch.setattr(chunks, "MIN_ROWS", 0)
    real = daily_ids.daily_ids_expr

    def colliding(*args, **kwargs):
        table = real(*args, **kwargs)
        return table.mutate(h=table.h * 0)  # every id hashed alike

    monkeypatch.setattr(daily_ids, "daily_ids_expr", colliding)
    assert (
        distinct_by_day(open_events(events), FIRST, FOLLOWING, "visitor", rows=events.num_rows)
        is None
    )
    expected, total = _independent(events)
    reach = aggregate(events, FIRST, FOLLOWING).reach
    assert np.array_equal(reach.visitors, expected)
    assert reach.total_visitors == total
