"""Shared fixtures: synthetic months from ``marginscope.sim.planted`` (seeded) as count cubes.

The cube fixtures skip the engine (the generator's own counts), so the statistics can be
tested on several months quickly; ``test_aggregate.py`` checks the engine gives the same
counts.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from marginscope.analytics import DailyCube
from marginscope.sim.planted import NOVEMBER_2025, PlantedMonth, planted_month

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def plain_sql(events: pa.Table) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB connection in UTC with ``events`` as table ``e``: the independent
    recomputations the engine's counts are checked against."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("e", events)
    return con


def cube_of(month: PlantedMonth) -> DailyCube:
    """The generator's counts as a cube (what the engine would return)."""
    return DailyCube(days=month.days, tools=month.tools, devices=month.devices,
                     countries=month.countries, counts=month.counts)


@pytest.fixture(scope="session")
def story() -> PlantedMonth:
    """November 2025 with the default planted story (seed 1)."""
    return planted_month(1, NOVEMBER_2025)


@pytest.fixture(scope="session")
def small_story() -> PlantedMonth:
    """A tenth of the traffic: events small enough to aggregate in every engine test."""
    return planted_month(3, NOVEMBER_2025, scale=0.1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; not ours to fix here."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:fetch_arrow_table:DeprecationWarning"))
