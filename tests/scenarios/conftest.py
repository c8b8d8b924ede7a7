"""Shared fixtures: the shipped November 2025 market files.

The package ships them under ``marginscope/market/data/``; until that copy exists the tests fall
back to the project's shared data folder, and skip if neither is there.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

SHARED = Path("/work/shared/data/market")
NAMES = ("btcusdt_perp_4h_2025-11.csv", "btcusdt_funding_2025-11.csv")


def _locate(name: str) -> Path | None:
    ref = resources.files("marginscope.market").joinpath("data", name)
    if ref.is_file():
        return Path(str(ref))
    candidate = SHARED / name
    return candidate if candidate.is_file() else None


@pytest.fixture(scope="session")
def market_files() -> dict[str, Path]:
    found = {name: _locate(name) for name in NAMES}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        pytest.skip(f"market data not available: {missing}")
    return found  # type: ignore[return-value]
