"""Display names: tool ids and segments as a report writes them.

A tool's name is its calculator declaration's (:attr:`Calculator.tool_name
<marginscope.calculators.base.Calculator.tool_name>`, read through the telemetry vocabulary);
ids no calculator declares (events of a retired tool) read as the id with hyphens.
"""

from __future__ import annotations

from marginscope.telemetry.schema import tools

__all__ = ["SEGMENT_LABELS", "SHARE_NAMES", "tool_label", "tool_name", "tool_names"]

SEGMENT_LABELS: dict[str, str] = {
    "all": "", "device:mobile": "on mobile", "device:desktop": "on desktop",
    "region:US": "from the U.S.", "region:rest": "outside the U.S.",
}
SHARE_NAMES: dict[str, str] = {"region:US": "U.S. share", "device:mobile": "mobile share",
                               "device:desktop": "desktop share"}


def tool_names() -> dict[str, str]:
    """Every declared tool id → its name in reports (``futures`` → ``futures P&L``)."""
    return {tool: calculator.tool_name for tool, calculator in tools().items()}


def tool_name(tool: str) -> str:
    """``liquidation-price`` for ``liquidation_price`` (unknown ids: underscores to hyphens)."""
    calculator = tools().get(tool)
    return calculator.tool_name if calculator is not None else tool.replace("_", "-")


def tool_label(tool: str | None) -> str:
    """``liquidation-price checks`` / ``all checks``."""
    return "all checks" if tool is None else f"{tool_name(tool)} checks"
