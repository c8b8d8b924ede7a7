"""``marginscope demo``: the whole system on an embedded default, in one command.

Simulates October–November 2025 (``marginscope.sim``, driven by the shipped real BTC data),
stores the events and the market data in a local DuckDB file, writes the November report to
``--out`` (``report.html``, ``report.json``, ``report.md`` and ``simulation.json``: the phase
schedule the simulator was given beside the phases the report recovered), then serves the
web app (calculators and dashboard) on 127.0.0.1 until Ctrl-C. ``--no-serve`` stops after
the report. Every event is synthetic and labelled so.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from marginscope.errors import InputError

__all__ = ["demo"]

MONTH = "2025-11"
START, END = "2025-10-01", "2025-11-30"
DEMO_DB = "marginscope-demo.duckdb"


def _prepare_db(db: Path) -> None:
    """Start from an empty demo file; refuse to delete a file that is not a demo store."""
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        return
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        raise InputError("--db", str(db), "a new file or an earlier demo's DuckDB file") from None
    try:
        rows = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'events'"
                           ).fetchall()
    finally:
        con.close()
    if not rows or not str(rows[0][0] or "").startswith("synthetic: marginscope.sim"):
        raise InputError("--db", str(db), "a new file or an earlier demo's DuckDB file "
                         "(this one holds events that marginscope.sim did not write)")
    db.unlink()
    Path(f"{db}.wal").unlink(missing_ok=True)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _dashboard_path() -> str | None:
    """Path of the web app's dashboard route, if this build has one (asked of the dashboard's
    router: a whole app would start its telemetry and a sink process just to answer)."""
    from starlette.routing import NoMatchFound

    from marginscope.web.dashboard import build_dashboard

    try:
        return str(build_dashboard().url_path_for("dashboard"))
    except NoMatchFound:
        return None


def _recovered(report: Any, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The given November phases beside the recovered timeline (start days, themes)."""
    from datetime import date

    rows = []
    for phase in given:
        start = phase["start"][:10]
        if start < f"{MONTH}-01":
            start = f"{MONTH}-01"
        nearest = min(report.timeline, key=lambda p: abs(
            (date.fromisoformat(p["start"]) - date.fromisoformat(start)).days), default=None)
        rows.append({
            "given": phase["name"], "given_start": phase["start"], "anchor": phase["anchor"],
            "recovered": None if nearest is None else (nearest["theme"] or "usual mix"),
            "recovered_span": None if nearest is None else [nearest["start"], nearest["end"]],
            "days_apart": None if nearest is None else (
                date.fromisoformat(nearest["start"]) - date.fromisoformat(start)).days})
    return rows


