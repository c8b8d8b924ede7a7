"""The canonical event: columns, allow-lists, bucket edges (documented in the module)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from marginscope.errors import InputError
from marginscope.telemetry import schema
from marginscope.telemetry.ingest_checks import row_checks
from marginscope.telemetry.schema import (
    ARROW_SCHEMA,
    COLUMNS,
    DUCKDB_TYPES,
    Event,
    leverage_bucket,
    normalize_symbol,
    normalize_venue,
    notional_bucket,
)


def test_columns_types_and_arrow_schema_agree():
    assert tuple(ARROW_SCHEMA.names) == COLUMNS
    assert set(DUCKDB_TYPES) == set(COLUMNS)
    assert ARROW_SCHEMA.field("ts").type == pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize(("leverage", "bucket"), [
    (0.5, 1), (1, 1), (1.9, 1), (2, 2), (7.5, 5), (10, 10), (20, 20), (33, 25), (50, 50),
    (99.9, 75), (100, 100), (125, 125), (200, 125),
])
def test_leverage_is_floored_to_the_documented_edges(leverage, bucket):
    assert leverage_bucket(leverage) == bucket


@pytest.mark.parametrize(("notional", "bucket"), [
    (0, 0), (9.99, 0), (10, 10), (29.9, 10), (30, 30), (999, 300), (1_000, 1_000),
    (5_234.17, 3_000), (99_999, 30_000), (2_500_000, 1_000_000), (1e9, 10_000_000),
])
def test_notional_falls_in_half_decade_log_buckets(notional, bucket):
    assert notional_bucket(notional) == bucket


def test_buckets_are_vectorized_with_the_same_answers():
    values = np.array([0.5, 7.5, 33, 200])
    assert leverage_bucket(values).tolist() == [leverage_bucket(v) for v in values]


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf")])
def test_unusable_leverage_is_an_input_error_naming_the_field(bad):
    with pytest.raises(InputError) as raised:
        leverage_bucket(bad)
    assert raised.value.field == "leverage"


def test_negative_notional_is_an_input_error():
    with pytest.raises(InputError):
        notional_bucket(-1)


@pytest.mark.parametrize(("symbol", "base"), [
    ("BTCUSDT", "BTC"), ("BTC/USDT:USDT", "BTC"), ("BTC-USDT-SWAP", "BTC"),
    ("BTCUSD_PERP", "BTC"), ("XBTUSD", "BTC"), ("ethusdc", "ETH"), ("SOL", "SOL"),
    ("1000PEPEUSDT", "PEPE"), ("kPEPE", "PEPE"), ("DOGE-USD", "DOGE"),
    ("FOOBARUSDT", "OTHER"), ("ETHBTC", "ETH"),
])
def test_symbols_reduce_to_an_allow_listed_base_asset_or_other(symbol, base):
    assert normalize_symbol(symbol) == base


def test_unknown_venue_becomes_other():
    assert normalize_venue("Binance-USDM") == "binance-usdm"
    assert normalize_venue("some-dex") == "other"


def test_a_declared_calculator_is_a_valid_tool_and_a_bad_tool_id_is_refused():
    from dataclasses import replace

    from marginscope.calculators.base import REGISTRY, TOOLS, register

    base = REGISTRY["compounding"]
    assert "synthetic_test_tool" not in schema.tool_ids()
    try:
        register(replace(base, name="synthetic-test", tool="synthetic_test_tool"))
        assert "synthetic_test_tool" in schema.tool_ids()
        Event(event_id="synthetic-1", ts=datetime(2025, 11, 4, tzinfo=UTC),
              tool="synthetic_test_tool")
    finally:
        REGISTRY.pop("synthetic-test", None)
        TOOLS.pop("synthetic_test_tool", None)
    with pytest.raises(ValueError, match="tool id"):
        register(replace(base, name="not-a-tool", tool="Not A Tool"))
    assert "not-a-tool" not in REGISTRY


def test_event_keeps_ts_in_utc_and_rejects_naive_times():
    ts = datetime(2025, 11, 4, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    event = Event(event_id="synthetic-1", ts=ts, tool="leverage")
    assert event.ts == datetime(2025, 11, 4, 12, 0, tzinfo=UTC)
    assert event.device == "unknown" and event.country == "ZZ"
    with pytest.raises(ValidationError):
        Event(event_id="synthetic-1", ts=datetime(2025, 11, 4), tool="leverage")


@pytest.mark.parametrize(("field", "value"), [
    ("tool", "not_registered"), ("country", "XX"), ("device", "phone"),
    ("visitor", "203.0.113.7"), ("symbol", "BTCUSDT"), ("leverage", 7),
    ("notional_bucket", 5234), ("side", "buy"),
])
def test_event_refuses_values_outside_the_canonical_vocabulary(field, value):
    row = {"event_id": "synthetic-1", "ts": datetime(2025, 11, 4, tzinfo=UTC), "tool": "stops"}
    with pytest.raises(ValidationError):
        Event(**{**row, field: value})


def test_event_has_no_field_for_raw_request_data():
    with pytest.raises(ValidationError):
        Event(event_id="synthetic-1", ts=datetime(2025, 11, 4, tzinfo=UTC), tool="stops",
              user_agent="Mozilla/5.0")
    assert not {"ip", "client_ip", "user_agent", "price", "balance"} & set(COLUMNS)


def test_country_list_comes_from_the_tz_database():
    codes = schema.country_codes()
    assert {"US", "DE", "JP", "ZZ"} <= codes and "XX" not in codes and len(codes) > 240


# --- one declaration, every form ---------------------------------------------------------------


def _forms(columns):
    """The DuckDB table, Arrow schema, Event model and ingest checks built from ``columns``."""
    con = duckdb.connect()
    con.execute(schema.create_table_sql("events", columns))
    table = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'events'").fetchall())
    nullable = dict(con.execute("SELECT column_name, is_nullable = 'YES' FROM "
                                "information_schema.columns WHERE table_name = 'events'"
                                ).fetchall())
    con.close()
    return table, nullable, schema.arrow_schema(columns), schema.event_model(columns), \
        {name: (sql, allowed) for name, sql, allowed in row_checks(columns)}


_DUCKDB_NAMES = {"VARCHAR": "VARCHAR", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
                 "SMALLINT": "SMALLINT", "BIGINT": "BIGINT"}


def _assert_every_form_has_every_column(columns):
    table, nullable, arrow, model, checks = _forms(columns)
    names = tuple(c.name for c in columns)
    assert tuple(table) == tuple(arrow.names) == tuple(model.model_fields) == tuple(checks) \
        == names
    for declared in columns:
        assert table[declared.name] == _DUCKDB_NAMES[declared.type]
        assert nullable[declared.name] == declared.nullable == arrow.field(declared.name).nullable
        assert arrow.field(declared.name).type == declared.arrow.type
        field = model.model_fields[declared.name]
        assert field.is_required() == (not declared.nullable and declared.default is None)
        assert checks[declared.name][1].startswith(declared.rule.allowed())


def test_the_public_forms_are_the_declared_columns():
    _assert_every_form_has_every_column(schema.EVENT_COLUMNS)
    assert tuple(c.name for c in schema.EVENT_COLUMNS) == COLUMNS
    assert {c.name: c.type for c in schema.EVENT_COLUMNS} == DUCKDB_TYPES
    assert ARROW_SCHEMA.equals(schema.arrow_schema(schema.EVENT_COLUMNS))
    assert tuple(Event.model_fields) == COLUMNS
    assert schema.REQUIRED == ("ts", "tool")


def test_a_column_added_to_the_declaration_appears_in_every_form():
    extra = schema.Column("asset_class", "VARCHAR", schema.OneOf(("crypto", "forex")))
    columns = (*schema.EVENT_COLUMNS, extra)
    _assert_every_form_has_every_column(columns)
    model = schema.event_model(columns)
    row = {"event_id": "synthetic-1", "ts": datetime(2025, 11, 4, tzinfo=UTC), "tool": "stops"}
    assert model(**row, asset_class="forex").asset_class == "forex"
    with pytest.raises(ValidationError):
        model(**row, asset_class="stocks")
    sql, allowed = {name: (s, a) for name, s, a in row_checks(columns)}["asset_class"]
    assert allowed == "crypto | forex, or empty"
    assert _sql_flags(sql, "asset_class", ["crypto", "stocks", None]) == [False, True, False]


def _sql_flags(condition: str, name: str, values: list) -> list[bool]:
    """The check ``condition`` on rows holding ``values`` as text in column ``name`` (and the
    parsed ``<name>_v`` of a parsing rule)."""
    rule = schema.column(name).rule if name in COLUMNS else None
    parse = f", TRY_CAST(v AS {rule.parse}) AS {name}_v" if rule and rule.parse else ""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest(?) AS v, "
                "generate_subscripts(?, 1) AS i)", [values, values])
    flags = con.execute(f"SELECT coalesce({condition}, false) FROM (SELECT i, v AS {name}"
                        f"{parse} FROM t) ORDER BY i").fetchall()
    con.close()
    return [flag for (flag,) in flags]


_SAMPLES = {
    "event_id": ["synthetic-1", "a" * 64, "a" * 65, "203.0.113.7", "a:b", "id\n"],
    "ts": ["2025-11-04T10:00:00+00:00", "2025-11-04T12:00:00+02:00", "tomorrow"],
    "tool": ["stops", "leverage", "not_registered", "Stops"],
    "device": ["mobile", "unknown", "phone"],
    "country": ["US", "ZZ", "XX", "us"],
    "visitor": ["v1", "203.0.113.7"],
    "session": ["s-1", "a b"],
    "venue": ["bybit", "other", "my-broker", "Bybit"],
    "symbol": ["BTC", "OTHER", "BTCUSDT"],
    "side": ["long", "short", "buy"],
    "margin_mode": ["cross", "isolated", "Cross"],
    "leverage": ["20", "125", "7", "1000"],
    "notional_bucket": ["3000", "0", "5234", "20000000"],
    "country_source": ["header", "geoip", "time_zone", "ip", "Header"],
    "seq": ["0", "32767", "32768", "-1"],
}


@pytest.mark.parametrize("name", COLUMNS)
def test_the_event_model_and_ingest_sql_accept_the_same_values(name):
    """Each column's Python check (the Event model) and SQL check (ingest) agree, value by
    value: both are generated from the column's one rule."""
    assert set(_SAMPLES) == set(COLUMNS)
    base = {"event_id": "synthetic-1", "ts": datetime(2025, 11, 4, tzinfo=UTC), "tool": "stops"}
    python_type = schema.column(name).python_type
    refused = []
    for text in _SAMPLES[name]:
        value = datetime.fromisoformat(text) if python_type is datetime and text[0] == "2" \
            else python_type(text) if python_type is int else text
        try:
            Event(**{**base, name: value})
            refused.append(False)
        except ValidationError:
            refused.append(True)
    sql = {field: condition for field, condition, _ in row_checks()}[name]
    assert _sql_flags(sql, name, _SAMPLES[name]) == refused
    assert True in refused and False in refused  # each sample list tests both ways
