"""The request path's shortcuts give what the long way gives: ``built_event`` is
``Event.model_construct``'s event, and ``LowerCaseHeaders`` read like any header mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marginscope.telemetry.request import LowerCaseHeaders, header_value
from marginscope.telemetry.schema import (
    COLUMNS,
    Event,
    built_event,
    leverage_bucket,
    notional_bucket,
)

FIELDS = {
    "event_id": "0" * 32,
    "ts": datetime(2026, 12, 6, 15, 0, tzinfo=UTC),
    "tool": "liquidation_price",
    "device": "desktop",
    "country": "DE",
    "country_source": "header",
    "visitor": "a" * 16,
    "session": None,
    "venue": "binance-usdm",
    "symbol": "BTC",
    "side": "long",
    "margin_mode": "cross",
    "leverage": leverage_bucket(20.0),
    "notional_bucket": notional_bucket(5_000.0),
    "seq": None,
}


def test_built_event_is_the_constructed_event():
    assert set(FIELDS) == set(COLUMNS)  # every column given, as the pipeline gives them
    built, constructed = built_event(**FIELDS), Event.model_construct(**FIELDS)
    assert built == constructed
    assert built.model_dump() == constructed.model_dump()
    assert built.model_fields_set == constructed.model_fields_set == set(COLUMNS)
    with pytest.raises(ValueError, match="frozen"):
        built.tool = "pnl"  # type: ignore[misc]


def test_built_event_wants_every_field():
    with pytest.raises(TypeError, match="exactly the fields"):
        built_event(**{k: v for k, v in FIELDS.items() if k != "session"})
    with pytest.raises(TypeError, match="exactly the fields"):
        built_event(**FIELDS, extra=1)


@pytest.mark.parametrize(
    "name", ["User-Agent", "user-agent", "Sec-CH-UA-Mobile", "CF-IPCountry", "X-Absent"]
)
def test_lower_case_headers_read_as_a_plain_mapping(name):
    raw = {"user-agent": " Mozilla/5.0 ", "sec-ch-ua-mobile": "?0", "cf-ipcountry": "DE"}
    assert header_value(LowerCaseHeaders(raw), name) == header_value(dict(raw), name)
