"""One synthetic month written to a DuckDB file and reported once per test session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from marginscope.report import build_report
from marginscope.sim.planted import NOVEMBER_2025, planted_month, write_duckdb

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AFTER_THE_MONTH = date(2026, 1, 1)


@pytest.fixture(scope="session")
def events_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "events.duckdb"
    write_duckdb(planted_month(1, NOVEMBER_2025), path)
    return path


@pytest.fixture(scope="session")
def report(events_db):
    return build_report(events_db, "2025-11", k=10, today=AFTER_THE_MONTH)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; not ours to fix here."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:fetch_arrow_table:DeprecationWarning"))
