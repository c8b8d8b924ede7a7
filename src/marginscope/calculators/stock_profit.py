"""Stock profit and investment: shares an amount buys, commissions, dividends, margin account."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import (
    Commission,
    PerShare,
    PositiveMoney,
    Price,
    Quantity,
    one_of,
)
from marginscope.calculators.base import Calculator, EventFields, FeeRate, Request, register
from marginscope.risk import stocks


class StockProfitRequest(Request):
    shares: Quantity | None = Field(None, description="Shares bought (or give investment)")
    investment: PositiveMoney | None = Field(None, description="Cash to invest (or give shares)")
    buy_price: Price
    sell_price: Price
    buy_commission: Commission = 0.0
    sell_commission: Commission = 0.0
    commission_rate: FeeRate = Field(0.0, description="Per-trade fee as a share of its value")
    dividends_per_share: PerShare = Field(0.0, description="Cash dividends received, per share")
    account: Literal["cash", "margin"] = Field(
        "cash", description="margin: Reg T 50 % initial, FINRA 25 % maintenance")


def compute(r: StockProfitRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if one_of(r, "shares", "investment") == "shares":
        shares = r.shares
    else:
        bought = stocks.shares_for_investment(r.investment, r.buy_price,
                                              commission=r.buy_commission,
                                              commission_rate=r.commission_rate)
        shares = bought["shares"]
        whole = stocks.shares_for_investment(r.investment, r.buy_price,
                                             commission=r.buy_commission,
                                             commission_rate=r.commission_rate,
                                             whole_shares=True)
        out |= {"whole_shares": whole["shares"], "cash_left_whole_shares": whole["cash_left"]}
    out = {"shares": shares, **out,
           **stocks.stock_trade(shares, r.buy_price, r.sell_price,
                                buy_commission=r.buy_commission,
                                sell_commission=r.sell_commission,
                                commission_rate=r.commission_rate,
                                dividends_per_share=r.dividends_per_share)}
    if r.account == "margin":
        margin = stocks.long_margin(shares, r.buy_price)
        out |= {"equity_deposited": margin["equity"], "loan": margin["loan"],
                "margin_call_price": margin["margin_call_price"],
                "return_on_equity": out["total_return"] / margin["equity"]}
    return out


register(Calculator(
    name="stock-profit", tool="stock_profit", title="Stock profit",
    records=EventFields(),
    summary="Profit, return and break-even of a stock trade with commissions and dividends; "
            "shares an investment buys; margin-account call price.",
    model=StockProfitRequest, compute=compute, asset_class="stocks",
    example={"shares": 50, "buy_price": 182.40, "sell_price": 201.10, "buy_commission": 1.0,
             "sell_commission": 1.0, "dividends_per_share": 0.96}))
