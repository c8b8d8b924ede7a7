"""``marginscope report``: the monthly behavioural report (docs/analytics.md).

``marginscope report --month 2025-11 [--db PATH | --dataset DIR] --format md|html|json|pdf
--out FILE [--engine duckdb|spark] [--spark-master URL] [--k N] [--reference START..END]``

``--engine spark`` runs the same aggregation on Spark (docs/deploy.md) over a Parquet dataset:
``--dataset`` (a directory or a URL such as ``s3a://bucket/events``), else
``$MARGINSCOPE_PARQUET_DIR``; the master is ``--spark-master``, else
``$MARGINSCOPE_SPARK_MASTER``, else ``local[N]`` on loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from marginscope import config
from marginscope.cli.flags import as_flags
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
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="Read a Hive-partitioned Parquet dataset (date=YYYY-MM-DD/) "
                          "instead of the DuckDB file (with --engine spark also a URL, e.g. "
                          "s3a://bucket/events; default there: $MARGINSCOPE_PARQUET_DIR).")
    ] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="Aggregation engine: duckdb | spark.")] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", help="Spark master URL for --engine spark (default: "
                               "$MARGINSCOPE_SPARK_MASTER, else local[N] on loopback).",
        show_default=False)] = None,
    k: Annotated[int | None, typer.Option(
        "--k", help="Small-cell threshold (default: $MARGINSCOPE_MIN_CELL, 10).",
        min=1)] = None,
    reference: Annotated[str | None, typer.Option(
        "--reference", help="The days 'normal' is fitted on, START..END (inclusive ISO days "
                            "before the month, at least 14; default: the 28 days before it).",
        show_default=False)] = None,
) -> None:
    """Write the month's behavioural report (md, html, json or pdf).

    Key takeaways, a timeline of phases, findings with their market context, charts and the
    methodology; cells under k checks are suppressed.
    """
    from marginscope.analytics.sources import ENGINES
    from marginscope.report import FORMATS

    if format not in FORMATS:
        raise InputError("--format", format, " | ".join(FORMATS))
    if engine not in ENGINES:
        raise InputError("--engine", engine, " | ".join(ENGINES))
    flags = {"month": "--month", "engine": "--engine", "k": "--k",
             "source": "--dataset" if dataset is not None or engine == "spark" else "--db"}
    with as_flags(flags):
        _report(month, out, format, db, dataset, engine, spark_master, k, reference)


def _report(month: str, out: Path, format: str, db: str | None, dataset: str | None,
            engine: str, spark_master: str | None, k: int | None,
            reference: str | None = None) -> None:
    """The command's work, once its flags are known; errors may name library parameters."""
    from marginscope.analytics.periods import month_bounds

    first, _ = month_bounds(month)
    span = None
    if reference is not None:  # issue 21: a fixed reference for "normal"
        from marginscope.analytics.reference import parse_reference

        span = parse_reference(reference, first)
    if out.parent and not out.parent.exists():
        raise InputError("--out", str(out), "a file in an existing directory")
    if spark_master is not None and engine != "spark":
        raise InputError("--spark-master", spark_master, "only with --engine spark")
    source = _source(engine, db, dataset)
    started = None
    if engine == "spark":
        from marginscope.analytics import spark

        running = spark.current()
        started = spark.session(config.spark_master(spark_master))
        started = None if started is running else started
    try:
        built, written = _build(source, month, format, out, engine, k, span)
    finally:
        if started is not None:  # a session this command started (not the caller's)
            spark.stop()
    label = " (SYNTHETIC DATA)" if built.synthetic else ""
    typer.echo(f"wrote {written} — {built.summary['setups']:,} setups, "
               f"{len(built.findings)} findings{label}")


def _source(engine: str, db: str | None, dataset: str | None) -> str | Path:
    """The events to read: ``--dataset`` (a directory; a URL too on Spark) or the DuckDB file;
    Spark reads Parquet only, so it defaults to ``$MARGINSCOPE_PARQUET_DIR``."""
    if engine == "spark" and db is not None:
        raise InputError("--db", db, "no --db with --engine spark: Spark reads the Parquet "
                         "dataset (--dataset DIR|URL, default $MARGINSCOPE_PARQUET_DIR)")
    if dataset is not None and engine == "spark" and "://" in dataset:
        return dataset
    if dataset is not None or engine == "spark":
        folder = Path(dataset) if dataset is not None else config.parquet_dir()
        if not folder.is_dir():
            raise InputError("--dataset", str(folder), "a directory holding date=YYYY-MM-DD/")
        return folder
    source = config.db_path(db)
    if not source.is_file():
        raise InputError("--db", str(source), "an existing DuckDB file with events (run "
                         "`marginscope ingest` first)")
    return source


def _build(source: str | Path, month: str, format: str, out: Path, engine: str,
           k: int | None, reference: Any = None) -> tuple[Any, Path]:
    """Build and write the report with a progress bar on stderr: (the Report, the file)."""
    from marginscope.report import STEPS, build_report, render

    err = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        steps = [*(s for s in STEPS if format != "json" or s != "charts"), "writing " + format]
        task = progress.add_task(steps[0], total=len(steps))
        done: list[str] = []

        def step(name: str) -> None:
            if done:
                progress.advance(task)
            done.append(name)
            progress.update(task, description=name)

        built = build_report(source, month, engine=engine, k=k, charts=format != "json",
                             progress=step, reference=reference)
        step(steps[-1])
        written = render(built, format, out)
        progress.advance(task)
    return built, written
