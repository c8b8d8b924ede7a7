"""``marginscope demo``: the whole system on an embedded default, in one command.

Simulates October–November 2025 (``marginscope.sim``: traders with positions on the shipped
real BTC path, no dates given), stores the events and the market data in a local DuckDB file,
writes the November report to ``--out`` (``report.html``, ``report.json``, ``report.md`` and
``simulation.json``: the agents' daily truth, the report beside it (:func:`compare`) and the
calm counterfactual), prints them side by side, then serves the web app (calculators and
dashboard) on 127.0.0.1 until Ctrl-C. ``--no-serve`` stops after the report. Every event is
synthetic and labelled so.
"""

from __future__ import annotations

import json
import os
import socket
import time
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from marginscope.errors import InputError

__all__ = ["compare", "demo"]

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


def _market_days(daily_close: dict[str, float], daily_low: dict[str, float]
                 ) -> dict[str, Any]:
    """The month's market days from the daily bars: largest close-to-close drops, lowest low."""
    days = sorted(daily_close)
    change = {d: daily_close[d] / daily_close[p] - 1.0 for p, d in pairwise(days)
              if d.startswith(MONTH)}
    drops = sorted(change, key=change.get)[:3]
    lowest = min((d for d in daily_low if d.startswith(MONTH)), key=daily_low.get)
    return {"largest_drops": [{"day": d, "change": round(change[d], 4)} for d in drops],
            "lowest_low": {"day": lowest, "low": daily_low[lowest]}}


def _near(day: str, candidates: list[str]) -> tuple[str | None, int | None]:
    from datetime import date

    if not candidates:
        return None, None
    best = min(candidates, key=lambda c: abs((date.fromisoformat(c)
                                               - date.fromisoformat(day)).days))
    return best, (date.fromisoformat(best) - date.fromisoformat(day)).days


def compare(report: Any, simulation: Any) -> dict[str, Any]:
    """The report beside what the agents actually did (:class:`marginscope.sim.agents.Truth`).

    * ``market``: the month's largest close-to-close drops and its lowest low (daily bars);
    * ``truth_peaks``: the top days of liquidations, margin additions and agents within 5 %;
    * ``truth_phases``: change points of the agents' *reasons* mix (sessions per reason and
      day), found with the analytics' own segmentation
      (:func:`marginscope.analytics.phases.tool_mix_phases`) against the 28 days before;
    * ``phases``: each report phase start beside the nearest truth phase start;
    * ``spikes``: each spike day the report flags, with the truth on that day;
    * ``peaks_flagged``: each truth peak day and the nearest report spike or phase start;
    * ``reference``: the report's "normal" span and its warnings about it (a turbulent
      reference is said so).
    """
    import numpy as np

    from marginscope.analytics.phases import tool_mix_phases
    from marginscope.sim.behaviour import REASONS

    truth = simulation.truth
    days = [str(d) for d in truth.days]
    month = [i for i, d in enumerate(days) if d.startswith(MONTH)]
    before = [i for i in range(len(days)) if i < month[0]][-28:]
    state = simulation.state
    closes = {str(d): float(c) for d, c in zip(state.days, state.close, strict=True)}
    path = simulation.path
    day_index = path.day_index()
    lows = {d: float(path.low[day_index == i].min()) for i, d in enumerate(days)}
    market = _market_days(closes, lows)

    def top(values: np.ndarray, k: int = 3) -> list[dict[str, Any]]:
        order = sorted(month, key=lambda i: -values[i])[:k]
        return [{"day": days[i], "agents": int(values[i])} for i in order]

    peaks = {"liquidated": top(truth.liquidated), "added_margin": top(truth.added_margin),
             "within_5pct": top(truth.within_5)}
    reference = truth.sessions[before].sum(axis=0) if before else None
    found = tool_mix_phases(truth.sessions[month], REASONS, reference)
    truth_phases = [{"start": days[month[p.start]], "end": days[month[p.end - 1]],
                     "reasons": [r for r, _, _ in p.dominant[:3]]} for p in found]
    truth_starts = [p["start"] for p in truth_phases[1:]]
    phases = []
    for phase in report.timeline:
        nearest, apart = _near(phase["start"], [p["start"] for p in truth_phases])
        phases.append({"report_start": phase["start"], "report_end": phase["end"],
                       "theme": phase["theme"] or "usual mix",
                       "tools": [t.get("tool") for t in phase.get("dominant_tools", [])][:3],
                       "truth_start": nearest, "days_apart": apart})
    position = {d: i for i, d in enumerate(days)}
    spikes = []
    for day in sorted({f.date for f in report.findings if f.kind == "spike"}):
        i = position[day]
        spikes.append({"day": day, "findings": sum(f.kind == "spike" and f.date == day
                                                   for f in report.findings),
                       "liquidated": int(truth.liquidated[i]),
                       "added_margin": int(truth.added_margin[i]),
                       "within_5pct": int(truth.within_5[i])})
    flagged = sorted({f.date for f in report.findings if f.kind == "spike"}
                     | {p["start"] for p in report.timeline[1:]})
    peaks_flagged = []
    for what, rows in peaks.items():
        for row in rows:
            nearest, apart = _near(row["day"], flagged)
            peaks_flagged.append({"truth": what, "day": row["day"], "agents": row["agents"],
                                  "report": nearest, "days_apart": apart})
    analysis = getattr(report, "analysis", None)
    normal = {"span": list(analysis.reference) if analysis and analysis.reference else None,
              "notes": list(analysis.reference_notes) if analysis else []}
    return {"market": market, "truth_peaks": peaks, "truth_phases": truth_phases,
            "truth_phase_starts": truth_starts, "phases": phases, "spikes": spikes,
            "peaks_flagged": peaks_flagged, "reference": normal}


