"""Market context beside the telemetry: DuckDB tables, idempotent upsert, Parquet export.

Tables (all times ``TIMESTAMP`` in UTC; schema in ``docs/market.md``):

- ``market_ohlcv``          key (venue, symbol, timeframe, time)
- ``market_funding``        key (venue, symbol, time)  — time = funding mark
- ``market_open_interest``  key (venue, symbol, timeframe, time)
- ``market_liquidations``   key (venue, symbol, timeframe, time)
- ``market_facts``          key (reported_on, kind, source) — news facts, a layer of their own

Writing the same rows twice leaves one copy (``INSERT OR REPLACE`` on the key); a write is one
transaction, so a failure leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from marginscope import duckfile
from marginscope.market.series import (
    SERIES_KINDS,
    Fact,
    MarketData,
    series_from_records,
)

__all__ = ["TABLES", "connect", "ensure_schema", "export_parquet", "has_market_data",
           "open_store", "read_market", "upsert"]

_SCHEMA = {
    "market_ohlcv": """
        venue VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL, open DOUBLE NOT NULL, high DOUBLE NOT NULL,
        low DOUBLE NOT NULL, close DOUBLE NOT NULL, base_volume DOUBLE, quote_volume DOUBLE,
        trades DOUBLE, source VARCHAR NOT NULL,
        PRIMARY KEY (venue, symbol, timeframe, time)""",
    "market_funding": """
        venue VARCHAR NOT NULL, symbol VARCHAR NOT NULL, time TIMESTAMP NOT NULL,
        reported_time TIMESTAMP NOT NULL, funding_rate DOUBLE NOT NULL, mark_price DOUBLE,
        source VARCHAR NOT NULL, PRIMARY KEY (venue, symbol, time)""",
    "market_open_interest": """
        venue VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL, open_interest DOUBLE NOT NULL, open_interest_value DOUBLE,
        source VARCHAR NOT NULL, PRIMARY KEY (venue, symbol, timeframe, time)""",
    "market_liquidations": """
        venue VARCHAR NOT NULL, symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL,
        time TIMESTAMP NOT NULL, long_usd DOUBLE, short_usd DOUBLE, total_usd DOUBLE NOT NULL,
        orders DOUBLE, source VARCHAR NOT NULL,
        PRIMARY KEY (venue, symbol, timeframe, time)""",
    "market_facts": """
        reported_on DATE NOT NULL, kind VARCHAR NOT NULL, value DOUBLE NOT NULL,
        unit VARCHAR, reporting_window VARCHAR, note VARCHAR, source VARCHAR NOT NULL,
        PRIMARY KEY (reported_on, kind, source)""",
}
TABLES = tuple(_SCHEMA)
_PARTITIONS = {"market_ohlcv": ("venue", "symbol"), "market_funding": ("venue", "symbol"),
               "market_open_interest": ("venue", "symbol"),
               "market_liquidations": ("venue", "symbol"), "market_facts": ()}


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; for writing, create it and the market tables if missing.

    ``read_only=True`` opens an existing file without creating anything (other processes may
    read it at the same time).
    """
    path = Path(path)
    if read_only:
        if not path.is_file():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return duckfile.connect(path, read_only=True)
    if not path.parent.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path.parent))
    con = duckdb.connect(str(path))
    ensure_schema(con)
    return con


