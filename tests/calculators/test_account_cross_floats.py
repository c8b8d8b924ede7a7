"""The account calculator's cross prices in floats from its rows' own figures
(:func:`~marginscope.risk.account.cross_prices_of_checked`) are the checked float path's
(:func:`~marginscope.risk.account.cross_prices_of_floats`, which computes the maintenance
margins and P&Ls again) bit for bit, and the array path's within 1e-12, on random cross
accounts of every venue with shipped tier tables (the float path's strategy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from tests.risk.test_float_path import TABLES, account

from marginscope.calculators.account import AccountRequest, evaluate
from marginscope.risk import account as risk_account
from marginscope.risk.terms import resolve


def _floats(values) -> np.ndarray:
    """Floats of an answer's values, None (no ratio) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _request(venue: str, wallet: float, rows: list) -> AccountRequest:
    symbols = TABLES[venue]
    positions = []
    for symbol, (side, qty, entry, ratio, overrides) in zip(symbols, rows, strict=False):
        position = {
            "symbol": symbol,
            "side": "long" if side > 0 else "short",
            "qty": qty,
            "entry_price": entry,
            "mark_price": entry * ratio,
        }
        if overrides is not None:
            position |= {"mmr": overrides[0], "maintenance_amount": overrides[1]}
        positions.append(position)
    return AccountRequest.model_validate(
        {"venue": venue, "margin_mode": "cross", "wallet_balance": wallet, "positions": positions}
    )


@settings(max_examples=200, deadline=None)
@given(data=account)
def test_the_calculators_cross_floats_are_the_checked_float_paths(data):
    request = _request(*data)
    answer = evaluate(request)
    terms = [
        resolve(request.venue, symbol=p.symbol, mmr=p.mmr, maintenance_amount=p.maintenance_amount)
        for p in request.positions
    ]
    checked = risk_account.cross_prices_of_floats(
        terms,
        [1.0 if p.side == "long" else -1.0 for p in request.positions],
        [p.qty for p in request.positions],
        [p.entry_price for p in request.positions],
        [p.mark_price for p in request.positions],
        request.wallet_balance,
    )
    assert checked is not None
    for name in ("liquidation_price", "bankruptcy_price"):  # the same bits (NaN: no price)
        np.testing.assert_array_equal(
            _floats(row[name] for row in answer["positions"]), checked[name], err_msg=name
        )
    assert answer["account"]["margin_balance"] == checked["margin_balance"][0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(risk_account, "FLOAT_POSITIONS", 0)  # the calculator takes the arrays
        arrays = evaluate(request)
    for row, array_row in zip(answer["positions"], arrays["positions"], strict=True):
        for name in ("liquidation_price", "bankruptcy_price", "margin_ratio"):
            np.testing.assert_allclose(
                _floats([row[name]]),
                _floats([array_row[name]]),
                rtol=1e-12,
                atol=0,
                equal_nan=True,
                err_msg=name,
            )
    np.testing.assert_allclose(
        answer["account"]["margin_balance"], arrays["account"]["margin_balance"], rtol=1e-12
    )
