"""The engine-side aggregation (Ibis on DuckDB) against independent recomputations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from marginscope.analytics import aggregate, daily
from marginscope.analytics.periods import day_range, month_bounds
from marginscope.analytics.queries import daily_counts_expr
from marginscope.analytics.sources import event_days, open_events
from marginscope.errors import InputError
from marginscope.sim.planted import write_duckdb
from marginscope.telemetry.parquet_sink import ParquetDatasetSink

START, END, MONTH = date(2025, 10, 4), date(2025, 12, 1), date(2025, 11, 1)


def _reference_reach(events: pa.Table, column: str) -> dict[tuple[str, bool], int]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("e", events)
    rows = con.execute(f"SELECT CAST(ts AS DATE)::VARCHAR, country = 'US', count(DISTINCT {column}) "
                       "FROM e WHERE ts >= TIMESTAMPTZ '2025-11-01' GROUP BY ALL").fetchall()
    return {(day, us): n for day, us, n in rows}


def test_daily_counts_equal_the_generators_counts(small_story):
    cube = aggregate(small_story.events, START, END, reach=False, tools=small_story.tools)
    assert list(cube.days) == list(small_story.days)
    # same axes order for tools and devices; countries are sorted in the cube
    order = [small_story.countries.index(c) for c in cube.countries]
    expected = small_story.counts[:, :, :, order]
    assert np.array_equal(cube.counts[:, :, : expected.shape[2]], expected)


def test_distinct_visitors_and_sessions_match_plain_count_distinct(small_story):
    events = small_story.events
    cube = aggregate(events, START, END, reach_from=MONTH)
    reach = cube.reach
    for column, counted in (("visitor", reach.visitors), ("session", reach.sessions)):
        reference = _reference_reach(events, column)
        for (day, us), n in reference.items():
            assert counted[cube.index(day), 0 if us else 1] == n
    con = duckdb.connect()
    con.register("e", events)
    total = con.execute("SELECT count(DISTINCT visitor) FROM e "
                        "WHERE ts >= TIMESTAMPTZ '2025-11-01'").fetchone()[0]
    assert reach.total_visitors == total
    assert reach.multi_day == 0


def test_an_id_seen_on_two_days_is_counted_on_both_days_and_once_in_the_month():
    def event(i: int, when: datetime, visitor: str, country: str) -> dict:
        return {"event_id": f"e{i}", "ts": when, "tool": "margin_call", "device": "mobile",
                "country": country, "visitor": visitor, "session": f"s{i}"}

    rows = [event(1, datetime(2025, 11, 2, 10, tzinfo=UTC), "same", "US"),
            event(2, datetime(2025, 11, 3, 10, tzinfo=UTC), "same", "DE"),
            event(3, datetime(2025, 11, 3, 11, tzinfo=UTC), "other", "DE")]
    cube = aggregate(pa.Table.from_pylist(rows), MONTH, END)
    reach = cube.reach
    assert reach.total_visitors == 2
    assert reach.multi_day == 1
    assert reach.visitors[cube.index("2025-11-02")].tolist() == [1, 0, 1]
    assert reach.visitors[cube.index("2025-11-03")].tolist() == [0, 2, 2]


def test_a_late_evening_event_counts_on_its_utc_day_whatever_the_session_time_zone():
    con = duckdb.connect()
    con.execute("CREATE TABLE events (event_id VARCHAR, ts TIMESTAMPTZ, tool VARCHAR, "
                "device VARCHAR, country VARCHAR, visitor VARCHAR, session VARCHAR)")
    con.execute("SET TimeZone = 'America/New_York'")
    con.execute("INSERT INTO events VALUES ('a', TIMESTAMPTZ '2025-11-04 23:30:00+00', "
                "'stops', 'desktop', 'US', 'v', 's')")
    cube = aggregate(con, MONTH, END, reach=False)
    assert cube.series("stops")[cube.index("2025-11-04")] == 1


def test_the_duckdb_file_and_the_parquet_dataset_give_the_same_cube(small_story, tmp_path):
    db = tmp_path / "events.duckdb"
    write_duckdb(small_story, db)
    sink = ParquetDatasetSink(tmp_path / "dataset", writer_id="test")
    for batch in small_story.batches():
        sink.write(batch)
    from_file = aggregate(db, START, END, reach_from=MONTH)
    from_dataset = aggregate(tmp_path / "dataset", START, END, reach_from=MONTH)
    assert np.array_equal(from_file.counts, from_dataset.counts)
    assert np.array_equal(from_file.reach.visitors, from_dataset.reach.visitors)
    assert from_file.synthetic == from_dataset.synthetic == small_story.events.num_rows


def test_the_expression_is_engine_agnostic_ibis_not_engine_sql(small_story):
    events = open_events(small_story.events)
    expression = daily_counts_expr(events, START, END)
    assert {"day", "tool", "device", "country", "checks"} <= set(expression.columns)


def test_daily_fills_missing_days_with_zero_and_hides_small_cells():
    rows = [{"event_id": f"e{i}", "ts": datetime(2025, 11, 1, 12, tzinfo=UTC), "tool": "stops",
             "device": "mobile", "country": "US", "visitor": "v", "session": "s"}
            for i in range(12)]
    rows += [{"event_id": f"f{i}", "ts": datetime(2025, 11, 3, 12, tzinfo=UTC), "tool": "stops",
              "device": "desktop", "country": "FR", "visitor": "w", "session": "t"}
             for i in range(3)]
    out = daily(pa.Table.from_pylist(rows), "2025-11-01", "2025-11-04", by=("region",), k=10)
    by_key = {(r["date"], r["region"]): r for r in out}
    assert by_key[("2025-11-01", "US")]["checks"] == 12
    assert by_key[("2025-11-02", "US")]["checks"] == 0  # zero-filled
    assert by_key[("2025-11-03", "rest")] == {"date": "2025-11-03", "region": "rest",
                                              "checks": None, "suppressed": True}
    filtered = daily(pa.Table.from_pylist(rows), "2025-11-01", "2025-11-04",
                     {"device": "mobile"}, by=(), k=10)
    assert [r["checks"] for r in filtered] == [12, 0, 0]


def test_bad_requests_name_the_field():
    with pytest.raises(InputError, match="engine"):
        open_events(pa.table({"a": [1]}), engine="spark-sql")
    with pytest.raises(InputError, match="by"):
        daily(pa.table({"a": [1]}), "2025-11-01", "2025-11-02", by=("venue",))


def test_a_filtered_cube_matches_the_dashboard_query_for_the_same_filters(small_story):
    events = small_story.events
    cube = aggregate(events, START, END, reach=False)
    for tool, device, region in (("margin_call", None, None), (None, "mobile", "US"),
                                 ("liquidation_price", "desktop", "rest"), (None, None, None)):
        filters = {name: value for name, value in
                   (("tool", tool), ("device", device), ("region", region)) if value}
        rows = daily(events, START, END, filters, by=(), k=1)  # k=1: nothing suppressed
        assert cube.where(tool, device, region).series().tolist() == [r["checks"] for r in rows]
    assert not cube.where("no_such_tool").counts.any()


def test_event_days_are_the_first_and_last_utc_days_with_events():
    rows = [{"event_id": "a", "ts": datetime(2025, 10, 31, 23, 59, tzinfo=UTC), "tool": "stops",
             "device": "mobile", "country": "US", "visitor": "v", "session": "s"},
            {"event_id": "b", "ts": datetime(2025, 11, 3, 0, 0, tzinfo=UTC), "tool": "stops",
             "device": "mobile", "country": "US", "visitor": "v", "session": "s"}]
    table = pa.Table.from_pylist(rows)
    assert event_days(table) == (date(2025, 10, 31), date(2025, 11, 3))
    assert event_days(table.slice(0, 0)) is None


def test_months_and_day_ranges_are_utc_days_end_exclusive():
    assert month_bounds("2025-12") == (date(2025, 12, 1), date(2026, 1, 1))
    assert month_bounds("2024-02") == (date(2024, 2, 1), date(2024, 3, 1))
    # inclusive start/end fields → [start, end + 1 day); each defaults to the month's edge
    assert day_range("2025-11", "2025-11-03", "2025-11-09") == (date(2025, 11, 3),
                                                                date(2025, 11, 10))
    assert day_range("2025-11", end="2025-11-01") == (date(2025, 11, 1), date(2025, 11, 2))
    assert day_range("2025-11") == month_bounds("2025-11")
    # 2024 is a leap year: its 366 days are the most max_days=366 allows (367 are refused below)
    assert day_range("2024-01", "2024-01-01", "2024-12-31", max_days=366) == (
        date(2024, 1, 1), date(2025, 1, 1))


@pytest.mark.parametrize(("call", "field"), [
    (lambda: month_bounds("2025-13"), "month"),
    (lambda: month_bounds("2025-1"), "month"),
    (lambda: day_range("2025-11", start="2025-11-x"), "start"),
    (lambda: day_range("2025-11", start="2025-11-05", end="2025-11-0x"), "end"),
    (lambda: day_range("2025-11", start="2025-11-05", end="2025-11-04"), "end"),
    (lambda: day_range("2024-01", "2024-01-01", "2025-01-01", max_days=366), "end"),
])
def test_bad_periods_name_the_analytics_parameter_not_a_command_line_flag(call, field):
    with pytest.raises(InputError) as caught:
        call()
    assert caught.value.field == field
