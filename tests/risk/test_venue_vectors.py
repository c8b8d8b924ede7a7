"""Every published worked example in venue_vectors.json, reproduced within its tolerance.

The vectors (copied from ../shared/reference/venue_vectors.json) carry their source and
provenance; each test below routes one calculation kind to the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marginscope import evaluate_account, risk
from marginscope.risk import average, funding, pnl
from marginscope.risk.account import cross_prices
from marginscope.risk.terms import resolve
from marginscope.risk.tiers import cum_from_rule, table_from_dict

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "venue_vectors.json").read_text())
KNOWN_DISAGREEMENTS = {"bybit-inverse-cross-long-liq"}


def close(actual, expected, tolerance) -> bool:
    return bool(np.isclose(actual, expected, rtol=tolerance.get("rel", 0.0),
                           atol=tolerance.get("abs", 0.0)))


def by_calc(*calcs):
    return [pytest.param(v, id=v["id"]) for v in VECTORS
            if v["calc"] in calcs and v["id"] not in KNOWN_DISAGREEMENTS]


def test_every_verified_vector_is_routed():
    routed = {p.id for p in by_calc("liquidation_price", "bracket_lookup", "maintenance_amount",
                                    "initial_margin", "maintenance_margin", "bankruptcy_price",
                                    "target_price", "avg_entry", "pnl", "funding")}
    verified = {v["id"] for v in VECTORS if v["verified"]}
    assert verified == routed
    assert len(VECTORS) == 75


def liquidation(v: dict, kind) -> float:
    i, venue = v["inputs"], v["venue"]
    if i.get("margin_mode") == "cross":
        return cross_liquidation(v, kind)
    if venue == "hyperliquid":
        return kind.out(risk.liquidation_price(
            venue, kind(i["side"]), kind(i["size"]), kind(i["entry_price"]),
            margin=kind(i["isolated_margin_or_account_value"]),
            max_leverage=kind(i["max_leverage"])))
    qty = i.get("qty", i.get("qty_base"))
    margin = i.get("isolated_wallet_balance", i.get("isolated_margin"))
    if margin is not None and i.get("extra_margin"):
        margin += i["extra_margin"]
    return kind.out(risk.liquidation_price(
        venue, kind(i["side"]), kind(qty), kind(i["entry_price"]), margin=kind(margin),
        leverage=None if margin is not None else kind(i["leverage"]), mmr=kind(i["mmr"]),
        maintenance_amount=kind(i.get("cum", i.get("mm_deduction"))),
        taker_fee=i.get("taker_fee")))


def cross_liquidation(v: dict, kind) -> float:
    """A cross vector through the calculator, and through :func:`risk.account.cross_prices`
    (the vector kind: the account repeated, one wallet each)."""
    i, venue = v["inputs"], v["venue"]
    positions = [{"symbol": i["symbol"], "side": i["side"], "qty": i["qty"],
                  "entry_price": i["entry_price"], "mmr": i["mmr"],
                  "maintenance_amount": i["cum"]}]
    positions += [{"symbol": o["symbol"], "side": o["side"], "qty": o["qty"],
                   "entry_price": o["entry_price"], "mark_price": o["mark_price"],
                   "mmr": o["mmr"], "maintenance_amount": o["cum"]}
                  for o in i["other_positions"]]
    account = evaluate_account({"venue": venue, "margin_mode": "cross",
                                "wallet_balance": i["wallet_balance"], "positions": positions})
    calculator = account["positions"][0]["liquidation_price"]
    repeat = 1 if kind.name != "vector" else 3
    terms = resolve(venue, mmr=np.tile([p["mmr"] for p in positions], repeat),
                    maintenance_amount=np.tile([p["maintenance_amount"] for p in positions],
                                               repeat))
    out = cross_prices(
        terms, np.tile([p["side"] for p in positions], repeat),
        np.tile([p["qty"] for p in positions], repeat),
        np.tile([p["entry_price"] for p in positions], repeat),
        np.tile([p.get("mark_price", p["entry_price"]) for p in positions], repeat),
        kind(i["wallet_balance"]), account=np.repeat(np.arange(repeat), len(positions)))
    first = out["liquidation_price"][::len(positions)]
    engine = kind.out(first if kind.name == "vector" else first[0])
    assert engine == pytest.approx(calculator, rel=1e-12)
    return engine


@pytest.mark.parametrize("v", by_calc("liquidation_price"))
def test_liquidation_price(v, kind):
    assert close(liquidation(v, kind), v["expected"]["liquidation_price"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("bracket_lookup"))
def test_bracket_lookup(v):
    i = v["inputs"]
    rows = [{"floor": t["notional_floor"], "cap": t["notional_cap"], "mmr": t["mmr"],
             "cum": t["cum"], "max_leverage": 1} for t in i["tiers"]]
    table = table_from_dict("binance-usdm", "test", {"tiers": rows})
    tier = table.tier_index(i["notional"])
    for key, expected in v["expected"].items():
        actual = {"mmr": table.mmr, "cum": table.cum}[key][tier]
        assert close(actual, expected, v["tolerance"])


@pytest.mark.parametrize("v", by_calc("maintenance_amount"))
def test_maintenance_amount_follows_the_cum_rule(v):
    i = v["inputs"]
    floor = i.get("floor_level_n", i.get("floor_level_5_btc"))
    mmr_prev = i.get("mmr_level_n_minus_1", i.get("mmr_level_4"))
    mmr = i.get("mmr_level_n", i.get("mmr_level_5"))
    cum_prev = i.get("cum_level_n_minus_1", i.get("cum_level_4"))
    # the rule applied to a two-tier table whose first tier carries the previous amount
    derived = cum_prev + cum_from_rule([0.0, floor], [mmr_prev, mmr])[1]
    assert close(derived, v["expected"]["cum"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("initial_margin"))
def test_initial_margin(v, kind):
    i, e = v["inputs"], v["expected"]
    if v["venue"] == "binance-usdm":
        long = pnl.cost_to_open("long", i["qty"], i["order_price"], i["mark_price"], i["leverage"])
        short = pnl.cost_to_open("short", i["qty"], i["order_price"], i["mark_price"],
                                 i["leverage"])
        # the page prints 462.66 for 462.665: truncation to the cent
        assert close(np.floor(long["initial_margin"] * 100) / 100, e["initial_margin"],
                     v["tolerance"])
        assert close(long["open_loss"], e["open_loss_long"], v["tolerance"])
        assert close(short["open_loss"], e["open_loss_short"], v["tolerance"])
    elif v["venue"] == "bybit":
        im = kind.out(risk.initial_margin(kind(i["contracts_usd"]), kind(i["order_price"]),
                                          kind(i["leverage"]), product="inverse"))
        assert close(im, e["initial_margin_btc"], v["tolerance"])
    else:  # BitMEX quanto: value = contracts × price × XBT multiplier
        value = i["contracts"] * i["price"] * i["xbt_multiplier_per_usd"]
        im = kind.out(risk.initial_margin(kind(i["contracts"]), kind(i["price"]),
                                          kind(i["leverage"]),
                                          contract_size=i["xbt_multiplier_per_usd"]))
        assert close(value, e["xbt_value"], v["tolerance"])
        assert close(im, e["initial_margin_xbt"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("maintenance_margin"))
def test_maintenance_margin(v, kind):
    i, e = v["inputs"], v["expected"]
    if v["venue"] == "binance-coinm":
        mm = kind.out(risk.maintenance_margin(
            "binance-coinm", kind(i["contracts"]), kind(i["mark_price"]), mmr=kind(i["mmr"]),
            maintenance_amount=kind(i["cum"]), contract_size=i["contract_size_usd"]))
        notional = i["contracts"] * i["contract_size_usd"] / i["mark_price"]
        assert close(notional, e["notional_coin"], v["tolerance"])
        assert close(mm, e["maintenance_margin"], v["tolerance"])
    elif "contracts_usd" in i:  # Bybit inverse UTA components, MM on the entry value
        mm = kind.out(risk.maintenance_margin(
            "bybit", kind(i["contracts_usd"]), kind(i["entry_price"]), mmr=kind(i["mmr"]),
            maintenance_amount=kind(i["mm_deduction"]), product="inverse"))
        im = risk.initial_margin(i["contracts_usd"], i["entry_price"], i["leverage"],
                                 product="inverse")
        assert close(i["contracts_usd"] / i["entry_price"], e["position_value_btc"],
                     v["tolerance"])
        assert close(im, e["initial_margin_btc"], v["tolerance"])
        assert close(mm, e["maintenance_margin_btc"], v["tolerance"])
    else:
        mm = kind.out(risk.maintenance_margin("bybit", kind(i["qty"]), kind(i["entry_price"]),
                                              mmr=kind(i["mmr"])))
        im = kind.out(risk.initial_margin(kind(i["qty"]), kind(i["entry_price"]),
                                          kind(i["leverage"])))
        assert close(im, e["initial_margin"], v["tolerance"])
        assert close(mm, e["maintenance_margin"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("bankruptcy_price"))
def test_bankruptcy_price(v, kind):
    i = v["inputs"]
    bp = kind.out(risk.bankruptcy_price(v["venue"], kind(i["side"]), kind(1.0),
                                        kind(i["entry_price"]), leverage=kind(i["leverage"])))
    assert close(bp, v["expected"]["bankruptcy_price"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("target_price"))
def test_target_price(v):
    i = v["inputs"]
    price = pnl.exit_price_for_roe(i["side"], i["entry_price"], i["leverage"], i["target_roe"],
                                   product="inverse")
    assert close(price, v["expected"]["target_price"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("avg_entry"))
def test_average_entry(v):
    fills = v["inputs"]["fills"]
    inverse = "contracts_usd" in fills[0]
    qty = [f["contracts_usd" if inverse else "qty"] for f in fills]
    price = [f["price"] for f in fills]
    product = "inverse" if inverse else "linear"
    assert close(average.average_entry(qty, price, product=product),
                 v["expected"]["avg_entry_price"], v["tolerance"])
    if inverse:
        assert close(average.inverse_value(qty, price), v["expected"]["total_value_btc"],
                     v["tolerance"])


@pytest.mark.parametrize("v", by_calc("pnl"))
def test_pnl(v, kind):
    i, e = v["inputs"], v["expected"]
    out = pnl.futures_pnl(kind(i["side"]), kind(i["contracts"]), kind(i["entry_price"]),
                          kind(i["exit_price"]), product="inverse",
                          contract_size=i["multiplier_usd"])
    assert close(kind.out(out["entry_value"]), e["entry_value_xbt"], v["tolerance"])
    assert close(kind.out(out["pnl"]), e["pnl_xbt"], v["tolerance"])


@pytest.mark.parametrize("v", by_calc("funding"))
def test_funding(v, kind):
    i, e = v["inputs"], v["expected"]
    if v["venue"] == "bitmex":
        rate = funding.interest_rate(i["quote_rate_per_day"], i["base_rate_per_day"],
                                     i["intervals_per_day"]) + i["premium"]
        # mark value 20 XBT is the position value: a 1-unit position at price 1/20 (inverse)
        paid = funding.funding_payment(i["side"], i["mark_value_xbt"], 1.0, rate)
        assert close(rate, e["funding_rate"], v["tolerance"])
        assert close(paid, e["funding_amount_xbt"], v["tolerance"])
        assert close(1.25 - paid, e["net_profit_after_funding_xbt"], v["tolerance"])
    else:
        paid = kind.out(funding.funding_payment(kind(i["side"]), kind(i["qty"]),
                                                kind(i["mark_price"]), kind(i["funding_rate"])))
        assert close(-paid * i["periods"], e["funding_received"], v["tolerance"])


def test_bybit_legacy_inverse_cross_is_a_documented_disagreement():
    """Bybit's legacy inverse-cross example: BP 5,718.57 reproduces; its LP 5,739.50 does not.

    Its own equation ``Q·(1/E − 1/LP) = −(AB − OM − (Q/E)·MMR − Q·f/BP)`` gives 5,739.08
    (exchange_formulas.md §3.2, §11.5). We assert our value and the size of the gap.
    """
    v = next(v for v in VECTORS if v["id"] == "bybit-inverse-cross-long-liq")
    i, e = v["inputs"], v["expected"]
    q, entry, balance, f = i["contracts_usd"], i["entry_price"], i["account_balance_btc"], \
        i["taker_fee"]
    bp = risk.bankruptcy_price("bybit", "long", q, entry, margin=balance, product="inverse",
                               taker_fee=f)
    assert close(bp, e["bankruptcy_price"], v["tolerance"])
    # MM on the entry value plus the fee to close at the bankruptcy price: a constant term
    lp = risk.liquidation_price("bybit", "long", q, entry, margin=balance, product="inverse",
                                mmr=i["mmr"] + f * entry / bp, maintenance_basis="entry")
    assert lp == pytest.approx(5739.08, abs=0.01)
    assert abs(lp - e["liquidation_price"]) == pytest.approx(0.42, abs=0.01)
