"""Web settings, read from the environment once when the app is created.

| variable | meaning | default |
|---|---|---|
| ``MARGINSCOPE_HOST`` | interface ``marginscope serve`` binds when ``--host`` is not given | ``127.0.0.1`` |
| ``MARGINSCOPE_PORT`` | port ``marginscope serve`` listens on when ``--port`` is not given | ``8000`` |
| ``MARGINSCOPE_WEB_WORKERS`` | uvicorn worker processes for ``marginscope serve`` | ``1`` |
| ``MARGINSCOPE_MAX_BODY`` | largest request body accepted, bytes (larger: HTTP 413) | ``65536`` |
| ``MARGINSCOPE_ROOT_PATH`` | path prefix when served behind a proxy under a sub-path | empty |
| ``MARGINSCOPE_DASHBOARD_TOKEN`` | secret that opens ``/dashboard`` (Bearer header or login); unset: dashboard disabled (404) | unset |
| ``MARGINSCOPE_DB`` | DuckDB file of the telemetry events, once telemetry is wired (see :mod:`marginscope.config`) | ``./marginscope.duckdb`` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from marginscope.errors import InputError

__all__ = ["WebSettings"]


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(name, raw, f"an integer {low} … {high}") from None
    if not low <= value <= high:
        raise InputError(name, raw, f"an integer {low} … {high}")
    return value


@dataclass(frozen=True)
class WebSettings:
    """What the app and ``marginscope serve`` read from the environment (see the table above)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 65536
    root_path: str = ""
    dashboard_token: str | None = field(default=None, repr=False)  # never printed

    @classmethod
    def from_env(cls) -> WebSettings:
        """Settings from ``MARGINSCOPE_*`` variables; a bad value is an :class:`InputError`."""
        return cls(
            host=_env("MARGINSCOPE_HOST") or "127.0.0.1",
            port=_env_int("MARGINSCOPE_PORT", 8000, 1, 65535),
            workers=_env_int("MARGINSCOPE_WEB_WORKERS", 1, 1, 64),
            max_body_bytes=_env_int("MARGINSCOPE_MAX_BODY", 65536, 1024, 16 * 1024 * 1024),
            root_path=(_env("MARGINSCOPE_ROOT_PATH") or "").rstrip("/"),
            dashboard_token=_env("MARGINSCOPE_DASHBOARD_TOKEN"),
        )
