"""Settings read from the environment, in one place (documented in docs/configuration.md).

| variable | meaning | default |
|---|---|---|
| ``MARGINSCOPE_DB`` | DuckDB file holding events and market context | ``./marginscope.duckdb`` |
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "marginscope.duckdb"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: ``--db`` if given, else ``MARGINSCOPE_DB``, else ``./marginscope.duckdb``."""
    return Path(explicit or os.environ.get("MARGINSCOPE_DB") or DEFAULT_DB)
