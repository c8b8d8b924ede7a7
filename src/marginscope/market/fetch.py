"""Fetch market series from live venues through ccxt: paging, rate limits, retries.

Paging walks forward in time: each request asks for rows from a cursor (``since``) up to
``until`` with the venue's page size, and the next cursor is one millisecond after the last row
returned, until a page comes back empty or reaches ``until``. ccxt's own throttle
(``enableRateLimit``) spaces the requests by the venue's weight; on a transient error
(``ccxt.NetworkError`` — timeouts, HTTP 429/418 rate limits, ``ExchangeNotAvailable``) the
request is retried after an exponential back-off (bounded attempts; the ``sleep`` function is
injectable so tests run instantly). Any other ccxt error stops the fetch.

ccxt methods used (unified API, ccxt >= 4.3): ``fetch_ohlcv``, ``fetch_funding_rate_history``,
``fetch_open_interest_history``, ``fetch_liquidations`` (venues whose ``has`` flag is true; not
Binance — its market-wide liquidation history is no longer public).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import ccxt

from marginscope.errors import InputError
from marginscope.market.exchanges import KINDS, Exchange, exchange
from marginscope.market.files import funding_mark
from marginscope.market.series import (
    FundingSeries,
    LiquidationSeries,
    MarketData,
    OpenInterestSeries,
    PriceSeries,
    series_from_records,
)
from marginscope.market.times import iso_utc, parse_timeframe_ms

__all__ = ["FetchError", "RetryPolicy", "check_request", "fetch_market", "make_exchange", "paginate",
           "resolve_market", "with_retries"]

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
MAX_PAGES = 100_000


class FetchError(RuntimeError):
    """A fetch could not complete (retries exhausted, a venue that does not page forward)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off for transient venue errors.

    Attempt *k* (1-based) that fails waits ``min(max_delay, base_delay * 2**(k-1))`` seconds;
    a rate-limit answer (HTTP 429/418: ``ccxt.RateLimitExceeded`` or
    ``ccxt.DDoSProtection``) waits at least
    ``rate_limit_delay``. After ``attempts`` failures the error is raised.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    rate_limit_delay: float = 10.0

    def delay(self, attempt: int, error: BaseException) -> float:
        """Seconds to wait after failed attempt number ``attempt``."""
        wait = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            wait = max(wait, self.rate_limit_delay)
        return wait


def with_retries(call: Callable[[], T], *, policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], object] = _time.sleep,
                 on_retry: Callable[[int, BaseException, float], object] | None = None) -> T:
    """``call()``, retried on ``ccxt.NetworkError`` per ``policy``; other errors pass through."""
    if policy.attempts < 1:
        raise InputError("retries", policy.attempts, ">= 1")
    attempt = 1
    while True:
        try:
            return call()
        except ccxt.NetworkError as error:
            if attempt >= policy.attempts:
                raise FetchError(f"gave up after {attempt} attempts: {error}") from error
            wait = policy.delay(attempt, error)
            if on_retry is not None:
                on_retry(attempt, error, wait)
            sleep(wait)
            attempt += 1


def paginate(fetch_page: Callable[[int, int], Sequence[T]], *, since_ms: int, until_ms: int,
             limit: int, time_of: Callable[[T], int], policy: RetryPolicy = RetryPolicy(),
             sleep: Callable[[float], object] = _time.sleep,
             on_page: Callable[[int, int], object] | None = None) -> list[T]:
    """All rows with ``since_ms <= time <= until_ms``, requested page by page.

    Parameters
    ----------
    fetch_page : callable
        ``fetch_page(cursor_ms, limit)`` -> rows at or after ``cursor_ms`` (any order).
    time_of : callable
        Row -> epoch ms.
    on_page : callable, optional
        ``on_page(done_ms, total_ms)`` after each page (for a progress bar).

    Raises
    ------
    FetchError
        If a page does not move past the cursor (the venue ignores ``since``), or retries run out.
    """
    if until_ms < since_ms:
        raise InputError("until", iso_utc(until_ms), f"at or after since {iso_utc(since_ms)}")
    if limit < 1:
        raise InputError("limit", limit, ">= 1")
    rows: list[T] = []
    cursor = since_ms
    for _ in range(MAX_PAGES):
        if cursor > until_ms:
            break
        page = sorted(with_retries(lambda c=cursor: fetch_page(c, limit), policy=policy,
                                   sleep=sleep), key=time_of)
        if not page:
            break
        last = time_of(page[-1])
        if last < cursor:
            raise FetchError(f"the venue answered rows up to {iso_utc(last)} for a request "
                             f"from {iso_utc(cursor)}: it does not page forward by time")
        rows.extend(r for r in page if since_ms <= time_of(r) <= until_ms)
        if on_page is not None:
            on_page(min(last, until_ms) - since_ms, until_ms - since_ms)
        cursor = last + 1
    else:
        raise FetchError(f"more than {MAX_PAGES} pages; narrow --since/--until")
    return rows


def make_exchange(venue_name: str) -> ccxt.Exchange:
    """A ccxt exchange for a registered exchange name, with ccxt's rate limiter on."""
    spec = exchange(venue_name)
    return getattr(ccxt, spec.ccxt_id)({"enableRateLimit": True, "options": dict(spec.options)})


