"""The event-level analyses of issue 21: transitions, setup content and hour profiles.

Contrasts need only the daily cube (:mod:`.contrasts`, run by :func:`~.analysis.analyze`);
transitions (:mod:`.transitions`, over the session order of :mod:`.sequences`), setup content (:mod:`.content`) and hour profiles
(:mod:`.hours`) need the events (or finer tables than the cube), so the
report opens the source once more and runs their Ibis expressions in the same engine
(:func:`event_tables`), then :func:`detail_findings` tests the month and each phase against the
reference and appends the findings to :attr:`~.analysis.Analysis.details`.

Every scan gets the report's k; findings that would reveal a count under k are marked
``withheld`` (values inside a distribution are None instead: :mod:`.disclosure`). Transitions
(built in :mod:`.sessions`) are checked here: ``probability`` times ``transitions`` is a
count, and the probabilities of one origin add to 1, so each origin's next-check distribution
is one line of :func:`~.disclosure.hidden_shares`, in the spans (the month and its phases
together, :func:`~.disclosure.spans_hidden`) and in the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import pyarrow as pa

from marginscope.analytics.content import (
    ContentTables,
    ContentTest,
    content_findings,
    content_tables,
    scan_content,
)
from marginscope.analytics.disclosure import safe_count, spans_hidden
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.funnel import FunnelTest, funnel_findings, funnel_table, scan_funnel
from marginscope.analytics.hours import HourTables, HourTest, hour_findings, hour_tables, scan_hours
from marginscope.analytics.months import visitors_expr
from marginscope.analytics.packed_sequences import Sequences
from marginscope.analytics.paths import PathTest, path_findings, path_table, scan_paths
from marginscope.analytics.positions import (
    PositionTest,
    position_findings,
    position_table,
    scan_positions,
)
from marginscope.analytics.sequences import sequences
from marginscope.analytics.sources import opened_events
from marginscope.analytics.transitions import (
    TransitionTables,
    TransitionTest,
    day_of,
    scan_transitions,
    transition_findings,
    transition_tables,
)

__all__ = [
    "DetailTests",
    "EventTables",
    "detail_findings",
    "event_tables",
    "protected_transitions",
    "session_order",
]


@dataclass(frozen=True, eq=False)
class EventTables:
    """The engine's per-day tables for setup content and hour profiles, and the session
    tables (transitions, paths, positions, the funnel), built from the span's session order
    when first read."""

    content: ContentTables
    hours: HourTables
    order: Sequences | Callable[[], Sequences]
    """The span's session order, or a function giving it that may wait for another thread
    computing it (:func:`session_order`): what needs only the content and hours goes first."""
    previous_visitors: int | None = None
    """Distinct visitors of the previous month (for ``summary.previous_month``)."""

    @cached_property
    def sessions(self) -> Sequences:
        """The span's session order (:attr:`order`)."""
        return self.order() if callable(self.order) else self.order

    @cached_property
    def transitions(self) -> TransitionTables:
        return transition_tables(self.sessions)

    @cached_property
    def paths(self) -> dict:
        return path_table(self.sessions)

    @cached_property
    def positions(self) -> dict:
        return position_table(self.sessions)

    @cached_property
    def funnel(self) -> dict:
        return funnel_table(self.sessions)

    @property
    def truncated_sessions(self) -> int:
        """Sessions longer than the packed session order holds (their later checks left
        out)."""
        return self.sessions.truncated

    @property
    def session_reach(self) -> pa.Table:
        """The sessions per day and region from the same pass (:attr:`.Sequences.reach`), for
        :func:`~.aggregate.with_sessions`."""
        return self.sessions.reach


def session_order(source: Any, start: date, end: date, *, engine: str = "duckdb") -> Sequences:
    """The session order of ``[start, end)`` (:func:`~.sequences.sequences`) on a connection
    of its own: the report runs it in a thread beside the other passes."""
    with opened_events(source, engine=engine) as events:
        return sequences(events, start, end)


