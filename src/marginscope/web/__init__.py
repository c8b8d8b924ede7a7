"""The web app: JSON API (OpenAPI) and server-rendered calculator pages (see docs/web.md)."""

from marginscope.web.app import create_app

__all__ = ["create_app"]
