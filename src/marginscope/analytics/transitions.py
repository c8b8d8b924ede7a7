"""Transitions: which check follows which, P(next = B | A), per span against the reference.

From the sessions' ordered sequences (:class:`~marginscope.analytics.packed_sequences.Sequences`,
one engine query shared by every session analysis, in ``seq`` order where the events carry
it), NumPy derives exactly what a ``lead()`` window would give: per ``(day, tool, next_tool)``

* ``n = Σ_s y_s``, ``yy = Σ_s y_s²``, ``xy = Σ_s x_s y_s``, ``sw = Σ_s y_s / x_s``;
* per ``(day, tool)``: ``nx = Σ_s x_s``, ``xx = Σ_s x_s²`` and the sessions;

where for session s, ``x_s`` is its checks of A that have a next check and ``y_s`` those whose
next check is B (the next check: the next in the session's order, :mod:`.sequences`; with
``seq``, the one with the next *present* ``seq``). Any span of days then sums these, and the
session-clustered ratio estimator
(:func:`~marginscope.analytics.clustered.cluster_ratio_from_sums`) gives
``p̂ = Σy/Σx`` with ``SE² = S/(S−1) Σ_s (y_s − p̂ x_s)² / (Σx)²``.

Statistics: for each span (the month, each phase) and each A → B with ``Σx ≥ 50`` over at
least 20 sessions in both the span and the reference, the difference ``p̂ − p̂_ref`` (disjoint
days: variances add), two-sided, Benjamini–Hochberg across all the month's transition tests;
reported when q ≤ ``fdr`` and the change is at least ``min_points`` (5 percentage points)
both against the reference and against what the change of the tool mix alone would give,
``p̂_ref · P_span(next = B) / P_ref(next = B)`` (``mix_probability``): when margin-call checks
double in a phase, "after X the next check was margin-call more often" holds for every X and
says nothing about the order of checks, so it is not reported.

Assumptions: sessions independent (a visitor's sessions on one day are separate clusters, so
the SE is somewhat optimistic for heavy users); the order of checks is the session's order
(``seq``, else ``ts``). It cannot say why people moved on to B, only that they did more often.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from marginscope.analytics.clustered import cluster_ratio_from_sums
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.grouped import code_bits, day_of, day_sums, grouped_sums, run_starts
from marginscope.analytics.lift import t_tail
from marginscope.analytics.names import tool_name
from marginscope.analytics.packed_sequences import Sequences
from marginscope.analytics.spikes import bh_adjust

__all__ = [
    "TransitionTables",
    "TransitionTest",
    "scan_transitions",
    "transition_cells",
    "transition_findings",
    "transition_tables",
]

MIN_ORIGINS = 50
MIN_SESSIONS = 20
MAX_DF = 200
"""Degrees of freedom beyond which Student t is taken at 200 (indistinguishable)."""


def transition_cells(seqs: Sequences) -> dict[str, np.ndarray]:
    """Per ``(day, tool, next_tool)``: ``n, yy, xy, sw`` (see the module docstring)."""
    bits = code_bits(len(seqs.vocabulary))
    mask = (1 << bits) - 1
    # per (row, A, B) the checks of A followed by B (y), in (row, A, B) order ...
    packed = (seqs.row[1:] << 2 * bits) | (seqs.code[:-1] << bits) | seqs.code[1:]
    cell, y = np.unique(packed[seqs.row[1:] == seqs.row[:-1]], return_counts=True)
    row_ab, a_ab, b_ab = cell >> 2 * bits, (cell >> bits) & mask, cell & mask
    # ... and per (row, A), contiguous in that order, the checks of A with a next one (x)
    origin = run_starts(cell >> bits)
    x = np.repeat(np.add.reduceat(y, origin), np.diff(origin, append=cell.size))
    wy = seqs.n[row_ab] * y.astype(float)  # whole numbers: the products below are exact
    (day, tool, nxt), sums = grouped_sums(
        (seqs.day[row_ab], a_ab, b_ab),
        {"n": wy, "yy": wy * y, "xy": wy * x, "sw": wy / np.maximum(x, 1)},
    )
    names = np.asarray(seqs.vocabulary, dtype=object)
    return {
        "day": day,
        "tool": names[tool] if tool.size else np.zeros(0, dtype=object),
        "next_tool": names[nxt] if nxt.size else np.zeros(0, dtype=object),
        **{key: np.round(v).astype(np.int64) if key != "sw" else v for key, v in sums.items()},
    }


@dataclass(frozen=True, eq=False)
class TransitionTables:
    """The engine's result as NumPy arrays; ``day`` is days since 1970-01-01."""

    cells: dict[str, np.ndarray]
    origins: dict[str, np.ndarray]

    def span(self, first: int, last: int) -> tuple[dict, dict]:
        """Sums over days ``first … last`` (inclusive day numbers): ``{(A, B): (n, yy, xy)}``
        and ``{A: (nx, xx, sessions)}``."""
        days = (first, last)
        cells = day_sums(self.cells, ("tool", "next_tool"), ("n", "yy", "xy"), days)
        origins = day_sums(self.origins, ("tool",), ("nx", "xx", "sessions"), days)
        return cells, {a: v for (a,), v in origins.items()}


