"""The local isolated linear position (stand-in for the risk engine's)."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.scenarios import LinearPosition, MarginModel


@pytest.mark.parametrize("side", ["long", "short"])
@pytest.mark.parametrize("leverage", [2, 10, 50, 125])
def test_equity_equals_maintenance_margin_at_the_liquidation_price(side, leverage):
    # The liquidation condition of Binance (§1.5): margin balance = maintenance margin.
    pos = LinearPosition.from_leverage(side, 0.3, 64_000.0, leverage, 0.005, 50.0)
    lp = float(pos.liquidation_price())
    assert float(pos.equity(lp)) == pytest.approx(float(pos.maintenance_margin(lp)), abs=1e-9)
    assert (lp < pos.entry) if side == "long" else (lp > pos.entry)


def test_liquidation_price_is_the_textbook_formula_without_maintenance_amount():
    # cum = 0, WB = Q·E/L: LP = E·(1 − s/L)/(1 − s·MMR)
    for side, s in (("long", 1), ("short", -1)):
        pos = LinearPosition.from_leverage(side, 0.1, 109_557.2, 10, 0.004)
        assert float(pos.liquidation_price()) == pytest.approx(
            109_557.2 * (1 - s / 10) / (1 - s * 0.004), rel=1e-14)


def test_a_fully_collateralized_long_has_no_liquidation_price():
    # FAQ edge case (§1.6): 1x long with cum = 0 gives LP = 0, shown as "--".
    assert np.isnan(LinearPosition.from_leverage("long", 1.0, 100.0, 1, 0.004).liquidation_price())
    assert np.isfinite(LinearPosition.from_leverage("short", 1.0, 100.0, 1, 0.004)
                       .liquidation_price())


def test_margin_ratio_price_solves_the_ratio_and_is_the_lp_at_one():
    pos = LinearPosition.from_leverage("long", 0.5, 3_000.0, 20, 0.005, 0.0)
    assert pos.price_at_margin_ratio(1.0) == pytest.approx(float(pos.liquidation_price()))
    for ratio in (0.3, 0.5, 0.8):
        assert float(pos.margin_ratio(pos.price_at_margin_ratio(ratio))) == pytest.approx(ratio)


def test_adding_margin_moves_the_liquidation_price_away_and_vectorizes_over_margin():
    long = LinearPosition.from_leverage("long", 1.0, 100.0, 10, 0.004)
    short = LinearPosition.from_leverage("short", 1.0, 100.0, 10, 0.004)
    assert long.add_margin(5).liquidation_price() < long.liquidation_price()
    assert short.add_margin(5).liquidation_price() > short.liquidation_price()
    margins = np.array([10.0, 15.0, 20.0])
    np.testing.assert_allclose(long.liquidation_price(margins),
                               [float(long.add_margin(m - 10.0).liquidation_price())
                                for m in margins])


def test_a_cut_keeps_equity_and_lowers_exposure():
    pos = LinearPosition.from_leverage("long", 2.0, 100.0, 10, 0.004)
    cut = pos.reduce(0.25, 97.0)
    assert cut.qty == pytest.approx(1.5)
    assert float(cut.equity(97.0)) == pytest.approx(float(pos.equity(97.0)))
    assert cut.liquidation_price() < pos.liquidation_price()


def test_funding_sign_longs_pay_positive_rates():
    long = LinearPosition.from_leverage("long", 0.1, 100_000.0, 10, 0.004)
    short = LinearPosition.from_leverage("short", 0.1, 100_000.0, 10, 0.004)
    assert float(long.funding_payment(100_000.0, 0.0001)) == pytest.approx(1.0)
    assert float(short.funding_payment(100_000.0, 0.0001)) == pytest.approx(-1.0)


def test_it_satisfies_the_margin_model_protocol_and_serializes():
    pos = LinearPosition.from_leverage("short", 0.1, 100_000.0, 10, 0.004)
    assert isinstance(pos, MarginModel)
    d = pos.to_dict()
    assert d["side"] == "short" and d["liquidation_price"] > 100_000.0


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"side": "flat"}, "side"), ({"qty": 0}, "qty"), ({"entry": -1}, "entry"),
    ({"margin": -5}, "margin"), ({"mmr": 1.0}, "mmr"), ({"maintenance_amount": -1}, "maintenance_amount"),
])
def test_bad_position_input_names_the_field(kwargs, field):
    args = {"side": "long", "qty": 1.0, "entry": 100.0, "margin": 10.0, "mmr": 0.004}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        LinearPosition(**args)
    assert err.value.field == field
