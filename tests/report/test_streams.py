"""The report's three streams at once (a DuckDB file: each pass on its own connection) give
the report of one stream (a caller's own connection, where the passes take turns)."""

from __future__ import annotations

from datetime import date

import duckdb

from marginscope.analytics.aggregate import aggregate
from marginscope.analytics.sources import owns
from marginscope.report import build_report

from .conftest import AFTER_THE_MONTH


def _without_run_details(document: dict) -> dict:
    document = dict(document)
    for key in ("generated_at", "provenance"):
        document.pop(key, None)
    document["metadata"] = {k: v for k, v in document["metadata"].items()
                            if k not in ("source", "generated_at")}
    return document


def test_the_streams_at_once_give_the_turn_by_turn_report(events_db, report):
    assert owns(events_db)  # the fixture's report ran the three streams at once
    con = duckdb.connect(str(events_db), read_only=True)
    try:
        assert not owns(con)
        in_turn = build_report(con, "2025-11", k=10, today=AFTER_THE_MONTH)
    finally:
        con.close()
    assert in_turn.summary["sessions"] == report.summary["sessions"] > 0
    own_pass = aggregate(events_db, date(2025, 11, 1), date(2025, 12, 1)).reach  # sessions=True
    assert report.summary["sessions"] == own_pass.total_sessions  # the session order's count
    assert _without_run_details(in_turn.to_dict()) == _without_run_details(report.to_dict())
