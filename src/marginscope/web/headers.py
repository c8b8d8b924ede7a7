"""Response headers every answer carries, as a pure ASGI middleware.

* **Security headers** (OWASP secure-headers project): a Content-Security-Policy that allows
  only the app's own scripts, styles, images and forms and no framing
  (``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for older browsers),
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``. The pages carry no
  inline script (JSON data blocks are not executed), so ``script-src 'self'`` holds; inline
  ``style`` attributes of the SVG charts need ``style-src 'unsafe-inline'``.
* **Relative redirects**: a redirect the framework builds from the request's ``Host`` header
  (``/static`` → ``http://<Host>/static/``) is rewritten to its path, so a forged ``Host``
  cannot send a visitor elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def _relative(location: bytes) -> bytes:
    """``http://host/path?q`` → ``/path?q``; a relative location is returned as it is."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    path = parts.path or "/"
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


class SecurityHeaders:
    """Add the security headers to every HTTP answer and make redirects relative."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                headers = [(name, _relative(value) if name.lower() == b"location" else value)
                           for name, value in message.get("headers", ())]
                headers += [(name, value) for name, value in _HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
