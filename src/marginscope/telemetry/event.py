"""The :class:`Event` model, generated from the columns, and its row and Arrow forms.

:class:`Event` is one anonymized calculation in the canonical schema
(:data:`~marginscope.telemetry.columns.EVENT_COLUMNS`); :func:`built_event` makes one from values
the package's own normalizers produced; :func:`event_row`, :func:`wire_row` and the ``*_to_arrow``
functions give its plain-tuple and Arrow forms (the sinks' batch format), :func:`conform` brings
a table into :data:`~marginscope.telemetry.columns.ARROW_SCHEMA` (docs/telemetry.md, "Schema").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, create_model

from marginscope.telemetry.columns import ARROW_SCHEMA, COLUMNS, EVENT_COLUMNS, Column

__all__ = [
    "Event",
    "built_event",
    "conform",
    "event_model",
    "event_row",
    "event_rows",
    "events_to_arrow",
    "rows_to_arrow",
    "wire_row",
    "wire_rows_to_arrow",
]


def event_model(
    columns: tuple[Column, ...] = EVENT_COLUMNS, name: str = "Event"
) -> type[BaseModel]:
    """A frozen pydantic model with one field per column, checked by the columns' rules."""
    return create_model(
        name,
        __config__=ConfigDict(frozen=True, extra="forbid"),
        __module__=__name__,
        __doc__="One anonymized calculation, in the canonical schema (see module docstring).",
        **{declared.name: declared.field() for declared in columns},
    )


Event = event_model()
"""One anonymized calculation, in the canonical schema: ``Event(event_id=…, ts=…, tool=…)``."""


_EVENT_FIELDS = frozenset(COLUMNS)


def built_event(**values: Any) -> Event:
    """An :class:`Event` of values this package's own normalizers produced, every field given:
    ``Event.model_construct`` without its per-call bookkeeping (defaults, field walk), which
    cost 8 µs of the request path's telemetry against 1 µs here. No validation, as with
    ``model_construct``; the result is the same frozen model (equal, same ``model_dump``)."""
    if values.keys() != _EVENT_FIELDS:
        raise TypeError(f"built_event needs exactly the fields {sorted(_EVENT_FIELDS)}")
    event = _new(Event)
    _set(event, "__dict__", values)
    _set(event, "__pydantic_fields_set__", set(values))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


_new = object.__new__
_set = object.__setattr__

event_row: Callable[[Event], tuple[Any, ...]] = attrgetter(*COLUMNS)
"""One event as a plain tuple in :data:`COLUMNS` order (cheap to pickle)."""


def event_rows(events: list[Event]) -> list[tuple[Any, ...]]:
    """Events as plain tuples in :data:`COLUMNS` order."""
    return [event_row(event) for event in events]


def rows_to_arrow(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows of :func:`event_rows` as an Arrow table in :data:`ARROW_SCHEMA`."""
    columns = zip(*rows, strict=True) if rows else ((),) * len(COLUMNS)
    return pa.Table.from_pydict(dict(zip(COLUMNS, columns, strict=True)), schema=ARROW_SCHEMA)


_TS = COLUMNS.index("ts")


def wire_row(event: Event) -> tuple[Any, ...]:
    """:func:`event_row` with ``ts`` as POSIX seconds: what crosses a pipe to a sink process
    (a plain float pickles ten times faster than an aware datetime)."""
    row = event_row(event)
    return (*row[:_TS], row[_TS].timestamp(), *row[_TS + 1 :])


def wire_rows_to_arrow(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows of :func:`wire_row` as an Arrow table in :data:`ARROW_SCHEMA`."""
    return rows_to_arrow(
        [(*row[:_TS], datetime.fromtimestamp(row[_TS], UTC), *row[_TS + 1 :]) for row in rows]
    )


def conform(table: pa.Table) -> pa.Table:
    """``table`` in :data:`ARROW_SCHEMA`: cast, nullable columns it lacks added as NULL (a
    table built before a column was declared, e.g. ``country_source``); a missing column that
    is not nullable is a ValueError naming it."""
    for declared in EVENT_COLUMNS:
        if declared.name not in table.column_names:
            if not declared.nullable:
                raise ValueError(f"event table without the column {declared.name!r}")
            table = table.append_column(declared.arrow, pa.nulls(len(table), declared.arrow.type))
    return table.select(list(COLUMNS)).cast(ARROW_SCHEMA)


def events_to_arrow(events: list[Event]) -> pa.Table:
    """A list of events as an Arrow table in :data:`ARROW_SCHEMA` (the sinks' batch format)."""
    return rows_to_arrow(event_rows(events))
