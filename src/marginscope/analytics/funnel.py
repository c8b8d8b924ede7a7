"""The defence funnel: liquidation-price → margin-call → position-size or futures P&L.

Definition (stated in every finding, ``analytics_methods.md`` §5): the unit is the session and
the window the session; order is *ordered with gaps* on ``(ts, event_id)`` (other checks may
come between steps); a session reaches step k when steps 1 … k occur in that order — the first
step-1 check anchors it, step 2 is the first step-2 check after it, step 3 the first step-3
check after that (PostHog's "ordered" funnel, ClickHouse's ``windowFunnel`` without
``strict_*``, on sessions instead of a time window). The steps are calculators named in
:data:`FUNNEL` (the registry's tool ids, never written here).

From the sessions' ordered sequences (:class:`~marginscope.analytics.packed_sequences.Sequences`, one
engine query shared by every session analysis; :func:`funnel_table`): each sequence's step
positions, and the sessions reaching each step per ``(day, device)``.

Statistics: per span (the month, each phase) the step-to-step conversions ``S₂/S₁``, ``S₃/S₂``
and overall ``S₃/S₁``; each session is one trial, so sessions are the clusters and the variance
is binomial (:func:`~marginscope.analytics.clustered.binary_sums`); each step's conversion
against the reference's (variances added), Benjamini–Hochberg across the month's funnel tests;
a ``funnel`` finding for a span with a step that moved by ≥ ``min_points`` at q ≤ ``fdr``.

Small cells (:mod:`.disclosure`): the sessions reaching each step are published, so the
cells are the sessions that stopped after step 1 (``S₁ − S₂``), after step 2 (``S₂ − S₃``) and
that reached step 3 (``S₃``); a funnel finding is withheld unless each of them is 0 or at
least k, in the span and in the reference, with the month and its phases protected together
(the month's cells minus a phase's are the rest of the month's,
:func:`~marginscope.analytics.disclosure.spans_hidden`).

It cannot say that a session that did not convert gave up: people may have used another tool
or site in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import numpy as np

from marginscope.analytics.clustered import ClusterChange, binary_sums, cluster_change
from marginscope.analytics.disclosure import safe_count, spans_hidden
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.grouped import grouped_sums, run_starts, span_sums
from marginscope.analytics.names import tool_name
from marginscope.analytics.packed_sequences import Sequences
from marginscope.analytics.spikes import bh_adjust

__all__ = ["FUNNEL", "FunnelTest", "funnel_findings", "funnel_steps", "funnel_table", "scan_funnel"]

FUNNEL: tuple[tuple[str, ...], ...] = (("liquidation",), ("margin-call",), ("position-size", "pnl"))
"""The funnel's steps as calculator names (CLI sub-commands); a step is any of its tools."""
STEP_COLUMNS = ("s1", "s2", "s3")


@cache
def funnel_steps() -> tuple[tuple[str, ...], ...]:
    """The steps as tool ids, read from the calculator registry."""
    from marginscope.calculators import REGISTRY

    return tuple(tuple(REGISTRY[name].tool for name in step) for step in FUNNEL)


def funnel_table(
    seqs: Sequences, steps: Sequence[Sequence[str]] | None = None
) -> dict[str, np.ndarray]:
    """Sessions reaching each step (``s1``, ``s2``, ``s3``) per ``(day, device)``."""
    steps = steps or funnel_steps()
    rows = seqs.offsets.size - 1
    reached = []
    after = np.full(rows, -1, dtype=np.int64)  # the previous step's position (−1: before all)
    for step in steps:
        wanted = np.zeros(len(seqs.vocabulary), dtype=bool)
        wanted[seqs.codes(step)] = True
        hit = np.flatnonzero(wanted[seqs.code])
        hit = hit[seqs.pos[hit] > after[seqs.row[hit]]]  # in row order, then position order
        first = hit[run_starts(seqs.row[hit])]  # each row's first such check
        found = np.zeros(rows, dtype=bool)
        found[seqs.row[first]] = True
        after = np.full(rows, np.iinfo(np.int64).max)  # a row that stopped reaches no more
        after[seqs.row[first]] = seqs.pos[first]
        reached.append(found)
    if not rows:
        return {k: np.zeros(0) for k in ("day", "device", *STEP_COLUMNS)}
    devices, device = seqs.device_codes()
    (day, dev), sums = grouped_sums(
        (seqs.day, device),
        {name: seqs.n * r for name, r in zip(STEP_COLUMNS, reached, strict=True)},
    )
    return {"day": day, "device": devices[dev], **sums}


