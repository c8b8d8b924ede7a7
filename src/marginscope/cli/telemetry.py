"""``marginscope ingest | export | retention``: the event store's commands (docs/telemetry.md).

* ``marginscope ingest FILE… [--db PATH]``: load canonical events (JSON Lines, CSV, Parquet,
  or a Parquet dataset directory); all files or none: bad rows are listed with their line
  numbers and nothing is loaded (exit 2).
  ``--sink parquet [--dataset DIR]`` appends them to the Hive-partitioned Parquet dataset
  instead (default ``MARGINSCOPE_PARQUET_DIR``), the input of ``report --engine spark``.
* ``marginscope export [--db PATH] --format csv|parquet|jsonl --out FILE``: every stored event
  in the canonical schema.
* ``marginscope retention run [--db PATH] [--days N] [--dataset DIR]``: roll raw events older
  than N days (default ``MARGINSCOPE_RETENTION_DAYS``, 90) into daily aggregates, delete them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from marginscope import config
from marginscope.errors import InputError

if TYPE_CHECKING:
    from marginscope.telemetry.ingest import IngestResult

retention_app = typer.Typer(no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="DuckDB file (default: $MARGINSCOPE_DB, else ./marginscope.duckdb).")]

_STAGES = {"read": "reading", "validate": "validating", "load": "loading"}


def ingest(
    files: Annotated[list[Path], typer.Argument(
        help="JSON Lines (.jsonl/.ndjson/.json), CSV (.csv; .gz allowed) or Parquet files, or "
             "directories of Parquet files (a Hive-partitioned dataset).", show_default=False)],
    db: DbOption = None,
    sink: Annotated[str, typer.Option(
        "--sink", help="Where the events go: duckdb (the --db file) | parquet (the "
                       "--dataset directory, date=YYYY-MM-DD/ partitions).")] = "duckdb",
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", help="Parquet dataset root for --sink parquet (default: "
                          "$MARGINSCOPE_PARQUET_DIR, else ./events).", show_default=False)
    ] = None,
) -> None:
    """Load events in the canonical schema; all files or nothing, same file twice counts once."""
    sink = sink.strip().lower()
    if sink not in {"duckdb", "parquet"}:
        raise InputError("--sink", sink, "duckdb | parquet")
    if sink == "parquet" and db is not None:
        raise InputError("--db", db, "only with --sink duckdb (use --dataset for parquet)")
    if sink == "duckdb" and dataset is not None:
        raise InputError("--dataset", str(dataset), "only with --sink parquet")
    if sink == "parquet":
        import tempfile

        root = config.parquet_dir(dataset)
        with tempfile.TemporaryDirectory(prefix="marginscope-ingest-") as staging:
            result = _ingest(files, Path(staging) / "staging.duckdb")
            written, files_written = _append_to_dataset(Path(staging) / "staging.duckdb", root)
        typer.echo(f"wrote {written:,} rows in {files_written} file(s), skipped "
                   f"{result.rows - written:,} already present ({result.rows:,} read from "
                   f"{len(result.files)} file(s)) into the dataset {root}")
        return
    target = config.db_path(db)
    result = _ingest(files, target)
    if result.before_retention_cutoff:
        typer.echo(f"note: {result.before_retention_cutoff} loaded rows are older than the last "
                   "retention cutoff; a later retention run adds them to the daily aggregates",
                   err=True)
    typer.echo(f"loaded {result.loaded:,} rows, skipped {result.skipped:,} already present "
               f"({result.rows:,} read from {len(result.files)} file(s)) into {target}")


def _ingest(files: list[Path], target: Path) -> IngestResult:
    """Validate and load ``files`` into the DuckDB file ``target`` with a progress bar."""
    from marginscope.telemetry.ingest import IngestRefused, ingest_files

    err = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task("ingest", total=len(files) * 2 + 1)

        def report(stage: str, name: str) -> None:
            progress.update(task, advance=1 if stage != "read" else 0,
                            description=f"{_STAGES[stage]} {Path(name).name if name else ''}")

        try:
            result = ingest_files(files, target, progress=report)
        except IngestRefused as refused:
            progress.stop()
            bad = refused.result
            for row in bad.bad_rows:
                typer.echo(str(row), err=True)
            if bad.bad_count > len(bad.bad_rows):
                typer.echo(f"… and {bad.bad_count - len(bad.bad_rows)} more bad rows",
                           err=True)
            raise
    for name, columns in result.ignored_columns.items():
        typer.echo(f"note: {name}: columns outside the event schema were not loaded: "
                   + ", ".join(columns), err=True)
    return result


_BATCH_ROWS = 1_000_000


def _append_to_dataset(staging: Path, root: Path) -> tuple[int, int]:
    """Append the validated events of the ``staging`` DuckDB file to the Parquet dataset.

    Ids already in the dataset's partitions for the same days are skipped, so running the
    same ingest twice adds nothing (and a run cut short is completed by running it again).
    Files are written by :class:`~marginscope.telemetry.parquet_sink.ParquetDatasetSink`
    (each renamed into place whole). Returns (rows written, files written).
    """
    import duckdb
    import pyarrow as pa

    from marginscope.telemetry.parquet_sink import ParquetDatasetSink
    from marginscope.telemetry.schema import COLUMNS

    con = duckdb.connect(str(staging))
    try:
        con.execute("SET TimeZone = 'UTC'")
        low, high = con.execute("SELECT strftime(min(ts), '%Y-%m-%d'), "
                                "strftime(max(ts), '%Y-%m-%d') FROM events").fetchall()[0]
        present = sorted(str(p) for p in root.glob("date=*/*.parquet")
                         if low is not None and low <= p.parent.name[5:] <= high)
        if present:
            con.execute("DELETE FROM events WHERE event_id IN "
                        "(SELECT event_id FROM read_parquet(?))", [present])
        sink = ParquetDatasetSink(root, config.writer_id())
        relation = con.sql(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY ts")
        to_reader = getattr(relation, "to_arrow_reader", None)  # DuckDB 2 (1.x: record_batch)
        reader = (to_reader or relation.record_batch)(_BATCH_ROWS)
        written = files = 0
        pending: list[pa.RecordBatch] = []

        def flush() -> int:
            table = pa.Table.from_batches(pending)
            pending.clear()
            return len(sink.write(table)) if table.num_rows else 0

        for batch in reader:  # batches may come smaller than asked: write ~1M rows at a time
            pending.append(batch)
            written += batch.num_rows
            if sum(b.num_rows for b in pending) >= _BATCH_ROWS:
                files += flush()
        files += flush() if pending else 0
        return written, files
    finally:
        con.close()


def export(
    fmt: Annotated[str, typer.Option("--format", help="csv | parquet | jsonl",
                                     show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="File to write (replaced atomically).",
                                      show_default=False)],
    db: DbOption = None,
) -> None:
    """Write every stored event in the canonical schema (operator export; not suppressed)."""
    from marginscope.telemetry.export import EXPORT_FORMATS, export_events

    fmt = fmt.strip().lower()
    if fmt not in EXPORT_FORMATS:
        raise InputError("--format", fmt, " | ".join(EXPORT_FORMATS))
    rows = export_events(config.db_path(db), out, fmt)
    typer.echo(f"exported {rows:,} events to {out} ({fmt})")


@retention_app.command("run")
def retention_run(
    db: DbOption = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="Keep raw events this many whole UTC days (default: "
                       "$MARGINSCOPE_RETENTION_DAYS, else 90).", show_default=False)] = None,
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", help="Also expire this Parquet dataset's old date= partitions (loaded "
                          "into the DB first, so they reach the aggregates).")] = None,
) -> None:
    """Roll raw events past the retention period into daily aggregates, then delete them."""
    from marginscope.telemetry.retention import expire_dataset_partitions, run_retention

    keep = days if days is not None else config.retention_days()
    if keep < 1:
        raise InputError("--days", keep, "an integer >= 1")
    target = config.db_path(db)
    if not target.exists():
        raise InputError("--db", str(target), "an existing DuckDB file")
    if dataset is not None:
        removed = expire_dataset_partitions(dataset, target, keep)
        typer.echo(f"removed {len(removed)} dataset partition(s) older than {keep} days")
        return
    result = run_retention(target, keep)
    typer.echo(f"expired {result.expired:,} raw events before {result.cutoff:%Y-%m-%d} "
               f"(UTC) into {result.aggregate_rows:,} daily aggregate rows over "
               f"{len(result.days)} day(s)")
