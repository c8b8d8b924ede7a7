"""Shared fixtures: one small seeded simulation of October–November 2025 (about 210,000
setups), reused by the tests of one module."""

from __future__ import annotations

import pytest

from marginscope.sim.generate import Simulation, run

SEED = 3
SCALE = 0.1


@pytest.fixture(scope="session")
def small() -> Simulation:
    """``run(seed=3, scale=0.1)`` over the default period (Oct 1 – Nov 30, 2025)."""
    return run(seed=SEED, scale=SCALE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; not ours to fix here."""
    for item in items:
        if "tests/sim" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:fetch_arrow_table:DeprecationWarning"))
