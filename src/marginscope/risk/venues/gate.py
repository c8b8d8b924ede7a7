"""Gate futures (USDT linear and quanto; BTC inverse).

* ``LP = (E ∓ Mg/multiplier/size) / (1 ∓ (MMR + f))`` (− long, + short) for USDT contracts;
  inverse ``LP = size·E·(1 ± MMR ± f)/(size ± Mg·E)``: the fee to close counts (Gate support
  reply quoted at https://www.gatenode.pro/post/status/3870211; Gate help article 27724 as cited
  in freqtrade's exchange.py; exchange_formulas.md §8).
* Fees: futures taker 0.05 %, maker 0.02 %, VIP 0 (https://www.gate.io/fee).
"""

from marginscope.risk.venues.base import TierAnswer, Venue

VENUE = Venue(
    name="gate",
    title="Gate",
    products=("linear", "inverse"),
    maintenance_basis={"linear": "mark", "inverse": "mark"},
    close_fee="mark",
    taker_fee=0.0005,
    maker_fee=0.0002,
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
