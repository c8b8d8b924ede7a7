"""Binance USDⓈ-M futures (linear, USDT/USDC-margined).

* Liquidation when margin balance = maintenance margin; MM = notional at the liquidation price
  × MMR − cum, the bracket being the one that contains the notional *at the liquidation price*
  (bracket self-consistency note). Cross: other positions' MM and unrealized P&L count.
  Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
  https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93 .
* No fee in the liquidation condition (the FAQ formula has none).
* Fees: regular tier maker 0.0200 %, taker 0.0500 % (Binance "Binance Futures Fee Structure",
  https://www.binance.com/en/support/faq/360033544231).
* Funding every 8 h by default: ``Q·M·F`` (exchange_formulas.md §1.7).
"""

import re

from marginscope.risk.notation import STABLE_QUOTES, Instrument, Notation, concatenated, linear
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """``BTCUSDT``, ``ETHBTC``, ``BTCUSDT_250328`` (dated)."""
    core, _, expiry = s.partition("_")
    if expiry and not re.fullmatch(r"\d{6}", expiry):
        return None
    pair = concatenated(core, (*STABLE_QUOTES, "BTC"))
    return linear(*pair, expiry or None) if pair else None


def _write(i: Instrument) -> str:
    return f"{i.base}{i.quote}" + (f"_{i.expiry}" if i.expiry else "")


VENUE = Venue(
    name="binance-usdm",
    title="Binance USDⓈ-M",
    products=("linear",),
    maintenance_basis={"linear": "mark"},
    close_fee="none",
    taker_fee=0.0005,
    maker_fee=0.0002,
    notation=Notation(quotes={"linear": ("USDT", "USDC", "BTC")}, parse=_parse, write=_write,
                      examples="BTCUSDT, BTCUSDT_250328", dated=True),
    sources=(
        "https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93",
        "https://www.binance.com/en/support/faq/360033544231",
    ),
    ccxt_id="binanceusdm",
    tier_answer=TierAnswer(
        endpoint="GET /fapi/v1/leverageBracket (fetch_leverage_tiers)",
        symbols=("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT"),
        deduction_field="cum", bulk={"subType": "linear"}),
)