def resolve_market(exchange: ccxt.Exchange, symbol: str) -> dict[str, Any]:
    """The ccxt market for a unified symbol (``BTC/USDT:USDT``) or a venue id (``BTCUSDT``).

    Of several markets sharing an id, a perpetual swap is preferred.
    """
    markets = exchange.load_markets()
    if symbol in markets:
        return markets[symbol]
    candidates = (exchange.markets_by_id or {}).get(symbol) or []
    if isinstance(candidates, dict):
        candidates = [candidates]
    if not candidates:
        raise InputError("symbol", symbol, f"a market of {exchange.id}, e.g. BTCUSDT or "
                                           "BTC/USDT:USDT")
    return next((m for m in candidates if m.get("swap")), candidates[0])


def _source(venue_name: str, method: str, market: dict[str, Any], extra: str = "") -> str:
    stamp = iso_utc(int(_time.time() * 1000))
    return (f"{venue_name}:ccxt {ccxt.__version__} {method} {market['symbol']} "
            f"(id {market['id']}){extra}, fetched {stamp}")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def check_request(venue_name: str, what: Sequence[str], timeframe: str,
                  limit: int | None = None) -> tuple[Exchange, int]:
    """Validate a fetch request before any network use: (venue, bar length in ms)."""
    spec = exchange(venue_name)
    unknown = [w for w in what if w not in KINDS]
    if unknown or not what:
        raise InputError("what", ",".join(what), "comma-separated: " + ", ".join(KINDS))
    try:
        bar_ms = parse_timeframe_ms(timeframe)
    except ValueError:
        raise InputError("timeframe", timeframe, "e.g. 1m, 5m, 1h, 4h, 1d") from None
    if limit is not None and limit < 1:
        raise InputError("limit", limit, ">= 1")
    return spec, bar_ms


def fetch_market(venue_name: str, symbol: str, *, since_ms: int, until_ms: int,
                 what: Sequence[str] = ("ohlcv", "funding", "open_interest"),
                 timeframe: str = "1d", limit: int | None = None,
                 exchange: ccxt.Exchange | None = None, policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], object] = _time.sleep,
                 progress: Progress | None = None, now_ms: int | None = None) -> MarketData:
    """Fetch the chosen series of one market over ``[since_ms, until_ms]``.

    Parameters
    ----------
    venue_name : str
        A registered venue (``binance-usdm``, ``bybit``, ``okx``, …).
    symbol : str
        Venue id (``BTCUSDT``) or ccxt unified symbol (``BTC/USDT:USDT``). Stored under the id.
    what : sequence of str
        Any of ``ohlcv``, ``funding``, ``open_interest``, ``liquidations``.
    timeframe : str
        Bar length for OHLCV, sampling period for open interest, bucket for liquidations.
    limit : int, optional
        Rows per request (default: the exchange's page size, see :mod:`.exchanges`).
    exchange : ccxt.Exchange, optional
        A ready exchange (tests pass one that replays recorded responses).
    progress : callable, optional
        ``progress(kind, done_ms, total_ms)`` after each page.
    now_ms : int, optional
        "Now" for dropping bars that have not closed yet (default: the clock).

    Raises
    ------
    InputError
        Unknown venue, symbol, kind or timeframe; a kind the venue does not offer.
    FetchError
        Retries exhausted or a venue that does not page forward.
    """
    spec, bar_ms = check_request(venue_name, what, timeframe, limit)
    exchange = exchange if exchange is not None else make_exchange(venue_name)
    market = with_retries(lambda: resolve_market(exchange, symbol), policy=policy, sleep=sleep)
    now_ms = int(_time.time() * 1000) if now_ms is None else now_ms
    fetchers = {"ohlcv": _fetch_ohlcv, "funding": _fetch_funding,
                "open_interest": _fetch_open_interest, "liquidations": _fetch_liquidations}
    data = MarketData()
    for kind in what:
        page_limit = limit or spec.page_limit(kind)

        def on_page(done: int, total: int, kind: str = kind) -> None:
            if progress is not None:
                progress(kind, done, total)

        def page_all(fetch_page: Callable[[int, int], Sequence[Any]],
                     time_of: Callable[[Any], int], page_limit: int = page_limit) -> list[Any]:
            return paginate(fetch_page, since_ms=since_ms, until_ms=until_ms, limit=page_limit,
                            time_of=time_of, policy=policy, sleep=sleep, on_page=on_page)

        data = data.merged(fetchers[kind](exchange, spec, market, timeframe, bar_ms, until_ms,
                                          now_ms, page_all))
    return data


_Pager = Callable[[Callable[[int, int], Sequence[Any]], Callable[[Any], int]], list[Any]]


