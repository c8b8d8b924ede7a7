"""Shared fixtures: the shipped CSVs read independently, and a ccxt exchange whose HTTP
``fetch`` replays recorded venue responses (see tests/fixtures/market/README.md)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import ccxt
import pytest

from marginscope.market.snapshot import snapshot_paths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "market"


def fixture(name: str) -> dict[str, Any]:
    """A recorded-response fixture file."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def shipped_rows(name: str) -> list[dict[str, str]]:
    """Rows of a shipped snapshot CSV, read with the csv module (independent of the package)."""
    path = next(p for p in snapshot_paths() if p.name == name)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class ReplayVenue:
    """Stands in for Binance USDⓈ-M behind ccxt: answers from recorded rows.

    Each route maps a URL path to ``(rows, time_of)``; a request gets the rows with
    ``startTime <= time <= endTime``, ascending, at most ``limit`` (Binance's documented
    semantics). ``failures`` maps a 1-based request number to a recorded error
    (HTTP status + body), raised through ccxt's own error handling.
    """

    def __init__(self, exchange: ccxt.Exchange,
                 routes: dict[str, tuple[list[Any], Callable[[Any], int]]],
                 failures: dict[int, dict[str, Any]] | None = None) -> None:
        self.exchange = exchange
        self.routes = routes
        self.failures = failures or {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        params = dict(parse_qsl(parsed.query))
        self.requests.append((parsed.path, params))
        failure = self.failures.get(len(self.requests))
        if failure is not None:
            text = json.dumps(failure["body"])
            self.exchange.handle_errors(failure["status"], failure["reason"], url, method, {},
                                        text, failure["body"], headers, body)
            self.exchange.handle_http_status_code(failure["status"], failure["reason"], url,
                                                  method, text)
            raise AssertionError("ccxt did not raise for a recorded error")
        rows, time_of = self.routes[parsed.path]
        start = int(params.get("startTime", -(2**63)))
        end = int(params.get("endTime", 2**63))
        limit = int(params.get("limit", 500))
        selected = [r for r in rows if start <= time_of(r) <= end][:limit]
        return json.loads(json.dumps(selected))

    def pages(self, path: str) -> list[dict[str, str]]:
        """Query parameters of the requests made to ``path``, in order."""
        return [params for p, params in self.requests if p == path]


@pytest.fixture(name="shipped")
def shipped_fixture() -> Callable[[str], list[dict[str, str]]]:
    """``shipped(name)`` -> rows of a shipped CSV (csv module, independent of the package)."""
    return shipped_rows


@pytest.fixture(name="recorded")
def recorded_fixture() -> Callable[[str], dict[str, Any]]:
    """``recorded(name)`` -> a recorded-response fixture file."""
    return fixture


@pytest.fixture
def replay() -> Callable[..., tuple[ccxt.Exchange, ReplayVenue]]:
    """``replay(routes, failures=None)`` -> (binanceusdm exchange, its replay venue)."""

    def build(routes: dict[str, tuple[list[Any], Callable[[Any], int]]],
              failures: dict[int, dict[str, Any]] | None = None
              ) -> tuple[ccxt.Exchange, ReplayVenue]:
        exchange = ccxt.binanceusdm({"enableRateLimit": True})
        exchange.set_markets([fixture("binance_usdm_btcusdt_market.json")["market"]])
        venue = ReplayVenue(exchange, routes, failures)
        exchange.fetch = venue.fetch
        return exchange, venue

    return build
