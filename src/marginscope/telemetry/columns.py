"""The event's columns, declared once, and the forms generated from them.

:data:`EVENT_COLUMNS` (name, DuckDB type, rule, nullability) is the one declaration;
:data:`COLUMNS`, :data:`DUCKDB_TYPES`, :data:`ARROW_SCHEMA`, :data:`REQUIRED`, the DDL
(:func:`create_table_sql`), ingest's SQL checks and (in :mod:`marginscope.telemetry.event`)
the :class:`~marginscope.telemetry.event.Event` model and the beacon's fields are generated from
it. The rules (:class:`Matches`, :class:`Timestamp`, :class:`OneOf`, :class:`Edges`,
:class:`Between`) each give a Python check, an SQL check and the allowed values in words
(docs/telemetry.md, "Schema").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import pyarrow as pa
from pydantic import AfterValidator, Field

from marginscope.telemetry.vocabulary import (
    _ID,
    COUNTRY_SOURCES,
    DEVICES,
    LEVERAGE_EDGES,
    MARGIN_MODES,
    NOTIONAL_EDGES,
    SEQ_MAX,
    SIDES,
    UNKNOWN_COUNTRY,
    country_codes,
    symbols,
    tool_ids,
    venues,
)

__all__ = [
    "ARROW_SCHEMA",
    "COLUMNS",
    "DUCKDB_TYPES",
    "EVENT_COLUMNS",
    "REQUIRED",
    "Between",
    "Column",
    "Edges",
    "Matches",
    "OneOf",
    "Rule",
    "SqlSet",
    "Timestamp",
    "arrow_schema",
    "column",
    "create_table_sql",
    "sql_list",
    "sql_literal",
]

# --- the columns: declared once ----------------------------------------------------------------
#
# Every other form of the schema is generated from EVENT_COLUMNS: the DuckDB types and DDL,
# the Arrow schema, the Event model (and the beacon's fields), ingest's SQL checks.

_SQL_TYPES: dict[str, tuple[type, pa.DataType]] = {
    "VARCHAR": (str, pa.string()),
    "TIMESTAMPTZ": (datetime, pa.timestamp("us", tz="UTC")),
    "SMALLINT": (int, pa.int16()),
    "BIGINT": (int, pa.int64()),
}
"""DuckDB type → (Python type, Arrow type): the column types the schema may use."""

SqlSet = Callable[[tuple[Any, ...]], str]
"""Turns allowed values into an SQL set expression: ``('a', 'b')`` or a sub-query."""


def sql_literal(value: Any) -> str:
    """A string or number as an SQL literal (the vocabularies hold no quotes)."""
    return f"'{value}'" if isinstance(value, str) else str(value)


def sql_list(values: Iterable[Any]) -> str:
    """Values as an inline SQL list: ``('a', 'b')``, ``(1.0, 2.0)``."""
    return "(" + ", ".join(map(sql_literal, values)) + ")"


@dataclass(frozen=True)
class Matches:
    """Text that matches ``pattern`` in full (Python ``re.fullmatch``, DuckDB
    ``regexp_full_match``)."""

    pattern: str
    text: str
    parse: ClassVar[str | None] = None  # checked as text

    def allowed(self) -> str:
        """What is allowed, in words."""
        return self.text

    def check(self, value: str) -> str:
        """``value`` if allowed, else ValueError naming what is."""
        if re.fullmatch(self.pattern, value) is None:
            raise ValueError(self.allowed())
        return value

    def sql(self, value: str, in_set: SqlSet) -> str:
        """SQL condition, true when the (non-NULL) ``value`` breaks the rule."""
        return f"NOT regexp_full_match({value}, '{self.pattern}')"


@dataclass(frozen=True)
class Timestamp:
    """An instant. Text without an offset (ingest) means UTC; a ``datetime`` (the Event model)
    must be time-zone aware. Stored in UTC."""

    text: str = "an ISO 8601 timestamp (no offset means UTC)"
    aware: str = "a time-zone-aware UTC timestamp"
    parse: ClassVar[str | None] = "TIMESTAMPTZ"  # parsing it is the whole check

    def allowed(self) -> str:
        """What is allowed, in words (as text)."""
        return self.text

    def check(self, value: datetime) -> datetime:
        """``value`` in UTC, or ValueError when it is naive."""
        if value.tzinfo is None:
            raise ValueError(self.aware)
        return value.astimezone(UTC)

    def sql(self, value: str, in_set: SqlSet) -> str | None:
        """None: a value that parses is allowed."""
        return None


@dataclass(frozen=True)
class OneOf:
    """A value of a closed vocabulary: a fixed tuple (a ``Literal`` in the models) or a
    registry read when checking (``values`` callable). ``describe`` words the allowed values
    (default: ``a | b | c``)."""

    values: tuple[str, ...] | Callable[[], Collection[str]]
    describe: Callable[[Collection[str]], str] | None = None
    parse: ClassVar[str | None] = None  # checked as text

    def members(self) -> Collection[str]:
        """The allowed values now."""
        return self.values if isinstance(self.values, tuple) else self.values()

    def allowed(self) -> str:
        """What is allowed, in words."""
        members = self.members()
        return self.describe(members) if self.describe else " | ".join(members)

    def check(self, value: str) -> str:
        """``value`` if allowed, else ValueError naming what is."""
        if value not in self.members():
            raise ValueError(self.allowed())
        return value

    def sql(self, value: str, in_set: SqlSet) -> str:
        """SQL condition, true when the (non-NULL) ``value`` breaks the rule."""
        return f"{value} NOT IN {in_set(tuple(sorted(self.members())))}"


@dataclass(frozen=True)
class Edges:
    """A bucket's lower edge (see "Bucket edges" in :mod:`~marginscope.telemetry.vocabulary`);
    text is read as a number."""

    edges: tuple[int, ...]
    what: str
    parse: ClassVar[str | None] = "DOUBLE"  # "20" and "20.0" are the edge 20

    def allowed(self) -> str:
        """What is allowed, in words."""
        return f"a {self.what} bucket edge " + ", ".join(map(str, self.edges))

    def check(self, value: int) -> int:
        """``value`` if it is an edge, else ValueError naming them."""
        if value not in self.edges:
            raise ValueError(self.allowed())
        return value

    def sql(self, value: str, in_set: SqlSet) -> str:
        """SQL condition, true when the (parsed, non-NULL) ``value`` is not an edge."""
        return f"{value} NOT IN {in_set(tuple(float(edge) for edge in self.edges))}"


@dataclass(frozen=True)
class Between:
    """An integer from ``low`` to ``high`` (inclusive); text is read as an integer."""

    low: int
    high: int
    what: str
    parse: ClassVar[str | None] = "BIGINT"  # "7" is 7; out of range is then a broken rule

    def allowed(self) -> str:
        """What is allowed, in words."""
        return f"{self.what}: an integer from {self.low} to {self.high}"

    def check(self, value: int) -> int:
        """``value`` if within the range, else ValueError naming it."""
        if not self.low <= value <= self.high:
            raise ValueError(self.allowed())
        return value

    def sql(self, value: str, in_set: SqlSet) -> str:
        """SQL condition, true when the (parsed, non-NULL) ``value`` is outside the range."""
        return f"{value} NOT BETWEEN {self.low} AND {self.high}"


Rule = Matches | Timestamp | OneOf | Edges | Between

_OPAQUE_ID = Matches(_ID, "an opaque id of 1-64 characters from [A-Za-z0-9_-]")


@dataclass(frozen=True)
class Column:
    """One column of the event: name, DuckDB type, rule for its values, nullability.

    Parameters
    ----------
    name : str
        Column name.
    type : str
        DuckDB type (a key of ``_SQL_TYPES``); the Python and Arrow types follow from it.
    rule : Rule
        What a non-NULL value must be (Python check, SQL check, words).
    nullable : bool
        May be stored NULL (optional in the Event model, default None).
    default : object, optional
        For a column that is not nullable: the value when absent (Event default; ingest's
        value for an empty field). None: the Event model requires it.
    required : bool
        Every ingested row must carry it (the others may be absent: NULL, ``default``, or
        for ``event_id`` the content id ingest derives).
    """

    name: str
    type: str
    rule: Rule
    nullable: bool = True
    default: Any = None
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in _SQL_TYPES:
            raise ValueError(f"column {self.name}: type {self.type!r} not in {list(_SQL_TYPES)}")

    @property
    def python_type(self) -> type:
        """Python type of a value."""
        return _SQL_TYPES[self.type][0]

    @property
    def arrow(self) -> pa.Field:
        """The Arrow field."""
        return pa.field(self.name, _SQL_TYPES[self.type][1], nullable=self.nullable)

    def ddl(self) -> str:
        """``name TYPE [NOT NULL]`` of a ``CREATE TABLE``."""
        return f"{self.name} {self.type}" + ("" if self.nullable else " NOT NULL")

    def field(self, **info: Any) -> tuple[Any, Any]:
        """``(annotation, FieldInfo)`` of a pydantic model field (``info``: description…).

        A fixed vocabulary is a ``Literal``; any other rule an ``AfterValidator``.
        """
        rule = self.rule
        annotation: Any = (
            Literal[rule.values]
            if isinstance(rule, OneOf) and isinstance(rule.values, tuple)
            else Annotated[self.python_type, AfterValidator(rule.check)]
        )
        if self.nullable:
            return annotation | None, Field(None, **info)
        return annotation, Field(... if self.default is None else self.default, **info)


EVENT_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "VARCHAR", _OPAQUE_ID, nullable=False),
    Column("ts", "TIMESTAMPTZ", Timestamp(), nullable=False, required=True),
    Column(
        "tool",
        "VARCHAR",
        OneOf(tool_ids, lambda ids: "a registered tool: " + " | ".join(ids)),
        nullable=False,
        required=True,
    ),
    Column("device", "VARCHAR", OneOf(DEVICES), nullable=False, default="unknown"),
    Column(
        "country",
        "VARCHAR",
        OneOf(country_codes, lambda codes: "an ISO 3166-1 alpha-2 code or ZZ"),
        nullable=False,
        default=UNKNOWN_COUNTRY,
    ),
    Column("visitor", "VARCHAR", _OPAQUE_ID),
    Column("session", "VARCHAR", _OPAQUE_ID),
    Column("venue", "VARCHAR", OneOf(venues)),
    Column(
        "symbol",
        "VARCHAR",
        OneOf(symbols, lambda assets: "an allow-listed base asset (" + ", ".join(assets) + ")"),
    ),
    Column("side", "VARCHAR", OneOf(SIDES)),
    Column("margin_mode", "VARCHAR", OneOf(MARGIN_MODES)),
    Column("leverage", "SMALLINT", Edges(LEVERAGE_EDGES, "leverage")),
    Column("notional_bucket", "BIGINT", Edges(NOTIONAL_EDGES, "notional")),
    Column("country_source", "VARCHAR", OneOf(COUNTRY_SOURCES)),
    Column("seq", "SMALLINT", Between(0, SEQ_MAX, "a per-tab calculation counter")),
)
"""The canonical event, in canonical column order (ingest accepts any order; export writes
this one). Never IPs, User-Agents, prices, balances, exact sizes or free text."""


def column(name: str, columns: tuple[Column, ...] = EVENT_COLUMNS) -> Column:
    """The declared column ``name`` (KeyError if there is none)."""
    for declared in columns:
        if declared.name == name:
            return declared
    raise KeyError(name)


def arrow_schema(columns: tuple[Column, ...] = EVENT_COLUMNS) -> pa.Schema:
    """The Arrow schema of ``columns`` (the sinks' batch format, the Parquet files)."""
    return pa.schema([declared.arrow for declared in columns])


def create_table_sql(table: str = "events", columns: tuple[Column, ...] = EVENT_COLUMNS) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of ``columns`` in DuckDB."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        + ", ".join(declared.ddl() for declared in columns)
        + ")"
    )


COLUMNS: tuple[str, ...] = tuple(declared.name for declared in EVENT_COLUMNS)
"""Canonical column order (ingest accepts any order; export writes this one)."""

DUCKDB_TYPES: dict[str, str] = {declared.name: declared.type for declared in EVENT_COLUMNS}
"""Column → DuckDB type."""

ARROW_SCHEMA: pa.Schema = arrow_schema()

REQUIRED: tuple[str, ...] = tuple(declared.name for declared in EVENT_COLUMNS if declared.required)
"""Columns every ingested row must carry; the others may be absent (see docs)."""
