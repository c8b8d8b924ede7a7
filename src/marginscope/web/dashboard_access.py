"""Who may see the dashboard: the token setting, the login form and link, sessions, the refusal.

Access comes from ``MARGINSCOPE_DASHBOARD_TOKEN`` (:mod:`.settings`). Unset: every dashboard
route answers 404 with a note on how to enable it. Set: a request is let in with
``Authorization: Bearer <token>``, or with the session cookie a login sets (the login form,
``POST /dashboard/login``, or a link ``/dashboard?token=…`` that sets it and redirects to drop
the token from the address bar). The cookie holds a random session id kept server-side, never
the token (:mod:`.sessions`: expiry, logout, CSRF tokens, login throttling); it is HttpOnly,
SameSite=Strict, scoped to ``/dashboard`` and Secure over TLS. Every comparison is
constant-time, and the token is never logged or echoed.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from marginscope.web.pages import templates
from marginscope.web.sessions import LoginThrottle, SessionStore, over_tls, same_token

__all__ = [
    "COOKIE",
    "ENABLE_NOTE",
    "LOGIN_COOKIE",
    "authorized",
    "client_address",
    "cookie_options",
    "disabled",
    "form_fields",
    "logged_in",
    "login_page",
    "login_throttle",
    "refusal",
    "root_path",
    "session_store",
    "token_setting",
    "too_many",
    "unauthorized",
    "wants_html",
]

COOKIE = "ms_dashboard"
LOGIN_COOKIE = "ms_login_csrf"
ENABLE_NOTE = (
    "The dashboard is disabled. Set MARGINSCOPE_DASHBOARD_TOKEN to a long random "
    "secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) "
    "and restart the app; `marginscope demo` does this for you."
)


def token_setting(request: Request) -> str | None:
    return getattr(request.app.state.settings, "dashboard_token", None)


def session_store(request: Request) -> SessionStore:
    state = request.app.state
    if getattr(state, "dashboard_sessions", None) is None:
        from marginscope.config import state_dir

        state.dashboard_sessions = SessionStore(
            state_dir() / "dashboard-sessions.sqlite3", state.settings.session_hours * 3600
        )
    return state.dashboard_sessions


def login_throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle(state.settings.login_rate)
    return state.login_throttle


def authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given:
        return same_token(given.strip(), token)
    return session_store(request).valid(request.cookies.get(COOKIE))


def cookie_options(request: Request) -> dict[str, Any]:
    return {
        "path": f"{root_path(request)}/dashboard",
        "httponly": True,
        "samesite": "strict",
        "secure": over_tls(request, request.app.state.settings.trusted_proxies),
    }


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def root_path(request: Request) -> str:
    return request.scope.get("root_path", "")


def disabled(request: Request) -> Response:
    if wants_html(request):
        return templates.TemplateResponse(
            request,
            "dashboard_login.html",
            {"disabled": True, "note": ENABLE_NOTE},
            status_code=404,
        )
    return JSONResponse({"detail": ENABLE_NOTE}, status_code=404)


def login_page(
    request: Request, error: str = "", status: int = 401, headers: dict[str, str] | None = None
) -> Response:
    """The login form, with a fresh CSRF token in the form and in a strict cookie."""
    csrf = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "dashboard_login.html",
        {"disabled": False, "error": error, "csrf": csrf},
        status_code=status,
        headers=headers,
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="marginscope dashboard"'
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, **cookie_options(request))
    return response


def unauthorized(request: Request) -> Response:
    if wants_html(request):
        return login_page(request)
    return JSONResponse(
        {"detail": "the dashboard needs `Authorization: Bearer <token>` or the login cookie"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="marginscope dashboard"'},
    )


def too_many(request: Request, wait: float) -> Response:
    retry = {"Retry-After": str(max(1, math.ceil(wait)))}
    if wants_html(request):
        return login_page(
            request,
            "Too many login attempts; wait a minute and try again.",
            status=429,
            headers=retry,
        )
    return JSONResponse(
        {"detail": "too many login attempts; retry after the delay given"},
        status_code=429,
        headers=retry,
    )


def refusal(request: Request) -> Response | None:
    """None when the request may see the dashboard, else the response to send."""
    token = token_setting(request)
    if token is None:
        return disabled(request)
    return None if authorized(request, token) else unauthorized(request)


def logged_in(request: Request, location: str) -> Response:
    """Start a session (a new id at every login) and go to ``location``."""
    response = RedirectResponse(location, status_code=303)
    session_id = session_store(request).create()
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE, session_id, max_age=int(settings.session_hours * 3600), **cookie_options(request)
    )
    response.delete_cookie(LOGIN_COOKIE, **cookie_options(request))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def client_address(request: Request) -> str | None:
    from marginscope.config import client_ip_header
    from marginscope.telemetry.request import resolve_client_ip

    return resolve_client_ip(
        request.headers, request.client.host if request.client else None, client_ip_header()
    )


async def form_fields(request: Request) -> dict[str, str]:
    from urllib.parse import parse_qs

    body = (await request.body())[:4096].decode("utf-8", "replace")
    return {key: values[0].strip() for key, values in parse_qs(body).items() if values}
