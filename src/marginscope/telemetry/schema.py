"""The canonical telemetry event: columns, types, allow-lists and coarse buckets.

One row per calculation a person runs. Only coarse context is kept: never prices, balances,
exact sizes, IPs, User-Agents or free text. This module is the one place to import the schema
from; it gathers three modules (docs/telemetry.md, "Schema"):

:mod:`~marginscope.telemetry.vocabulary`
    The closed vocabularies and registries (tool ids, venues, symbols, countries), id patterns
    (:data:`SYNTHETIC_ID_PREFIX`, :func:`is_synthetic_id`), the normalizers and the coarse
    buckets (:func:`leverage_bucket`, :func:`notional_bucket`).
:mod:`~marginscope.telemetry.columns`
    The columns, declared once in :data:`EVENT_COLUMNS` (name, DuckDB type, rule,
    nullability), their rules, and what is generated from them: :data:`COLUMNS`,
    :data:`DUCKDB_TYPES`, :data:`ARROW_SCHEMA`, :data:`REQUIRED`, the DDL
    (:func:`create_table_sql`); ingest's SQL checks and the beacon's fields read them.
:mod:`~marginscope.telemetry.event`
    The :class:`Event` model generated from the columns, its row and Arrow forms, and
    :func:`conform`.
"""

from __future__ import annotations

from marginscope.telemetry import columns, event, vocabulary
from marginscope.telemetry.columns import *  # noqa: F403 (the names in columns.__all__)
from marginscope.telemetry.event import *  # noqa: F403 (the names in event.__all__)
from marginscope.telemetry.vocabulary import *  # noqa: F403 (the names in vocabulary.__all__)

__all__: list[str] = []
__all__ += vocabulary.__all__
__all__ += columns.__all__
__all__ += event.__all__