def transition_tables(seqs: Sequences) -> TransitionTables:
    """The transition cells of :class:`Sequences`; origins summed from the cells."""
    cells = transition_cells(seqs)
    tools, tool = np.unique(cells["tool"].astype(str), return_inverse=True)
    (day, origin), sums = grouped_sums(
        (cells["day"], tool.ravel()),
        {"nx": cells["n"], "xx": cells["xy"], "sessions": cells["sw"]},
    )
    origins = {
        "day": day,
        "tool": tools.astype(object)[origin],
        "nx": sums["nx"],
        "xx": sums["xx"],
        "sessions": np.round(sums["sessions"]),
    }
    return TransitionTables(cells=cells, origins=origins)


@dataclass(frozen=True)
class TransitionTest:
    """P(next = to | from) in a span against the reference."""

    start: str
    end: str
    scope: str
    from_tool: str
    to_tool: str
    probability: float
    low: float
    high: float
    normal_probability: float
    mix_probability: float
    transitions: int
    sessions: int
    p_value: float
    q_value: float
    flagged: bool


def _estimate(cells: dict, origins: dict, a: str, b: str) -> tuple[float, float, int, int]:
    nx, xx, sessions = origins.get(a, np.zeros(3))
    n, yy, xy = cells.get((a, b), np.zeros(3))
    p, se = cluster_ratio_from_sums(n, nx, yy, xy, xx, int(sessions))
    return p, se, int(nx), int(sessions)


def scan_transitions(
    tables: TransitionTables,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    fdr: float = 0.05,
    min_points: float = 0.05,
) -> list[TransitionTest]:
    """Transition tests for ``spans`` (inclusive ISO days and a scope) vs ``reference``."""

    number = day_of

    def next_share(cells: dict, origins: dict) -> dict[str, float]:
        total = sum(v[0] for v in origins.values())
        out: dict[str, float] = {}
        for (_, b), v in cells.items():
            out[b] = out.get(b, 0.0) + v[0] / total
        return out

    ref_cells, ref_origins = tables.span(number(reference[0]), number(reference[1]))
    ref_next = next_share(ref_cells, ref_origins)
    rows = []
    for start, end, scope in spans:
        cells, origins = tables.span(number(start), number(end))
        span_next = next_share(cells, origins)
        for a, b in sorted(cells):
            p, se, x, s = _estimate(cells, origins, a, b)
            p0, se0, x0, s0 = _estimate(ref_cells, ref_origins, a, b)
            if min(x, x0) < MIN_ORIGINS or min(s, s0) < MIN_SESSIONS or not math.isfinite(p0):
                continue
            df = min(s, s0, MAX_DF + 1) - 1
            spread = math.sqrt(se**2 + se0**2)
            z = (p - p0) / spread if spread > 0 else 0.0
            c = student_t.ppf(0.975, min(s - 1, MAX_DF))
            mix = min(1.0, p0 * span_next.get(b, 0.0) / ref_next[b]) if ref_next.get(b) else p0
            rows.append(
                (
                    start,
                    end,
                    scope,
                    a,
                    b,
                    p,
                    max(0.0, p - c * se),
                    min(1.0, p + c * se),
                    p0,
                    mix,
                    x,
                    s,
                    t_tail(z, df, "both"),
                )
            )
    q = bh_adjust([r[-1] for r in rows])
    return [
        TransitionTest(
            *row,
            q_value=float(qv),
            flagged=bool(
                qv <= fdr
                and abs(row[5] - row[8]) >= min_points
                and abs(row[5] - row[9]) >= min_points
            ),
        )
        for row, qv in zip(rows, q, strict=True)
    ]


def transition_findings(tests: Sequence[TransitionTest]) -> list[DetailFinding]:
    """The flagged transitions as ``transition`` findings (the JSON contract fields)."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        text = (
            f"{span_text(t.start, t.end)}: after a {tool_name(t.from_tool)} check, the "
            f"next check in the session was {tool_name(t.to_tool)} {t.probability:.0%} of "
            f"the time (95% CI {t.low:.0%}–{t.high:.0%}, sessions as clusters; "
            f"{t.transitions:,} checks with a next one) vs {t.normal_probability:.0%} in "
            "the reference."
        )
        out.append(
            DetailFinding.of(
                "transition",
                t,
                text,
                {
                    "tool": t.from_tool,
                    "from_tool": t.from_tool,
                    "to_tool": t.to_tool,
                    "probability": t.probability,
                    "normal_probability": t.normal_probability,
                    "ci": [t.low, t.high],
                    "mix_probability": t.mix_probability,
                    "scope": t.scope,
                    "transitions": t.transitions,
                    "sessions": t.sessions,
                },
            )
        )
    return out
