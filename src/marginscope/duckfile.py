"""Opening a DuckDB file from anywhere in the process (a leaf: every layer may use it).

DuckDB refuses a read-only connection to a file this same process already holds open for
writing (the web app's telemetry sink does, while batches arrive): "Can't open a connection to
same database file with a different configuration". A reader then shares the process's open
database instead, which sees the same committed data.
"""

from __future__ import annotations

import os

import duckdb


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``; a read-only open falls back to this process's writable instance."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.ConnectionException as exc:
        if read_only and "different configuration" in str(exc):
            return duckdb.connect(str(path))
        raise