def _checks_in_month(events: Any) -> int:
    import pyarrow.compute as pc

    days = pc.strftime(events.column("ts"), format="%Y-%m")
    return int(pc.sum(pc.equal(days, MONTH)).as_py() or 0)


def _print_side_by_side(console: Console, comparison: dict[str, Any],
                        counterfactual: dict[str, Any] | None, sim_seconds: float) -> None:
    """The market's days, the agents' truth and the report's findings, side by side."""
    market = comparison["market"]
    drops = ", ".join(f"{d['day'][5:]} ({d['change']:+.1%})" for d in market["largest_drops"])
    console.print(f"Market (real): largest daily drops {drops}; lowest low "
                  f"{market['lowest_low']['day'][5:]} ({market['lowest_low']['low']:,.0f}). "
                  f"Simulation {sim_seconds:.1f} s; no dates given to the agents.",
                  highlight=False)
    peaks = Table(title="What the agents did (truth) beside what the report flagged")
    for column in ("truth", "day", "agents", "nearest report spike / phase start", "Δ days"):
        peaks.add_column(column)
    for row in comparison["peaks_flagged"]:
        peaks.add_row(row["truth"], row["day"], str(row["agents"]), str(row["report"] or "—"),
                      "—" if row["days_apart"] is None else str(row["days_apart"]))
    console.print(peaks)
    spikes = Table(title="Spike days the report flagged beside the agents' truth that day")
    for column in ("report spike day", "findings", "liquidated", "added margin",
                   "within 5 %"):
        spikes.add_column(column)
    for row in comparison["spikes"]:
        spikes.add_row(row["day"], str(row["findings"]), str(row["liquidated"]),
                       str(row["added_margin"]), str(row["within_5pct"]))
    if not comparison["spikes"]:
        spikes.add_row("none", "—", "—", "—", "—")
    console.print(spikes)
    phases = Table(title="Phases: the report's (tool mix) vs the agents' (reasons mix)")
    for column in ("report phase", "theme", "tools", "nearest truth phase start", "Δ days"):
        phases.add_column(column)
    for row in comparison["phases"]:
        phases.add_row(f"{row['report_start']} … {row['report_end']}", row["theme"],
                       ", ".join(t for t in row["tools"] if t), str(row["truth_start"]),
                       str(row["days_apart"]))
    console.print(phases)
    normal = comparison.get("reference") or {}
    if normal.get("span"):
        console.print(f"Normal (the report's reference): {' .. '.join(normal['span'])}"
                      + ("; " + "; ".join(normal["notes"]) if normal["notes"] else "; calm"),
                      highlight=False)
    truth = "; ".join(f"{p['start'][5:]}–{p['end'][5:]}: {', '.join(p['reasons']) or 'usual'}"
                      for p in comparison["truth_phases"])
    console.print(f"Agents' phases (reasons): {truth}", highlight=False)
    if counterfactual is not None:
        console.print(f"Calm counterfactual (same agents, price held flat): "
                      f"{counterfactual['findings']} findings on "
                      f"{len(counterfactual['flagged_days'])} days "
                      f"{counterfactual['flagged_days']}; {counterfactual['liquidated']} "
                      f"liquidations, {counterfactual['added_margin']} margin additions.",
                      highlight=False)