def _fetch_ohlcv(exchange: ccxt.Exchange, spec: Exchange, market: dict[str, Any], timeframe: str,
                 bar_ms: int, until_ms: int, now_ms: int, page_all: _Pager) -> MarketData:
    rows = page_all(lambda cursor, n: exchange.fetch_ohlcv(
        market["symbol"], timeframe, cursor, n, {"until": until_ms}), lambda r: int(r[0]))
    source = _source(spec.name, "fetch_ohlcv", market, f" {timeframe}")
    records = [{"venue": spec.name, "symbol": market["id"], "timeframe": timeframe,
                "time": int(r[0]), "open": r[1], "high": r[2], "low": r[3], "close": r[4],
                "base_volume": _number(r[5]) if len(r) > 5 else None, "quote_volume": None,
                "trades": None, "source": source}
               for r in rows if int(r[0]) + bar_ms <= now_ms]  # closed bars only
    return MarketData(ohlcv=tuple(series_from_records(PriceSeries, records)))


def _fetch_funding(exchange: ccxt.Exchange, spec: Exchange, market: dict[str, Any], timeframe: str,
                   bar_ms: int, until_ms: int, now_ms: int, page_all: _Pager) -> MarketData:
    _require(exchange, "fetchFundingRateHistory", "funding")
    rows = page_all(lambda cursor, n: exchange.fetch_funding_rate_history(
        market["symbol"], cursor, n, {"until": until_ms}), lambda r: int(r["timestamp"]))
    source = _source(spec.name, "fetch_funding_rate_history", market)
    records = [{"venue": spec.name, "symbol": market["id"],
                "time": funding_mark(int(r["timestamp"])), "reported_time": int(r["timestamp"]),
                "funding_rate": float(r["fundingRate"]),
                "mark_price": _number((r.get("info") or {}).get("markPrice")),
                "source": source} for r in rows if r.get("fundingRate") is not None]
    return MarketData(funding=tuple(series_from_records(FundingSeries, records)))


def _fetch_open_interest(exchange: ccxt.Exchange, spec: Exchange, market: dict[str, Any],
                         timeframe: str, bar_ms: int, until_ms: int, now_ms: int,
                         page_all: _Pager) -> MarketData:
    _require(exchange, "fetchOpenInterestHistory", "open_interest")
    rows = page_all(lambda cursor, n: exchange.fetch_open_interest_history(
        market["symbol"], timeframe, cursor, n, {"until": until_ms}),
        lambda r: int(r["timestamp"]))
    source = _source(spec.name, "fetch_open_interest_history", market, f" {timeframe}")
    records = [{"venue": spec.name, "symbol": market["id"], "timeframe": timeframe,
                "time": int(r["timestamp"]),
                "open_interest": _number(r.get("openInterestAmount")),
                "open_interest_value": _number(r.get("openInterestValue")), "source": source}
               for r in rows if _number(r.get("openInterestAmount")) is not None]
    return MarketData(open_interest=tuple(series_from_records(OpenInterestSeries, records)))


def _fetch_liquidations(exchange: ccxt.Exchange, spec: Exchange, market: dict[str, Any],
                        timeframe: str, bar_ms: int, until_ms: int, now_ms: int,
                        page_all: _Pager) -> MarketData:
    """Market-wide liquidation orders, summed into ``timeframe`` buckets by side.

    A ``sell`` liquidation order closes a long position, a ``buy`` order a short (ccxt's
    unified ``side``). Notional is ``quoteValue``, else ``baseValue * price``.
    """
    _require(exchange, "fetchLiquidations", "liquidations")
    rows = page_all(lambda cursor, n: exchange.fetch_liquidations(
        market["symbol"], cursor, n, {"until": until_ms}), lambda r: int(r["timestamp"]))
    source = _source(spec.name, "fetch_liquidations", market, f" summed per {timeframe}")
    buckets: dict[int, dict[str, Any]] = {}
    for row in rows:
        value = _number(row.get("quoteValue"))
        if value is None:
            base, price = _number(row.get("baseValue")), _number(row.get("price"))
            value = base * price if base is not None and price is not None else None
        if value is None:
            continue
        start = int(row["timestamp"]) // bar_ms * bar_ms
        bucket = buckets.setdefault(start, {
            "venue": spec.name, "symbol": market["id"], "timeframe": timeframe, "time": start,
            "long_usd": 0.0, "short_usd": 0.0, "total_usd": 0.0, "orders": 0.0,
            "source": source})
        side = str(row.get("side") or "").lower()
        if side == "sell":
            bucket["long_usd"] += value
        elif side == "buy":
            bucket["short_usd"] += value
        bucket["total_usd"] += value
        bucket["orders"] += 1
    records = [b for start, b in sorted(buckets.items()) if start + bar_ms <= now_ms]
    return MarketData(liquidations=tuple(series_from_records(LiquidationSeries, records)))


def _require(exchange: ccxt.Exchange, method: str, kind: str) -> None:
    if not exchange.has.get(method):
        offering = sorted(v.name for v in _venues_with(method))
        raise InputError("what", kind, f"a venue whose ccxt exchange has {method}: "
                                       f"{', '.join(offering) or 'none registered'}",
                         f"{exchange.id} does not offer it")


def _venues_with(method: str) -> list[Exchange]:
    from marginscope.market.exchanges import EXCHANGES

    return [e for e in EXCHANGES.values() if getattr(ccxt, e.ccxt_id)().has.get(method)]
