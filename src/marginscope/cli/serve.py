"""``marginscope serve``: the web app (JSON API and pages) under uvicorn."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option(None, "--host", help="Interface to bind [env MARGINSCOPE_HOST; "
                             "default 127.0.0.1]"),
    port: int = typer.Option(None, "--port", min=1, max=65535,
                             help="Port [env MARGINSCOPE_PORT; default 8000]"),
    workers: int = typer.Option(None, "--workers", min=1, max=64,
                                help="Worker processes [env MARGINSCOPE_WEB_WORKERS; default 1]"),
) -> None:
    """Serve the calculators' pages and the JSON API (docs at /docs) until Ctrl-C.

    Calculations are recorded as anonymized telemetry (docs/telemetry.md) unless
    ``MARGINSCOPE_TELEMETRY=0``.
    """
    import os

    import uvicorn

    from marginscope.web.server import uvicorn_options
    from marginscope.web.settings import WebSettings

    os.environ.setdefault("MARGINSCOPE_TELEMETRY", "1")  # read by create_app in each worker
    settings = WebSettings.from_env()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    typer.echo(f"marginscope: http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/ "
               "(API docs at /docs; Ctrl-C stops)", err=True)
    uvicorn.run("marginscope.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False,
                **uvicorn_options(settings))
