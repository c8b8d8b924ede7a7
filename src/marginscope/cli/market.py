"""``marginscope market …``: market context — load files, fetch from venues, list events.

Commands: ``events`` (market events; the shipped snapshot unless a store is given), ``facts``
(the cited news layer), ``load`` (CSV/Parquet files or the snapshot into the store), ``fetch``
(live venues through ccxt), ``export`` (the store's market tables as a Hive Parquet dataset).
Documented in ``docs/market.md``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from marginscope.config import db_path
from marginscope.errors import InputError
from marginscope.market.event import EVENT_KINDS, MarketEvent
from marginscope.market.events import detect_events
from marginscope.market.exchanges import EXCHANGES
from marginscope.market.series import MarketData
from marginscope.market.snapshot import load_snapshot
from marginscope.market.times import DAY_MS, iso_utc, parse_utc_ms
from marginscope.risk.venues import DEFAULT_VENUE

app = typer.Typer(no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="DuckDB file (default: $MARGINSCOPE_DB, else ./marginscope.duckdb).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SnapshotOption = Annotated[bool, typer.Option(
    "--snapshot", help="Use the shipped November 2025 snapshot, not the store.")]
VenueOption = Annotated[str | None, typer.Option("--venue", help="Only this venue.")]
SymbolOption = Annotated[str | None, typer.Option("--symbol", help="Only this symbol.")]


def _time_option(name: str, text: str | None, *, end: bool = False) -> int | None:
    """Epoch ms from ``--start``/``--end``; a date-only ``--end`` includes that whole day."""
    if text is None:
        return None
    try:
        milliseconds = parse_utc_ms(text)
    except ValueError:
        raise InputError(name, text, "an ISO 8601 UTC date or time, e.g. 2025-11-04 or "
                                     "2025-11-23T16:00:00Z") from None
    if end:
        date_only = len(text.strip()) == 10
        return milliseconds + (DAY_MS if date_only else 1)
    return milliseconds


def _stored_data(db: str | None, venue: str | None, symbol: str | None
                 ) -> tuple[MarketData, str] | None:
    """The store's market data if a store is configured and holds some."""
    from marginscope.market.store import has_market_data, open_store, read_market

    if db is None and not os.environ.get("MARGINSCOPE_DB"):
        return None
    path = db_path(db)
    if path.is_file():
        with open_store(path, read_only=True) as con:
            if has_market_data(con):
                return read_market(con, venue=venue, symbol=symbol), f"store {path}"
    if db is not None:
        raise InputError("--db", str(path), "a DuckDB file holding market data (fill it with "
                         "`marginscope market load --snapshot --db …` or `market fetch`)")
    typer.echo(f"note: {path} (MARGINSCOPE_DB) holds no market data; using the shipped "
               "snapshot", err=True)
    return None


def _market_data(db: str | None, snapshot: bool, venue: str | None,
                 symbol: str | None) -> tuple[MarketData, str]:
    stored = None if snapshot else _stored_data(db, venue, symbol)
    if stored is not None:
        return stored
    return load_snapshot().filtered(venue=venue, symbol=symbol), "shipped snapshot"


def _value_text(event: MarketEvent) -> str:
    if event.unit == "fraction":
        return f"{event.value * 100:+.2f}%"
    if event.unit.startswith("fraction per"):
        return f"{event.value * 100:+.6f}%"
    if abs(event.value) >= 1e8:
        return f"{event.value / 1e9:,.2f} bn"
    return f"{event.value:,.2f}"