def demo(
    no_serve: Annotated[bool, typer.Option(
        "--no-serve", help="Stop after writing the report (do not start the web app).")] = False,
    out: Annotated[Path, typer.Option("--out", help="Directory for the report files.")
                   ] = Path("out"),
    db: Annotated[Path | None, typer.Option(
        "--db", help=f"DuckDB file for the demo (default: OUT/{DEMO_DB}; replaced on each "
                     "run, and only if it is an earlier demo's).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the simulation.")] = 7,
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="Port of the web app on 127.0.0.1.")] = 8000,
    scale: Annotated[float, typer.Option(
        "--scale", min=0.001, max=20.0,
        help="Volume multiplier (1: about 2 million simulated setups).")] = 1.0,
) -> None:
    """Simulate Oct–Nov 2025 on the real BTC path, write the November report, serve the app.

    The data are SYNTHETIC (marginscope.sim, seeded); the market data are real and cited.
    """
    from marginscope.market.snapshot import load_snapshot
    from marginscope.market.store import open_store, upsert
    from marginscope.report import build_report, render
    from marginscope.sim.generate import run
    from marginscope.sim.inputs import run_sample
    from marginscope.sim.output import write_duckdb

    if out.exists() and not out.is_dir():
        raise InputError("--out", str(out), "a directory (created if missing)")
    db = db or out / DEMO_DB
    if not no_serve and not _port_free(port):
        raise InputError("--port", port, "a free port on 127.0.0.1 (another server is using "
                         "it; pick one with --port, or use --no-serve)")
    out.mkdir(parents=True, exist_ok=True)
    _prepare_db(db)
    console = Console()
    began = time.perf_counter()
    steps = ["simulating traders, Oct 1 – Nov 30 2025", "running the engine on simulated setups",
             "storing events in DuckDB", "loading market data", "building the November report",
             "writing report.html / .json / .md"]
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(steps[0], total=len(steps))

        def advance(index: int) -> None:
            progress.update(task, completed=index,
                            description=steps[index] if index < len(steps) else "done")

        simulation = run(START, END, seed=seed, scale=scale)
        events = simulation.table
        advance(1)
        engine = run_sample(events, simulation.state, sample=500, seed=seed)
        advance(2)
        write_duckdb(events, db)
        advance(3)
        with open_store(db) as con:
            upsert(con, load_snapshot())
        advance(4)

        def report_step(name: str) -> None:
            progress.update(task, description=f"{steps[4]}: {name}")

        report = build_report(str(db), MONTH, progress=report_step)
        advance(5)
        paths = {fmt: render(report, fmt, out / f"report.{fmt}") for fmt in ("html", "json", "md")}
        given = json.loads(simulation.metadata["phases"])
        comparison = _recovered(report, given)
        (out / "simulation.json").write_text(json.dumps({
            "synthetic": True, "source": simulation.metadata["source"],
            "metadata": {k: v for k, v in simulation.metadata.items() if k != "phases"},
            "events": events.num_rows, "db": str(db), "given_phases": given,
            "phases_vs_recovered": comparison, "engine_check": engine.to_dict(),
        }, indent=2) + "\n", encoding="utf-8")
        advance(6)
    seconds = time.perf_counter() - began

    console.print(f"[bold]{events.num_rows:,} SYNTHETIC setups[/] "
                  f"({simulation.metadata['source']}) from "
                  f"{len(set(events.column('country').unique().to_pylist()))} countries; "
                  f"market data real (shipped snapshot). {seconds:.1f} s.")
    console.print(f"Engine check: {engine.succeeded:,} of {engine.attempted:,} simulated "
                  "setups recomputed with real-price inputs"
                  + (f"; {engine.attempted - engine.succeeded} rejected" if engine.rejected
                     else "") + ".")
    table = Table(title="Phases given to the simulator vs recovered by the report")
    for column in ("given", "from", "recovered", "span", "Δ days"):
        table.add_column(column)
    for row in comparison:
        span = row["recovered_span"] or ["", ""]
        table.add_row(row["given"], row["given_start"][:16].replace("T", " "),
                      str(row["recovered"]), f"{span[0]} … {span[1]}", str(row["days_apart"]))
    console.print(table)
    for fmt, path in paths.items():
        console.print(f"report ({fmt}): {path}", highlight=False)
    console.print(f"events DB: {db}", highlight=False)
    if no_serve:
        return
    _serve(db, port, paths["html"])


def _serve(db: Path, port: int, report: Path) -> None:
    import uvicorn

    os.environ["MARGINSCOPE_DB"] = str(db.resolve())
    os.environ.setdefault("MARGINSCOPE_TELEMETRY", "1")  # calculations here join the demo DB
    base = f"http://127.0.0.1:{port}"
    if not os.environ.get("MARGINSCOPE_DASHBOARD_TOKEN", "").strip():
        import secrets

        os.environ["MARGINSCOPE_DASHBOARD_TOKEN"] = secrets.token_urlsafe(24)
    token = os.environ["MARGINSCOPE_DASHBOARD_TOKEN"].strip()
    dashboard = _dashboard_path()
    typer.echo(f"calculators: {base}/  (e.g. {base}/liquidation; API docs {base}/docs)")
    typer.echo(f"dashboard:   {base}{dashboard}?token={quote(token)}  (logs you in; or send "
               "`Authorization: Bearer <MARGINSCOPE_DASHBOARD_TOKEN>`)" if dashboard else
               f"dashboard:   not in this build of the web app; open the report: {report}")
    typer.echo(f"report:      {report.resolve()}")
    typer.echo("serving on 127.0.0.1 (Ctrl-C stops)")
    from marginscope.web.server import uvicorn_options
    from marginscope.web.settings import WebSettings

    uvicorn.run("marginscope.web.app:create_app", factory=True, host="127.0.0.1", port=port,
                log_level="warning", access_log=False, **uvicorn_options(WebSettings.from_env()))
