"""Calculator declarations; importing this package registers them all (see :mod:`.base`)."""

from marginscope.calculators import (  # noqa: F401  (registration on import)
    account,
    average,
    funding,
    leverage,
    liquidation,
    liquidation_risk,
    margin_call,
    margin_plan,
    pnl,
    position_size,
    scenario,
    stops,
)
from marginscope.calculators.base import REGISTRY, Calculator

__all__ = ["REGISTRY", "Calculator"]
