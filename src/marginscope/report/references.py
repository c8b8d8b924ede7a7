"""The report's references: sources numbered in order of first citation, an exchange's endpoint
named before the public mirror it was read from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marginscope.market.exchanges import SOURCE_NAMES

__all__ = ["References", "reference_text"]


def reference_text(source: str) -> str:
    """A source string as a reference: for a public mirror of an exchange's API, the
    exchange's endpoint first, then the mirror (``… via github.com/…`` in the stored text)."""
    head, _, mirror = source.partition(" via ")
    venue, _, endpoint = head.partition(":")
    name = SOURCE_NAMES.get(venue)
    if name is None:
        return source
    text = f"{name}, {endpoint.strip()}" if endpoint else name
    if mirror:
        text += f"; read from a public mirror of that endpoint: {mirror.strip()}"
    return text


@dataclass
class References:
    """Sources numbered in order of first citation."""

    items: list[dict[str, Any]] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def cite(self, source: str | None) -> str:
        """`` [n]`` for ``source`` (numbered on first use); empty for no source."""
        if not source:
            return ""
        if source not in self._index:
            self._index[source] = len(self.items) + 1
            self.items.append(
                {"n": len(self.items) + 1, "source": source, "text": reference_text(source)}
            )
        return f" [{self._index[source]}]"
