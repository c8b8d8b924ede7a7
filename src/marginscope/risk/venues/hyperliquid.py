"""Hyperliquid perpetuals (USDC-margined, linear).

* Maintenance margin is half the initial margin at max leverage: ``MMR = 1/(2·max_leverage)``
  of the margin tier, with a maintenance deduction by the cum rule
  (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers,
  https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations).
* ``LP = P − s·margin_available/size/(1 − l·s)``, ``l = 1/(2·maxLev)``,
  ``margin_available = margin − entry·size·l``: algebraically the common condition
  (equity = MM at the liquidation price); reproduces 29 exchange outputs in freqtrade's tests.
* Fees: taker 0.045 %, maker 0.015 % at the base tier
  (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees).
* Funding hourly; the quoted rate is per 8 h and 1/8 is paid each hour.
"""

import re

from marginscope.risk.notation import Instrument, Notation, linear
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """The coin alone: ``BTC`` is BTC/USDC:USDC."""
    return linear(s, "USDC") if re.fullmatch(r"[A-Z0-9]+", s) else None


def _write(i: Instrument) -> str:
    return i.base


VENUE = Venue(
    name="hyperliquid",
    title="Hyperliquid",
    products=("linear",),
    maintenance_basis={"linear": "mark"},
    close_fee="none",
    taker_fee=0.00045,
    maker_fee=0.00015,
    mmr_from_max_leverage=True,
    funding_interval_hours=1.0,
    notation=Notation(quotes={"linear": ("USDC",)}, parse=_parse, write=_write,
                      examples="BTC, ETH"),
    sources=(
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations",
        "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers",
        "https://github.com/hyperliquid-dex/ts-examples/blob/main/examples/LiquidationPx.tsx",
    ),
    ccxt_id="hyperliquid",
    tier_answer=TierAnswer(
        endpoint='POST /info {"type": "meta"} (publicPostInfo)',
        symbols=("BTC", "ETH", "SOL", "DOGE"), meta=True),
)
