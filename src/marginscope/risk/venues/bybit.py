"""Bybit USDT/USDC perpetuals (linear) and inverse contracts.

* USDT contracts, isolated: ``LP = E − s·(IM − MM)/Q`` with ``MM = Q·E·MMR − deduction``: the
  maintenance margin is taken on the *entry* value ("Liquidation Price (USDT Contract)",
  https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract;
  examples 1 BTC @ 20,000, 50x, MMR 0.5 % → 19,700). A 1x long therefore liquidates at E·MMR.
* Inverse, isolated: the 2026 UTA text evaluates MM at the liquidation price,
  ``LP_long = Q(1 + MMR)/[Q/E + margin + deduction]`` ("Liquidation Price Calculation under
  Isolated Mode (Unified Trading Account)", 2026-05-27 version,
  https://www.kbybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account).
  **Choice:** we follow it (``maintenance_basis="mark"``); the 2024 text took MM at the entry
  value and lands ≈20 USD lower on the same example — pass ``maintenance_basis="entry"`` for it.
  The extra-margin scaling by 1/(1 ± f) of the 2026 text is not applied: ``margin`` is what the
  position holds.
* Estimated fee to close: added to both IM and MM on the 2026 page, so it cancels in IM − MM and
  is left out (``close_fee="none"``).
* The legacy inverse-cross example (AB 0.5 BTC, long 10,000 @ 8,000 → LP 5,739.50) is not
  reproducible from its own equation (5,739.08): a documented disagreement, see
  docs/venues.md.
* Fees: taker 0.055 %, maker 0.02 % for perpetuals, non-VIP (https://www.bybit.com/en/help-center/article/Trading-Fee-Structure).
"""

import re

from marginscope.risk.notation import (
    STABLE_QUOTES,
    Instrument,
    Notation,
    concatenated,
    inverse,
    linear,
)
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """``BTCUSDT``, ``BTCPERP`` (USDC perpetual; ccxt: BTC/USDC:USDC id BTCPERP), ``BTCUSD``."""
    if s.endswith("PERP") and len(s) > 4:
        return linear(s[:-4], "USDC")
    pair = concatenated(s, STABLE_QUOTES)
    if pair:
        return linear(*pair)
    match = re.fullmatch(r"([A-Z0-9]+)USD", s)
    return inverse(match[1]) if match else None


def _write(i: Instrument) -> str:
    return f"{i.base}PERP" if i.quote == "USDC" else f"{i.base}{i.quote}"


VENUE = Venue(
    name="bybit",
    title="Bybit",
    products=("linear", "inverse"),
    maintenance_basis={"linear": "entry", "inverse": "mark"},
    close_fee="none",
    taker_fee=0.00055,
    maker_fee=0.0002,
    notation=Notation(quotes={"linear": ("USDT", "USDC"), "inverse": ("USD",)}, parse=_parse,
                      write=_write, examples="BTCUSDT, BTCPERP, BTCUSD"),
    sources=(
        "https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract",
        "https://www.kbybit.com/en/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account",
        "https://www.bybit.com/en/help-center/article/Trading-Fee-Structure",
    ),
    ccxt_id="bybit",
    tier_answer=TierAnswer(
        endpoint="GET /v5/market/risk-limit (fetch_market_leverage_tiers)",
        symbols=("BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC", "ETH/USD:ETH"),
        deduction_field="mmDeduction"),
)
