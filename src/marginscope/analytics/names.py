"""Display names: tool ids and segments as a report writes them."""

from __future__ import annotations

__all__ = ["SEGMENT_LABELS", "SHARE_NAMES", "TOOL_NAMES", "tool_label", "tool_name"]

TOOL_NAMES: dict[str, str] = {
    "liquidation_price": "liquidation-price", "margin_call": "margin-call",
    "leverage": "leverage", "position_size": "position-size", "futures": "futures P&L",
    "funding_rate": "funding-rate", "average_price": "average-price",
    "stops": "stop-loss/take-profit", "liquidation_risk": "liquidation-risk",
    "scenario": "scenario",
}
SEGMENT_LABELS: dict[str, str] = {
    "all": "", "device:mobile": "on mobile", "device:desktop": "on desktop",
    "region:US": "from the U.S.", "region:rest": "outside the U.S.",
}
SHARE_NAMES: dict[str, str] = {"region:US": "U.S. share", "device:mobile": "mobile share",
                               "device:desktop": "desktop share"}


def tool_name(tool: str) -> str:
    """``liquidation-price`` for ``liquidation_price`` (unknown ids: underscores to hyphens)."""
    return TOOL_NAMES.get(tool, tool.replace("_", "-"))


def tool_label(tool: str | None) -> str:
    """``liquidation-price checks`` / ``all checks``."""
    return "all checks" if tool is None else f"{tool_name(tool)} checks"
