"""OKX perpetual swaps (USDT-margined linear, coin-margined inverse).

* Forced liquidation when the margin ratio reaches 100 %: equity = MM + taker fee to close
  (OKX "Tiered maintenance margin ratio rules"). Isolated liquidation price
  ``LP = (E − s·Mg/(ctVal·n)) / (1 − s·(MMR + f))`` (linear),
  ``LP = ctVal·n·(s + MMR + f)/(s·Mg + ctVal·n/E)``-equivalent for inverse — **derived** from
  that condition and identical to freqtrade's OKX implementation (which cites the OKX isolated
  mode article); exchange_formulas.md §4.2.
* Coin-margined swaps: BTC-USD-SWAP is 100 USD a contract, the others 10 USD (OKX
  "Contract specifications", https://www.okx.com/trade-market/info/swap; ccxt's OKX markets
  ``ctVal``).
* OKX tiers by position size in contracts (``minSz/maxSz``): tables use ``basis="quantity"``.
* Fees: Lv1 regular user, perpetual swaps: maker 0.02 %, taker 0.05 % (https://www.okx.com/fees).
"""

import re

from marginscope.risk.notation import Instrument, Notation, inverse, linear
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """``BTC-USDT-SWAP``, ``BTC-USD-SWAP``, ``BTC-USD-250328`` (dated)."""
    match = re.fullmatch(r"([A-Z0-9]+)-([A-Z]+)-(SWAP|\d{6})", s)
    if match is None:
        return None
    expiry = None if match[3] == "SWAP" else match[3]
    return inverse(match[1], expiry) if match[2] == "USD" else linear(match[1], match[2], expiry)


def _write(i: Instrument) -> str:
    return f"{i.base}-{i.quote}-{i.expiry or 'SWAP'}"


VENUE = Venue(
    name="okx",
    title="OKX",
    products=("linear", "inverse"),
    maintenance_basis={"linear": "mark", "inverse": "mark"},
    close_fee="mark",
    taker_fee=0.0005,
    maker_fee=0.0002,
    default_contract_size={"linear": 1.0, "inverse": 10.0},
    contract_size_by_base={"BTC": 100.0},
    notation=Notation(quotes={"linear": ("USDT", "USDC"), "inverse": ("USD",)}, parse=_parse,
                      write=_write, examples="BTC-USDT-SWAP, BTC-USD-SWAP", dated=True),
    sources=(
        "https://www.okx.com/help-center/6997123251341",
        "https://github.com/freqtrade/freqtrade/blob/develop/freqtrade/exchange/exchange.py",
        "https://www.okx.com/fees",
    ),
    ccxt_id="okx",
    tier_answer=TierAnswer(
        endpoint="GET /api/v5/public/position-tiers (fetch_market_leverage_tiers)",
        symbols=("BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC", "ETH/USD:ETH"),
        basis="quantity", deduction=False),
)
