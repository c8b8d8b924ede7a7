"""The named steps: validate → classify device → resolve country → hash visitor → drop raw
fields → enqueue, each drop typed and counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marginscope.telemetry.country import CountryResolver
from marginscope.telemetry.pipeline import STEPS, Drop, DropReason, Pipeline
from marginscope.telemetry.request import RequestMeta, resolve_client_ip
from marginscope.telemetry.salt import SaltStore
from marginscope.telemetry.schema import Event

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CONTEXT = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long",
           "margin_mode": "isolated", "leverage": 20, "notional": 5234.17,
           "entry_price": 97250.5, "quantity": 0.0538, "wallet_balance": 1200}


@pytest.fixture
def pipeline(tmp_path, clock) -> Pipeline:
    return Pipeline(SaltStore(tmp_path / "state", clock=clock), site="synthetic-site",
                    country=CountryResolver(header="CF-IPCountry"),
                    client_ip_header="X-Forwarded-For", clock=clock)


def test_steps_are_named_in_order():
    assert STEPS == ("validate", "classify_device", "resolve_country", "hash_visitor",
                     "budget", "drop_raw_fields", "enqueue")


def test_a_calculation_becomes_a_coarse_anonymized_event(pipeline):
    request = RequestMeta(headers={"User-Agent": IPHONE, "CF-IPCountry": "US"},
                          client_ip="198.51.100.20", time_zone="Europe/Berlin",
                          session="tab-1234")
    event = pipeline.process(request, "liquidation_price", CONTEXT)
    assert isinstance(event, Event)
    assert (event.tool, event.device, event.country) == ("liquidation_price", "mobile", "US")
    assert (event.venue, event.symbol, event.side, event.margin_mode) == (
        "binance-usdm", "BTC", "long", "isolated")
    assert (event.leverage, event.notional_bucket) == (20, 3000)
    assert event.visitor and len(event.visitor) == 16
    assert event.session and event.session != "tab-1234"
    assert event.ts == datetime(2025, 11, 4, 10, 30, tzinfo=UTC)
    stored = event.model_dump_json()
    for raw in ("198.51.100.20", IPHONE, "97250.5", "0.0538", "1200", "5234.17", "tab-1234"):
        assert raw not in stored


def test_same_person_same_day_same_visitor_next_day_another(pipeline, clock):
    request = {"headers": {"User-Agent": IPHONE}, "client_ip": "198.51.100.20"}
    first = pipeline.process(request, "stops").visitor
    assert pipeline.process(request, "margin_call").visitor == first
    clock.advance(days=1)
    assert pipeline.process(request, "stops").visitor != first


def test_forwarded_client_ip_is_used_when_the_header_is_trusted():
    headers = {"X-Forwarded-For": "203.0.113.9, 10.0.0.2"}
    assert resolve_client_ip(headers, "10.0.0.1", "X-Forwarded-For") == "203.0.113.9"
    assert resolve_client_ip(headers, "10.0.0.1", None) == "10.0.0.1"
    assert resolve_client_ip({"X-Forwarded-For": "junk"}, "10.0.0.1", "x-forwarded-for") == \
        "10.0.0.1"


def test_unknown_tool_is_dropped_and_counted(pipeline):
    drop = pipeline.process({"headers": {"User-Agent": IPHONE}}, "no_such_tool")
    assert drop == Drop("validate", DropReason.UNKNOWN_TOOL, "tool 'no_such_tool'")
    assert pipeline.drop_counts()["unknown_tool"] == 1


def test_crawler_is_dropped_as_bot_and_counted(pipeline):
    drop = pipeline.process({"headers": {"User-Agent": GOOGLEBOT}}, "leverage")
    assert isinstance(drop, Drop) and drop.reason is DropReason.BOT
    assert drop.step == "classify_device" and GOOGLEBOT not in drop.detail
    assert pipeline.stats()["dropped"]["bot"] == 1


@pytest.mark.parametrize(("key", "value"), [
    ("side", "sideways"), ("leverage", -2), ("leverage", "lots"), ("notional", float("nan")),
    ("margin_mode", "portfolio"),
])
def test_unusable_context_is_dropped_with_the_field_named(pipeline, key, value):
    drop = pipeline.process({"headers": {}}, "leverage", {**CONTEXT, key: value})
    assert drop.reason is DropReason.INVALID_CONTEXT and drop.detail == key


def test_missing_context_and_headers_still_give_an_event(pipeline):
    event = pipeline.process({}, "funding_rate")
    assert (event.device, event.country, event.visitor, event.venue) == (
        "unknown", "ZZ", None, None)


def test_counts_add_up(pipeline):
    for tool in ("stops", "nope", "leverage"):
        pipeline.process({"headers": {"User-Agent": IPHONE}}, tool)
    stats = pipeline.stats()
    assert stats["processed"] == 3 and stats["events"] == 2
    assert sum(stats["dropped"].values()) == 1


def test_record_without_a_writer_is_a_programming_error(pipeline):
    with pytest.raises(RuntimeError):
        pipeline.record({}, "stops")