@contextmanager
def open_store(path: str | Path, *, read_only: bool = False
               ) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with open_store(path) as con:`` — :func:`connect`, closed afterwards."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the five market tables if they are missing (never alters existing ones)."""
    for table, columns in _SCHEMA.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def upsert(con: duckdb.DuckDBPyConnection, data: MarketData) -> dict[str, int]:
    """Write every series row and fact, replacing rows with the same key; one transaction.

    Returns
    -------
    dict
        Rows written per table.
    """
    ensure_schema(con)
    batches: list[tuple[str, dict[str, np.ndarray]]] = [
        (series.table, series.columns()) for series in data.series() if len(series)]
    if data.facts:
        batches.append(("market_facts", _fact_columns(data.facts)))
    counts = dict.fromkeys(TABLES, 0)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, columns in batches:
            names = _columns(con, table)
            con.register("_market_incoming", {n: columns[n] for n in names})
            con.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) "
                        f"SELECT {', '.join(names)} FROM _market_incoming")
            con.unregister("_market_incoming")
            counts[table] += len(columns[names[0]])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def _fact_columns(facts: tuple[Fact, ...]) -> dict[str, np.ndarray]:
    unique = {(f.reported_on, f.kind, f.source): f for f in facts}  # last one wins
    rows = list(unique.values())
    return {
        "reported_on": np.array([f.reported_on for f in rows], dtype="datetime64[D]").astype("datetime64[ms]"),
        "kind": np.array([f.kind for f in rows], dtype=object),
        "value": np.array([f.value for f in rows], dtype=np.float64),
        "unit": np.array([f.unit for f in rows], dtype=object),
        "reporting_window": np.array([f.window for f in rows], dtype=object),
        "note": np.array([f.note for f in rows], dtype=object),
        "source": np.array([f.source for f in rows], dtype=object),
    }


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = current_schema()").fetchall()
    return {r[0] for r in rows} & set(TABLES)


def has_market_data(con: duckdb.DuckDBPyConnection) -> bool:
    """True when any market series table exists and holds a row (creates nothing)."""
    return any(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
               for t in sorted(_existing(con)) if t != "market_facts")


def read_market(con: duckdb.DuckDBPyConnection, *, venue: str | None = None,
                symbol: str | None = None) -> MarketData:
    """The stored series (optionally one venue / symbol) and all facts, as :class:`MarketData`.

    Every row of a series is read — events need rows before a reporting window as look-back.
    Missing tables read as empty (nothing is created).
    """
    existing = _existing(con)
    bundle: dict[str, tuple[Any, ...]] = {table: () for table in SERIES_KINDS}
    for table, cls in SERIES_KINDS.items():
        if table not in existing:
            continue
        where, params = [], []
        if venue is not None:
            where.append("venue = ?")
            params.append(venue)
        if symbol is not None:
            where.append("upper(symbol) = upper(?)")
            params.append(symbol)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        result = con.execute(f"SELECT * FROM {table}{clause}", params)
        names = [d[0] for d in result.description]
        records = [_record(names, values) for values in result.fetchall()]
        bundle[table] = tuple(series_from_records(cls, records))
    facts = () if "market_facts" not in existing else tuple(
        Fact(reported_on=str(row[0]), kind=row[1], value=float(row[2]), unit=row[3] or "",
             window=row[4] or "", note=row[5] or "", source=row[6])
        for row in con.execute(
            "SELECT reported_on, kind, value, unit, reporting_window, note, source "
            "FROM market_facts ORDER BY reported_on, kind, source").fetchall())
    return MarketData(ohlcv=bundle["market_ohlcv"], funding=bundle["market_funding"],
                      open_interest=bundle["market_open_interest"],
                      liquidations=bundle["market_liquidations"], facts=facts)


def _record(names: list[str], values: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(names, values, strict=True))
    for name in ("time", "reported_time"):
        if name in record:
            record[name] = int(np.datetime64(record[name], "ms").astype(np.int64))
    return record


def export_parquet(con: duckdb.DuckDBPyConnection, directory: str | Path) -> list[Path]:
    """Write each market table as a Parquet dataset in a Hive layout under ``directory``.

    ``<directory>/<table>/venue=<venue>/symbol=<symbol>/data_0.parquet`` (facts: one file,
    ``<directory>/market_facts/data_0.parquet``). Partition columns are also kept inside the
    files, so ``marginscope market load`` reads them back. Existing files are overwritten.
    """
    ensure_schema(con)
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for table, partition in _PARTITIONS.items():
        if not con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:  # type: ignore[index]
            continue
        target = root / table
        quoted = str(target).replace("'", "''")
        if partition:
            options = (f"FORMAT parquet, PARTITION_BY ({', '.join(partition)}), "
                       "OVERWRITE_OR_IGNORE true, WRITE_PARTITION_COLUMNS true")
            con.execute(f"COPY (SELECT * FROM {table} ORDER BY ALL) TO '{quoted}' ({options})")
        else:
            target.mkdir(parents=True, exist_ok=True)
            quoted = str(target / "data_0.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {table} ORDER BY ALL) TO '{quoted}' "
                        "(FORMAT parquet)")
        written.extend(sorted(target.rglob("*.parquet")))
    return written
