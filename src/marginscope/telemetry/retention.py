"""Raw-event retention (aggregates stay) and small-cell suppression of published aggregates.

Retention (docs/telemetry.md, "Retention"): raw events older than ``days`` whole UTC days are
first rolled into ``daily_aggregates`` (counts per day and coarse segment, with distinct
visitors and sessions), then deleted, in one transaction. It runs only when asked:
``marginscope retention run``, or the server's daily job when ``MARGINSCOPE_RETENTION_AUTO=1``;
never during ingest or report, so historical imports and the demo's 2025 data stay whole.
This is Matomo's split (raw logs expire, archived reports stay; reference/analytics_anchors.md
§1.5).

Small cells: any published or exported *aggregate* cell under k events (default 10,
``MARGINSCOPE_MIN_CELL``) is merged into "other" or, if still under k, suppressed
(:func:`suppress_small_cells`). The operator's raw-event export is not suppressed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from marginscope.errors import InputError
from marginscope.telemetry.store import AGGREGATE_DIMENSIONS, connect, ensure_schema

__all__ = ["RetentionResult", "expire_dataset_partitions", "run_retention",
           "suppress_small_cells"]


@dataclass(frozen=True)
class RetentionResult:
    """What one retention run did."""

    cutoff: datetime           # events with ts before this were expired
    expired: int               # raw events deleted
    aggregate_rows: int        # daily_aggregates rows written or updated
    days: list[date]           # UTC days rolled up


def _cutoff(days: int, now: datetime | None) -> datetime:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InputError("days", days, "an integer >= 1")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return today - timedelta(days=days)


def run_retention(db: str | os.PathLike[str] | duckdb.DuckDBPyConnection, days: int = 90,
                  now: datetime | None = None) -> RetentionResult:
    """Roll raw events older than ``days`` whole UTC days into ``daily_aggregates``, delete them.

    Parameters
    ----------
    db : path-like or DuckDB connection
        The event store.
    days : int
        Raw events are kept for this many whole UTC days before today (default 90).
    now : datetime, optional
        The clock (aware); the current time by default.

    Returns
    -------
    RetentionResult
        Cutoff (UTC midnight ``days`` days before today), events expired, aggregate rows.

    Notes
    -----
    A cell that already has aggregates (a day rolled up earlier and re-imported since) is
    summed: ``events`` exactly, ``visitors`` and ``sessions`` as an upper bound (distinct
    counts from two runs cannot be merged exactly).
    """
    cutoff = _cutoff(days, now)
    owned = not isinstance(db, duckdb.DuckDBPyConnection)
    con = connect(db) if owned else db
    try:
        ensure_schema(con)
        dims = ", ".join(AGGREGATE_DIMENSIONS)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _ms_rollup AS
                SELECT CAST(ts AS DATE) AS date, {dims}, count(*) AS events,
                       count(DISTINCT visitor) AS visitors, count(DISTINCT session) AS sessions
                FROM events WHERE ts < ? GROUP BY ALL""", [cutoff])
            rolled_days = [row[0] for row in con.execute(
                "SELECT DISTINCT date FROM _ms_rollup ORDER BY date").fetchall()]
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE _ms_merged AS
                SELECT date, {dims}, sum(events)::BIGINT AS events,
                       sum(visitors)::BIGINT AS visitors, sum(sessions)::BIGINT AS sessions
                FROM (SELECT * FROM daily_aggregates
                      WHERE date IN (SELECT date FROM _ms_rollup)
                      UNION ALL SELECT * FROM _ms_rollup)
                GROUP BY ALL""")
            con.execute("DELETE FROM daily_aggregates WHERE date IN (SELECT date FROM _ms_rollup)")
            aggregate_rows = con.execute(
                "INSERT INTO daily_aggregates SELECT * FROM _ms_merged").fetchone()[0]
            expired = con.execute("DELETE FROM events WHERE ts < ?", [cutoff]).fetchone()[0]
            con.execute("INSERT INTO retention_log VALUES (?, ?, ?)",
                        [datetime.now(UTC), cutoff, expired])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        if owned:
            con.close()
    return RetentionResult(cutoff, int(expired), int(aggregate_rows), rolled_days)


def expire_dataset_partitions(root: str | os.PathLike[str],
                              db: str | os.PathLike[str], days: int = 90,
                              now: datetime | None = None) -> list[Path]:
    """Retention for the Parquet dataset: ingest expiring days into ``db``, then delete them.

    Partitions ``date=D`` with D before the cutoff are loaded into the DuckDB store first
    (idempotent by ``event_id``, so days already ingested are not double-counted), rolled up by
    :func:`run_retention`, and only then removed. Returns the removed partition directories.
    """
    from marginscope.telemetry.ingest import ingest_files

    cutoff = _cutoff(days, now).date()
    root = Path(root)
    expiring = sorted(p for p in root.glob("date=*") if p.is_dir()
                      and _partition_day(p) is not None and _partition_day(p) < cutoff)
    files = [f for p in expiring for f in sorted(p.glob("*.parquet"))]
    if files:
        ingest_files(files, db)
    run_retention(db, days, now)
    for partition in expiring:
        for child in partition.iterdir():
            child.unlink()
        partition.rmdir()
    return expiring


def _partition_day(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.name.split("=", 1)[1])
    except ValueError:
        return None


def suppress_small_cells(rows: Iterable[Mapping[str, Any]], k: int = 10, *,
                         count: str = "events", merge: Sequence[str] = (),
                         other: str = "other",
                         additive: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Aggregate rows with every cell under ``k`` merged into "other" or suppressed.

    Parameters
    ----------
    rows : iterable of mappings
        Aggregate cells: dimension fields plus the ``count`` field (and ``additive`` fields).
    k : int
        Minimum events per published cell (default 10; ``MARGINSCOPE_MIN_CELL``).
    count : str
        The field holding the cell's event count.
    merge : sequence of str
        Dimensions set to ``other`` in a small cell, which is then summed with the other
        small cells sharing its remaining dimensions (``("country",)``: small countries
        become "other" per day and tool). Empty: small cells are simply suppressed.
    other : str
        The label of merged cells.
    additive : sequence of str
        Further fields summed on merge (``visitors``: then an upper bound).

    Returns
    -------
    list of dict
        Cells with ``count >= k`` only; a merged "other" cell still under ``k`` is suppressed.
        Input order kept, merged cells after the cells they came from.

    Notes
    -----
    Threshold (minimum-count) suppression as in statistical disclosure control (k = 10 is a
    common floor for published counts). Totals published next to a table can re-identify a
    suppressed cell by subtraction; publish totals from the suppressed table only.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError("k", k, "an integer >= 1")
    kept: list[dict[str, Any]] = []
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        cell = dict(row)
        if cell.get(count) is None:
            raise InputError(count, None, "a count in every aggregate row")
        if cell[count] >= k:
            kept.append(cell)
            continue
        if not merge:
            continue
        for field in merge:
            cell[field] = other
        key = tuple(sorted((name, value) for name, value in cell.items()
                           if name != count and name not in additive))
        target = merged.setdefault(key, {**cell, count: 0, **dict.fromkeys(additive, 0)})
        target[count] += cell[count]
        for field in additive:
            target[field] += cell.get(field) or 0
    kept.extend(cell for cell in merged.values() if cell[count] >= k)
    return kept
