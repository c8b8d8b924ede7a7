"""Field types and request pieces shared by the spot, forex, stock and CFD declarations.

Every number is finite and bounded (the API is fuzzed from these models). Positive amounts also
have a floor (1e-12 for prices and quantities, 1:1 for leverage, 0.1 % for a margin rate), so
that products and quotients of any admitted inputs stay finite: without it, subnormal inputs
such as 5e-324 overflow a division into inf. A request that gives two alternatives for one
input, or neither, is an :class:`InputError` naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field

from marginscope.calculators.base import Request
from marginscope.errors import InputError
from marginscope.risk import forex

Price = Annotated[float, Field(ge=1e-12, lt=1e12, allow_inf_nan=False)]
Quantity = Annotated[float, Field(ge=1e-12, lt=1e12, allow_inf_nan=False)]
PositiveMoney = Annotated[float, Field(ge=1e-12, le=1e15, allow_inf_nan=False)]
Leverage = Annotated[float, Field(ge=1, le=1000, allow_inf_nan=False)]
MarginRate = Annotated[float, Field(ge=0.001, le=1, allow_inf_nan=False,
                                    description="Margin factor (0.05 = 5 %)")]
ContractValue = Annotated[float, Field(ge=1e-6, le=1e6, allow_inf_nan=False)]
PointSize = Annotated[float, Field(ge=1e-8, le=1e4, allow_inf_nan=False)]
Supply = Annotated[float, Field(ge=1, le=1e16, allow_inf_nan=False)]
Commission = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
AnnualRate = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False,
                                    description="Annual rate as a fraction (0.05 = 5 %)")]
Lots = Annotated[float, Field(ge=1e-6, le=100_000, allow_inf_nan=False)]
Days = Annotated[float, Field(ge=0, le=3650, allow_inf_nan=False)]
PerShare = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
PairName = Annotated[str, Field(min_length=6, max_length=9,
                                pattern=r"^[A-Za-z]{3}[/\-_ ]?[A-Za-z]{3}$",
                                description="Currency pair BASE/QUOTE, e.g. EUR/USD")]
CurrencyCode = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")]


def _whole_number_text(value: Any) -> Any:
    """``"360"`` (a CLI option) → 360, so integer choices work from flags and from JSON."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


DayCount = Annotated[Literal[360, 365], BeforeValidator(_whole_number_text)]


def one_of(request: Request, *names: str, required: bool = True) -> str | None:
    """The one field among ``names`` that is set; two set (or none, when required) is an error."""
    given = [name for name in names if getattr(request, name) is not None]
    if len(given) > 1:
        raise InputError(given[1], getattr(request, given[1]),
                         f"only one of {', '.join(names)}")
    if not given and required:
        raise InputError(names[0], None, f"one of {', '.join(names)}")
    return given[0] if given else None


class FxQuote(Request):
    """A currency pair, its price, the account currency and how to convert to it."""

    pair: PairName = "EUR/USD"
    price: Price = Field(description="Pair price, quote per base (e.g. 1.0850)")
    account_currency: CurrencyCode = "USD"
    conversion_pair: PairName | None = Field(
        None, description="Only if the account currency is neither base nor quote: the pair of "
                          "the account currency with the quote (or base), e.g. USD/JPY")
    conversion_rate: Price | None = Field(None, description="Price of conversion_pair")
    lot_size: float = Field(100_000, ge=1, le=1e9, allow_inf_nan=False,
                            description="Units of base per lot (standard 100,000)")
    pip_size: float | None = Field(None, ge=1e-8, le=1e4, allow_inf_nan=False,
                                   description="Default 0.01 for JPY quotes, else 0.0001")

    def pip(self) -> float:
        return self.pip_size if self.pip_size is not None else forex.pip_size(self.pair)

    def to_account(self) -> np.ndarray:
        """Account-currency units per quote-currency unit."""
        return forex.quote_to_account(self.pair, self.account_currency, self.price,
                                      conversion_pair=self.conversion_pair,
                                      conversion_rate=self.conversion_rate)

    def currencies(self) -> dict[str, Any]:
        base, quote = forex.parse_pair(self.pair)
        return {"base_currency": base, "quote_currency": quote,
                "account_currency": self.account_currency.upper()}
