"""Web settings: a view over :mod:`marginscope.config` (where every ``MARGINSCOPE_*`` variable
is read and documented), taken once when the app is created.

The web variables: ``MARGINSCOPE_HOST``, ``MARGINSCOPE_PORT``, ``MARGINSCOPE_WEB_WORKERS``,
``MARGINSCOPE_MAX_BODY``, ``MARGINSCOPE_ROOT_PATH``, ``MARGINSCOPE_DASHBOARD_TOKEN``; and
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
        )
