"""What the month's numbers leave out and how far their countries can be trusted.

:func:`provenance` reads, for the report's methodology and ``metadata``:

* ``not_recorded``: calculations the telemetry did not record in the month, per counter — the
  pipeline's drop reasons (``over_budget``, ``bot``, ``queue_full``…) and ``lost`` (acknowledged,
  then lost with a sink process that died) — from the store's ``telemetry_counts`` table
  (:func:`marginscope.telemetry.store.read_counts`); None when the source keeps no counts
  (a Parquet dataset, an Arrow table, a store written before the table existed).
* ``country_sources``: the month's events per ``country_source`` (``header``, ``geoip``,
  ``time_zone``, ``unknown`` for NULL); None when the events have no such column.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marginscope.analytics.queries import in_range
from marginscope.analytics.sources import opened_events
from marginscope.telemetry.schema import COUNTRY_SOURCES
from marginscope.telemetry.store import read_counts

__all__ = ["country_sources", "provenance"]


def country_sources(
    source: Any, first: date, following: date, *, engine: str = "duckdb"
) -> dict[str, int] | None:
    """Events of ``[first, following)`` per country source (``unknown``: NULL), or None when
    the events carry no ``country_source`` column."""
    with opened_events(source, engine=engine) as events:
        if "country_source" not in events.columns:
            return None
        rows = in_range(events, first, following)
        counts = rows.group_by("country_source").agg(n=rows.count()).to_pyarrow().to_pylist()
    found = {row["country_source"] or "unknown": int(row["n"]) for row in counts}
    return {name: found.get(name, 0) for name in (*COUNTRY_SOURCES, "unknown")}


def provenance(
    source: Any, first: date, following: date, *, engine: str = "duckdb"
) -> dict[str, Any]:
    """``{"not_recorded": {counter: n} | None, "country_sources": {source: n} | None}``."""
    return {
        "not_recorded": read_counts(source, first, following),
        "country_sources": country_sources(source, first, following, engine=engine),
    }
