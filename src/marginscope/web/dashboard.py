"""The analyst's dashboard: ``/dashboard``, behind a token (the calculators stay open).

Access comes from ``MARGINSCOPE_DASHBOARD_TOKEN`` (:mod:`.settings`). Unset: every dashboard
route answers 404 with a note on how to enable it. Set: a request is let in with
``Authorization: Bearer <token>``, or with the session cookie a login sets (the login form,
``POST /dashboard/login``, or a link ``/dashboard?token=…`` that sets it and redirects to drop
the token from the address bar). The cookie holds a random session id kept server-side, never
the token (:mod:`.sessions`: expiry, logout, CSRF tokens, login throttling); it is HttpOnly,
SameSite=Strict, scoped to ``/dashboard`` and Secure over TLS. Every comparison is
constant-time, and the token is never logged or echoed.

The page reads the events DuckDB file (:func:`marginscope.config.db_path`): the same charts as
the monthly report (:mod:`marginscope.report.charts`) for the chosen tool, device, region and
date range, the month's findings, and the report downloads
(``/dashboard/report.{html,json,md,pdf}?month=YYYY-MM``; PDF only where Chromium exists).
Reports and charts are cached per month (and filters) and the file's modification time.
"""

from __future__ import annotations

import math
import re
import secrets
import tempfile
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from marginscope.errors import InputError
from marginscope.web.pages import templates
from marginscope.web.sessions import (
    LoginThrottle,
    SessionStore,
    csrf_token,
    over_tls,
    same_token,
)

if TYPE_CHECKING:
    from marginscope.analytics.findings import Finding

__all__ = ["COOKIE", "LOGIN_COOKIE", "build_dashboard"]

COOKIE = "ms_dashboard"
LOGIN_COOKIE = "ms_login_csrf"
MAX_DAYS = 366
DEVICES = ("mobile", "desktop", "tablet", "other")
REGIONS = {"US": "United States", "rest": "Rest of world"}
ENABLE_NOTE = ("The dashboard is disabled. Set MARGINSCOPE_DASHBOARD_TOKEN to a long random "
               "secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) "
               "and restart the app; `marginscope demo` does this for you.")
_ID = re.compile(r"^[a-z0-9_]{1,40}$")
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 16


def _token(request: Request) -> str | None:
    return getattr(request.app.state.settings, "dashboard_token", None)


def _sessions(request: Request) -> SessionStore:
    state = request.app.state
    if getattr(state, "dashboard_sessions", None) is None:
        from marginscope.config import state_dir

        state.dashboard_sessions = SessionStore(state_dir() / "dashboard-sessions.sqlite3",
                                                state.settings.session_hours * 3600)
    return state.dashboard_sessions


def _throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle(state.settings.login_rate)
    return state.login_throttle


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given:
        return same_token(given.strip(), token)
    return _sessions(request).valid(request.cookies.get(COOKIE))


def _cookie_options(request: Request) -> dict[str, Any]:
    return {"path": f"{_root(request)}/dashboard", "httponly": True, "samesite": "strict",
            "secure": over_tls(request, request.app.state.settings.trusted_proxies)}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _root(request: Request) -> str:
    return request.scope.get("root_path", "")


def _disabled(request: Request) -> Response:
    if _wants_html(request):
        return templates.TemplateResponse(request, "dashboard_login.html", {
            "disabled": True, "note": ENABLE_NOTE}, status_code=404)
    return JSONResponse({"detail": ENABLE_NOTE}, status_code=404)


def _login_page(request: Request, error: str = "", status: int = 401,
                headers: dict[str, str] | None = None) -> Response:
    """The login form, with a fresh CSRF token in the form and in a strict cookie."""
    csrf = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "dashboard_login.html", {
        "disabled": False, "error": error, "csrf": csrf}, status_code=status, headers=headers)
    response.headers["WWW-Authenticate"] = 'Bearer realm="marginscope dashboard"'
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, **_cookie_options(request))
    return response


