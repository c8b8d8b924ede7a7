"""Gate futures (USDT linear and quanto; BTC inverse).

* ``LP = (E ∓ Mg/multiplier/size) / (1 ∓ (MMR + f))`` (− long, + short) for USDT contracts;
  inverse ``LP = size·E·(1 ± MMR ± f)/(size ± Mg·E)``: the fee to close counts (Gate support
  reply quoted at https://www.gatenode.pro/post/status/3870211; Gate help article 27724 as cited
  in freqtrade's exchange.py; exchange_formulas.md §8).
* Fees: futures taker 0.05 %, maker 0.02 %, VIP 0 (https://www.gate.io/fee).
"""

import re

from marginscope.risk.notation import Instrument, Notation, inverse, linear
from marginscope.risk.venues.base import TierAnswer, Venue


def _parse(s: str) -> Instrument | None:
    """``BTC_USDT``, ``BTC_USD``."""
    match = re.fullmatch(r"([A-Z0-9]+)_([A-Z]+)", s)
    if match is None:
        return None
    return inverse(match[1]) if match[2] == "USD" else linear(match[1], match[2])


def _write(i: Instrument) -> str:
    return f"{i.base}_{i.quote}"


VENUE = Venue(
    name="gate",
    title="Gate",
    products=("linear", "inverse"),
    maintenance_basis={"linear": "mark", "inverse": "mark"},
    close_fee="mark",
    taker_fee=0.0005,
    maker_fee=0.0002,
    notation=Notation(quotes={"linear": ("USDT",), "inverse": ("USD",)}, parse=_parse,
                      write=_write, examples="BTC_USDT, BTC_USD"),
    sources=(
        "https://www.gatenode.pro/post/status/3870211",
        "https://github.com/freqtrade/freqtrade/issues/7294",
        "https://www.gate.io/fee",
    ),
    ccxt_id="gate",
    tier_answer=TierAnswer(
        endpoint="GET /futures/{settle}/risk_limit_tiers (fetch_market_leverage_tiers)",
        symbols=("BTC/USDT:USDT", "ETH/USDT:USDT"), deduction_field="deduction"),
)
