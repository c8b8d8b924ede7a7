"""One vocabulary: every tool id and venue id is defined once and read everywhere else.

Tool ids: the calculator declarations (``marginscope.calculators.TOOLS``). Venue ids: the risk
engine's venue registry (``marginscope.risk.venues.VENUES``). The synthetic-id rule:
``telemetry.schema.SYNTHETIC_ID_PREFIX`` / ``is_synthetic_id``.
"""

from __future__ import annotations

from marginscope.analytics.names import tool_name, tool_names
from marginscope.calculators import REGISTRY, TOOLS
from marginscope.market.exchanges import EXCHANGES
from marginscope.risk.venues import VENUES
from marginscope.sim import behaviour, inputs, mix, planted, population
from marginscope.telemetry import schema
from marginscope.web.explain import EXPLAIN
from marginscope.web.pages import FEATURED


def test_the_telemetry_allow_list_is_the_declared_tool_ids():
    declared = tuple(dict.fromkeys(c.tool for c in REGISTRY.values()))
    assert schema.tool_ids() == declared == tuple(TOOLS)
    assert len(declared) == len(set(declared))


def test_the_reports_tool_names_cover_exactly_the_declared_tools():
    assert set(tool_names()) == set(schema.tool_ids())
    assert tool_name("futures") == REGISTRY["pnl"].label == "futures P&L"
    assert tool_name("retired_tool") == "retired-tool"  # stored events of a tool since removed


def test_the_simulators_share_one_tool_mix_of_declared_tools():
    assert set(mix.TOOL_MIX) <= set(schema.tool_ids())
    assert behaviour.TOOL_MIX is planted.TOOL_MIX is mix.TOOL_MIX
    assert tuple(planted.Profile().tool_mix) == behaviour.TOOLS == mix.TOOLS
    assert abs(sum(mix.TOOL_MIX.values()) - 1.0) < 1e-12
    assert mix.TOOL_MIX["futures"] == 0.13  # behaviour.py's value (the demo's)
    assert {inputs.calculator_for(tool) for tool in mix.TOOLS} <= set(REGISTRY)
    assert all(REGISTRY[inputs.calculator_for(t)].tool == t for t in mix.TOOLS)


def test_simulated_event_fields_are_the_declarations_plus_one_stated_departure():
    for tool in mix.TOOLS:
        declared = frozenset().union(
            *(c.records.fields() for c in REGISTRY.values() if c.tool == tool)
        )
        assert mix.TOOL_FIELDS[tool] - declared == mix._ALSO.get(tool, frozenset()), tool


def test_telemetry_venues_are_the_risk_venues_and_other():
    assert schema.venues() == (*VENUES, schema.OTHER_VENUE)
    assert all(schema.normalize_venue(v) == v for v in VENUES)


def test_simulated_venues_are_risk_venues():
    for mapping in (population.VENUE_SHARES, planted.VENUE_MIX, inputs.BTC_SYMBOL):
        assert set(mapping) <= set(VENUES)


def test_market_exchanges_map_onto_risk_venues_or_none():
    assert all(e.venue is None or e.venue in VENUES for e in EXCHANGES.values())
    assert EXCHANGES["htx"].venue is None and EXCHANGES["deribit"].venue is None
    assert EXCHANGES["binance-usdm"].venue == "binance-usdm"
    assert "bitmex" in VENUES and "bitmex" not in {e.venue for e in EXCHANGES.values()}


def test_the_web_pages_per_calculator_tables_name_declared_calculators():
    assert set(EXPLAIN) <= set(REGISTRY)
    assert set(FEATURED) <= set(REGISTRY)


def test_simulated_event_ids_are_synthetic_and_live_ones_are_not():
    events = planted.planted_month(2, (), month="2025-11", scale=0.01).events
    ids = events.column("event_id").to_pylist()
    assert ids and all(schema.is_synthetic_id(i) for i in ids)
    assert not schema.is_synthetic_id(schema.new_event_id())
    assert schema.SYNTHETIC_ID_PREFIX == "syn-"
