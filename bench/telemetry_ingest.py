"""Benchmark: ``marginscope ingest`` against the bare DuckDB COPY ceiling on the same rows.

Generates N canonical events (SYNTHETIC: seeded random values, every ``event_id`` starts
with ``synthetic-``, files are named ``synthetic-events.*``), writes them as Parquet, CSV
and JSON Lines, then for each format times, in the same run and interleaved:

* ceiling: ``COPY bare FROM file`` into a fresh DuckDB file with the same column types and
  no checks (the fastest DuckDB can take those rows), connection closed (checkpointed);
* ingest: :func:`marginscope.telemetry.ingest.ingest_files` into a fresh DuckDB file:
  validation, line numbers, de-duplication, one transaction, connection closed;
* re-ingest: the same file again into the ingested DB (every row skipped as present).

Each timing is the best of ``--repeat`` runs. Prints events/s and ingest ÷ ceiling.
Target (issue 5): >= 200,000 events/s through ingest, within 3x of the ceiling.

    .venv/bin/python bench/telemetry_ingest.py --rows 2000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from marginscope.telemetry.ingest import ingest_files
from marginscope.telemetry.schema import (
    ARROW_SCHEMA,
    COLUMNS,
    DUCKDB_TYPES,
    LEVERAGE_EDGES,
    NOTIONAL_EDGES,
    tool_ids,
)


def synthetic_events(rows: int, seed: int = 5) -> pa.Table:
    """SYNTHETIC canonical events: seeded, uniform over coarse values, November 2025."""
    rng = np.random.default_rng(seed)

    def pick(values: list, dtype: str | None = None) -> np.ndarray:
        return np.asarray(values, dtype=dtype)[rng.integers(0, len(values), rows)]

    start = np.datetime64("2025-11-01T00:00:00", "s")
    ts = start + rng.integers(0, 30 * 86_400, rows).astype("timedelta64[s]")
    visitor = np.char.add("v", np.char.zfill(rng.integers(0, 50_000, rows).astype(str), 8))
    columns = {
        "event_id": pa.array(np.char.add("synthetic-", np.arange(rows).astype(str))),
        "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
        "tool": pick(list(tool_ids())),
        "device": pick(["mobile", "desktop", "tablet", "unknown"]),
        "country": pick(["US", "DE", "GB", "JP", "KR", "BR", "IN", "ZZ"]),
        "visitor": visitor,
        "session": pa.nulls(rows, pa.string()),
        "venue": pick(["binance-usdm", "bybit", "okx", "hyperliquid"]),
        "symbol": pick(["BTC", "ETH", "SOL", "XRP", "DOGE", "OTHER"]),
        "side": pick(["long", "short"]),
        "margin_mode": pick(["isolated", "cross"]),
        "leverage": pick(list(LEVERAGE_EDGES), "int16"),
        "notional_bucket": pick(list(NOTIONAL_EDGES), "int64"),
    }
    table = pa.table(columns).cast(ARROW_SCHEMA)
    return table.replace_schema_metadata({"marginscope.synthetic": "true"})


def write_files(table: pa.Table, directory: Path) -> dict[str, Path]:
    """The same rows as Parquet, CSV (ISO timestamps) and JSON Lines."""
    files = {fmt: directory / f"synthetic-events.{fmt}" for fmt in ("parquet", "csv", "jsonl")}
    pq.write_table(table, files["parquet"], compression="zstd")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", table)
    con.execute(f"COPY t TO '{files['csv']}' (FORMAT csv, HEADER)")
    con.execute(f"COPY t TO '{files['jsonl']}' (FORMAT json)")
    con.close()
    return files


def ceiling(path: Path, fmt: str, db: Path) -> float:
    """Bare COPY into a same-typed table, no checks; seconds including close."""
    started = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'UTC'")
    present = [row[0] for row in con.execute(
        f"DESCRIBE SELECT * FROM read_{'parquet' if fmt == 'parquet' else fmt[:4]}"
        f"('{path}')").fetchall()]
    con.execute("CREATE TABLE bare (" + ", ".join(f"{c} {DUCKDB_TYPES[c]}" for c in COLUMNS
                                                  if c in present) + ")")
    option = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER",
              "jsonl": "FORMAT json"}[fmt]
    con.execute(f"COPY bare FROM '{path}' ({option})")
    con.close()
    return time.perf_counter() - started


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fresh(db: Path) -> Path:
    for candidate in (db, db.with_name(db.name + ".wal")):
        candidate.unlink(missing_ok=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="parquet,csv,jsonl")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ms-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"generating {args.rows:,} SYNTHETIC events in {workdir}")
    table = synthetic_events(args.rows)
    files = write_files(table, workdir)
    no_ids = workdir / "synthetic-events-no-ids.parquet"
    pq.write_table(table.drop_columns(["event_id"]), no_ids, compression="zstd")
    cases = [(fmt, files[fmt], fmt) for fmt in args.formats.split(",")]
    cases.append(("parquet, no event_id", no_ids, "parquet"))

    print(f"\n{'file':<22}{'ceiling s':>10}{'ingest s':>10}{'events/s':>12}{'ratio':>7}"
          f"{'re-ingest s':>13}")
    for label, path, fmt in cases:
        best_ceiling = best_ingest = best_again = float("inf")
        for _ in range(args.repeat):
            best_ceiling = min(best_ceiling, ceiling(path, fmt, fresh(workdir / "bare.duckdb")))
            db = fresh(workdir / "ingest.duckdb")
            best_ingest = min(best_ingest, timed(lambda db=db, path=path:
                                                 ingest_files([path], db)))
            best_again = min(best_again, timed(lambda db=db, path=path:
                                               ingest_files([path], db)))
        print(f"{label:<22}{best_ceiling:>10.2f}{best_ingest:>10.2f}"
              f"{args.rows / best_ingest:>12,.0f}{best_ingest / best_ceiling:>7.2f}"
              f"{best_again:>13.2f}")
    if args.workdir is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
