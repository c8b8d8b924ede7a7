"""CFD and spread-bet margin from a margin rate, a leverage or ESMA's category limit."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from marginscope.calculators._common import (
    ContractValue,
    CurrencyCode,
    Leverage,
    MarginRate,
    PointSize,
    Price,
    Quantity,
    one_of,
)
from marginscope.calculators.base import Calculator, EventFields, Request, register
from marginscope.errors import InputError
from marginscope.risk import cfd

Category = Literal["major_fx", "minor_fx_gold_major_index", "commodity_minor_index",
                   "equity_other", "crypto"]


class CfdCurrency(Request):
    """The instrument's and the account's currencies, and the rate between them.

    Figures are computed in the instrument's currency and converted with ``conversion_rate``
    (account currency per instrument currency). When both currencies are given and differ the
    rate is required: a missing one is an error, not a silent answer in the wrong currency.
    Without currencies the rate defaults to 1 and the figures are in the instrument's currency.
    """

    instrument_currency: CurrencyCode | None = Field(
        None, description="Currency the instrument is priced in (GBP for the FTSE 100)")
    account_currency: CurrencyCode | None = Field(None, description="Currency of the account")
    conversion_rate: Price | None = Field(
        None, description="Account currency per instrument currency; required when the two "
                          "differ")

    def to_account(self) -> float:
        """Account-currency units per instrument-currency unit."""
        have = self.instrument_currency, self.account_currency
        differ = all(have) and have[0].upper() != have[1].upper()
        if self.conversion_rate is None:
            if differ:
                raise InputError("conversion_rate", None,
                                 f"{have[1].upper()} per {have[0].upper()} (the account's "
                                 "currency differs from the instrument's)")
            return 1.0
        if all(have) and not differ and self.conversion_rate != 1.0:
            raise InputError("conversion_rate", self.conversion_rate,
                             "1 (or leave it out): account and instrument currencies are the "
                             "same")
        return self.conversion_rate

    def currency(self) -> dict[str, str]:
        """The currency the money figures are in, named."""
        if self.account_currency and (self.conversion_rate is not None
                                      or self.instrument_currency):
            return {"currency": self.account_currency.upper()}
        if self.instrument_currency:
            return {"currency": self.instrument_currency.upper()}
        if self.conversion_rate is not None:
            return {"currency": "account currency (at the rate given)"}
        return {"currency": "the instrument's currency"}


class CfdSize(CfdCurrency):
    """Size and contract terms shared by the CFD calculators."""

    size: Quantity = Field(description="CFDs (shares, contracts) or stake per point")
    contract_value: ContractValue = Field(
        1.0, description="Money per unit of price per CFD (IG: value per contract)")
    point_size: PointSize = Field(1.0, description="Price move of one point (0.0001: a pip)")


class CfdMarginRequest(CfdSize):
    price: Price
    margin_rate: MarginRate | None = None
    leverage: Leverage | None = None
    category: Category | None = Field(None, description="ESMA retail class of the underlying: "
                                                        "its limit is the default and is checked")


def compute(r: CfdMarginRequest) -> dict[str, Any]:
    given = one_of(r, "margin_rate", "leverage", required=r.category is None)
    if given == "margin_rate":
        rate = r.margin_rate
    elif given == "leverage":
        rate = 1.0 / r.leverage
    else:
        rate = 1.0 / cfd.esma_leverage(r.category)
    out = cfd.cfd_margin(r.size, r.price, rate, contract_value=r.contract_value,
                         point_size=r.point_size)
    rate = r.to_account()
    out["notional"] = out["notional"] * rate
    out["margin"] = out["margin"] * rate
    out |= r.currency()
    if r.category is not None:
        limit = cfd.esma_leverage(r.category)
        out |= {"category": r.category, "esma_max_leverage": limit,
                "within_esma_limit": bool(out["leverage"] <= limit * (1 + 1e-12))}
    return out


register(Calculator(
    name="cfd-margin", tool="cfd_margin", title="CFD margin",
    records=EventFields(leverage="leverage", result_leverage="leverage", notional="notional"),
    summary="Margin of a CFD or spread bet from its margin rate, a leverage or ESMA's retail "
            "limit for the underlying.",
    model=CfdMarginRequest, compute=compute, asset_class="cfd",
    example={"size": 2, "contract_value": 1, "price": 7450.0, "category":
             "minor_fx_gold_major_index"}))
