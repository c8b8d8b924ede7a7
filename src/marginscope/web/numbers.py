"""Numbers for people: thousands separators, enough digits for small prices, % for rates."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fmt", "is_percent", "pct"]

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
