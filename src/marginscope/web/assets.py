"""Static files: content-hashed URLs, long-lived caching, gzip.

``asset(request, "app.css")`` gives ``/static/app.css?v=<hash of the file>``; a request whose
``v`` matches the file's current hash is cached for a year (``immutable``), any other (no
``v``, an old hash) must revalidate (``no-cache``, answered 304 by its ETag). Text files are
gzipped for clients that accept it.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

__all__ = ["FOREVER", "HashedStatic", "asset", "asset_hash", "static_app"]

STATIC = Path(__file__).parent / "static"
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@cache
def asset_hash(name: str) -> str:
    """First 12 hex digits of the SHA-256 of ``static/<name>`` (read once per process)."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset(request: Request, name: str) -> str:
    """Root-relative, content-hashed URL of a static file."""
    root = request.scope.get("root_path", "")
    return f"{root}{request.app.url_path_for('static', path=name)}?v={asset_hash(name)}"


class HashedStatic(StaticFiles):
    """Static files with ``Cache-Control``: a year for the current hash, else revalidate."""

    def file_response(
        self,
        full_path: os.PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        wanted = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        name = Path(full_path).resolve().relative_to(STATIC.resolve()).as_posix()
        current = asset_hash(name) if wanted else ""
        response.headers["Cache-Control"] = FOREVER if wanted and wanted == current else REVALIDATE
        return response


def static_app() -> ASGIApp:
    """The ``/static`` app: hashed caching behind gzip."""
    return GZipMiddleware(HashedStatic(directory=STATIC), minimum_size=512)
