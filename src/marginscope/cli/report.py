"""``marginscope report``: the monthly behavioural report (docs/analytics.md).

``marginscope report --month 2025-11 [--db PATH | --dataset DIR] --format md|html|json|pdf
--out FILE [--engine duckdb] [--k N]``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from marginscope import config
from marginscope.errors import InputError

__all__ = ["report"]


def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (UTC).",
                                       show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="File to write.", show_default=False)],
    format: Annotated[str, typer.Option(
        "--format", help="md | html | json | pdf (pdf needs Chromium).")] = "html",
    db: Annotated[str | None, typer.Option(
        "--db", help="DuckDB file with the events table (default: $MARGINSCOPE_DB, else "
                     "./marginscope.duckdb).")] = None,
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", help="Read a Hive-partitioned Parquet dataset (date=YYYY-MM-DD/) "
                          "instead of the DuckDB file.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="Aggregation engine.")] = "duckdb",
    k: Annotated[int | None, typer.Option(
        "--k", help="Small-cell threshold (default: $MARGINSCOPE_MIN_CELL, 10).",
        min=1)] = None,
) -> None:
    """Write the month's behavioural report (md, html, json or pdf).

    Key takeaways, a timeline of phases, findings with their market context, charts and the
    methodology; cells under k checks are suppressed.
    """
    from marginscope.analytics.aggregate import ENGINES, month_bounds
    from marginscope.report import FORMATS, STEPS, build_report, render

    if format not in FORMATS:
        raise InputError("--format", format, " | ".join(FORMATS))
    if engine not in ENGINES:
        raise InputError("--engine", engine, " | ".join(ENGINES))
    month_bounds(month)
    if out.parent and not out.parent.exists():
        raise InputError("--out", str(out), "a file in an existing directory")
    source: str | Path
    if dataset is not None:
        if not dataset.is_dir():
            raise InputError("--dataset", str(dataset), "a directory holding date=YYYY-MM-DD/")
        source = dataset
    else:
        source = config.db_path(db)
        if not Path(source).is_file():
            raise InputError("--db", str(source), "an existing DuckDB file with events (run "
                             "`marginscope ingest` first)")
    err = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        steps = [*STEPS[: 4 if format != "json" else 3], "writing " + format]
        task = progress.add_task(steps[0], total=len(steps))
        done: list[str] = []

        def step(name: str) -> None:
            if done:
                progress.advance(task)
            done.append(name)
            progress.update(task, description=name)

        built = build_report(source, month, engine=engine, k=k, charts=format != "json",
                             progress=step)
        step(steps[-1])
        written = render(built, format, out)
        progress.advance(task)
    label = " (SYNTHETIC DATA)" if built.synthetic else ""
    typer.echo(f"wrote {written} — {built.summary['setups']:,} setups, "
               f"{len(built.findings)} findings{label}")
