"""Shared fixtures: one seeded simulation of October–November 2025 at the default scale (about
98,700 checks in November), and the same agents on the calm counterfactual path."""

from __future__ import annotations

import pytest

from marginscope.sim.generate import Simulation, run

SEED = 3
SCALE = 1.0


@pytest.fixture(scope="session")
def small() -> Simulation:
    """``run(seed=3)`` over the default period (Oct 1 – Nov 30, 2025) on the real path."""
    return run(seed=SEED, scale=SCALE)


@pytest.fixture(scope="session")
def calm() -> Simulation:
    """The same arguments on the calm counterfactual (price held flat)."""
    return run(seed=SEED, scale=SCALE, calm=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; not ours to fix here."""
    for item in items:
        if "tests/sim" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:fetch_arrow_table:DeprecationWarning"))
