"""BitMEX (XBTUSD inverse, 1 USD per contract; linear USDT contracts).

* Inverse P&L ``Q·(1/E − 1/X)`` XBT; value ``Q/P`` (BitMEX "Perpetual Contracts Guide",
  https://www.bitmex.com/app/perpetualContractsGuideExamples: long 15,000 @ 750 → 800 earns
  1.25 XBT).
* Isolated inverse: bankruptcy ``E/(1 ± IMR)`` follows from the inverse P&L identity; the
  liquidation price ``E/(1 + IM − MM)`` (long) charges MM on the *entry* value (BitMEX support
  formula as reported in two secondary sources, which disagree on fee signs; fees are therefore
  left out unless given). exchange_formulas.md §5.
* Linear cross: ``BP = E − wallet/Q`` and ``LP = BP + MM/Q`` for a single long, MM on the
  entry value (https://www.bitmex.com/app/isolatedMarginExamples).
* Funding every 8 h at 04:00/12:00/20:00 UTC, mark value × rate.
* Fees: taker 0.075 %, maker −0.025 %→0.02 % vary by period; default taker 0.075 %
  (https://www.bitmex.com/app/fees).
"""

from marginscope.errors import InputError
from marginscope.risk.notation import (
    Instrument,
    Notation,
    ccxt_symbol,
    concatenated,
    inverse,
    linear,
)
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """``XBTUSD`` (inverse), ``XBTUSDT``, ``ETHUSDT``; ``ETHUSD`` is a quanto settled in XBT."""
    pair = concatenated(s, ("USDT", "USDC", "USD"))
    if pair is None:
        return None
    base = "BTC" if pair[0] == "XBT" else pair[0]
    if pair[1] != "USD":
        return linear(base, pair[1])
    return inverse("BTC") if base == "BTC" else Instrument(base, "USD", "BTC")


def _write(i: Instrument) -> str:
    if i.product == "inverse" and i.base != "BTC":  # ETHUSD there is the quanto, not this
        raise InputError("symbol", ccxt_symbol(i), "XBTUSD, BitMEX's one inverse contract "
                         "(its other <coin>USD contracts are quantos settled in XBT)")
    return f"{'XBT' if i.base == 'BTC' else i.base}{i.quote}"


VENUE = Venue(
    name="bitmex",
    title="BitMEX",
    products=("inverse", "linear"),
    maintenance_basis={"inverse": "entry", "linear": "entry"},
    close_fee="none",
    taker_fee=0.00075,
    maker_fee=0.0002,
    default_contract_size={"inverse": 1.0, "linear": 1.0},
    notation=Notation(quotes={"inverse": ("USD",), "linear": ("USDT",)}, parse=_parse,
                      write=_write, examples="XBTUSD, XBTUSDT, ETHUSDT"),
    sources=(
        "https://www.bitmex.com/app/perpetualContractsGuideExamples",
        "https://www.bitmex.com/app/isolatedMarginExamples",
        "https://www.bitmex.com/app/liquidation",
    ),
    ccxt_id="bitmex",
    tier_answer=TierAnswer(
        endpoint="fetch_market_leverage_tiers",
        symbols=("BTC/USD:BTC", "ETH/USD:BTC")),
)
