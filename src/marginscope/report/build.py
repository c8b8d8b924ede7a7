"""Month → aggregation → statistics → findings, narrative, charts and methodology: a Report.

:func:`build_report` is what ``marginscope report`` and the web dashboard call. The JSON form
(:meth:`Report.to_dict`) is the machine-readable contract: a top-level ``summary`` with
``setups``, ``countries`` and ``visitors``, and ``findings`` whose items carry ``kind``,
``date`` (``start``/``end`` for spans), ``tool``, ``segment``, ``lift``, ``lift_ci``,
``observed``, ``expected`` and, for share shifts, ``share`` and ``normal_share``.
``metadata.not_recorded`` (calculations not recorded in the month per reason, or null when the
source keeps no counts) and ``metadata.country_sources`` (events per country source) were added
later; fields are only ever added, never renamed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from marginscope.analytics.aggregate import aggregate, with_sessions
from marginscope.analytics.analysis import Analysis, analyze
from marginscope.analytics.association import MarketContext, market_context
from marginscope.analytics.baseline import WINDOW_DAYS
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.detail import (
    EventTables,
    detail_findings,
    event_tables,
    session_order,
)
from marginscope.analytics.disclosure import (
    Disclosure,
    cube_disclosure,
)
from marginscope.analytics.findings import Finding
from marginscope.analytics.market_response import market_response
from marginscope.analytics.months import month_over_month, previous_month
from marginscope.analytics.names import tool_name
from marginscope.analytics.periods import month_bounds
from marginscope.analytics.phases import theme_tools
from marginscope.analytics.reference import default_reference
from marginscope.analytics.sources import owns
from marginscope.market.series import FundingSeries, MarketData
from marginscope.report import narrative, story
from marginscope.report.charts import Chart, tool_mix_chart, usage_charts
from marginscope.report.market_block import _market
from marginscope.report.protect import (
    _gives_back,
    _protect_previous,
    _protect_response,
    publishable_details,
    published_spans,
)
from marginscope.report.provenance import provenance
from marginscope.report.tables import _comparisons, _countries, _daily, _summary

__all__ = ["SCHEMA", "STEPS", "LoadedMarket", "Report", "build_report", "load_market",
           "report_from_cube"]

SCHEMA = "marginscope.report/1"
STEPS = ("market data", "daily counts and reach", "statistics", "charts",
         "event-level findings")
"""The long steps of :func:`build_report`, in order (the CLI's progress bar; "charts" only
when drawn). The event-level findings come last: the session order's pass, the longest,
runs alongside the statistics and charts."""

Progress = Callable[[str], None]


@dataclass
class Report:
    """A month's behavioural report, ready to render (``render.py``) or serialise."""

    month: str
    generated_at: str
    synthetic: bool
    synthetic_share: float
    source: str
    engine: str
    k: int
    summary: dict[str, Any]
    takeaways: list[str]
    timeline: list[dict[str, Any]]
    findings: list[Finding]
    comparisons: list[dict[str, Any]]
    countries: list[dict[str, Any]]
    market: dict[str, Any]
    methodology: list[dict[str, Any]]
    daily: dict[str, Any]
    suppressed_cells: int
    complementary_cells: int = 0
    """Of the suppressed cells, those hidden only so that no other hidden cell can be
    recovered by subtraction (:mod:`marginscope.analytics.disclosure`)."""
    withheld_findings: int = 0
    """Findings left out because they would reveal a count under k: a segment finding whose
    day's total minus it is one, and an issue-21 finding whose share or probability has a cell
    or complement under k (:attr:`~marginscope.analytics.findings.DetailFinding.withheld`)."""
    notes: list[str] = field(default_factory=list)
    headline: str = ""
    standfirst: str = ""
    key_takeaways: list[dict[str, Any]] = field(default_factory=list)
    chapters: list[dict[str, Any]] = field(default_factory=list)
    market_checks: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    across_the_month: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    analysis: Analysis | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    """Calculations not recorded and country sources (:mod:`marginscope.report.provenance`)."""

    @property
    def label(self) -> str:
        """``SYNTHETIC DATA`` banner text, or empty for real data."""
        if not self.synthetic:
            return ""
        share = f" ({self.synthetic_share:.0%} of events)" if self.synthetic_share < 1 else ""
        return f"SYNTHETIC DATA{share}: simulated events, not real usage"

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (see the module docstring); charts are not included."""
        return {
            "schema": SCHEMA,
            "month": self.month,
            "generated_at": self.generated_at,
            "synthetic": self.synthetic,
            "metadata": {
                "synthetic": self.synthetic, "synthetic_share": round(self.synthetic_share, 6),
                "label": self.label or None, "source": self.source, "engine": self.engine,
                "k": self.k, "suppressed_cells": self.suppressed_cells,
                "complementary_cells": self.complementary_cells,
                "withheld_findings": self.withheld_findings,
                "suppression": "primary (cells under k) and complementary", "notes": self.notes,
                # issue 21: the fixed reference "normal" comes from, and warnings about it
                "reference": list(self.analysis.reference) if self.analysis
                and self.analysis.reference else None,
                "reference_notes": list(self.analysis.reference_notes) if self.analysis else [],
                "not_recorded": self.provenance.get("not_recorded"),
                "country_sources": self.provenance.get("country_sources"),
            },
            "headline": self.headline,
            "standfirst": self.standfirst,
            "summary": self.summary,
            "takeaways": self.takeaways,
            "key_takeaways": self.key_takeaways,
            "chapters": self.chapters,
            "market_checks": self.market_checks,
            "references": self.references,
            "across_the_month": self.across_the_month,
            "timeline": self.timeline,
            "findings": [f.to_dict() for f in self.findings]
            + [d.to_dict() for d in (self.analysis.details if self.analysis else [])],
            "comparisons": self.comparisons,
            "countries": self.countries,
            "market": self.market,
            "daily": self.daily,
            "methodology": self.methodology,
        }


# --- market data ---------------------------------------------------------------------------

class LoadedMarket(NamedTuple):
    """Market data for a report, where it came from, and why a store was passed over."""

    data: MarketData
    origin: str
    note: str | None = None
    """Set when ``source`` was a file whose market tables could not be read (the reason);
    the report lists it in ``metadata.notes``."""


def load_market(source: Any) -> LoadedMarket:
    """Market data for the report: the DuckDB file's market tables when ``source`` is a file
    that holds them, else the shipped November 2025 snapshot (real, cited data).

    A file DuckDB cannot read (not a DuckDB database, or held by a writer) falls back to the
    snapshot with the reason in :attr:`LoadedMarket.note`; any other error is raised.
    """
    import duckdb

    from marginscope.market.snapshot import load_snapshot

    note = None
    if isinstance(source, str | os.PathLike) and Path(source).is_file():
        from marginscope.market.store import has_market_data, open_store, read_market

        try:
            with open_store(source, read_only=True) as con:
                if has_market_data(con):
                    return LoadedMarket(read_market(con), f"store {Path(source).name}")
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0][:200]
            note = (f"Market data: {Path(source).name} could not be read as a market store "
                    f"({type(exc).__name__}: {reason}); the shipped snapshot is used.")
    return LoadedMarket(load_snapshot(),
                        "shipped snapshot (marginscope/market/data, cited per row)", note)


# --- pieces --------------------------------------------------------------------------------

def _charts(analysis: Analysis, context: MarketContext | None, synthetic: bool,
            table: Disclosure) -> list[Chart]:
    cube, start, end, k = analysis.cube, analysis.start, analysis.end, analysis.k
    days = cube.days[start:end]
    us_series = {"all checks": (
        table.masked(cube.series(None, "region:US")[start:end], "region", "US"),
        cube.series(None, "all")[start:end])}
    matrix = np.stack([table.masked(column, "tool", tool) for tool, column in
                       zip(cube.tools, cube.tool_matrix()[start:end].T, strict=True)], axis=1)
    featured = [f for f in analysis.findings if f.kind == "share_shift"
                and f.segment == "region:US" and f.tool]
    defended = [tool for tool in theme_tools()["margin defense"] if tool in cube.tools]
    tool = max(featured, key=lambda f: f.lift or 0).tool if featured else max(
        defended, key=lambda t: cube.series(t, "region:US")[start:end].sum(), default=None)
    if tool:
        us_series[f"{tool_name(tool)} checks"] = (cube.series(tool, "region:US")[start:end],
                                                  cube.series(tool, "all")[start:end])
    normal = {}
    low = np.full(len(days), np.nan)
    high = np.full(len(days), np.nan)
    for test in analysis.shares:
        if test.tool is None and test.segment == "region:US":
            low[test.day - start], high[test.day - start] = test.baseline.low, test.baseline.high
    normal["all checks"] = (low, high)
    named = [d["tool"] for f in analysis.findings if f.kind == "phase" for d in f.dominant_tools]
    charts = usage_charts(cube, start, end, context=context, findings=analysis.findings, k=k,
                          synthetic=synthetic, us_series=us_series, normal=normal,
                          also=list(dict.fromkeys(named)), matrix=matrix)
    bounds = [(p.start, p.end, p.theme or ("usual mix" if not p.dominant else "mixed"))
              for p in analysis.phases]
    charts.append(tool_mix_chart(days, cube.tool_matrix()[start:end], cube.tools, bounds,
                                 synthetic=synthetic))
    return charts


# --- the builder ---------------------------------------------------------------------------

def report_from_cube(cube: DailyCube, month: str, *, market: MarketContext | None = None,
                     k: int | None = None, engine: str = "duckdb", source: str = "",
                     synthetic: bool | None = None, charts: bool = True,
                     today: date | None = None, progress: Progress | None = None,
                     reference: tuple[date, date] | None = None,
                     events: EventTables | Callable[[], EventTables] | None = None,
                     funding: FundingSeries | None = None) -> Report:
    """The report of ``month`` from an aggregated cube (tests and benchmarks start here);
    ``reference``: inclusive days of "normal" (default the 28 days before the month);
    ``events``: the event-level tables for transitions and setup content, or a function
    giving them (called after the statistics and charts, which do not need them, while the
    report's passes still run); their session counts complete a cube aggregated without
    (:func:`~marginscope.analytics.aggregate.with_sessions`); ``funding``: the BTC funding
    prints for the market response (issue 21)."""
    step = progress or (lambda _name: None)
    step(STEPS[2])
    analysis = analyze(cube, month, market=market, k=k, today=today, reference=reference)
    following = month_bounds(month)[1]
    month_end = min(len(cube.days), cube.index(following) if cube.days[-1] >= np.datetime64(
        following, "D") else len(cube.days))
    table = cube_disclosure(cube, analysis.start, month_end, analysis.k,
                            spans=published_spans(analysis))
    kept = [f for f in analysis.findings if not _gives_back(cube, f, analysis.k, table, analysis.start)]
    withheld = len(analysis.findings) - len(kept)
    analysis.findings = kept
    total = max(int(cube.counts.sum()), 1)
    share = cube.synthetic / total
    is_synthetic = bool(cube.synthetic > 0) if synthetic is None else synthetic
    if synthetic and not cube.synthetic:
        share = 1.0
    drawn: list[Chart] = []
    if charts:
        step(STEPS[3])
        drawn = _charts(analysis, market, is_synthetic, table)
    step(STEPS[4])
    if callable(events):
        events = events()
    if events is not None:  # issue 21: transition and content findings
        analysis.details += detail_findings(analysis, events)[0]
        if cube.reach is not None and cube.reach.sessions is None:
            analysis.cube = cube = with_sessions(cube, events.session_reach)
    published = publishable_details(cube, analysis.details, analysis.k, table,  # issue 21
                                    analysis.start)
    withheld += len(analysis.details) - len(published)
    analysis.details = published
    summary = _summary(analysis, month_end, table)
    summary["previous_month"] = _protect_previous(month_over_month(  # issue 21, item 8
        cube, *month_bounds(month), summary["visitors"],
        events.previous_visitors if events else None, k=analysis.k), table, analysis.k)
    summary["synthetic_setups"] = int(cube.synthetic)
    daily = _daily(analysis, month_end, market, table)
    countries = _countries(cube, analysis.start, month_end, analysis.k)
    hidden = table.suppressed() + sum(row.get("countries", 0) for row in countries)
    market_block = _market(market, analysis)
    findings = [f.to_dict() for f in analysis.findings] + [d.to_dict() for d in analysis.details]
    told = story.compose(findings, summary, daily, market_block,
                         date.fromisoformat(f"{month}-01").strftime("%B %Y"),
                         synthetic=is_synthetic)
    lead = [narrative.SYNTHETIC_NOTE] if is_synthetic else []
    report = Report(
        month=month, generated_at=datetime.now(UTC).isoformat(timespec="seconds").replace(
            "+00:00", "Z"),
        synthetic=is_synthetic, synthetic_share=share if is_synthetic else 0.0, source=source,
        engine=engine, k=analysis.k, summary=summary,
        takeaways=lead + [t["text"] for t in told.key_takeaways],
        timeline=narrative.timeline(analysis), findings=analysis.findings,
        comparisons=_comparisons(analysis), countries=countries, market=market_block,
        methodology=narrative.methodology(analysis, summary, engine=engine,
                                          synthetic=is_synthetic),
        daily=daily, suppressed_cells=hidden,
        complementary_cells=len(table.secondary), withheld_findings=withheld,
        notes=list(analysis.notes),
        headline=told.headline, standfirst=told.standfirst, key_takeaways=told.key_takeaways,
        chapters=told.chapters, market_checks=told.market_checks, references=told.references,
        across_the_month=told.across_the_month, charts=drawn,
        analysis=analysis)
    if market is not None:  # issue 21, item 6: lagged association, event study, funding runs
        report.market["response"] = _protect_response(
            market_response(analysis, market, funding), analysis, table)
    return report


def _aggregated(source: Any, start: date, end: date, reach_from: date, *, engine: str,
                previous: tuple[date, date] | None, events_from: date,
                pool: ThreadPoolExecutor
                ) -> tuple[DailyCube, EventTables | Callable[[], EventTables] | None]:
    """The cube and (with ``previous``) the event-level tables of ``[events_from, end)`` (the
    reference and the month: their analyses look at nothing else, the cube at the 28 days
    before the month and the month before too). On DuckDB over a source each
    pass opens on its own (a file, an Arrow table), so ``pool`` runs two streams beside the
    cube's passes: the session order (the largest pass) and the other event-level queries
    (DuckDB releases the GIL; one stream alone leaves a core idle part of the time). The
    cube comes back without its session counts and the tables as a function that waits for
    the content and hours (their session tables wait for the session order when first read):
    the statistics, the charts and the content and hour scans run while it finishes."""
    if previous is None:
        return aggregate(source, start, end, engine=engine, reach_from=reach_from), None
    if engine != "duckdb" or not owns(source):
        events = event_tables(source, events_from, end, engine=engine, previous=previous)
        return aggregate(source, start, end, engine=engine, reach_from=reach_from,
                         sessions=False), events
    order = pool.submit(session_order, source, events_from, end, engine=engine)
    tables = pool.submit(event_tables, source, events_from, end, engine=engine,
                         previous=previous, sessions=order.result)
    return aggregate(source, start, end, engine=engine, reach_from=reach_from,
                     sessions=False), tables.result


def build_report(source: Any, month: str, *, engine: str = "duckdb", k: int | None = None,
                 market: MarketData | None = None, charts: bool = True,
                 today: date | None = None, progress: Progress | None = None,
                 reference: tuple[date, date] | None = None, details: bool = True) -> Report:
    """Build the report of ``month`` (``YYYY-MM``) from an events source.

    Parameters
    ----------
    source
        A DuckDB file, a Hive Parquet dataset directory, a duckdb connection, an Ibis table
        or an Arrow table of events (:func:`~marginscope.analytics.sources.open_events`).
    engine : str
        The aggregation engine (``duckdb``).
    k : int, optional
        Small-cell threshold (default ``MARGINSCOPE_MIN_CELL``, 10).
    market : MarketData, optional
        Market data to cite; default: the DuckDB file's market tables or the shipped snapshot.
    charts : bool
        Draw the charts (not needed for JSON).
    progress : callable, optional
        Called with each step's name from :data:`STEPS` as it starts.
    reference : (date, date), optional
        Inclusive first and last day of "normal" (default: the 28 days before the month);
        the aggregation starts early enough to cover it.
    details : bool
        Run the event-level pass (transitions, setup content, hour profiles, the previous
        month's visitors; one more scan with a window sort, issue 21). False: cube-only.
    """
    step = progress or (lambda _name: None)
    first, following = month_bounds(month)
    step(STEPS[0])
    loaded = load_market(source) if market is None else LoadedMarket(market, "given market data")
    context = market_context(loaded.data, first, following, origin=loaded.origin)
    step(STEPS[1])
    previous = previous_month(first)  # issue 21: the reference, and the month before
    cube_start = min(first - timedelta(days=WINDOW_DAYS), previous[0],
                     *([reference[0]] if reference else []))
    # the file's name only: a server's directories stay out of published reports
    label = (Path(source).name if isinstance(source, str | os.PathLike)
             else type(source).__name__)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="marginscope-events") as pool:
        cube, events = _aggregated(source, cube_start, following, first, engine=engine,
                                   previous=previous if details else None, pool=pool,
                                   events_from=(reference or default_reference(first))[0])
        report = report_from_cube(cube, month, market=context, k=k, engine=engine,
                                  source=label, charts=charts, today=today, progress=step,
                                  reference=reference, events=events,
                                  funding=_btc_funding(loaded.data))
    if loaded.note:
        report.notes.append(loaded.note)
    report.provenance = provenance(source, first, following, engine=engine)
    counted = next((i for i, s in enumerate(report.methodology)
                    if s["title"] == "What was counted"), 0)
    report.methodology.insert(counted + 1, narrative.not_recorded_section(month,
                                                                         report.provenance))
    return report


def _btc_funding(market: MarketData) -> FundingSeries | None:
    """The BTC perpetual's funding prints (the longest BTC series), if any."""
    btc = [f for f in market.funding if f.symbol.upper().startswith(("BTC", "XBT")) and len(f)]
    return max(btc, key=len) if btc else None
