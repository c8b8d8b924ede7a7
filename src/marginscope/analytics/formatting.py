"""Numbers and days as the findings, the narrative and the charts write them.

Shared by :mod:`.findings` and :mod:`marginscope.report` (which may import analytics, never
the reverse), so a lift reads the same in a finding's sentence, the report's tables and its
takeaways.
"""

from __future__ import annotations

__all__ = ["count_text", "day_text", "signed_percent", "span_text"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def count_text(value: float | None) -> str:
    """A count with thousands separators (``101,573``); ``n/a`` for None."""
    return "n/a" if value is None else f"{value:,.0f}"


def signed_percent(value: float | None) -> str:
    """A relative change as a whole signed percentage: ``0.384`` → ``+38%``; None → ``n/a``."""
    return "n/a" if value is None else f"{value * 100:+.0f}%"


def day_text(iso: str) -> str:
    """``Nov 21`` for ``2025-11-21`` (any string or ``datetime64[D]`` starting ``YYYY-MM-DD``)."""
    text = str(iso)
    return f"{_MONTHS[int(text[5:7]) - 1]} {int(text[8:10])}"


def span_text(start: str, end: str) -> str:
    """``Nov 20–22`` / ``Nov 30–Dec 2`` / ``Nov 21`` for inclusive ISO days."""
    if start == end:
        return day_text(start)
    if start[:7] == end[:7]:
        return f"{day_text(start)}–{int(end[8:10])}"
    return f"{day_text(start)}–{day_text(end)}"
