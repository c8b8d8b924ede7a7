"""Shared fixtures: the shipped November 2025 market files, and the November 10× BTC long
recomputed from them independently of the library (for the replay, calculator and CLI tests).

The package ships the files under ``marginscope/market/data/``; until that copy exists the tests
fall back to the project's shared data folder, and skip if neither is there.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

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


# ----------------------------------------------------------------------------------------------
# The November 2025 10× BTC long, recomputed independently from the CSV rows
# ----------------------------------------------------------------------------------------------
QTY = 0.1  # BTC: 0.1 × ~109,557 ≈ 10,956 USDT notional, inside bracket 1 (< 50,000)
LEVERAGE = 10


def _rows(file: Path) -> list[dict[str, str]]:
    with open(file, newline="") as fh:
        return list(csv.DictReader(fh))


def _floor_8h(text: str) -> str:
    t = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return t.replace(hour=t.hour // 8 * 8, minute=0, second=0, microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class NovemberCase:
    """0.1 BTC long at 10× opened at the Nov 1 00:00 UTC open, Binance BTCUSDT bracket 1 read
    from the shipped tier table; :meth:`expected` replays it with scalar arithmetic."""

    klines: list[dict[str, str]]
    funding: list[dict[str, str]]
    tier: dict[str, Any]
    qty: float = QTY
    leverage: float = LEVERAGE

    @property
    def entry(self) -> float:
        return float(self.klines[0]["open"])

    @property
    def margin(self) -> float:
        return self.qty * self.entry / self.leverage

    def expected(self, plan: tuple[float, float, int] | None = None) -> dict[str, Any]:
        """Scalar long-only recomputation: funding at bar opens, top-ups at the ratio's price,
        liquidation when the low reaches LP = (WB + cum − Q·E)/(Q·MMR − Q) (Binance USDⓈ-M
        isolated, exchange_formulas.md §1.6; margin ratio MM/equity, §1.5)."""
        q, entry, mmr, cum = self.qty, self.entry, self.tier["mmr"], self.tier["cum"]
        margin = self.margin
        rates = {_floor_8h(r["funding_time_utc"]): float(r["funding_rate"])
                 for r in self.funding}
        first = self.klines[0]["open_time_utc"]
        paid, top_ups = 0.0, []
        add, ratio, times = plan if plan else (0.0, 1.0, 0)
        for i, row in enumerate(self.klines):
            t, o, low = row["open_time_utc"], float(row["open"]), float(row["low"])
            if t != first and t in rates:
                margin -= q * o * rates[t]
                paid += q * o * rates[t]
            while len(top_ups) < times:
                # equity = MM/ratio  ⇔  WB + Q(P − E) = (Q·P·MMR − cum)/ratio
                trigger = (q * entry - margin - cum / ratio) / (q - q * mmr / ratio)
                if low > trigger:
                    break
                top_ups.append((t, min(o, trigger)))
                margin += add
            lp = (margin + cum - q * entry) / (q * mmr - q)
            if low <= lp:
                return {"liquidated": True, "time": t, "bar": i, "price": lp, "funding": paid,
                        "top_ups": top_ups, "margin": margin}
        close = float(self.klines[-1]["close"])
        return {"liquidated": False, "funding": paid, "top_ups": top_ups, "margin": margin,
                "equity": margin + q * (close - entry), "close": close}


@pytest.fixture(scope="session")
def november_case(market_files) -> NovemberCase:
    ref = resources.files("marginscope.risk").joinpath("data", "tiers", "binance-usdm.json")
    entry = json.loads(ref.read_text())["tables"]["BTCUSDT"]
    tier = (entry[-1] if isinstance(entry, list) else entry)["tiers"][0]  # the latest vintage
    case = NovemberCase(_rows(market_files["btcusdt_perp_4h_2025-11.csv"]),
                        _rows(market_files["btcusdt_funding_2025-11.csv"]), tier)
    assert tier["floor"] <= case.qty * case.entry < tier["cap"]
    assert tier["max_leverage"] >= case.leverage
    return case
