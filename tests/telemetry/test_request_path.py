"""The request path's shortcuts give what the long way gives: ``built_event`` is
``Event.model_construct``'s event, ``LowerCaseHeaders`` read like any header mapping, and the
row the pipeline hands the server's writer is the wire row of the event it stands for."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marginscope.telemetry.frames import wire_row_of
from marginscope.telemetry.pipeline import Drop, Pipeline
from marginscope.telemetry.request import LowerCaseHeaders, RequestMeta, header_value
from marginscope.telemetry.salt import SaltStore
from marginscope.telemetry.schema import (
    COLUMNS,
    Event,
    built_event,
    leverage_bucket,
    notional_bucket,
    tool_ids,
    wire_row,
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


class _RowWriter:
    """Keeps what the pipeline hands over: rows (``record_row``) or events (``record``)."""

    def __init__(self, rows: bool) -> None:
        self.handed: list = []
        if rows:
            self.record_row = self._keep

    def _keep(self, item):
        self.handed.append(item)
        done = Future()
        done.set_result(None)
        return done

    record = _keep


@settings(max_examples=80, deadline=None)
@given(
    tool=st.sampled_from(sorted(tool_ids())),
    venue=st.sampled_from(["binance-usdm", "okx", "bybit", "hyperliquid", "nowhere", None]),
    symbol=st.sampled_from(["BTCUSDT", "ETH/USDT:USDT", "1000PEPEUSDT", "ZZZ", None]),
    side=st.sampled_from(["long", "short", "buy", None]),
    margin_mode=st.sampled_from(["isolated", "cross", None]),
    leverage=st.one_of(st.none(), st.floats(0.01, 500)),
    notional=st.one_of(st.none(), st.floats(0, 1e9)),
    user_agent=st.sampled_from(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131", None]),
    ip=st.sampled_from(["203.0.113.7", "2001:db8::1", None]),
    session=st.sampled_from(["tab-1234", None]),
)
def test_the_row_handed_over_is_the_wire_row_of_the_event(
    tmp_path_factory, tool, venue, symbol, side, margin_mode, leverage, notional, user_agent,
    ip, session
):
    """``Pipeline.record`` hands a writer with ``record_row`` exactly
    ``wire_row(event)`` of the event it would otherwise hand over (same salt and clock, the
    random event id aside), and ``wire_row_of`` is ``wire_row`` of ``built_event``."""
    salts = SaltStore(tmp_path_factory.mktemp("salts"))
    now = datetime(2026, 12, 6, 15, 0, 7, 250_000, tzinfo=UTC)
    request = RequestMeta(headers={"user-agent": user_agent} if user_agent else {},
                          client_ip=ip, session=session)
    context = {"venue": venue, "symbol": symbol, "side": side, "margin_mode": margin_mode,
               "leverage": leverage, "notional": notional}
    handed = []
    for rows in (True, False):
        writer = _RowWriter(rows)
        pipeline = Pipeline(salts, writer=writer, clock=lambda: now)
        outcome = pipeline.record(request, tool, context)
        handed.append(None if isinstance(outcome, Drop) else writer.handed[0])
    as_row, as_event = handed
    if as_row is None:
        assert as_event is None
        return
    assert as_row[1:] == wire_row(as_event)[1:]  # the event id is random
    values = {**FIELDS, "ts": now}
    assert wire_row_of(values) == wire_row(built_event(**values))
