"""Web settings: a view over :mod:`marginscope.config` (where every ``MARGINSCOPE_*`` variable
is read and documented), taken once when the app is created.

The web variables: ``MARGINSCOPE_HOST``, ``MARGINSCOPE_PORT``, ``MARGINSCOPE_WEB_WORKERS``,
``MARGINSCOPE_MAX_BODY``, ``MARGINSCOPE_ROOT_PATH``, ``MARGINSCOPE_DASHBOARD_TOKEN``, the
server's limits (``MARGINSCOPE_HEADER_TIMEOUT``, ``MARGINSCOPE_BODY_TIMEOUT``,
``MARGINSCOPE_KEEPALIVE_TIMEOUT``, ``MARGINSCOPE_MAX_HEADER_BYTES``,
``MARGINSCOPE_MAX_CONNECTIONS``), ``MARGINSCOPE_TRUSTED_PROXIES``, the dashboard's login
(``MARGINSCOPE_DASHBOARD_SESSION_HOURS``, ``MARGINSCOPE_LOGIN_RATE``); and
``MARGINSCOPE_DB``, the DuckDB file of the telemetry events (see docs/web.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marginscope import config

__all__ = ["WebSettings"]


@dataclass(frozen=True)
class WebSettings:
    """What the app and ``marginscope serve`` read from the environment (defaults: config's)."""

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
            host=config.web_host(),
            port=config.web_port(),
            workers=config.web_workers(),
            max_body_bytes=config.max_body_bytes(),
            root_path=config.root_path(),
            dashboard_token=config.dashboard_token(),
            header_timeout=config.header_timeout(),
            body_timeout=config.body_timeout(),
            keep_alive_timeout=config.keep_alive_timeout(),
            max_header_bytes=config.max_header_bytes(),
            max_connections=config.max_connections(),
            trusted_proxies=config.trusted_proxies(),
            session_hours=config.session_hours(),
            login_rate=config.login_rate(),
        )