@dataclass(frozen=True)
class FunnelTest:
    """The funnel in a span against the reference."""

    start: str
    end: str
    scope: str
    sessions: tuple[int, ...]
    normal_sessions: tuple[int, ...]
    steps: tuple[ClusterChange, ...]  # step k → k+1 conversions
    overall: ClusterChange
    p_value: float
    q_values: tuple[float, ...] = ()
    q_value: float = 1.0
    flagged: bool = False
    publishable: bool = True
    """Every cell of the funnel is 0 or at least k, in the span and the reference."""


def _cells(reached: Sequence[float]) -> dict[str, float]:
    """Sessions stopping after each step, and those reaching the last."""
    stopped = [a - b for a, b in pairwise(reached)]
    return {
        **{f"stopped after {i + 1}": n for i, n in enumerate(stopped)},
        "reached all": reached[-1],
    }


def _change(now: Sequence[float], ref: Sequence[float], a: int, b: int) -> ClusterChange:
    return cluster_change(
        (*binary_sums(now[b], now[a]), now[a]), (*binary_sums(ref[b], ref[a]), ref[a])
    )


def scan_funnel(
    data: dict,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    fdr: float = 0.05,
    min_points: float = 0.05,
    min_sessions: int = 50,
    k: int = 10,
) -> list[FunnelTest]:
    """Funnel tests for ``spans`` against ``reference``; ``data``: :func:`funnel_expr`'s
    result as arrays; tests that would reveal a count under ``k`` are marked not
    publishable."""

    def totals(first: str, last: str) -> list[float]:
        sums = span_sums(data, ("device",), STEP_COLUMNS, first, last)
        return [float(sum(v[i] for v in sums.values())) for i in range(len(STEP_COLUMNS))]

    ref = totals(*reference)
    hidden = spans_hidden(
        lambda a, b: _cells(totals(*(str(np.datetime64(day, "D")) for day in (a, b)))), spans, k
    )
    tests = []
    for (start, end, scope), span_hidden in zip(spans, hidden, strict=True):
        now = totals(start, end)
        if min(now[0], ref[0]) < min_sessions:
            continue
        steps = tuple(_change(now, ref, i, i + 1) for i in range(len(STEP_COLUMNS) - 1))
        tests.append(
            FunnelTest(
                start,
                end,
                scope,
                tuple(int(n) for n in now),
                tuple(int(n) for n in ref),
                steps,
                _change(now, ref, 0, len(STEP_COLUMNS) - 1),
                min(s.p_value for s in steps),
                publishable=not span_hidden and all(safe_count(n, k) for n in _cells(ref).values()),
            )
        )
    flat = [s.p_value for t in tests for s in t.steps]
    q = list(bh_adjust(flat))
    out = []
    for t in tests:
        qs = tuple(float(q.pop(0)) for _ in t.steps)
        moved = [
            qv <= fdr and abs(s.probability - s.normal_probability) >= min_points
            for s, qv in zip(t.steps, qs, strict=True)
        ]
        out.append(
            FunnelTest(**{**t.__dict__, "q_values": qs, "q_value": min(qs), "flagged": any(moved)})
        )
    return out


def funnel_findings(tests: Sequence[FunnelTest]) -> list[DetailFinding]:
    """Spans whose funnel moved, as ``funnel`` findings."""
    steps = funnel_steps()
    names = [" or ".join(tool_name(t) for t in step) for step in steps]
    out = []
    for t in tests:
        if not t.flagged:
            continue
        parts = [
            f"{names[k]} → {names[k + 1]} {s.probability:.0%} (95% CI {s.low:.0%}–{s.high:.0%})"
            f" vs {s.normal_probability:.0%}"
            for k, s in enumerate(t.steps)
        ]
        text = (
            f"{span_text(t.start, t.end)}: of {t.sessions[0]:,} sessions with a "
            f"{names[0]} check, {'; '.join(parts)} in the reference (sessions as clusters; "
            "steps in order, other checks allowed between)."
        )
        out.append(
            DetailFinding.of(
                "funnel",
                t,
                text,
                {
                    "tool": steps[0][0],
                    "steps": [list(step) for step in steps],
                    "sessions": list(t.sessions),
                    "normal_sessions": list(t.normal_sessions),
                    "conversion": [s.probability for s in t.steps],
                    "conversion_ci": [[s.low, s.high] for s in t.steps],
                    "normal_conversion": [s.normal_probability for s in t.steps],
                    "overall": t.overall.probability,
                    "normal_overall": t.overall.normal_probability,
                    "q_values": list(t.q_values),
                    "scope": t.scope,
                },
                withheld=not t.publishable,
            )
        )
    return out
