"""The analyst's dashboard: ``/dashboard``, behind a token (the calculators stay open).

Access comes from ``MARGINSCOPE_DASHBOARD_TOKEN`` (:mod:`.settings`). Unset: every dashboard
route answers 404 with a note on how to enable it. Set: a request is let in with
``Authorization: Bearer <token>``, or with the session cookie the login sets (the login form,
``POST /dashboard/login``, or a link ``/dashboard?token=…`` that sets it and redirects to drop
the token from the address bar). The cookie holds an HMAC-SHA256 keyed by the token, never the
token; it is HttpOnly, SameSite=Strict, scoped to ``/dashboard`` (and Secure over HTTPS). Every
comparison is constant-time, and the token is never logged or echoed.

The page reads the events DuckDB file (:func:`marginscope.config.db_path`): the same charts as
the monthly report (:mod:`marginscope.report.charts`) for the chosen tool, device, region and
date range, the month's findings, and the report downloads
(``/dashboard/report.{html,json,md,pdf}?month=YYYY-MM``; PDF only where Chromium exists).
Reports and charts are cached per month (and filters) and the file's modification time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tempfile
from collections import OrderedDict
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from marginscope.errors import InputError
from marginscope.web.pages import templates

__all__ = ["build_dashboard", "session_value"]

COOKIE = "ms_dashboard"
COOKIE_DAYS = 30
MAX_DAYS = 366
DEVICES = ("mobile", "desktop", "tablet", "other")
REGIONS = {"US": "United States", "rest": "Rest of world"}
ENABLE_NOTE = ("The dashboard is disabled. Set MARGINSCOPE_DASHBOARD_TOKEN to a long random "
               "secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) "
               "and restart the app; `marginscope demo` does this for you.")
_ID = re.compile(r"^[a-z0-9_]{1,40}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 16


def session_value(token: str) -> str:
    """The cookie's value for ``token``: an HMAC keyed by it (the token itself is never stored)."""
    return hmac.new(token.encode(), b"marginscope.dashboard/1", hashlib.sha256).hexdigest()


def _token(request: Request) -> str | None:
    return getattr(request.app.state.settings, "dashboard_token", None)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given:
        return hmac.compare_digest(given.strip().encode(), token.encode())
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _root(request: Request) -> str:
    return request.scope.get("root_path", "")


def _disabled(request: Request) -> Response:
    if _wants_html(request):
        return templates.TemplateResponse(request, "dashboard_login.html", {
            "disabled": True, "note": ENABLE_NOTE}, status_code=404)
    return JSONResponse({"detail": ENABLE_NOTE}, status_code=404)


def _login_page(request: Request, error: str = "", status: int = 401) -> Response:
    response = templates.TemplateResponse(request, "dashboard_login.html", {
        "disabled": False, "error": error}, status_code=status)
    response.headers["WWW-Authenticate"] = 'Bearer realm="marginscope dashboard"'
    return response