@app.command("events")
def events(
    json_output: JsonOption = False,
    db: DbOption = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First day/time to report (UTC); earlier rows still serve as look-back."
    )] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last day (inclusive) or time to report (UTC).")] = None,
    venue: VenueOption = None,
    symbol: SymbolOption = None,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="Only this event kind (repeatable).")] = None,
    intraday: Annotated[bool, typer.Option(
        "--intraday", help="Also time breaks, lows and volume peaks on sub-daily bars (4h).")
    ] = False,
    lookback_days: Annotated[float, typer.Option(
        "--lookback-days", help="Look-back for round-number breaks, days.")] = 90,
    round_step: Annotated[float | None, typer.Option(
        "--round-step", help="Spacing of round levels (default: 10,000 for BTC at 100k).")
    ] = None,
    top_moves: Annotated[int, typer.Option(
        "--top-moves", help="How many largest daily moves to list.")] = 3,
    snapshot: SnapshotOption = False,
) -> None:
    """Market events computed from the data: breaks, drawdowns, lows, volume, funding."""
    for name in kind or []:
        if name not in EVENT_KINDS:
            raise InputError("--kind", name, ", ".join(EVENT_KINDS))
    data, origin = _market_data(db, snapshot, venue, symbol)
    found = detect_events(data, start_ms=_time_option("--start", start),
                          end_ms=_time_option("--end", end, end=True), intraday=intraday,
                          lookback_days=lookback_days, round_step=round_step,
                          top_moves=top_moves)
    if kind:
        found = [e for e in found if e.kind in kind]
    if json_output:
        typer.echo(json.dumps([e.to_dict() for e in found], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Market events ({origin})", show_lines=False)
    for column in ("time (UTC)", "kind", "value", "description", "source"):
        table.add_column(column, overflow="fold")
    for event in found:
        table.add_row(event.time, event.kind, _value_text(event), event.description,
                      event.source)
    Console().print(table)


@app.command("facts")
def facts(json_output: JsonOption = False, db: DbOption = None,
          snapshot: SnapshotOption = False) -> None:
    """Dated facts quoted from the news, each with its article: a layer apart from the series."""
    data, origin = _market_data(db, snapshot, None, None)
    if json_output:
        typer.echo(json.dumps([f.to_dict() for f in data.facts], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"News facts ({origin})")
    for column in ("reported on", "kind", "value", "unit", "window", "note", "source"):
        table.add_column(column, overflow="fold")
    for fact in data.facts:
        table.add_row(fact.reported_on, fact.kind, f"{fact.value:,.2f}", fact.unit, fact.window,
                      fact.note, fact.source)
    Console().print(table)


@app.command("load")
def load(
    files: Annotated[list[Path] | None, typer.Argument(
        help="CSV or Parquet files (or directories of them) of a known shape.")] = None,
    snapshot: Annotated[bool, typer.Option(
        "--snapshot", help="Load the shipped November 2025 snapshot.")] = False,
    db: DbOption = None,
    venue: Annotated[str | None, typer.Option(
        "--venue", help="Venue for files without a venue column.")] = None,
    symbol: Annotated[str | None, typer.Option(
        "--symbol", help="Symbol for files without a symbol column.")] = None,
    timeframe: Annotated[str | None, typer.Option(
        "--timeframe", help="Bar length for files without a timeframe column.")] = None,
    volume_unit: Annotated[str, typer.Option(
        "--volume-unit", help="What a bare `volume` column holds: quote or base.")] = "quote",
) -> None:
    """Check every row of the files, then write them to the store in one transaction."""
    from marginscope.market.files import read_market_files
    from marginscope.market.snapshot import snapshot_paths
    from marginscope.market.store import open_store, upsert

    paths = list(files or [])
    if snapshot:
        paths += snapshot_paths()
    if not paths:
        raise InputError("FILE", None, "one or more CSV/Parquet files, or --snapshot")
    data = read_market_files(paths, venue=venue, symbol=symbol, timeframe=timeframe,
                             volume_unit=volume_unit)
    path = db_path(db)
    with open_store(path) as con:
        counts = upsert(con, data)
    for table, rows in counts.items():
        if rows:
            typer.echo(f"{table}: {rows} rows")
    typer.echo(f"loaded into {path}")


@app.command("fetch")
def fetch(
    since: Annotated[str, typer.Option("--since", help="First time to fetch (UTC).")],
    until: Annotated[str | None, typer.Option(
        "--until", help="Last day (inclusive) or time to fetch (UTC); default now.")] = None,
    venue: Annotated[str, typer.Option(
        "--venue", help=f"Exchange for market data: {', '.join(EXCHANGES)}.")
    ] = DEFAULT_VENUE,
    symbol: Annotated[str, typer.Option(
        "--symbol", help="Venue id (BTCUSDT) or ccxt symbol (BTC/USDT:USDT).")] = "BTCUSDT",
    what: Annotated[str, typer.Option(
        "--what", help="Comma-separated: ohlcv, funding, open_interest, liquidations.")
    ] = "ohlcv,funding,open_interest",
    timeframe: Annotated[str, typer.Option(
        "--timeframe", help="Bars (OHLCV), period (open interest), bucket (liquidations).")
    ] = "1d",
    limit: Annotated[int | None, typer.Option(
        "--limit", help="Rows per request (default: the venue's maximum).")] = None,
    retries: Annotated[int, typer.Option(
        "--retries", help="Attempts per request on network/rate-limit errors.")] = 5,
    db: DbOption = None,
) -> None:
    """Fetch series from a venue through ccxt (paged, rate-limited, retried) into the store."""
    import ccxt
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from marginscope.market import fetch as fetching
    from marginscope.market.store import open_store, upsert

    since_ms = _time_option("--since", since)
    until_ms = _time_option("--until", until, end=True)
    assert since_ms is not None
    until_ms = (until_ms - 1) if until_ms is not None else parse_utc_ms(datetime.now(UTC))
    kinds = [w.strip() for w in what.split(",") if w.strip()]
    fetching.check_request(venue, kinds, timeframe, limit)
    if retries < 1:
        raise InputError("--retries", retries, ">= 1")
    if until_ms < since_ms:
        raise InputError("--until", until, f"at or after --since {since}")
    path = db_path(db)
    if not path.parent.is_dir():
        raise InputError("--db", str(path), "a file in an existing directory")
    exchange = _exchange(venue)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[at]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        tasks = {k: bar.add_task(f"{venue} {symbol} {k}", total=max(until_ms - since_ms, 1),
                                 at="") for k in kinds}

        def progress(kind: str, done: int, total: int) -> None:
            bar.update(tasks[kind], completed=done, at=iso_utc(since_ms + done)[:16])

        try:
            data = fetching.fetch_market(
                venue, symbol, since_ms=since_ms, until_ms=until_ms, what=kinds,
                timeframe=timeframe, limit=limit, exchange=exchange,
                policy=fetching.RetryPolicy(attempts=retries), progress=progress)
        except (fetching.FetchError, ccxt.BaseError) as exc:
            failure: Exception | None = exc
        else:
            failure = None
            for task in tasks.values():
                bar.update(task, completed=max(until_ms - since_ms, 1))
    if failure is not None:
        typer.echo(f"error: fetch failed: {str(failure).splitlines()[0][:300]}", err=True)
        raise typer.Exit(1)
    with open_store(path) as con:
        counts = upsert(con, data)
    for table, rows in counts.items():
        if rows:
            typer.echo(f"{table}: {rows} rows")
    typer.echo(f"stored in {path}")


def _exchange(venue: str) -> object:
    """The ccxt exchange for ``venue`` (tests replace this to replay recorded responses)."""
    from marginscope.market.fetch import make_exchange

    return make_exchange(venue)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Target directory for the Parquet dataset.")],
    db: DbOption = None,
) -> None:
    """Write the store's market tables as Parquet, Hive layout (table/venue=…/symbol=…)."""
    from marginscope.market.store import export_parquet, open_store

    path = db_path(db)
    if not path.is_file():
        raise InputError("--db", str(path), "an existing DuckDB file")
    with open_store(path) as con:
        written = export_parquet(con, directory)
    for file in written:
        typer.echo(str(file))
    if not written:
        typer.echo(f"no market rows in {path}", err=True)
