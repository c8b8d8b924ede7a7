"""``marginscope tiers …``: list, show and refresh the shipped tier tables.

The tables are versioned package data (``marginscope/risk/data/tiers/<venue>.json``), each
carrying its source and date; ``refresh`` rewrites them from the venue through ccxt
(:mod:`marginscope.market.leverage_tiers`). See docs/tiers.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from marginscope.errors import InputError
from marginscope.market.leverage_tiers import VENUES, RefreshError, refresh, write_tables
from marginscope.risk.tiers import TierTable, load_venue_history, require_table

app = typer.Typer(no_args_is_help=True)


def _console() -> Console:
    return Console(soft_wrap=False, width=max(Console().width, 100))


def _venue(venue: str) -> str:
    if venue not in VENUES:
        raise InputError("venue", venue, " | ".join(VENUES))
    return venue


def _num(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:,.10g}" if value != int(value) else f"{int(value):,}"


def _table_json(table: TierTable) -> dict:
    return {"venue": table.venue, "symbol": table.symbol, **table.to_dict()}


@app.command("list")
def list_tables(
    venue: Annotated[str | None, typer.Option(help="Only this venue.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Venues, symbols, dates and sources of the shipped tables."""
    venues = [_venue(venue)] if venue else list(VENUES)
    rows = []
    for name in venues:
        history = load_venue_history(name)
        if not history:
            rows.append({"venue": name, "symbol": None, "ccxt_symbol": None, "tiers": 0,
                         "as_of": None, "vintages": [], "source": None})
        for symbol, vintages in history.items():
            table = vintages[-1]
            rows.append({"venue": name, "symbol": symbol, "ccxt_symbol": table.ccxt_symbol,
                         "tiers": len(table.floor), "as_of": table.as_of,
                         "vintages": [t.as_of for t in vintages], "source": table.source})
    if as_json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    out = Table(title="Shipped maintenance-margin tier tables", show_lines=True)
    for column in ("venue", "symbol", "ccxt symbol", "tiers", "as of", "source"):
        out.add_column(column, overflow="fold")
    for row in rows:
        if row["symbol"] is None:
            out.add_row(row["venue"], "—", "—", "0", "—", "none shipped (see docs/tiers.md)")
        else:
            earlier = row["vintages"][:-1]
            dates = row["as_of"] + (f" (also {', '.join(earlier)})" if earlier else "")
            out.add_row(row["venue"], row["symbol"], row["ccxt_symbol"], str(row["tiers"]),
                        dates, row["source"])
    _console().print(out)


@app.command("show")
def show(
    venue: Annotated[str, typer.Option(help="Venue, e.g. binance-usdm.")],
    symbol: Annotated[str, typer.Option(help="Venue symbol (BTCUSDT) or ccxt (BTC/USDT:USDT).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_of: Annotated[str | None, typer.Option(
        help="The table in force on this date (YYYY-MM-DD); default the latest.")] = None,
) -> None:
    """One table: bounds, maintenance rate, maintenance amount (cum), max leverage."""
    table = require_table(_venue(venue), symbol, as_of=as_of)
    if as_json:
        typer.echo(json.dumps(_table_json(table), indent=1, ensure_ascii=False))
        return
    unit = (("contracts" if table.product == "inverse" else "base units")
            if table.basis == "quantity" else f"{table.settle} notional")
    out = Table(title=f"{table.venue} {table.symbol} ({table.ccxt_symbol}, {table.product})",
                caption=f"as of {table.as_of} — {table.source}")
    for column in ("tier", f"floor ({unit})", f"cap ({unit})", "MMR", "cum", "max lev.",
                   "MM at floor"):
        out.add_column(column, justify="right")
    for i in range(len(table.floor)):
        out.add_row(str(i + 1), _num(table.floor[i]), _num(table.cap[i]),
                    f"{table.mmr[i] * 100:.4g}%", _num(table.cum[i]),
                    f"{table.max_leverage[i]:g}x", _num(table.mm_at_floor[i]))
    _console().print(out)


@app.command("refresh")
def refresh_command(
    venue: Annotated[str, typer.Option(help="Venue to fetch.")],
    symbol: Annotated[list[str] | None, typer.Option(
        "--symbol", help="Symbol to fetch (repeatable); default: the venue's usual set.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="File or directory to write (default: the package data dir).")] = None,
    as_of: Annotated[str | None, typer.Option(help="Date stamped on the tables.")] = None,
) -> None:
    """Fetch the venue's current tiers through ccxt and rewrite its table file."""
    _venue(venue)
    err = Console(stderr=True)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), console=err,
                      transient=True) as bar:
            task = bar.add_task(f"{venue}: connecting", total=None)

            def step(name: str, done: int, total: int) -> None:
                label = f"{venue}: {name}" if name else f"{venue}: done"
                bar.update(task, description=label, completed=done, total=total)

            document = refresh(venue, symbol or None, as_of=as_of, progress=step)
        path = write_tables(venue, document, out)
    except RefreshError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None  # main() turns the returned code into the exit status
    for note in document.get("warnings", []):
        typer.echo(f"warning: {note}", err=True)
    names = ", ".join(document["tables"]) or "no tables"
    typer.echo(f"{venue}: wrote {names} to {path}")