def _unauthorized(request: Request) -> Response:
    if _wants_html(request):
        return _login_page(request)
    return JSONResponse({"detail": "the dashboard needs `Authorization: Bearer <token>` or "
                                   "the login cookie"}, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer realm="marginscope dashboard"'})


def _gate(request: Request) -> Response | None:
    """None when the request may see the dashboard, else the response to send."""
    token = _token(request)
    if token is None:
        return _disabled(request)
    return None if _authorized(request, token) else _unauthorized(request)


def _logged_in(request: Request, token: str, location: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(COOKIE, session_value(token), max_age=COOKIE_DAYS * 86400,
                        path=f"{_root(request)}/dashboard", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


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


def _months_available(db: Path) -> tuple[str, str] | None:
    """First and last month with events, or None when the file holds none."""
    import duckdb

    from marginscope.telemetry.store import connect

    def read() -> tuple[str, str] | None:
        con = connect(db, read_only=True)  # waits while the live sink holds the file
        try:
            row = con.execute("SELECT min(ts), max(ts) FROM events").fetchone()
        except duckdb.Error:
            return None
        finally:
            con.close()
        if not row or row[0] is None:
            return None
        return str(row[0])[:7], str(row[1])[:7]

    return _cached(("months", *_stamp(db)), read)


def _charts(db: Path, first: date, end: date, filters: dict[str, str], synthetic: bool,
            findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's charts for ``[first, end)`` under ``filters``, plus the totals shown.

    Spike circles come from the month's findings (all devices and regions), so they are drawn
    only when no device or region filter is set.
    """
    from marginscope.analytics import daily
    from marginscope.analytics.association import market_context
    from marginscope.analytics.names import tool_name
    from marginscope.config import min_cell
    from marginscope.report.build import load_market
    from marginscope.report.charts import device_mix_chart, tools_over_price_chart, us_share_chart

    k = min_cell()
    days = np.arange(np.datetime64(first, "D"), np.datetime64(end, "D"))

    def grid(by: str, rows: list[dict[str, Any]]
             ) -> tuple[list[str], np.ndarray, dict[str, int]]:
        """Days × values for the charts, and each value's shown total (cells under k left out)."""
        keys = sorted({str(r[by]) for r in rows})
        out = np.zeros((len(days), len(keys)), dtype=np.int64)
        sums = dict.fromkeys(keys, 0)
        for r in rows:
            # a cell under k stays under k (1): the charts draw it as a gap, never as a value
            value = 1 if r["suppressed"] else int(r["checks"] or 0)
            day = int((np.datetime64(r["date"], "D") - days[0]).astype(int))
            out[day, keys.index(str(r[by]))] = value
            sums[str(r[by])] += int(r["checks"] or 0)
        return keys, out, sums

    src = str(db)
    tools, matrix, tool_sums = grid("tool", daily(src, first, end, filters, by=("tool",), k=k))
    devices, by_device, device_sums = grid("device", daily(src, first, end, filters,
                                                           by=("device",), k=k))
    no_region = {key: v for key, v in filters.items() if key != "region"}
    regions, by_region, _ = grid("region", daily(src, first, end, no_region, by=("region",),
                                                 k=k))
    shown = daily(src, first, end, {**filters, "region": list(REGIONS)}, by=("region",), k=k)
    region_sums = {name: sum(r["checks"] or 0 for r in shown if r["region"] == name)
                   for name in REGIONS}
    total = sum(r["checks"] or 0 for r in daily(src, first, end, filters, by=(), k=k))
    loaded = _cached(("market", *_stamp(db)), lambda: load_market(src))
    context = market_context(loaded.data, first, end, origin=loaded.origin)
    close = context.close[: len(days)] if len(context.close) >= len(days) else np.full(
        len(days), np.nan)
    price_label = "BTC-USD daily close" + (" (Yahoo Finance)" if context.price_source else "")
    flagged: dict[str, list[int]] = {}
    if not {"device", "region"} & set(filters):
        for f in findings:
            if f["kind"] == "spike" and f["segment"] == "all" and f["tool"] and f["date"]:
                day = (date.fromisoformat(f["date"]) - first).days
                if 0 <= day < len(days):
                    flagged.setdefault(f["tool"], []).append(day)
    charts, captions = [], []
    if len(tools):
        charts.append(tools_over_price_chart(days, matrix, tools, close, flagged, k=k,
                                             synthetic=synthetic, price_label=price_label))
        captions.append(charts[-1].caption + f" Cells under {k} checks are gaps." + (
            "" if flagged or not {"device", "region"} & set(filters) else
            " (No spike circles under a device or region filter.)"))
    if len(devices):
        charts.append(device_mix_chart(days, by_device, devices, k=k, synthetic=synthetic))
        captions.append(charts[-1].caption)
    if len(regions):
        us = by_region[:, regions.index("US")] if "US" in regions else np.zeros(len(days))
        label = f"{tool_name(filters['tool'])} checks" if "tool" in filters else "all checks"
        charts.append(us_share_chart(days, {label: (us, by_region.sum(axis=1))}, {}, k=k,
                                     synthetic=synthetic))
        captions.append("U.S. share per UTC day of the checks matching the tool and device "
                        "filters (the region filter does not apply here).")
    region_total = sum(region_sums.values())
    device_total = sum(device_sums.values())
    per_tool = sorted(((tool_name(t), n) for t, n in tool_sums.items()), key=lambda i: -i[1])
    return {
        "charts": [{"name": c.name, "title": c.title, "alt": c.alt, "caption": caption,
                    "narrow": _data_uri(c.narrow), "wide": _data_uri(c.wide)}
                   for c, caption in zip(charts, captions, strict=True)],
        "totals": {"checks": total, "days": len(days),
                   "regions": region_sums,
                   "us_share": region_sums["US"] / region_total if region_total else None,
                   "mobile_share": device_sums.get("mobile", 0) / device_total
                   if device_total else None,
                   "tools": per_tool},
        "k": k,
    }


def _data_uri(svg: bytes) -> str:
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


# --- query parameters -----------------------------------------------------------------------

def _month_of(value: str | None, available: tuple[str, str] | None) -> str:
    if value:
        if not _MONTH.match(value):
            raise InputError("month", value, "a month, YYYY-MM")
        return value
    return available[1] if available else date.today().strftime("%Y-%m")


def _range(month: str, start: str | None, end: str | None) -> tuple[date, date]:
    """``[first, end)`` from the inclusive ``start``/``end`` fields, else the month."""
    first = date.fromisoformat(f"{month}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    try:
        lo = date.fromisoformat(start) if start else first
        hi = date.fromisoformat(end) + timedelta(days=1) if end else following
    except ValueError:
        raise InputError("start" if start else "end", start or end, "a date, YYYY-MM-DD"
                         ) from None
    if hi <= lo:
        raise InputError("end", end, f"a day on or after {lo.isoformat()}")
    if (hi - lo).days > MAX_DAYS:
        raise InputError("end", end, f"at most {MAX_DAYS} days after the start")
    return lo, hi


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

    db = _db()
    context: dict[str, Any] = {"db": str(db), "params": params, "devices": DEVICES,
                               "regions": REGIONS, "tool_name": tool_name}
    available = _months_available(db) if db.is_file() else None
    context["available"] = available
    month = _month_of(params.get("month"), available)
    first, end = _range(month, params.get("start"), params.get("end"))
    filters = _filters(params.get("tool"), params.get("device"), params.get("region"))
    context.update(month=month, start=first.isoformat(),
                   end=(end - timedelta(days=1)).isoformat(), filters=filters)
    if available is None:
        return context
    report = _report(db, month)
    data = report.to_dict()
    wanted = [f"{name}:{filters[name]}" for name in ("device", "region") if name in filters]
    findings = [f for f in data["findings"]
                if ("tool" not in filters or f["tool"] == filters["tool"])
                and (not wanted or f["segment"] in wanted)]
    context.update(synthetic=data["synthetic"], label=data["metadata"].get("label", ""),
                   findings=findings, all_findings=len(data["findings"]),
                   summary=data["summary"],
                   tools=sorted(data["summary"].get("tools") or {}),
                   downloads=["html", "json", "md"] + (["pdf"] if _chromium() else []))
    key = ("charts", month, first, end, tuple(sorted(filters.items())), *_stamp(db))
    context.update(_cached(key, lambda: _charts(db, first, end, filters, data["synthetic"],
                                                data["findings"])))
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
            if not hmac.compare_digest(token.encode(), secret.encode()):
                return _login_page(request, "That token is not right.")
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            location = f"{_root(request)}/dashboard" + (f"?{urlencode(rest)}" if rest else "")
            return _logged_in(request, secret, location)
        if not _authorized(request, secret):
            return _unauthorized(request)
        params = {"month": month, "start": start, "end": end, "tool": tool, "device": device,
                  "region": region}
        try:
            context = await run_in_threadpool(_view, request, params)
        except InputError as exc:  # a hand-edited URL: the default view, and what was wrong
            context = await run_in_threadpool(_view, request, {})
            context["problem"] = str(exc)
        response = templates.TemplateResponse(request, "dashboard.html", context)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.post("/dashboard/login", name="dashboard_login")
    async def login(request: Request) -> Response:
        secret = _token(request)
        if secret is None:
            return _disabled(request)
        from urllib.parse import parse_qs

        body = (await request.body())[:4096].decode("utf-8", "replace")
        given = (parse_qs(body).get("token") or [""])[0].strip()
        if not given or not hmac.compare_digest(given.encode(), secret.encode()):
            return _login_page(request, "That token is not right.")
        return _logged_in(request, secret, f"{_root(request)}/dashboard")

    @router.post("/dashboard/logout", name="dashboard_logout")
    async def logout(request: Request) -> Response:
        response = RedirectResponse(f"{_root(request)}/dashboard", status_code=303)
        response.delete_cookie(COOKIE, path=f"{_root(request)}/dashboard", httponly=True,
                               samesite="strict")
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
            "month", "start", "end", "filters", "synthetic", "totals", "findings", "k")},
            headers={"Cache-Control": "no-store"})

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
        return JSONResponse({"detail": f"no events in {db}"}, status_code=404)
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
