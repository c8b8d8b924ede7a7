"""The simulator's tool mix, one definition for :mod:`.behaviour` and :mod:`.planted`.

Keys are telemetry tool ids, read from the calculator declarations by calculator name
(:func:`tool_of`); the shares, and the venue shares of ``data/venue_shares.json``, are
**modelling assumptions** (``docs/sim.md``). Which coarse fields a simulated event carries is read from the
same declarations (:attr:`Calculator.records <marginscope.calculators.base.Calculator.records>`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources

from marginscope.calculators import REGISTRY
from marginscope.calculators import TOOLS as DECLARED
from marginscope.calculators.base import venue_names
from marginscope.errors import InputError

__all__ = ["CALCULATOR_MIX", "TOOLS", "TOOL_FIELDS", "TOOL_MIX", "check_tools", "check_venues",
           "tool_of", "venue_shares"]


def check_tools(tools: Iterable[str], what: str) -> None:
    """Raise :class:`InputError` unless every id in ``tools`` is a declared calculator's tool."""
    unknown = sorted(set(tools) - set(DECLARED))
    if unknown:
        raise InputError(what, unknown, "tool ids of the calculators: " + " | ".join(DECLARED))


def venue_shares(which: str) -> dict[str, float]:
    """The venue shares (a modelling assumption, ``data/venue_shares.json``) of ``which``
    (``agents`` or ``planted``), keys checked against the risk venue registry."""
    shares = json.loads(resources.files("marginscope.sim").joinpath(
        "data/venue_shares.json").read_text("utf-8"))[which]
    check_venues(shares, f"venue_shares.json: {which}")
    return {venue: float(share) for venue, share in shares.items()}


def check_venues(venues: Iterable[str], what: str) -> None:
    """Raise :class:`InputError` unless every id in ``venues`` is a risk-engine venue."""
    unknown = sorted(set(venues) - set(venue_names()))
    if unknown:
        raise InputError(what, unknown, "venue ids of marginscope.risk.venues.VENUES")


def tool_of(calculator: str) -> str:
    """The telemetry tool id of the calculator called ``calculator`` (its declaration's)."""
    return REGISTRY[calculator].tool


CALCULATOR_MIX: dict[str, float] = {
    "liquidation": 0.20, "margin-call": 0.09, "leverage": 0.10, "position-size": 0.14,
    "pnl": 0.13, "funding": 0.06, "average": 0.08, "stops": 0.09, "liquidation-risk": 0.06,
    "scenario": 0.05,
}
"""Calm-market mix of the crypto-futures calculators, by ``REGISTRY`` name (assumption):
liquidation price the most used calculator."""

TOOL_MIX: dict[str, float] = {tool_of(name): share for name, share in CALCULATOR_MIX.items()}
""":data:`CALCULATOR_MIX` by telemetry tool id. The order is the simulator's tool order."""
check_tools(TOOL_MIX, "TOOL_MIX")

TOOLS: tuple[str, ...] = tuple(TOOL_MIX)
"""The simulated tools, in :data:`TOOL_MIX` order."""


def _fields(tool: str) -> frozenset[str]:
    """Coarse fields any calculator declaring ``tool`` records (union over the declarations:
    ``liquidation_price`` is an account's and a single position's)."""
    return frozenset().union(*(c.records.fields() for c in REGISTRY.values() if c.tool == tool))


_ALSO: Mapping[str, frozenset[str]] = {tool_of("average"): frozenset({"notional"})}
"""Fields the simulator gives a tool's events beyond its declaration (a known departure, kept
so the simulated data stay as published: the live recorder takes no notional for an average
entry, whose input has fills but no single qty × entry price)."""

TOOL_FIELDS: dict[str, frozenset[str]] = {
    tool: _fields(tool) | _ALSO.get(tool, frozenset()) for tool in TOOLS
}
"""Coarse fields each simulated tool's events carry (from the calculator declarations, plus
:data:`_ALSO`); the others are NULL in the event, as the web recorder would leave them."""
