"""The one error type every layer raises for bad input.

This module sits below everything else (``risk`` included) so that the library, the CLI and
the HTTP API all speak about bad input the same way: which field, what value, what is allowed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["InputError"]


class InputError(ValueError):
    """A request field is missing, malformed or out of its allowed range.

    Attributes
    ----------
    field : str
        Dotted path of the offending field (``"positions[1].entry_price"``).
    value : Any
        The value received (for arrays: the first offending element).
    allowed : str
        Human-readable statement of what is accepted (``"> 0 and finite"``).
    """

    def __init__(self, field: str, value: Any, allowed: str, detail: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.detail = detail
        message = f"{field}: got {value!r}; allowed: {allowed}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the API's 422 body and the CLI's ``--json`` errors."""
        value = self.value
        if isinstance(value, float) and value != value:  # NaN is not valid JSON
            value = "NaN"
        elif isinstance(value, float) and value in (float("inf"), float("-inf")):
            value = str(value)
        elif not isinstance(value, str | int | float | bool | type(None)):
            value = repr(value)
        return {"field": self.field, "value": value, "allowed": self.allowed,
                "message": str(self)}
