"""JSON responses without re-encoding: results are already JSON-ready (``calculators.plain``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import JSONResponse, Response

__all__ = ["JSONBody", "json_response"]


class JSONBody(JSONResponse):
    """Compact UTF-8 JSON by orjson (NaN/inf would become null; ``plain`` already maps them)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any, status_code: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """A :class:`JSONBody` response."""
    return JSONBody(content, status_code=status_code, headers=dict(headers) if headers else None)
