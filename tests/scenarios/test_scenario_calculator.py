"""The ``scenario`` and ``margin-plan`` calculators: the November 2025 replay through the
declaration the CLI and the API share, scripted paths, and input that must never crash.

November expectations come from ``november_case`` (conftest.py): the CSV rows replayed with
scalar arithmetic and the shipped bracket, independent of the library.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginscope import risk
from marginscope.calculators import REGISTRY
from marginscope.errors import InputError
from marginscope.scenarios import EnginePosition, first_passage_probability, margin_plan

SCENARIO = REGISTRY["scenario"]
PLAN = REGISTRY["margin-plan"]
NOVEMBER_LONG = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": 0.1,
                 "leverage": 10}
SERIES_KEYS = {"time", "close", "equity", "margin_ratio", "liquidation_price",
               "funding_paid_cumulative"}


def later(iso: str, hours: float) -> str:
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")) + timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_november_replay_reports_when_the_10x_long_was_liquidated(november_case):
    expected = november_case.expected()
    out = SCENARIO.run(NOVEMBER_LONG)
    s = out["summary"]
    assert out["position"]["entry"] == november_case.entry  # opened at the Nov 1 open
    assert out["position"]["margin"] == pytest.approx(november_case.margin, rel=1e-15)
    assert s["liquidated"] is True
    assert s["liquidation_time"] == expected["time"] == "2025-11-04T20:00:00Z"
    assert s["liquidation_bar_end"] == later(expected["time"], 4)
    assert s["liquidation_price"] == pytest.approx(expected["price"], rel=1e-12)
    assert s["funding_paid"] == pytest.approx(expected["funding"], rel=1e-12)
    assert s["net_cost"] == pytest.approx(november_case.margin) and s["final_equity"] == 0.0
    assert s["margin_currency"] == "USDT"
    assert len(out["series"]) == expected["bar"] + 1
    assert out["path"]["kind"] == "real" and "Binance" in out["path"]["description"]


def test_november_replay_with_the_stated_top_up_plan_survives_at_its_cost(november_case):
    plan = (1_000.0, 0.8, 2)
    expected = november_case.expected(plan)
    out = SCENARIO.run({**NOVEMBER_LONG, "add": plan[0], "at_margin_ratio": plan[1],
                        "max_times": plan[2]})
    s = out["summary"]
    assert s["liquidated"] is False and not expected["liquidated"]
    assert [(t["time"], t["price"]) for t in s["top_ups"]] == [
        (t, pytest.approx(p, rel=1e-12)) for t, p in expected["top_ups"]]
    assert s["margin_added"] == 2_000.0
    assert s["funding_paid"] == pytest.approx(expected["funding"], rel=1e-12)
    assert s["final_equity"] == pytest.approx(expected["equity"], rel=1e-12)
    assert s["final_price"] == expected["close"]
    cost = november_case.margin + 2_000.0 - expected["equity"]
    assert s["net_cost"] == pytest.approx(cost, rel=1e-12)
    assert s["net_pnl"] == pytest.approx(-cost, rel=1e-12)
    assert len(out["series"]) == len(november_case.klines)


def test_series_rows_carry_the_engines_liquidation_price_for_the_margin_held(november_case):
    out = SCENARIO.run({**NOVEMBER_LONG, "add": 1_000.0, "max_times": 2})
    position = EnginePosition.open(symbol="BTCUSDT", side="long", qty=0.1,
                                   entry=november_case.entry, leverage=10)
    rows = out["series"]
    assert set(rows[0]) >= SERIES_KEYS
    for row in rows:
        assert row["liquidation_price"] == pytest.approx(
            float(position.liquidation_price(row["margin"])), rel=1e-12)
        assert row["equity"] == pytest.approx(row["margin"] + 0.1 * (row["close"]
                                                                     - november_case.entry))
    assert rows[-1]["funding_paid_cumulative"] == pytest.approx(out["summary"]["funding_paid"])
    assert sum(r["top_up"] for r in rows) == out["summary"]["margin_added"]
    json.dumps(out, allow_nan=False)  # API-ready


def test_a_window_of_the_november_path_opens_at_its_first_bar(november_case):
    out = SCENARIO.run({**NOVEMBER_LONG, "start": "2025-11-10", "end": "2025-11-20"})
    first = next(r for r in november_case.klines if r["open_time_utc"] == "2025-11-10T00:00:00Z")
    assert out["position"]["entry"] == float(first["open"])
    assert out["series"][0]["time"] == "2025-11-10T00:00:00Z"
    assert out["path"]["end"] <= "2025-11-20T00:00:00Z"


def test_a_scripted_crash_liquidates_a_10x_long_at_the_closed_form_price():
    out = SCENARIO.run({"venue": "generic", "mmr": 0.004, "side": "long", "qty": 1.0,
                        "leverage": 10, "path": "-10%/4h, 0%/1d", "start_price": 100_000.0})
    s = out["summary"]
    # LP = E·(1 − 1/L)/(1 − MMR) (Binance FAQ with cum = 0)
    assert s["liquidation_price"] == pytest.approx(100_000 * 0.9 / 0.996, rel=1e-12)
    assert out["path"]["kind"] == "scripted" and s["funding_prints"] == 0
    assert out["position"]["entry"] == 100_000.0


def test_a_short_on_the_same_crash_gains_and_receives_constant_funding():
    out = SCENARIO.run({"venue": "generic", "mmr": 0.004, "side": "short", "qty": 1.0,
                        "leverage": 10, "path": "-10%/4h, 0%/2d", "start_price": 100_000.0,
                        "funding": "constant", "funding_rate": 0.0001})
    s = out["summary"]
    # prints at 08:00, 16:00, 00:00 … after the open, all at 90,000: each −1·90,000·0.0001
    assert s["funding_prints"] == 6
    assert s["funding_paid"] == pytest.approx(-6 * 9.0)
    assert s["final_equity"] == pytest.approx(10_000.0 + 10_000.0 + 54.0)


def test_an_inverse_position_replays_in_coin_with_the_engines_liquidation_price():
    request = {"venue": "binance-coinm", "mmr": 0.004, "contract_size": 100.0, "side": "long",
               "qty": 10, "leverage": 10, "funding": "none"}
    out = SCENARIO.run(request)
    entry = out["position"]["entry"]
    lp = float(risk.liquidation_price("binance-coinm", "long", 10, entry, leverage=10,
                                      mmr=0.004, contract_size=100.0))
    assert out["summary"]["margin_currency"] == "coin"
    assert out["summary"]["initial_liquidation_price"] == pytest.approx(lp, rel=1e-12)
    assert out["summary"]["liquidated"] and out["summary"]["liquidation_price"] == pytest.approx(lp)


@pytest.mark.parametrize(("changes", "field"), [
    ({"path": "sideways"}, "path"),
    ({"path": "-10%/4h", "start_price": None}, "start_price"),
    ({"path": "0%/300d", "start_price": 100.0}, "path"),
    ({"path": "-10%/90m", "start_price": 100.0}, "path"),
    ({"path": "-100%/4h", "start_price": 100.0}, "path"),
    ({"path": "+1e300%/4h", "start_price": 100.0}, "path"),
    ({"path": "-10%/4h", "start_price": 100.0, "start": "2025-11-02"}, "start"),
    ({"symbol": "ETHUSDT"}, "symbol"),
    ({"start_price": 90_000.0}, "start_price"),
    ({"start": "2025-11-20", "end": "2025-11-10"}, "end"),
    ({"start": "2025-12-20"}, "start"),
    ({"end": "2025-10-20"}, "end"),
    ({"start": "2025-13-45"}, "start"),
    ({"start": "tomorrow"}, "start"),
    ({"leverage": 200}, "leverage"),
    ({"leverage": None}, "margin"),
    ({"funding_rate": 0.5}, "funding_rate"),
    ({"qty": float("nan")}, "qty"),
    ({"at_margin_ratio": 1.0}, "at_margin_ratio"),
    ({"max_times": 0}, "max_times"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_scenario_input_is_an_input_error_naming_the_field(changes, field):
    request = {**NOVEMBER_LONG, **changes}
    with pytest.raises(InputError) as err:
        SCENARIO.run({k: v for k, v in request.items() if v is not None})
    assert err.value.field == field


def test_margin_plan_calculator_is_the_library_plan_on_the_engine_position():
    out = PLAN.run(PLAN.example)
    ex = PLAN.example
    position = EnginePosition.open(symbol="BTCUSDT", side="long", qty=ex["qty"],
                                   entry=ex["entry_price"], leverage=ex["leverage"])
    direct = margin_plan(position, ex["entry_price"], ex["volatility"], ex["horizon_days"],
                         ex["target"])
    assert out["amount"] == pytest.approx(direct.amount, rel=1e-12)
    assert out["probability_before"] > ex["target"] >= out["probability_after"]
    # the probability at the new liquidation price is on target (closed form, independent call)
    p = first_passage_probability(ex["entry_price"], out["liquidation_price_after"],
                                  ex["volatility"], ex["horizon_days"])
    assert p == pytest.approx(ex["target"], abs=1e-4)
    assert out["position_before"]["margin"] + out["amount"] == pytest.approx(
        out["position_after"]["margin"])


def test_margin_plan_cut_and_monte_carlo_and_inverse():
    cut = PLAN.run({**PLAN.example, "action": "cut"})
    assert 0 < cut["fraction"] < 1 and cut["probability_after"] <= PLAN.example["target"]
    mc = PLAN.run({**PLAN.example, "method": "monte-carlo", "paths": 5_000, "steps": 30})
    assert mc["method"] == "monte_carlo" and mc["probability_after"] <= PLAN.example["target"]
    inverse = PLAN.run({"venue": "binance-coinm", "mmr": 0.004, "contract_size": 100.0,
                        "side": "short", "qty": 100, "entry_price": 90_000.0, "leverage": 20,
                        "volatility": 0.6, "horizon_days": 7, "target": 0.1})
    assert 0 < inverse["amount"] < 1  # coin
    assert inverse["probability_after"] <= 0.1


# ----------------------------------------------------------------------------------------------
# Fuzz: whatever the API receives, the answer is a result or an InputError (a 422), never a crash
# ----------------------------------------------------------------------------------------------
wild_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
    st.sampled_from([0, 1e-300, 1e300, -1, 0.5, 2, 10, 125, 1e12]), st.none(),
    st.text(max_size=4))
paths = st.one_of(st.sampled_from(["november-2025", "-10%/4h, 0%/4h", "+50%/1d", "-99%/1h",
                                   "0%/5m", "1e308%/1h", "-10%/4h;;", "/", "x/y"]),
                  st.text(max_size=12))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_scenario_requests_answer_or_raise_input_error(data):
    request = {"side": data.draw(st.sampled_from(["long", "short", "flat"])),
               "venue": data.draw(st.sampled_from(["binance-usdm", "generic", "bybit",
                                                   "binance-coinm", "nasdaq"])),
               "path": data.draw(paths)}
    for name in ("qty", "leverage", "margin", "mmr", "entry_price", "start_price",
                 "funding_rate", "add", "at_margin_ratio", "max_times", "contract_size"):
        if data.draw(st.booleans()):
            request[name] = data.draw(wild_numbers)
    for name, choices in (("symbol", ["BTCUSDT", "BTC", "ETHUSDT", ""]),
                          ("funding", ["november-2025", "constant", "none", "x"]),
                          ("bar", ["5m", "1h", "1d", "2h"]),
                          ("start", ["2025-11-10", "2025-11-30T20:00Z", "2026-01-01"])):
        if data.draw(st.booleans()):
            request[name] = data.draw(st.sampled_from(choices))
    try:
        out = SCENARIO.run(request)
    except InputError as exc:
        json.dumps(exc.to_dict(), allow_nan=False)
        return
    json.dumps(out, allow_nan=False)
    assert all(math.isfinite(r["close"]) for r in out["series"])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fuzzed_margin_plan_requests_answer_or_raise_input_error(data):
    request = {"symbol": "BTCUSDT", "side": data.draw(st.sampled_from(["long", "short"])),
               "action": data.draw(st.sampled_from(["top-up", "cut"]))}
    for name in ("qty", "entry_price", "mark_price", "leverage", "margin", "volatility",
                 "horizon_days", "target", "drift", "tolerance"):
        request[name] = data.draw(st.one_of(wild_numbers, st.floats(1e-6, 1e6)))
    try:
        out = PLAN.run(request)
    except InputError:
        return
    json.dumps(out, allow_nan=False)
