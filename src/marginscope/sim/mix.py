"""The simulator's tool mix, one definition for :mod:`.behaviour` and :mod:`.planted`.

Keys are telemetry tool ids of the calculator declarations
(:data:`marginscope.calculators.TOOLS`), checked on import; the shares are **modelling
assumptions** (``docs/sim.md``). Which coarse fields a simulated event carries is read from the
same declarations (:attr:`Calculator.records <marginscope.calculators.base.Calculator.records>`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from marginscope.calculators import REGISTRY
from marginscope.calculators import TOOLS as DECLARED
from marginscope.calculators.base import venue_names
from marginscope.errors import InputError

__all__ = ["TOOLS", "TOOL_FIELDS", "TOOL_MIX", "check_tools", "check_venues"]


def check_tools(tools: Iterable[str], what: str) -> None:
    """Raise :class:`InputError` unless every id in ``tools`` is a declared calculator's tool."""
    unknown = sorted(set(tools) - set(DECLARED))
    if unknown:
        raise InputError(what, unknown, "tool ids of the calculators: " + " | ".join(DECLARED))


def check_venues(venues: Iterable[str], what: str) -> None:
    """Raise :class:`InputError` unless every id in ``venues`` is a risk-engine venue."""
    unknown = sorted(set(venues) - set(venue_names()))
    if unknown:
        raise InputError(what, unknown, "venue ids of marginscope.risk.venues.VENUES")


TOOL_MIX: dict[str, float] = {
    "liquidation_price": 0.20,
    "margin_call": 0.09,
    "leverage": 0.10,
    "position_size": 0.14,
    "futures": 0.13,
    "funding_rate": 0.06,
    "average_price": 0.08,
    "stops": 0.09,
    "liquidation_risk": 0.06,
    "scenario": 0.05,
}
"""Calm-market tool mix of the crypto-futures calculators (assumption): liquidation price the
most used calculator. The order is the simulator's tool order."""
check_tools(TOOL_MIX, "TOOL_MIX")

TOOLS: tuple[str, ...] = tuple(TOOL_MIX)
"""The simulated tools, in :data:`TOOL_MIX` order."""


def _fields(tool: str) -> frozenset[str]:
    """Coarse fields any calculator declaring ``tool`` records (union over the declarations:
    ``liquidation_price`` is an account's and a single position's)."""
    return frozenset().union(*(c.records.fields() for c in REGISTRY.values() if c.tool == tool))


_ALSO: Mapping[str, frozenset[str]] = {"average_price": frozenset({"notional"})}
"""Fields the simulator gives a tool's events beyond its declaration (a known departure, kept
so the simulated data stay as published: the live recorder takes no notional for an average
entry, whose input has fills but no single qty × entry price)."""

TOOL_FIELDS: dict[str, frozenset[str]] = {
    tool: _fields(tool) | _ALSO.get(tool, frozenset()) for tool in TOOLS
}
"""Coarse fields each simulated tool's events carry (from the calculator declarations, plus
:data:`_ALSO`); the others are NULL in the event, as the web recorder would leave them."""