def _unauthorized(request: Request) -> Response:
    if _wants_html(request):
        return _login_page(request)
    return JSONResponse({"detail": "the dashboard needs `Authorization: Bearer <token>` or "
                                   "the login cookie"}, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer realm="marginscope dashboard"'})


def _too_many(request: Request, wait: float) -> Response:
    retry = {"Retry-After": str(max(1, math.ceil(wait)))}
    if _wants_html(request):
        return _login_page(request, "Too many login attempts; wait a minute and try again.",
                           status=429, headers=retry)
    return JSONResponse({"detail": "too many login attempts; retry after the delay given"},
                        status_code=429, headers=retry)


def _gate(request: Request) -> Response | None:
    """None when the request may see the dashboard, else the response to send."""
    token = _token(request)
    if token is None:
        return _disabled(request)
    return None if _authorized(request, token) else _unauthorized(request)


def _logged_in(request: Request, location: str) -> Response:
    """Start a session (a new id at every login) and go to ``location``."""
    response = RedirectResponse(location, status_code=303)
    session_id = _sessions(request).create()
    settings = request.app.state.settings
    response.set_cookie(COOKIE, session_id, max_age=int(settings.session_hours * 3600),
                        **_cookie_options(request))
    response.delete_cookie(LOGIN_COOKIE, **_cookie_options(request))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _client(request: Request) -> str | None:
    from marginscope.config import client_ip_header
    from marginscope.telemetry.request import resolve_client_ip

    return resolve_client_ip(request.headers, request.client.host if request.client else None,
                             client_ip_header())


async def _form(request: Request) -> dict[str, str]:
    from urllib.parse import parse_qs

    body = (await request.body())[:4096].decode("utf-8", "replace")
    return {key: values[0].strip() for key, values in parse_qs(body).items() if values}


# --- data -----------------------------------------------------------------------------------

def _db() -> Path:
    from marginscope.config import db_path

    return db_path()


def _stamp(db: Path) -> tuple[str, int, int]:
    stat = db.stat()
    return str(db), stat.st_mtime_ns, stat.st_size


def _cached(key: tuple[Any, ...], make: Any) -> Any:
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = make()
    _CACHE[key] = value
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _report(db: Path, month: str) -> Any:
    """The month's report with charts (for the findings, the flag and the downloads)."""
    from marginscope.report import build_report

    return _cached(("report", month, *_stamp(db)), lambda: build_report(str(db), month))


def _months_available(db: Path) -> tuple[str, str, str] | None:
    """First month with events, last month with events, and the month the page opens on:
    the latest month with at least k events per day on average (a month with only a few
    live page views after a demo is not "the latest month with data"), else the last one.
    None when the file holds no events."""
    from marginscope.analytics.queries import day_number
    from marginscope.analytics.sources import opened_events
    from marginscope.config import min_cell

    def read() -> tuple[str, str, str] | None:
        try:
            with opened_events(db) as events:  # waits while the live sink holds the file
                day = day_number(events)
                rows = events.group_by(day=day).aggregate(n=events.count()).to_pyarrow()
        except InputError:  # no events table
            return None
        per_month: dict[str, int] = {}
        epoch = date(1970, 1, 1)
        for number, n in zip(rows["day"].to_pylist(), rows["n"].to_pylist(), strict=True):
            month = (epoch + timedelta(days=int(number))).strftime("%Y-%m")
            per_month[month] = per_month.get(month, 0) + int(n)
        if not per_month:
            return None
        months = sorted(per_month)
        full = [m for m in months if per_month[m] >= min_cell() * 28]
        return months[0], months[-1], (full or months)[-1]

    return _cached(("months", *_stamp(db)), read)


def _ratio(part: int | None, whole: int | None) -> float | None:
    """``part / whole`` when both are published (not suppressed) and ``whole`` > 0."""
    return part / whole if part is not None and whole else None


def _charts(db: Path, first: date, end: date, filters: dict[str, str], synthetic: bool,
            findings: list[Finding]) -> dict[str, Any]:
    """The report's charts (:func:`marginscope.report.charts.usage_charts`) for ``[first,
    end)`` under ``filters``, plus the totals shown.

    The days are aggregated once into a cube (cached); filters select its cells. Totals add
    only the cells shown (per day and value, cells under k left out). Spike circles come from
    the month's findings (all devices and regions), so they are drawn only when no device or
    region filter is set.
    """
    from marginscope.analytics.aggregate import aggregate
    from marginscope.analytics.association import market_context
    from marginscope.analytics.disclosure import cube_disclosure
    from marginscope.analytics.names import tool_name
    from marginscope.config import min_cell
    from marginscope.report.build import load_market
    from marginscope.report.charts import svg_data_uri, usage_charts

    k = min_cell()
    src = str(db)
    cube = _cached(("cube", first, end, *_stamp(db)),
                   lambda: aggregate(src, first, end, reach=False))
    days = len(cube.days)
    chosen = cube.where(filters.get("tool"), filters.get("device"), filters.get("region"))
    any_region = cube.where(filters.get("tool"), filters.get("device"))
    table = cube_disclosure(chosen, 0, days, k)
    regional_table = cube_disclosure(any_region, 0, days, k)
    tool_sums = {t: table.shown(("tool", t)) for t, n in chosen.by_tool().items() if n > 0}
    device_sums = {d: table.shown(("device", d)) for d in chosen.devices}
    region_sums = {name: regional_table.shown(("region", name)) for name in REGIONS}
    total = table.shown(("all",))
    loaded = _cached(("market", *_stamp(db)), lambda: load_market(src))
    context = market_context(loaded.data, first, end, origin=loaded.origin)
    regional = bool({"device", "region"} & set(filters))
    charts, captions = [], []
    if tool_sums:
        label = f"{tool_name(filters['tool'])} checks" if "tool" in filters else "all checks"
        us = {label: (regional_table.masked(any_region.series(None, "region:US"), "region",
                                            "US"), any_region.series())}
        matrix = np.stack([table.masked(column, "tool", tool) for tool, column in
                           zip(chosen.tools, chosen.tool_matrix().T, strict=True)], axis=1)
        charts = usage_charts(chosen, 0, days, context=context,
                              findings=[] if regional else findings, k=k, synthetic=synthetic,
                              us_series=us, matrix=matrix)
        captions = [charts[0].caption + f" Cells under {k} checks are gaps."
                    + (" (No spike circles under a device or region filter.)" if regional
                       else ""),
                    charts[1].caption,
                    "U.S. share per UTC day of the checks matching the tool and device "
                    "filters (the region filter does not apply here)."]
    region_total = regional_table.shown(("all",))
    per_tool = sorted(((tool_name(t), n) for t, n in sorted(tool_sums.items())),
                      key=lambda i: -(i[1] if i[1] is not None else -1))
    span = range(days)

    def series(*key: str) -> list[int | None]:
        return table.shown_all([("day", i, *key) for i in span])

    daily = {"dates": [str(d) for d in cube.days],
             "checks": {"all": series("all"),
                        **{t: series("tool", t) for t in tool_sums}},
             "devices": {d: series("device", d) for d in chosen.devices
                         if chosen.series(None, f"device:{d}").any()},
             "regions": {r: regional_table.shown_all([("day", i, "region", r) for i in span])
                         for r in REGIONS},
             "btc_close": [None if not math.isfinite(v) else round(float(v), 2)
                           for v in context.close[:days]]
             if len(context.close) >= days else None}
    from marginscope.report.charts import colours, event_marks

    marks = event_marks(context, cube.days)
    plot = {"names": {t: tool_name(t) for t in tool_sums}, "colours": colours(list(tool_sums)),
            "marks": [{"day": str(cube.days[p]), "label": label} for p, label in marks],
            "price_label": "BTC daily close (USD)"}
    return {
        "daily": daily,
        "plot": plot,
        "charts": [{"name": c.name, "title": c.title, "alt": c.alt, "caption": caption,
                    "narrow": svg_data_uri(c.narrow), "wide": svg_data_uri(c.wide)}
                   for c, caption in zip(charts, captions, strict=True)],
        "totals": {"checks": total, "days": days,
                   "regions": region_sums,
                   "us_share": _ratio(region_sums["US"], region_total),
                   "mobile_share": _ratio(device_sums.get("mobile"), total),
                   "tools": per_tool},
        "k": k,
    }


# --- query parameters -----------------------------------------------------------------------

def _month_of(value: str | None, available: tuple[str, str] | None) -> str:
    from marginscope.analytics.periods import month_bounds

    if value:
        month_bounds(value)  # raises InputError("month", …) unless YYYY-MM
        return value
    return available[2] if available else date.today().strftime("%Y-%m")


def _filters(tool: str | None, device: str | None, region: str | None) -> dict[str, str]:
    out = {}
    if tool:
        if not _ID.match(tool):
            raise InputError("tool", tool, "a tool id such as liquidation_price")
        out["tool"] = tool
    if device:
        if device not in DEVICES:
            raise InputError("device", device, " | ".join(DEVICES))
        out["device"] = device
    if region:
        if region not in REGIONS:
            raise InputError("region", region, " | ".join(REGIONS))
        out["region"] = region
    return out


# --- routes ---------------------------------------------------------------------------------

def _chromium() -> str | None:
    from marginscope.report.render import find_chromium

    return find_chromium()


def _view(request: Request, params: dict[str, str | None]) -> dict[str, Any]:
    from marginscope.analytics.names import tool_name
    from marginscope.analytics.periods import day_range

    db = _db()
    context: dict[str, Any] = {"db": str(db), "params": params, "devices": DEVICES,
                               "regions": REGIONS, "tool_name": tool_name}
    available = _months_available(db) if db.is_file() else None
    context["available"] = available
    month = _month_of(params.get("month"), available)
    first, end = day_range(month, params.get("start"), params.get("end"), max_days=MAX_DAYS)
    filters = _filters(params.get("tool"), params.get("device"), params.get("region"))
    context.update(month=month, start=first.isoformat(),
                   end=(end - timedelta(days=1)).isoformat(), filters=filters)
    if available is None:
        return context
    report = _report(db, month)
    data = report.to_dict()
    wanted = [f"{name}:{filters[name]}" for name in ("device", "region") if name in filters]
    last = context["end"]

    def in_range(f: dict[str, Any]) -> bool:  # a span counts when it overlaps the range
        return (f.get("start") or f["date"]) <= last and (f.get("end") or f["date"]) >= context[
            "start"]

    findings = [f for f in data["findings"]
                if ("tool" not in filters or f["tool"] == filters["tool"])
                and (not wanted or f["segment"] in wanted) and in_range(f)]
    # the largest effects first (excess checks), then the day: "top N first"
    def excess(f: dict[str, Any]) -> float:  # findings of some kinds carry no counts
        observed, expected = f.get("observed"), f.get("expected")
        numbers = all(isinstance(v, int | float) for v in (observed, expected))
        return abs(observed - expected) if numbers else 0.0

    findings.sort(key=lambda f: (-excess(f), f["date"]))
    query = urlencode({"month": month, "start": context["start"], "end": context["end"],
                       **filters})
    context.update(synthetic=data["synthetic"], label=data["metadata"].get("label", ""),
                   findings=findings, all_findings=len(data["findings"]), query=query,
                   summary=data["summary"],
                   tools=sorted(data["summary"].get("tools") or {}),
                   downloads=["html", "json", "md"] + (["pdf"] if _chromium() else []))
    key = ("charts", month, first, end, tuple(sorted(filters.items())), *_stamp(db))
    context.update(_cached(key, lambda: _charts(db, first, end, filters, data["synthetic"],
                                                report.findings)))
    return context


def build_dashboard() -> APIRouter:
    """Routes of the dashboard, its login and its report downloads."""
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard", name="dashboard")
    async def page(request: Request, token: str | None = None, month: str | None = None,
                   start: str | None = None, end: str | None = None, tool: str | None = None,
                   device: str | None = None, region: str | None = None) -> Response:
        secret = _token(request)
        if secret is None:
            return _disabled(request)
        if token is not None:  # a login link: set the cookie, drop the token from the URL
            wait = _throttle(request).wait(_client(request))
            if wait:
                return _too_many(request, wait)
            if not same_token(token, secret):
                return _login_page(request, "That token is not right.")
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            location = f"{_root(request)}/dashboard" + (f"?{urlencode(rest)}" if rest else "")
            return _logged_in(request, location)
        if not _authorized(request, secret):
            return _unauthorized(request)
        params = {"month": month, "start": start, "end": end, "tool": tool, "device": device,
                  "region": region}
        try:
            context = await run_in_threadpool(_view, request, params)
        except InputError as exc:  # a hand-edited URL: the default view, and what was wrong
            context = await run_in_threadpool(_view, request, {})
            context["problem"] = str(exc)
        session_id = request.cookies.get(COOKIE)
        context["logout_csrf"] = csrf_token(session_id) if session_id else None
        response = templates.TemplateResponse(request, "dashboard.html", context)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.post("/dashboard/login", name="dashboard_login")
    async def login(request: Request) -> Response:
        secret = _token(request)
        if secret is None:
            return _disabled(request)
        wait = _throttle(request).wait(_client(request))
        if wait:
            return _too_many(request, wait)
        form = await _form(request)
        if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
            return _login_page(request, "The form had expired; please enter the token again.",
                               status=403)
        if not same_token(form.get("token"), secret):
            return _login_page(request, "That token is not right.")
        return _logged_in(request, f"{_root(request)}/dashboard")

    @router.post("/dashboard/logout", name="dashboard_logout")
    async def logout(request: Request) -> Response:
        session_id = request.cookies.get(COOKIE)
        form = await _form(request)
        if not (_sessions(request).valid(session_id)
                and same_token(form.get("csrf"), csrf_token(session_id or ""))):
            return JSONResponse({"detail": "logout needs the dashboard's own form (CSRF token) "
                                           "and a live session"}, status_code=403)
        _sessions(request).end(session_id)
        response = RedirectResponse(f"{_root(request)}/dashboard", status_code=303)
        response.delete_cookie(COOKIE, **_cookie_options(request))
        return response

    @router.get("/dashboard/data.json", name="dashboard_data")
    async def data(request: Request, month: str | None = None, start: str | None = None,
                   end: str | None = None, tool: str | None = None, device: str | None = None,
                   region: str | None = None) -> Response:
        """The numbers behind the page (totals and findings; no chart images)."""
        denied = _gate(request)
        if denied is not None:
            return denied
        params = {"month": month, "start": start, "end": end, "tool": tool, "device": device,
                  "region": region}
        context = await run_in_threadpool(_view, request, params)
        return JSONResponse({key: context.get(key) for key in (
            "month", "start", "end", "filters", "synthetic", "totals", "findings", "k",
            "daily", "plot")},
            headers={"Cache-Control": "no-store"})

    @router.get("/dashboard/{table}.csv", name="dashboard_csv")
    async def csv_file(request: Request, table: str, month: str | None = None,
                       start: str | None = None, end: str | None = None,
                       tool: str | None = None, device: str | None = None,
                       region: str | None = None) -> Response:
        """The filtered daily series (suppressed) or the filtered findings, as CSV."""
        denied = _gate(request)
        if denied is not None:
            return denied
        if table not in ("daily", "findings"):
            return JSONResponse({"detail": f"no CSV {table!r}; allowed: daily | findings"},
                                status_code=404)
        params = {"month": month, "start": start, "end": end, "tool": tool, "device": device,
                  "region": region}
        try:
            context = await run_in_threadpool(_view, request, params)
        except InputError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        if context.get("available") is None:
            return JSONResponse({"detail": "no events are stored yet"}, status_code=404)
        from marginscope.report.render import FINDING_COLUMNS, csv_text, daily_rows, finding_rows

        rows = (daily_rows(context["daily"]) if table == "daily"
                else [list(FINDING_COLUMNS), *finding_rows(context["findings"])])
        label = "-".join([context["start"], context["end"],
                          *(v for _k, v in sorted(context["filters"].items()))])
        return Response(csv_text(rows), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="marginscope-{table}-{label}.csv"',
            "Cache-Control": "no-store"})

    @router.get("/dashboard/report.{fmt}", name="dashboard_report")
    async def download(request: Request, fmt: str, month: str | None = None) -> Response:
        denied = _gate(request)
        if denied is not None:
            return denied
        if fmt not in MEDIA:
            return JSONResponse({"detail": f"no report format {fmt!r}; allowed: "
                                           + " | ".join(MEDIA)}, status_code=404)
        return await run_in_threadpool(_download, fmt, month)

    return router


MEDIA = {"html": "text/html; charset=utf-8", "json": "application/json",
         "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}


def _download(fmt: str, month: str | None) -> Response:
    from marginscope.report.render import to_html, to_json, to_markdown, to_pdf

    db = _db()
    available = _months_available(db) if db.is_file() else None
    if available is None:
        return JSONResponse({"detail": "no events are stored yet"}, status_code=404)
    month = _month_of(month, available)
    report = _report(db, month)
    if fmt == "pdf":
        if _chromium() is None:
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
