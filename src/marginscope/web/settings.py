"""Web settings, read from the environment once when the app is created.

| variable | meaning | default |
|---|---|---|
| ``MARGINSCOPE_HOST`` | interface ``marginscope serve`` binds when ``--host`` is not given | ``127.0.0.1`` |
| ``MARGINSCOPE_PORT`` | port ``marginscope serve`` listens on when ``--port`` is not given | ``8000`` |
| ``MARGINSCOPE_WEB_WORKERS`` | uvicorn worker processes for ``marginscope serve`` | ``1`` |
| ``MARGINSCOPE_MAX_BODY`` | largest request body accepted, bytes (larger: HTTP 413) | ``65536`` |
| ``MARGINSCOPE_ROOT_PATH`` | path prefix when served behind a proxy under a sub-path | empty |
| ``MARGINSCOPE_DASHBOARD_TOKEN`` | secret that opens ``/dashboard`` (Bearer header or login); unset: dashboard disabled (404) | unset |
| ``MARGINSCOPE_HEADER_TIMEOUT`` | seconds a client has to send a request's line and headers (then 408, closed) | ``10`` |
| ``MARGINSCOPE_BODY_TIMEOUT`` | seconds a client has to send a request's body once its headers are in (then 408) | ``30`` |
| ``MARGINSCOPE_KEEPALIVE_TIMEOUT`` | seconds an idle kept-alive connection stays open | ``5`` |
| ``MARGINSCOPE_MAX_HEADER_BYTES`` | largest request head (request line and headers), bytes (larger: 431) | ``16384`` |
| ``MARGINSCOPE_MAX_CONNECTIONS`` | concurrent connections and requests per worker (more: 503) | ``1000`` |
| ``MARGINSCOPE_TRUSTED_PROXIES`` | comma-separated addresses of reverse proxies whose ``X-Forwarded-Proto`` is believed (TLS → ``Secure`` cookies) | unset (none) |
| ``MARGINSCOPE_DASHBOARD_SESSION_HOURS`` | lifetime of a dashboard login | ``12`` |
| ``MARGINSCOPE_LOGIN_RATE`` | dashboard login attempts per minute per client (burst the same; 10× that for all clients together; then 429) | ``5`` |
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
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_header_bytes: int = 16384
    max_connections: int = 1000
    trusted_proxies: tuple[str, ...] = ()
    session_hours: float = 12.0
    login_rate: int = 5

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
            header_timeout=_env_int("MARGINSCOPE_HEADER_TIMEOUT", 10, 1, 300),
            body_timeout=_env_int("MARGINSCOPE_BODY_TIMEOUT", 30, 1, 600),
            keep_alive_timeout=_env_int("MARGINSCOPE_KEEPALIVE_TIMEOUT", 5, 1, 300),
            max_header_bytes=_env_int("MARGINSCOPE_MAX_HEADER_BYTES", 16384, 1024, 1 << 20),
            max_connections=_env_int("MARGINSCOPE_MAX_CONNECTIONS", 1000, 1, 100_000),
            trusted_proxies=tuple(a.strip() for a in (_env("MARGINSCOPE_TRUSTED_PROXIES") or ""
                                                      ).split(",") if a.strip()),
            session_hours=_env_int("MARGINSCOPE_DASHBOARD_SESSION_HOURS", 12, 1, 24 * 30),
            login_rate=_env_int("MARGINSCOPE_LOGIN_RATE", 5, 1, 1000),
        )
