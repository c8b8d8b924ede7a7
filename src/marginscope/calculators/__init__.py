"""Calculator declarations; importing this package registers them all (see :mod:`.base`)."""

from marginscope.calculators import (  # noqa: F401  (registration on import)
    account,
    average,
    cfd_financing,
    cfd_margin,
    cfd_pnl,
    cfd_stops,
    compounding,
    forex_margin,
    forex_pip_value,
    forex_position_size,
    forex_spread,
    funding,
    leverage,
    liquidation,
    liquidation_risk,
    margin_call,
    margin_plan,
    market_cap,
    pnl,
    position_size,
    scenario,
    short_sale,
    spot_average,
    spot_pnl,
    staking,
    stock_average_down,
    stock_profit,
    stops,
)
from marginscope.calculators.base import REGISTRY, TOOLS, Calculator, EventFields

__all__ = ["REGISTRY", "TOOLS", "Calculator", "EventFields"]