def event_tables(
    source: Any,
    start: date,
    end: date,
    *,
    engine: str = "duckdb",
    previous: tuple[date, date] | None = None,
    sessions: Callable[[], Sequences] | None = None,
) -> EventTables:
    """Run the content and hour expressions over ``[start, end)`` in ``engine``, count the
    distinct visitors of ``previous`` (a month, end exclusive) when given, and order the
    span's sessions. ``sessions``: a function giving that order when another thread computes
    it (:func:`session_order`); it is called when the session tables are first read."""
    with opened_events(source, engine=engine) as events:
        visitors = None
        if previous is not None:
            visitors = int(
                visitors_expr(events, *previous).to_pyarrow()["visitors"][0].as_py() or 0
            )
        content = content_tables(events, start, end)
        hours = hour_tables(events, start, end)
        order = sessions if sessions is not None else sequences(events, start, end)
    return EventTables(content=content, hours=hours, order=order, previous_visitors=visitors)


@dataclass(frozen=True, eq=False)
class DetailTests:
    """Every test of the event-level pass (flagged or not)."""

    transitions: list[TransitionTest]
    content: list[ContentTest]
    hours: list[HourTest]
    paths: list[PathTest]
    positions: list[PositionTest]
    funnel: list[FunnelTest]


def _transition_hidden(
    tables: TransitionTables, spans: list[tuple[str, str, str]], k: int
) -> list[set[tuple[str, str]]]:
    """Per span, the ``(from, to)`` cells whose probability may not be published: each
    origin's next checks are one line against its checks with a next one, the spans (the
    month and its phases) protected together (:func:`~.disclosure.spans_hidden`)."""
    cells: dict[tuple[int, int], dict] = {}

    def atom(first: int, last: int) -> dict:
        if (first, last) not in cells:
            cells[(first, last)] = tables.span(first, last)[0]
        return cells[(first, last)]

    first, last = min(day_of(s[0]) for s in spans), max(day_of(s[1]) for s in spans)
    origins = sorted({a for a, _ in tables.span(first, last)[0]})
    hidden: list[set[tuple[str, str]]] = [set() for _ in spans]
    for origin in origins:

        def counts(first: int, last: int, origin: str = origin) -> dict[str, float]:
            return {b: v[0] for (a, b), v in atom(first, last).items() if a == origin}

        for out, found in zip(hidden, spans_hidden(counts, spans, k), strict=True):
            out |= {(origin, b) for b in found}
    return hidden


def protected_transitions(
    tests: list[TransitionTest], tables: TransitionTables, reference: tuple[str, str], k: int
) -> list[DetailFinding]:
    """:func:`transition_findings`, those that would reveal a count under k withheld."""
    flagged = [t for t in tests if t.flagged]
    spans = sorted({(t.start, t.end, t.scope) for t in tests})
    ref_hidden = _transition_hidden(tables, [(*reference, "reference")], k)[0]
    hidden = dict(zip(spans, _transition_hidden(tables, spans, k), strict=True)) if spans else {}
    findings = transition_findings(flagged)
    for t, finding in zip(flagged, findings, strict=True):
        cell = (t.from_tool, t.to_tool)
        finding.withheld = (
            cell in hidden[(t.start, t.end, t.scope)]
            or cell in ref_hidden
            or not safe_count(t.sessions, k)
        )
    return findings


def detail_findings(analysis: Any, tables: EventTables) -> tuple[list[DetailFinding], DetailTests]:
    """Session (transitions, paths, positions, funnel), content and hour-profile findings of
    an :class:`~.analysis.Analysis` (its spans and reference), with every test made."""
    if analysis.reference is None:
        return [], DetailTests([], [], [], [], [], [])
    days = analysis.cube.days
    spans = [
        (str(days[start]), str(days[end - 1]), scope) for start, end, scope in analysis.spans()
    ]
    k, reference = analysis.k, analysis.reference
    content = scan_content(tables.content, spans, reference, k=k)  # while the sessions finish
    hours = scan_hours(tables.hours, spans, reference, k=k)
    if tables.truncated_sessions:
        analysis.notes.append(
            f"{tables.truncated_sessions:,} sessions had more checks than the session analyses "
            "hold; their later checks are left out of transitions, positions and the funnel."
        )
    transitions = scan_transitions(tables.transitions, spans, reference)
    paths = scan_paths(tables.paths, spans, reference, k=k) if tables.paths else []
    positions = scan_positions(tables.positions, spans, reference, k=k) if tables.positions else []
    funnel = scan_funnel(tables.funnel, spans, reference, k=k) if tables.funnel else []
    findings = (
        protected_transitions(transitions, tables.transitions, reference, k)
        + path_findings(paths)
        + position_findings(positions)
        + funnel_findings(funnel)
        + content_findings(content)
        + hour_findings(hours)
    )
    return findings, DetailTests(transitions, content, hours, paths, positions, funnel)
