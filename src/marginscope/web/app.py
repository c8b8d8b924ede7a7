"""The web application: JSON API under ``/api/v1``, one page per calculator, static files.

``create_app()`` builds it; ``marginscope serve`` runs it under uvicorn. The telemetry hook is
``app.state.recorder`` (None by default): a callable ``(request, calculator, input, result)``
invoked after every successful calculation, from the API and the pages alike. With
``MARGINSCOPE_TELEMETRY=1`` (the default of ``marginscope serve``) and no ``recorder`` given,
:func:`marginscope.web.recording.install_telemetry` wires ``marginscope.telemetry`` into it.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

import marginscope
from marginscope import config
from marginscope.web.api import Recorder, build_router
from marginscope.web.assets import static_app
from marginscope.web.dashboard import build_dashboard
from marginscope.web.errors import install_error_handlers
from marginscope.web.headers import SecurityHeaders
from marginscope.web.limits import BodyLimit
from marginscope.web.pages import build_pages, templates
from marginscope.web.settings import WebSettings

__all__ = ["ExactRoutes", "create_app"]

HERE = Path(__file__).parent


@asynccontextmanager
async def frozen_heap(app: FastAPI) -> AsyncIterator[None]:
    """While serving, the objects alive at start-up (modules, routes, schemas, tier tables)
    sit in the collector's permanent generation: its full collections no longer walk them.
    Measured under load: +3–7 % requests/s, more with telemetry on (it allocates more)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class ExactRoutes(BaseRoute):
    """The routes of ``router`` whose paths have no parameters, found by one dictionary
    lookup on (method, path), placed first among the app's routes.

    FastAPI 0.165 matches an included router's routes one after another, twice per request
    (the app's router asks the included router whether it matches, then the included router
    matches again to handle): ~1.7 µs per route passed over in process, so ``POST
    /api/v1/account``, fifth in the API router, paid ~14 µs that ``GET /api/v1/health``,
    first, did not. Here every such route of the API (the ceiling included: it goes the same
    way) is found at once and handled by its own :class:`~fastapi.routing.APIRoute`, which
    is what the included router would hand it to (same handler, same middleware, exception
    handlers and error answers, as this route sits inside the app's router). A request it
    does not know (another method, a path with parameters, a page) matches nothing here and
    goes through FastAPI's matching as before. Not a route of the schema: ``/openapi.json``
    is generated from the included router, unchanged."""

    def __init__(self, router: APIRouter) -> None:
        self.table: dict[tuple[str, str], APIRoute] = {}
        for route in router.routes:
            if isinstance(route, APIRoute) and not route.param_convertors:
                for method in route.methods:
                    self.table.setdefault((method, route.path), route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            route = self.table.get((scope["method"], get_route_path(scope)))
            if route is not None:  # the child scope APIRoute.matches gives
                return Match.FULL, {"endpoint": route.endpoint, "path_params": {},
                                    "route": route}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["route"].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: object) -> None:
        raise NoMatchFound(name, path_params)  # the included router names its routes


def create_app(settings: WebSettings | None = None, recorder: Recorder | None = None) -> FastAPI:
    """Build the app; ``settings`` default to :meth:`WebSettings.from_env`."""
    settings = settings or WebSettings.from_env()
    app = FastAPI(
        title="marginscope",
        version=marginscope.__version__,
        summary="Exchange-faithful leveraged-trading risk calculators.",
        description=("Every calculator of `marginscope calc` as `POST /api/v1/{name}`. "
                     "Bad input answers 422 (400 if the body is not JSON, 413 if it is over "
                     f"{settings.max_body_bytes} bytes) with `detail[]` naming each field, "
                     "the value received and what is allowed."),
        root_path=settings.root_path,
        docs_url=None, redoc_url=None,  # /docs below serves Swagger UI from our own files
        # FastAPI's native OpenTelemetry off: no request traces leave the app (its telemetry
        # is marginscope.telemetry's anonymized events), and no provider check per request
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=frozen_heap,
    )
    app.state.settings = settings
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.recorder = recorder
    install_error_handlers(app)
    api = build_router()
    app.include_router(api)
    app.include_router(build_pages())
    app.include_router(build_dashboard())
    if recorder is None and config.web_telemetry():
        from marginscope.web.recording import install_telemetry

        install_telemetry(app)
    app.mount("/static", static_app(), name="static")  # hashed URLs, long max-age, gzip

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        """Swagger UI, vendored in ``static/vendor/swagger-ui`` (Apache-2.0): no CDN, so it
        works offline and no third party sees who reads the API docs; started by a static
        script (``static/swagger-init.js``), as the Content-Security-Policy allows no inline
        script."""
        return templates.TemplateResponse(request, "docs.html",
                                          {"root": request.scope.get("root_path", "")})

    app.router.routes.insert(0, ExactRoutes(api))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
