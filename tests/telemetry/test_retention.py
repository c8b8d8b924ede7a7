"""Retention keeps daily aggregates while raw events expire; small cells are suppressed."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from marginscope.errors import InputError
from marginscope.telemetry.ingest import ingest_files
from marginscope.telemetry.retention import run_retention, suppress_small_cells
from marginscope.telemetry.schema import events_to_arrow
from marginscope.telemetry.store import DuckDBSink

NOW = datetime(2026, 2, 3, 12, 0, tzinfo=UTC)   # 2025-11-05 is 90 days before 2026-02-03


def _store(tmp_path, event_factory):
    db = tmp_path / "events.duckdb"
    sink = DuckDBSink(db)
    sink.write(events_to_arrow([
        event_factory(0), event_factory(1),                                   # 2025-11-04
        event_factory(0, event_id="synthetic-1b", visitor="a1b2c3d4e5f60718"),  # same visitor
        event_factory(2),                                                     # 2025-11-05
        event_factory(3),                                                     # 2025-11-06
    ]))
    return db


def test_retention_rolls_expiring_events_into_daily_aggregates_then_deletes_them(
        tmp_path, event_factory):
    db = _store(tmp_path, event_factory)
    result = run_retention(db, days=90, now=NOW)
    assert result.cutoff == datetime(2025, 11, 5, tzinfo=UTC)
    assert result.expired == 3 and [d.isoformat() for d in result.days] == ["2025-11-04"]
    con = duckdb.connect(str(db), read_only=True)
    remaining = sorted(r[0] for r in con.execute("SELECT event_id FROM events").fetchall())
    assert remaining == ["synthetic-3", "synthetic-4"]
    rows = con.execute("SELECT CAST(date AS VARCHAR), tool, country, events, visitors "
                       "FROM daily_aggregates ORDER BY tool").fetchall()
    con.close()
    assert rows == [("2025-11-04", "liquidation_price", "US", 2, 1),
                    ("2025-11-04", "margin_call", "DE", 1, 0)]


def test_retention_twice_changes_nothing_and_later_imports_merge(tmp_path, event_factory,
                                                                 synthetic_rows):
    db = _store(tmp_path, event_factory)
    run_retention(db, days=90, now=NOW)
    assert run_retention(db, days=90, now=NOW).expired == 0
    late = tmp_path / "late.jsonl"
    late.write_text('{"ts": "2025-11-04T18:00:00Z", "tool": "liquidation_price", '
                    '"device": "mobile", "country": "US", "venue": "binance-usdm", '
                    '"symbol": "BTC", "side": "long", "margin_mode": "isolated", '
                    '"leverage": 20, "notional_bucket": 3000}\n')
    assert ingest_files([late], db).before_retention_cutoff == 1
    run_retention(db, days=90, now=NOW)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT sum(events) FROM daily_aggregates").fetchone()[0] == 4
    assert con.execute("SELECT count(*) FROM daily_aggregates").fetchone()[0] == 2
    con.close()


def test_retention_never_runs_implicitly(tmp_path, synthetic_rows):
    import json

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows))
    db = tmp_path / "events.duckdb"
    ingest_files([path], db)   # 2025 data, far past 90 days today: still all there
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 4
    con.close()


@pytest.mark.parametrize("days", [0, -1, 2.5, True])
def test_retention_days_must_be_a_positive_integer(tmp_path, days):
    with pytest.raises(InputError):
        run_retention(tmp_path / "x.duckdb", days=days, now=NOW)


CELLS = [
    {"date": "2025-11-04", "tool": "margin_call", "country": "US", "events": 120},
    {"date": "2025-11-04", "tool": "margin_call", "country": "MT", "events": 3},
    {"date": "2025-11-04", "tool": "margin_call", "country": "IS", "events": 8},
    {"date": "2025-11-04", "tool": "margin_call", "country": "LI", "events": 1},
    {"date": "2025-11-04", "tool": "stops", "country": "LU", "events": 4},
]


def test_small_cells_merge_into_other_and_an_other_still_small_is_suppressed():
    published = suppress_small_cells(CELLS, k=10, merge=("country",))
    assert published == [
        {"date": "2025-11-04", "tool": "margin_call", "country": "US", "events": 120},
        {"date": "2025-11-04", "tool": "margin_call", "country": "other", "events": 12},
    ]
    assert all(cell["events"] >= 10 for cell in published)


def test_small_cells_are_dropped_when_nothing_is_merged():
    assert suppress_small_cells(CELLS, k=10) == [CELLS[0]]
    assert len(suppress_small_cells(CELLS, k=1)) == len(CELLS)


def test_additive_fields_are_summed_on_merge():
    cells = [{"tool": "stops", "country": c, "events": 6, "visitors": 5} for c in ("MT", "IS")]
    assert suppress_small_cells(cells, k=10, merge=("country",), additive=("visitors",)) == [
        {"tool": "stops", "country": "other", "events": 12, "visitors": 10}]
