"""Calculators beyond liquidation follow the symbol's kind and pass ``as_of`` to the engine."""

from __future__ import annotations

import pytest

from marginscope.calculators import REGISTRY
from marginscope.errors import InputError


def test_pnl_takes_kind_and_contract_size_from_the_symbol():
    # 10 BTCUSD_PERP (100 USD each) long 50,000 → 55,000: 1,000·(1/50,000 − 1/55,000) BTC
    answer = REGISTRY["pnl"].run(
        {
            "venue": "binance-coinm",
            "symbol": "BTCUSD_PERP",
            "side": "long",
            "qty": 10,
            "entry_price": 50_000,
            "exit_price": 55_000,
        }
    )
    assert answer["product"] == "inverse" and answer["contract_size"] == 100
    assert answer["pnl"] == pytest.approx(1_000 * (1 / 50_000 - 1 / 55_000))
    with pytest.raises(InputError) as error:
        REGISTRY["pnl"].run(
            {
                "venue": "okx",
                "symbol": "BTC-USD-SWAP",
                "product": "linear",
                "side": "long",
                "qty": 1,
                "entry_price": 1,
                "exit_price": 2,
            }
        )
    assert error.value.field == "product"


def test_average_is_harmonic_for_an_inverse_symbol():
    # inverse: Σ qty ÷ Σ qty/price = 300 / (100/10,000 + 200/12,000) = 11,250
    answer = REGISTRY["average"].run(
        {
            "fills": [{"qty": 100, "price": 10_000}, {"qty": 200, "price": 12_000}],
            "venue": "binance-coinm",
            "symbol": "BTCUSD_210625",
        }
    )
    assert answer["product"] == "inverse"
    assert answer["average_entry"] == pytest.approx(11_250)


def test_margin_plan_uses_the_table_in_force_on_as_of():
    # 2.41 BTC at 109,557.2 ≈ 264,033 USDT: the 1 % bracket in 2022, 0.5 % on the 2024 table
    request = {**REGISTRY["margin-plan"].example, "qty": 2.41}
    then = REGISTRY["margin-plan"].run({**request, "as_of": "2022-06-01"})["position_before"]
    now = REGISTRY["margin-plan"].run(request)["position_before"]
    assert (then["mmr_at_entry"], then["maintenance_amount_at_entry"]) == (0.01, 1300)
    assert (now["mmr_at_entry"], now["maintenance_amount_at_entry"]) == (0.005, 50)


def test_leverage_uses_the_table_in_force_on_as_of():
    # BTCUSDT at 20x: the largest bracket cap allowing 20x (Binance maxNotionalValue)
    request = {**REGISTRY["leverage"].example, "balance": 1e9, "leverage": 20}
    then = REGISTRY["leverage"].run({**request, "as_of": "2021-03-18"})
    assert then["max_open_notional"] == 10_000_000  # 1M–10M is the 20x bracket in 2021


@pytest.mark.parametrize("name", ["scenario", "margin-plan", "liquidation", "margin-call"])
def test_a_product_against_the_symbol_is_an_error_naming_product(name):
    example = REGISTRY[name].example  # BTCUSDT on Binance USDⓈ-M: linear
    with pytest.raises(InputError) as error:
        REGISTRY[name].run({**example, "product": "inverse"})
    assert error.value.field == "product"
