"""Where the report's market data come from, and that a failure to read them is never silent."""

from __future__ import annotations

import duckdb
import pytest

from marginscope.market.snapshot import load_snapshot
from marginscope.report import build_report
from marginscope.report.build import load_market

from .conftest import AFTER_THE_MONTH

SNAPSHOT_ORIGIN = "shipped snapshot (marginscope/market/data, cited per row)"


def _shape(data) -> list[tuple[str, int]]:
    """(table, rows) per series in any order, then the facts: enough to tell two apart."""
    return [*sorted((s.table, len(s.time)) for s in data.series()), ("facts", len(data.facts))]


def test_a_file_without_market_tables_falls_back_to_the_snapshot_without_a_note(events_db):
    loaded = load_market(events_db)
    assert loaded.origin == SNAPSHOT_ORIGIN and loaded.note is None
    assert _shape(loaded.data) == _shape(load_snapshot())


def test_a_file_duckdb_cannot_open_falls_back_and_says_why(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 10)
    loaded = load_market(path)
    assert loaded.origin == SNAPSHOT_ORIGIN
    assert "notes.duckdb" in loaded.note and "not a valid DuckDB database" in loaded.note


def test_a_store_holding_market_tables_is_read(tmp_path):
    from marginscope.market.store import open_store, upsert

    path = tmp_path / "market.duckdb"
    with open_store(path) as con:
        upsert(con, load_snapshot())
    loaded = load_market(path)
    assert loaded.origin == "store market.duckdb" and loaded.note is None
    assert _shape(loaded.data) == _shape(load_snapshot())


def test_an_unexpected_error_reading_the_store_is_raised_not_swallowed(events_db, monkeypatch):
    def broken(con):
        raise RuntimeError("a bug in the market reader")

    monkeypatch.setattr("marginscope.market.store.has_market_data", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        load_market(events_db)


def test_the_reason_for_the_fallback_is_in_the_reports_metadata(events_db, monkeypatch):
    def locked(con):
        raise duckdb.IOException('Could not set lock on file "events.duckdb"')

    monkeypatch.setattr("marginscope.market.store.has_market_data", locked)
    document = build_report(
        events_db, "2025-11", k=10, charts=False, today=AFTER_THE_MONTH
    ).to_dict()
    notes = document["metadata"]["notes"]
    assert any("Could not set lock" in note and "shipped snapshot" in note for note in notes)
    assert document["market"]["origin"] == SNAPSHOT_ORIGIN
