"""Hive-partitioned Parquet dataset sink, for deployments with several app servers.

Layout (what DuckDB's ``read_parquet(..., hive_partitioning = true)`` and Spark's
``spark.read.parquet`` both read)::

    ROOT/date=2025-11-04/part-<writer>-<run>-<seq>.parquet

* one directory per UTC day of ``ts``; the ``date`` column lives in the path only;
* each writer (``MARGINSCOPE_WRITER_ID``, default ``<host>-<pid>``) writes its own files, so any
  number of processes and hosts can write to one dataset without coordination; ``run`` (start
  time and a random suffix) keeps a restarted writer from reusing a name;
* a file is written as a hidden ``.part-….parquet.tmp`` in the same directory, fsynced, then
  renamed into place and the directory fsynced: readers never see a partial file, and a batch
  is acknowledged only after the rename.

Every flush makes at least one file; compact a day's small files later if needed (readers
can de-duplicate on ``event_id``).
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from marginscope.telemetry.schema import ARROW_SCHEMA

__all__ = ["ParquetDatasetSink"]


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class ParquetDatasetSink:
    """Writes each batch as one Parquet file per UTC day under ``root/date=YYYY-MM-DD/``.

    Parameters
    ----------
    root : path-like
        Dataset root (``MARGINSCOPE_PARQUET_DIR``).
    writer_id : str
        This writer's name in file names (``MARGINSCOPE_WRITER_ID``); characters other than
        letters, digits, ``.``, ``_`` and ``-`` are replaced by ``_``.
    compression : str
        Parquet codec (zstd by default).
    """

    def __init__(self, root: str | os.PathLike[str], writer_id: str = "writer",
                 compression: str = "zstd") -> None:
        self.root = Path(root)
        self.writer_id = re.sub(r"[^A-Za-z0-9._-]", "_", writer_id)[:64] or "writer"
        self.run = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + secrets.token_hex(3)
        self.compression = compression
        self._seq = 0
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table) -> list[Path]:
        """Write the batch; returns the files, each renamed into place and fsynced."""
        table = table.cast(ARROW_SCHEMA)
        days = pc.strftime(table["ts"], format="%Y-%m-%d")
        written = []
        for day in pc.unique(days).to_pylist():
            part = table.filter(pc.equal(days, day))
            written.append(self._write_part(day, part))
        return written

    def _write_part(self, day: str, table: pa.Table) -> Path:
        directory = self.root / f"date={day}"
        created = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        name = f"part-{self.writer_id}-{self.run}-{self._seq:06d}.parquet"
        temporary = directory / f".{name}.tmp"
        final = directory / name
        pq.write_table(table, temporary, compression=self.compression)
        _fsync(temporary)
        os.replace(temporary, final)
        _fsync(directory)
        if created:
            _fsync(self.root)
        return final

    def close(self) -> None:
        """Nothing is held open between batches."""
