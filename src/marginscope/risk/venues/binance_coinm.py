"""Binance COIN-M futures (inverse, coin-margined; BTCUSD contract = 100 USD, others 10 USD).

* Notional in coin ``Q·CS/M``; MM = notional × MMR − cum (coin), bracket by the coin notional
  at the liquidation price; liquidation price
  ``LP = (Q·MMR + s·Q) / ((WB + cum)/CS + s·Q/E)`` for one position (one-way); a short whose
  denominator is ≤ 0 cannot be liquidated. Binance FAQ "How to Calculate Liquidation Price of
  COIN-M Futures Contracts", https://www.binance.com/en/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46 .
* Maintenance amounts differ between FAQ versions (11.605 vs 11.81 BTC for 300 BTC): the
  tables are dated data, never constants.
* Fees: regular tier maker 0.0200 %, taker 0.0500 % (Binance futures fee structure,
  https://www.binance.com/en/support/faq/360033544231).
"""

import re

from marginscope.risk.notation import Instrument, Notation, inverse
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """``BTCUSD_PERP``, ``BTCUSD_210625`` (dated)."""
    match = re.fullmatch(r"([A-Z0-9]+)USD_(PERP|\d{6})", s)
    if match is None:
        return None
    return inverse(match[1], None if match[2] == "PERP" else match[2])


def _write(i: Instrument) -> str:
    return f"{i.base}USD_{i.expiry or 'PERP'}"


VENUE = Venue(
    name="binance-coinm",
    title="Binance COIN-M",
    products=("inverse",),
    maintenance_basis={"inverse": "mark"},
    close_fee="none",
    taker_fee=0.0005,
    maker_fee=0.0002,
    default_contract_size={"inverse": 10.0},
    contract_size_by_base={"BTC": 100.0},
    notation=Notation(quotes={"inverse": ("USD",)}, parse=_parse, write=_write,
                      examples="BTCUSD_PERP, BTCUSD_210625", dated=True),
    sources=(
        "https://www.binance.com/en/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46",
        "https://www.binance.com/en/support/faq/360033544231",
    ),
    ccxt_id="binancecoinm",
    tier_answer=TierAnswer(
        endpoint="GET /dapi/v2/leverageBracket (fetch_leverage_tiers)",
        symbols=("BTC/USD:BTC", "ETH/USD:ETH"),  # BTCUSD_PERP, ETHUSD_PERP
        deduction_field="cum", bulk={"subType": "inverse"}),
)
