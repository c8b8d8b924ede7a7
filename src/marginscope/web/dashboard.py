"""The analyst's dashboard: ``/dashboard``, behind a token (the calculators stay open).

Routes only: who may enter is :mod:`.dashboard_access`, what the page shows
:mod:`.dashboard_data` (report, charts, totals, filters) and :mod:`.dashboard_views` (the
issue-21 views: contrasts, transitions, paths, funnels, hour profiles, setup content, month
over month). Downloads: ``/dashboard/report.{html,json,md,pdf}?month=YYYY-MM`` (PDF only where
Chromium exists) and the filtered CSV files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from marginscope.errors import InputError
from marginscope.web.dashboard_access import (
    COOKIE,
    LOGIN_COOKIE,
    authorized,
    client_address,
    cookie_options,
    disabled,
    form_fields,
    logged_in,
    login_page,
    login_throttle,
    refusal,
    root_path,
    session_store,
    token_setting,
    too_many,
    unauthorized,
)
from marginscope.web.dashboard_data import (
    chromium,
    dashboard_view,
    events_db,
    month_of,
    month_report,
    months_available,
)
from marginscope.web.dashboard_views import CSV_COLUMNS, view_rows
from marginscope.web.pages import templates
from marginscope.web.sessions import csrf_token, same_token

__all__ = ["COOKIE", "CSV_TABLES", "LOGIN_COOKIE", "build_dashboard"]

CSV_TABLES = ("daily", "findings", *CSV_COLUMNS)
"""The CSV downloads ``/dashboard/<table>.csv`` (each with the page's filters)."""


def build_dashboard() -> APIRouter:
    """Routes of the dashboard, its login and its report downloads."""
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard", name="dashboard")
    async def page(request: Request, token: str | None = None, month: str | None = None,
                   start: str | None = None, end: str | None = None, tool: str | None = None,
                   device: str | None = None, region: str | None = None) -> Response:
        secret = token_setting(request)
        if secret is None:
            return disabled(request)
        if token is not None:  # a login link: set the cookie, drop the token from the URL
            wait = login_throttle(request).wait(client_address(request))
            if wait:
                return too_many(request, wait)
            if not same_token(token, secret):
                return login_page(request, "That token is not right.")
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            location = f"{root_path(request)}/dashboard" + (f"?{urlencode(rest)}" if rest else "")
            return logged_in(request, location)
        if not authorized(request, secret):
            return unauthorized(request)
        params = {"month": month, "start": start, "end": end, "tool": tool, "device": device,
                  "region": region}
        try:
            context = await run_in_threadpool(dashboard_view, request, params)
        except InputError as exc:  # a hand-edited URL: the default view, and what was wrong
            context = await run_in_threadpool(dashboard_view, request, {})
            context["problem"] = str(exc)
        session_id = request.cookies.get(COOKIE)
        context["logout_csrf"] = csrf_token(session_id) if session_id else None
        response = templates.TemplateResponse(request, "dashboard.html", context)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.post("/dashboard/login", name="dashboard_login")
    async def login(request: Request) -> Response:
        secret = token_setting(request)
        if secret is None:
            return disabled(request)
        wait = login_throttle(request).wait(client_address(request))
        if wait:
            return too_many(request, wait)
        form = await form_fields(request)
        if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
            return login_page(request, "The form had expired; please enter the token again.",
                               status=403)
        if not same_token(form.get("token"), secret):
            return login_page(request, "That token is not right.")
        return logged_in(request, f"{root_path(request)}/dashboard")

    @router.post("/dashboard/logout", name="dashboard_logout")
    async def logout(request: Request) -> Response:
        session_id = request.cookies.get(COOKIE)
        form = await form_fields(request)
        if not (session_store(request).valid(session_id)
                and same_token(form.get("csrf"), csrf_token(session_id or ""))):
            return JSONResponse({"detail": "logout needs the dashboard's own form (CSRF token) "
                                           "and a live session"}, status_code=403)
        session_store(request).end(session_id)
        response = RedirectResponse(f"{root_path(request)}/dashboard", status_code=303)
        response.delete_cookie(COOKIE, **cookie_options(request))
        return response

    @router.get("/dashboard/data.json", name="dashboard_data")
    async def data(request: Request, month: str | None = None, start: str | None = None,
                   end: str | None = None, tool: str | None = None, device: str | None = None,
                   region: str | None = None) -> Response:
        """The numbers behind the page (totals, findings and the views; no chart images)."""
        context = await _filtered_view(request, {
            "month": month, "start": start, "end": end, "tool": tool, "device": device,
            "region": region})
        if isinstance(context, Response):
            return context
        return JSONResponse({key: context.get(key) for key in (
            "month", "start", "end", "filters", "synthetic", "totals", "findings", "k",
            "daily", "plot", "views")},
            headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/{table}.csv", name="dashboard_csv")
    async def csv_file(request: Request, table: str, month: str | None = None,
                       start: str | None = None, end: str | None = None,
                       tool: str | None = None, device: str | None = None,
                       region: str | None = None) -> Response:
        """The filtered daily series (suppressed), findings, contrasts or transitions, as CSV."""
        if table not in CSV_TABLES:  # refused first: an outsider learns nothing of the names
            return refusal(request) or JSONResponse(
                {"detail": f"no CSV {table!r}; allowed: " + " | ".join(CSV_TABLES)},
                status_code=404)
        context = await _filtered_view(request, {
            "month": month, "start": start, "end": end, "tool": tool, "device": device,
            "region": region})
        if isinstance(context, Response):
            return context
        if context.get("available") is None:
            return JSONResponse({"detail": "no events are stored yet"}, status_code=404)
        from marginscope.report.render import FINDING_COLUMNS, csv_text, daily_rows, finding_rows

        if table in CSV_COLUMNS:
            rows = view_rows(context["views"], table)
        else:
            rows = (daily_rows(context["daily"]) if table == "daily"
                    else [list(FINDING_COLUMNS), *finding_rows(context["findings"])])
        label = "-".join([context["start"], context["end"],
                          *(v for _k, v in sorted(context["filters"].items()))])
        return Response(csv_text(rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="marginscope-{table}-{label}.csv"',
            "Cache-Control": "no-store"})

    @router.get("/dashboard/report.{fmt}", name="dashboard_report")
    async def download(request: Request, fmt: str, month: str | None = None) -> Response:
        denied = refusal(request)
        if denied is not None:
            return denied
        if fmt not in MEDIA:
            return JSONResponse({"detail": f"no report format {fmt!r}; allowed: "
                                           + " | ".join(MEDIA)}, status_code=404)
        return await run_in_threadpool(_download, fmt, month)

    return router


MEDIA = {"html": "text/html; charset=utf-8", "json": "application/json",
         "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


async def _filtered_view(request: Request, params: dict[str, str | None]
                         ) -> Response | dict[str, Any]:
    """The dashboard's context for ``params``, or the response refusing the request (a bad
    parameter raises :class:`InputError`: the app's handler answers 422 in the one error shape)."""
    denied = refusal(request)
    if denied is not None:
        return denied
    return await run_in_threadpool(dashboard_view, request, params)


def _download(fmt: str, month: str | None) -> Response:
    from marginscope.report.render import to_html, to_json, to_markdown, to_pdf

    db = events_db()
    available = months_available(db) if db.is_file() else None
    if available is None:
        return JSONResponse({"detail": "no events are stored yet"}, status_code=404)
    month = month_of(month, available)
    report = month_report(db, month)
    if fmt == "pdf":
        if chromium() is None:
            return JSONResponse({"detail": "PDF needs Chromium on the server"}, status_code=404)
        with tempfile.TemporaryDirectory(prefix="marginscope-dashboard-") as folder:
            body: bytes | str = to_pdf(report, Path(folder) / "report.pdf").read_bytes()
    elif fmt == "json":
        body = to_json(report) + "\n"
    elif fmt == "html":
        body = to_html(report)
    else:
        body = to_markdown(report)
    name = f"marginscope-report-{month}.{fmt}"
    return Response(body, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

