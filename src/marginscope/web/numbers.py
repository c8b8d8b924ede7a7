"""Numbers for people: thousands separators, enough digits for small prices, % for rates."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Reading", "fmt", "is_percent", "pct", "plain_number", "read_number"]

PERCENT = {"mmr", "mmr_at_entry", "margin_ratio", "distance_to_liquidation", "probability",
           "standard_error", "annualized_rate", "roe", "net_roe", "effective_mmr"}


def is_percent(key: str) -> bool:
    """Whether a result key holds a fraction shown as a percentage."""
    return key in PERCENT or (key.endswith(("_ratio", "_rate")) and key != "risk_reward")


def fmt(value: Any, key: str = "") -> str:
    """A figure for people: thousands separators, enough digits for small prices, % for rates."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not is_percent(key):
        return f"{value:,}"
    if not isinstance(value, int | float):
        return str(value)
    if not math.isfinite(value):
        return "—"
    if is_percent(key):
        return f"{value * 100:,.4g} %" if abs(value) < 0.001 else f"{value * 100:,.2f} %"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.2f}"
    if magnitude >= 1 or value == 0:
        return f"{value:,.4g}" if magnitude < 100 else f"{value:,.2f}"
    return f"{value:.6g}"


def pct(value: float | None) -> str:
    """A fraction as a percentage with two decimals."""
    return "—" if value is None or not math.isfinite(value) else f"{value * 100:.2f} %"


# --- numbers as traders type them (the pages only: the API and CLI take plain numbers) -------

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9}
_TRADER = re.compile(
    r"^(?P<sign>[+\-−]?)\s*\$?\s*(?P<digits>(?:\d{1,3}(?:[,_ ]\d{3})+|\d*)(?:\.\d*)?(?:e[+\-]?\d+)?)"
    r"\s*(?P<suffix>k|m|bn|b)?\s*(?P<percent>%)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """How a typed number was read: its value, and whether the text needed interpreting."""

    value: float
    text: str
    interpreted: bool  # separators, a suffix, a % sign or a percent field changed the text


def read_number(text: str, percent: bool = False) -> Reading | None:
    """A number as a trader types it: ``95,000``, ``95 000``, ``95k``, ``1.5m``, ``-0.01%``.

    ``percent``: the field takes percent (``-0.01`` means −0.01 %, a fraction of −0.0001); a %
    sign means percent in any field. None when the text is not a number (the caller leaves it
    to the model, which names the field).
    """
    cleaned = text.strip().replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    match = _TRADER.match(cleaned)
    if not match or not any(ch.isdigit() for ch in match["digits"]):
        return None
    digits = re.sub(r"[,_ ]", "", match["digits"])
    try:
        value = float(digits)
    except ValueError:
        return None
    if match["suffix"]:
        value *= _SUFFIX[match["suffix"].lower()]
    if not math.isfinite(value):
        return None
    if match["sign"] == "-":
        value = -value
    if percent or match["percent"]:
        value /= 100
    interpreted = bool(match["suffix"] or match["percent"] or digits != match["digits"]
                       or "$" in cleaned)
    return Reading(value, text.strip(), interpreted)


def plain_number(value: float) -> str:
    """A float as the shortest text that reads back the same (no separators, no exponent for
    everyday sizes): ``95000``, ``0.0001``."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text and 1e-6 <= abs(value) < 1e15:
        text = f"{value:.15f}".rstrip("0").rstrip(".")
    return text
