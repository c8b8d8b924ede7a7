"""Ingest's row checks: one vectorized DuckDB pass per file types every row and names its
first bad field (generated from the columns' rules), and derives the id of a row without one.

Policy: :mod:`.ingest` and docs/telemetry.md, "Ingest".
"""

from __future__ import annotations

import duckdb

from marginscope.telemetry.schema import (
    COLUMNS,
    EVENT_COLUMNS,
    Column,
    SqlSet,
    sql_list,
    sql_literal,
)

__all__ = ["KEY", "ROW_CONTENT", "row_checks", "set_tables", "validate_into"]

KEY = "event_id"  # the idempotency key: supplied ids are kept, absent ones derived (ROW_CONTENT)


_INLINE_MAX = 32
"""Allow-lists up to this long are inline SQL lists; longer ones (the ~250 country codes) a
temporary table, which DuckDB checks about 7× faster."""


def row_checks(
    columns: tuple[Column, ...] = EVENT_COLUMNS, in_set: SqlSet = sql_list
) -> list[tuple[str, str, str]]:
    """(field, SQL condition that makes a row bad, what is allowed), in column order.

    Generated from the columns' rules (:data:`~marginscope.telemetry.schema.EVENT_COLUMNS`).
    The condition reads the column's text (``NULL`` when absent or empty) and, for a rule
    that parses (timestamps, bucket edges), the parsed value ``<name>_v`` (``NULL`` when it
    does not parse). A required column is bad when absent; any other when present and not
    allowed. ``in_set`` writes a set of allowed values as SQL.
    """
    checks = []
    for declared in columns:
        rule = declared.rule
        value = f"{declared.name}_v" if rule.parse else declared.name
        broken = rule.sql(value, in_set)
        if declared.required:
            condition = " OR ".join(filter(None, (f"{value} IS NULL", broken)))
            suffix = "; required"
        else:
            bad = " OR ".join(filter(None, (f"{value} IS NULL" if rule.parse else None, broken)))
            condition = f"{declared.name} IS NOT NULL AND " + (f"({bad})" if rule.parse else bad)
            suffix = ", or empty"
        checks.append((declared.name, condition, rule.allowed() + suffix))
    return checks


def set_tables(con: duckdb.DuckDBPyConnection) -> SqlSet:
    """:data:`SqlSet` for this connection: short sets inline, long ones a temporary table."""
    tables: dict[tuple[object, ...], str] = {}

    def in_set(values: tuple[object, ...]) -> str:
        if len(values) <= _INLINE_MAX:
            return sql_list(values)
        if values not in tables:
            tables[values] = f"_ms_set_{len(tables)}"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {tables[values]} AS SELECT unnest(?) AS member",
                [list(values)],
            )
        return f"(SELECT member FROM {tables[values]})"

    return in_set


def validate_into(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    file_index: int,
    checks: list[tuple[str, str, str]],
) -> None:
    """Append the file's rows, typed, with the first bad field of each row, to ``_ms_checked``.

    Text columns are read as text (empty is NULL); columns whose rule parses keep their type
    (Parquet) and are parsed into ``<name>_v`` for :func:`row_checks`, then cast to the
    stored type. A column with a default takes it when NULL.
    """
    types = dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall()
    )

    def raw(declared: Column) -> str:
        if types.get(declared.name) == "VARCHAR":
            return f"NULLIF({declared.name}, '')"
        return declared.name if declared.rule.parse else f"CAST({declared.name} AS VARCHAR)"

    def stored(declared: Column) -> str:
        value = (
            f"TRY_CAST({declared.name}_v AS {declared.type})"
            if declared.rule.parse
            else declared.name
        )
        if declared.default is not None:
            value = f"coalesce({value}, {sql_literal(declared.default)})"
        return f"{value} AS {declared.name}"

    read = [f"{raw(c)} AS {c.name}" for c in EVENT_COLUMNS] + [
        f"TRY_CAST({raw(c)} AS {c.rule.parse}) AS {c.name}_v" for c in EVENT_COLUMNS if c.rule.parse
    ]
    which = " ".join(f"WHEN {condition} THEN '{name}'" for name, condition, _ in checks)
    value = " ".join(f"WHEN '{name}' THEN CAST({name} AS VARCHAR)" for name, _, _ in checks)
    con.execute(f"""
        INSERT INTO _ms_checked
        SELECT file, line, err_field, err_value,
               coalesce(supplied_id, md5(concat_ws(chr(31), {ROW_CONTENT}, '1'))) AS {KEY},
               {", ".join(c for c in COLUMNS if c != KEY)}, supplied_id IS NULL AS derived
        FROM (
          SELECT {file_index} AS file, line, err_field,
            left(CASE WHEN err_field = 'row' THEN malformed
                      ELSE CASE err_field {value} END END, 120) AS err_value,
            {KEY} AS supplied_id,
            {", ".join(stored(c) for c in EVENT_COLUMNS if c.name != KEY)}
          FROM (
            SELECT *, CASE WHEN malformed IS NOT NULL THEN 'row' {which} END AS err_field
            FROM (SELECT line, malformed, {", ".join(read)} FROM {relation})))""")


ROW_CONTENT = "epoch_us(ts), " + ", ".join(
    f"coalesce(CAST({c} AS VARCHAR), '')" for c in COLUMNS[2:]
)
"""The canonical content of a row, joined by U+001F with ``k``: the input of a derived id."""
