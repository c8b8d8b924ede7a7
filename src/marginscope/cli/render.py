"""Readable tables for calculator results (rich), shared by every sub-command."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != 0 and abs(value) < 0.01:
        return f"{value:.8g}"
    return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.6f}"


def label(key: str) -> str:
    return key.replace("_", " ")


def _records(title: str, records: list[dict[str, Any]]) -> Table:
    """A few records as columns (one per record, a row per field: reads on a phone); a long
    series as rows, its first and last ten shown."""
    if len(records) > 6:
        table = Table(title=f"{title} ({len(records)} rows)", title_justify="left")
        for field in records[0]:
            table.add_column(label(field), justify="right")
        shown = records if len(records) <= 20 else [*records[:10], None, *records[-10:]]
        for record in shown:
            if record is None:
                table.add_row(*("⋮" for _ in records[0]))
            else:
                table.add_row(*(number(record.get(field)) for field in records[0]))
        return table
    table = Table(title=title, title_justify="left")
    table.add_column("", style="bold")
    for i, record in enumerate(records):
        table.add_column(str(record.get("symbol", i + 1)), justify="right")
    for field in records[0]:
        table.add_row(label(field), *(number(record.get(field)) for record in records))
    return table


def result_tables(title: str, result: dict[str, Any]) -> list[Table]:
    """One key/value table for the scalars, one table per list of records."""
    tables = []
    main = Table(title=title, show_header=False, title_justify="left")
    main.add_column(style="bold")
    main.add_column(justify="right")
    for key, value in result.items():
        if isinstance(value, dict):
            tables += result_tables(label(key), value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables.append(_records(label(key), value))
        elif isinstance(value, list):
            shown = ", ".join(number(v) for v in value[:6]) + (" …" if len(value) > 6 else "")
            main.add_row(label(key), shown)
        else:
            main.add_row(label(key), number(value))
    return [main, *tables] if main.row_count else tables


def show(title: str, result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    for table in result_tables(title, result):
        console.print(table)
