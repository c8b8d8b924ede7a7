"""The spot, forex, stock and CFD calculators: declared once, run from the registry and the CLI,
bad input named, and any request the schema admits answered or refused cleanly (the API fuzz
contract: an answer or a 422, never a 500)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from marginscope.calculators import REGISTRY
from marginscope.cli import main
from marginscope.errors import InputError

SUITE = {
    "spot-pnl": ("spot_pnl", "crypto_spot"),
    "spot-average": ("spot_average", "crypto_spot"),
    "market-cap": ("market_cap", "crypto_spot"),
    "staking": ("staking_yield", "crypto_spot"),
    "forex-pip-value": ("forex_pip_value", "forex"),
    "forex-position-size": ("forex_position_size", "forex"),
    "forex-margin": ("forex_margin", "forex"),
    "forex-spread": ("forex_spread", "forex"),
    "compounding": ("compounding", "forex"),
    "stock-profit": ("stock_profit", "stocks"),
    "stock-average-down": ("stock_average_down", "stocks"),
    "short-sale": ("short_sale", "stocks"),
    "cfd-margin": ("cfd_margin", "cfd"),
    "cfd-financing": ("cfd_financing", "cfd"),
    "cfd-pnl": ("cfd_pnl", "cfd"),
    "cfd-stops": ("cfd_stops", "cfd"),
}

# one bad request per calculator, and the field its error must name
BAD = {
    "spot-pnl": ({"qty": 1, "investment": 100, "entry_price": 1, "exit_price": 2}, "investment"),
    "spot-average": ({"buys": [{"price": 10}]}, "buys[0].qty"),
    "market-cap": ({"circulating_supply": 1e6}, "price"),
    "staking": ({"tokens": 10, "apr": 0.05, "apy": 0.05}, "apy"),
    "forex-pip-value": ({"pair": "EUR/JPY", "price": 160, "account_currency": "GBP"},
                        "conversion_rate"),
    "forex-position-size": ({"pair": "EUR/USD", "price": 1.1, "balance": 1000,
                             "risk_fraction": 2, "stop_pips": 20}, "risk_fraction"),
    "forex-margin": ({"pair": "EURO/USD", "price": 1.1}, "pair"),
    "forex-spread": ({"pair": "EUR/USD", "bid": 1.1, "ask": 1.09}, "ask"),
    "compounding": ({"balance": 1000, "rate_per_period": 0.01, "periods": 0}, "periods"),
    "stock-profit": ({"buy_price": 10, "sell_price": 11}, "shares"),
    "stock-average-down": ({"shares": 100, "average_cost": 50, "buy_price": 40,
                            "target_average": 39}, "target_average"),
    "short-sale": ({"shares": 100, "short_price": 10, "cover_price": 9, "day_count": 364},
                   "day_count"),
    "cfd-margin": ({"size": 1, "price": 100}, "margin_rate"),
    "cfd-financing": ({"side": "long", "size": 1, "price": 100, "admin_fee": 0.03},
                      "benchmark_rate"),
    "cfd-pnl": ({"side": "up", "size": 1, "entry_price": 1, "exit_price": 2}, "side"),
    "cfd-stops": ({"side": "long", "entry_price": 100, "size": 1, "stop_loss": 110},
                  "stop_loss"),
}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_every_asset_class_calculator_is_registered_under_its_own_tool_id():
    assert set(SUITE) <= set(REGISTRY)
    for name, (tool, asset_class) in SUITE.items():
        assert (REGISTRY[name].tool, REGISTRY[name].asset_class) == (tool, asset_class)
    others = {c.tool for n, c in REGISTRY.items() if n not in SUITE}
    tools = [tool for tool, _ in SUITE.values()]
    assert len(set(tools)) == len(tools) and not set(tools) & others


@pytest.mark.parametrize("name", sorted(SUITE))
def test_the_example_runs_and_answers_strict_json(name):
    result = REGISTRY[name].run(REGISTRY[name].example)
    assert result
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize("name", sorted(SUITE))
def test_bad_input_is_an_input_error_naming_the_field(name):
    payload, field = BAD[name]
    with pytest.raises(InputError) as info:
        REGISTRY[name].run(payload)
    assert info.value.field == field


@pytest.mark.parametrize("name", sorted(SUITE))
def test_unknown_fields_are_refused(name):
    with pytest.raises(InputError) as info:
        REGISTRY[name].run({**REGISTRY[name].example, "levrage": 10})
    assert info.value.field == "levrage"


@pytest.mark.parametrize("name", sorted(SUITE))
def test_the_cli_answers_the_example_as_json(capsys, tmp_path, name):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(REGISTRY[name].example))
    code, out, _ = run_cli(capsys, "calc", name, "--input", str(request), "--json")
    assert code == 0
    assert json.loads(out) == REGISTRY[name].run(REGISTRY[name].example)


@pytest.mark.parametrize("name", sorted(SUITE))
def test_the_cli_refuses_bad_input_in_one_line_with_code_2(capsys, tmp_path, name):
    payload, field = BAD[name]
    request = tmp_path / "request.json"
    request.write_text(json.dumps(payload))
    code, out, err = run_cli(capsys, "calc", name, "--input", str(request), "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {field}")


def test_cli_flags_reach_the_engine(capsys):
    # Babypips: USD/JPY 119.80, 1 lot, USD account → about $8.35 a pip
    code, out, _ = run_cli(capsys, "calc", "forex-pip-value", "--pair", "USD/JPY", "--price",
                           "119.80", "--lots", "1", "--json")
    assert code == 0
    assert json.loads(out)["pip_value"] == pytest.approx(1000 / 119.80)
    code, out, _ = run_cli(capsys, "calc", "cfd-financing", "--side", "short", "--size", "2",
                           "--contract-value", "100", "--price", "6957", "--admin-fee", "0.025",
                           "--benchmark-rate", "0.0153", "--day-count", "360", "--json")
    assert code == 0
    assert json.loads(out)["per_night"] == pytest.approx(37.49, abs=0.005)  # IG example


def test_forex_margin_defaults_to_the_esma_limit_of_the_pair():
    major = REGISTRY["forex-margin"].run({"pair": "EUR/USD", "price": 1.175, "lots": 1})
    minor = REGISTRY["forex-margin"].run({"pair": "AUD/USD", "price": 0.65, "lots": 1})
    assert major["leverage"] == 30 and major["margin"] == pytest.approx(117500 / 30)
    assert minor["leverage"] == 20 and minor["esma_max_leverage"] == 20
    over = REGISTRY["forex-margin"].run({"pair": "AUD/USD", "price": 0.65, "leverage": 50})
    assert over["within_esma_limit"] is False


def test_cfd_stops_sizes_the_position_from_the_risk_amount():
    out = REGISTRY["cfd-stops"].run({"side": "long", "entry_price": 10059, "stop_points": 45,
                                     "risk_amount": 225, "risk_reward": 2})
    assert out["size"] == pytest.approx(5.0)       # IG oil example: £5/pt, 45 points
    assert out["stop_loss"] == pytest.approx(10014.0)
    assert out["take_profit"] == pytest.approx(10059 + 90)
    assert out["risk_reward"] == pytest.approx(2.0)


# ---- fuzz: any request the JSON schema admits gets an answer or an InputError ---------------

def _strategy(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy:
    if "$ref" in schema:
        return _strategy(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([_strategy(option, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", schema.get("exclusiveMinimum", -10**6 - 1) + 1),
                           schema.get("maximum", 10**6))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1e15))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 1e15))
        floats = st.floats(low, high, exclude_min="exclusiveMinimum" in schema,
                           exclude_max="exclusiveMaximum" in schema, allow_nan=False)
        edges = [v for v in (low, high, 1.0, 1e-9 + max(low, 0)) if low <= v <= high
                 and not (v == low and "exclusiveMinimum" in schema)
                 and not (v == high and "exclusiveMaximum" in schema)]
        return st.one_of(floats, st.sampled_from(edges)) if edges else floats
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda text: len(text) <= schema.get("maxLength", 1000))
        return st.text(max_size=schema.get("maxLength", 20))
    if kind == "array":
        return st.lists(_strategy(schema["items"], defs), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        return _object(schema, defs)
    raise AssertionError(f"no strategy for {schema}")


def _object(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy:
    required = set(schema.get("required", ()))
    fields = {name: _strategy(sub, defs) for name, sub in schema["properties"].items()}
    optional = sorted(set(fields) - required)

    @st.composite
    def build(draw):
        present = draw(st.sets(st.sampled_from(optional))) if optional else set()
        return {name: draw(fields[name]) for name in fields
                if name in required or name in present}
    return build()


def _request_strategy(name: str) -> st.SearchStrategy:
    schema = REGISTRY[name].model.model_json_schema()
    return _object(schema, schema.get("$defs", {}))


@pytest.mark.parametrize("name", sorted(SUITE))
def test_any_request_the_schema_admits_is_answered_or_refused_cleanly(name):
    calculator = REGISTRY[name]

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(payload=_request_strategy(name))
    def check(payload):
        try:
            # a silent inf or NaN (overflow, 0/0) is a failure, not a null in the answer
            with np.errstate(over="raise", divide="raise", invalid="raise"):
                result = calculator.run(payload)
        except InputError as exc:
            assert exc.field and exc.allowed
            json.dumps(exc.to_dict(), allow_nan=False)
            return
        json.dumps(result, allow_nan=False)  # strict JSON

    check()


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from(["long", "short"]), entry=st.floats(1.0, 1e5),
       stop_share=st.floats(0.001, 0.5), reward=st.floats(0.1, 10.0),
       risk=st.floats(1.0, 1e5), contract_value=st.sampled_from([1.0, 10.0, 100.0]),
       point_size=st.sampled_from([1.0, 0.01, 0.0001]))
def test_cfd_stops_from_a_risk_budget_lose_the_budget_and_target_the_multiple(
        side, entry, stop_share, reward, risk, contract_value, point_size):
    assume(side == "long" or stop_share * reward < 0.99)  # a short's target must stay above 0
    stop = entry * (1 - stop_share) if side == "long" else entry * (1 + stop_share)
    out = REGISTRY["cfd-stops"].run({
        "side": side, "entry_price": entry, "stop_loss": stop, "risk_amount": risk,
        "risk_reward": reward, "contract_value": contract_value, "point_size": point_size})
    assert out["risk_amount"] == pytest.approx(risk, rel=1e-9)
    assert out["reward_amount"] == pytest.approx(reward * risk, rel=1e-9)
    assert out["risk_reward"] == pytest.approx(reward, rel=1e-9)
    loss = REGISTRY["cfd-pnl"].run({"side": side, "size": out["size"], "entry_price": entry,
                                    "exit_price": stop, "contract_value": contract_value,
                                    "point_size": point_size})
    assert loss["gross_pnl"] == pytest.approx(-risk, rel=1e-9)
