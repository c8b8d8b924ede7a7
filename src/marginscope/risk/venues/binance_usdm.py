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

from marginscope.risk.venues.base import TierAnswer, Venue

VENUE = Venue(
    name="binance-usdm",
    title="Binance USDⓈ-M",
    products=("linear",),
    maintenance_basis={"linear": "mark"},
    close_fee="none",
    taker_fee=0.0005,
    maker_fee=0.0002,
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