def _counterfactual(seed: int, scale: float) -> dict[str, Any]:
    """The same agents on the calm path; what the report finds there."""
    from datetime import date

    from marginscope.report import build_report
    from marginscope.sim.generate import run

    calm = run(START, END, seed=seed, scale=scale, calm=True)
    report = build_report(calm.table, MONTH, charts=False, today=date.today())
    return {"path": calm.path.sources[0], "events": calm.table.num_rows,
            "findings": len(report.findings),
            "flagged_days": sorted({f.date for f in report.findings if f.kind != "phase"}),
            "phases": [{"start": p["start"], "end": p["end"], "theme": p["theme"]}
                       for p in report.timeline],
            "liquidated": int(calm.truth.liquidated.sum()),
            "added_margin": int(calm.truth.added_margin.sum())}


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
        "--scale", min=0.01, max=200.0,
        help="Multiplies the simulated traders (1: about 98,700 checks in November).")] = 1.0,
    calm: Annotated[bool, typer.Option(
        "--calm/--no-calm", help="Also run the same agents on the calm counterfactual path "
                                 "and report what the analytics find there.")] = True,
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
             "writing report.html / .json / .md", "the calm counterfactual"]
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(steps[0], total=len(steps))

        def advance(index: int) -> None:
            progress.update(task, completed=index,
                            description=steps[index] if index < len(steps) else "done")

        sim_began = time.perf_counter()
        simulation = run(START, END, seed=seed, scale=scale)
        sim_seconds = time.perf_counter() - sim_began
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
        comparison = compare(report, simulation)
        advance(6)
        counterfactual = _counterfactual(seed, scale) if calm else None
        in_month = [str(d).startswith(MONTH) for d in simulation.truth.days]
        (out / "simulation.json").write_text(json.dumps({
            "synthetic": True, "source": simulation.metadata["source"],
            "metadata": simulation.metadata, "events": events.num_rows,
            "checks_in_month": _checks_in_month(events), "simulation_seconds": round(
                sim_seconds, 2), "db": str(db), "truth": simulation.truth.to_dict(),
            "truth_month_totals": {k: int(getattr(simulation.truth, k)[in_month].sum())
                                   for k in ("liquidated", "added_margin", "opened",
                                             "averaged", "closed", "stopped", "left")},
            "report_vs_truth": comparison, "counterfactual": counterfactual,
            "engine_check": engine.to_dict(),
        }, indent=2) + "\n", encoding="utf-8")
        advance(7)
    seconds = time.perf_counter() - began

    console.print(f"[bold]{events.num_rows:,} SYNTHETIC setups[/] "
                  f"({simulation.metadata['source']}) from "
                  f"{len(set(events.column('country').unique().to_pylist()))} countries; "
                  f"market data real (shipped snapshot). {seconds:.1f} s.")
    console.print(f"Engine check: {engine.succeeded:,} of {engine.attempted:,} simulated "
                  "setups recomputed with real-price inputs"
                  + (f"; {engine.attempted - engine.succeeded} rejected" if engine.rejected
                     else "") + ".")
    _print_side_by_side(console, comparison, counterfactual, sim_seconds)
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
