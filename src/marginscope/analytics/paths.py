"""Session paths: the first three checks of a session, the common ones per span.

From the sessions' ordered sequences (:class:`~marginscope.analytics.packed_sequences.Sequences`, one
engine query shared by every session analysis), the sessions per
``(day, tool, next_tool, next2)`` (:func:`path_table`): a session's path is its first ``L = 3``
checks, with ``END`` for a session that stopped earlier (``analytics_methods.md`` §5).

Statistics: the paths to follow are chosen in the **reference** — its ``top`` most common
paths seen in at least ``min_sessions`` sessions — and measured in each span (the month, each
phase): choosing the top paths of the span and then testing them is the winner's curse. A
path's share is the share of the span's sessions that start with it; each session is one
trial, so sessions are the clusters and the clustered variance is the binomial one
(:func:`~marginscope.analytics.clustered.binary_sums`). The change against the reference is
tested two-sided with the variances added; Benjamini–Hochberg across the month's path tests;
reported (kind ``path``) when q ≤ ``fdr``, the share moved by at least ``min_points`` and by
``min_ratio`` either way. Each span's most common paths (``top_paths``) are in every finding
of that span, so the report can say what the common paths were.

Small cells (:mod:`.disclosure`): a share times ``sessions`` is a count and the paths' shares
add to 1, so each span's and the reference's path distribution is one line of
:func:`~marginscope.analytics.disclosure.hidden_shares` (the month and its phases together,
:func:`~marginscope.analytics.disclosure.spans_hidden`). ``top_paths`` lists only published
paths (what is not listed is then two or more hidden paths, or paths at or above k); a path
finding whose path is hidden in the span or in the reference is withheld.

It cannot say why a path became more common; a change of the tool mix alone moves paths
(compare with the tool-share findings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from marginscope.analytics.clustered import binary_sums, cluster_change
from marginscope.analytics.disclosure import hidden_shares, safe_count, spans_hidden
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.grouped import grouped_sums, span_sums
from marginscope.analytics.names import tool_name
from marginscope.analytics.packed_sequences import Sequences
from marginscope.analytics.spikes import bh_adjust

__all__ = ["END", "PathTest", "path_findings", "path_table", "path_text", "scan_paths"]

END = "END"
"""The token of a path that ended before its third check."""
STEPS = 3


def path_table(seqs: Sequences) -> dict[str, np.ndarray]:
    """Sessions per ``(day, tool, next_tool, next2)`` (``END`` past a session's end)."""
    first = seqs.offsets[:-1]
    lengths = seqs.lengths
    steps = [
        np.where(lengths > i, seqs.code[np.minimum(first + i, max(seqs.code.size - 1, 0))] + 1, 0)
        for i in range(STEPS)
    ]
    if not first.size:
        return {k: np.zeros(0) for k in ("day", "tool", "next_tool", "next2", "n")}
    (day, *codes), sums = grouped_sums((seqs.day, *steps), {"n": seqs.n})
    names = np.asarray((END, *seqs.vocabulary), dtype=object)
    return {
        "day": day,
        **{k: names[c] for k, c in zip(("tool", "next_tool", "next2"), codes, strict=True)},
        "n": sums["n"],
    }


def path_text(path: Sequence[str]) -> str:
    """``liquidation-price → margin-call → end``."""
    return " → ".join("end" if step == END else tool_name(step) for step in path)


@dataclass(frozen=True)
class PathTest:
    """One path's share of a span's sessions against the reference."""

    start: str
    end: str
    scope: str
    path: tuple[str, ...]
    share: float
    low: float
    high: float
    normal_share: float
    sessions: int
    path_sessions: int
    top_paths: tuple[tuple[tuple[str, ...], float], ...]
    p_value: float
    q_value: float = 1.0
    flagged: bool = False
    publishable: bool = True
    """The path's sessions and the rest are published in the span and in the reference."""


def _paths(data: dict, first: str, last: str) -> dict[tuple[str, ...], float]:
    sums = span_sums(data, ("tool", "next_tool", "next2"), ("n",), first, last)
    return {key: float(v[0]) for key, v in sums.items()}


def scan_paths(
    data: dict,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    top: int = 20,
    min_sessions: int = 10,
    fdr: float = 0.05,
    min_points: float = 0.01,
    min_ratio: float = 1.25,
    k: int = 10,
) -> list[PathTest]:
    """Path tests for ``spans`` (inclusive ISO days and a scope) against ``reference``;
    ``data``: :func:`path_expr`'s result as arrays; paths that would reveal a count under
    ``k`` are left out of ``top_paths`` and their tests marked not publishable."""
    ref = _paths(data, *reference)
    ref_total = sum(ref.values())
    ref_hidden = hidden_shares(ref, k)
    tracked = [
        p for p, n in sorted(ref.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_sessions
    ][:top]
    rows = []

    def counts(first: int, last: int) -> dict[tuple[str, ...], float]:
        return _paths(data, *(str(np.datetime64(day, "D")) for day in (first, last)))

    for (start, end, scope), hidden in zip(spans, spans_hidden(counts, spans, k), strict=True):
        now = _paths(data, start, end)
        total = sum(now.values())
        common = sorted(
            ((p, n / total) for p, n in now.items() if n >= min_sessions and p not in hidden),
            key=lambda kv: (-kv[1], kv[0]),
        )[:top]
        for path in tracked:
            n = now.get(path, 0.0)
            change = cluster_change(
                (*binary_sums(n, total), total), (*binary_sums(ref[path], ref_total), ref_total)
            )
            rows.append(
                PathTest(
                    start,
                    end,
                    scope,
                    path,
                    change.probability,
                    change.low,
                    change.high,
                    change.normal_probability,
                    int(total),
                    int(n),
                    tuple(common),
                    change.p_value,
                    publishable=path not in ref_hidden
                    and (path not in hidden if path in now else safe_count(total, k)),
                )
            )
    q = bh_adjust([r.p_value for r in rows])
    out = []
    for r, qv in zip(rows, q, strict=True):
        ratio = r.share / r.normal_share if r.normal_share > 0 else float("inf")
        flagged = bool(
            qv <= fdr
            and abs(r.share - r.normal_share) >= min_points
            and (ratio >= min_ratio or ratio <= 1 / min_ratio)
            and r.path_sessions >= min_sessions
        )
        out.append(replace(r, q_value=float(qv), flagged=flagged))
    return out


def path_findings(tests: Sequence[PathTest]) -> list[DetailFinding]:
    """The flagged paths as ``path`` findings."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        text = (
            f"{span_text(t.start, t.end)}: {t.share:.1%} of sessions began "
            f"{path_text(t.path)} (95% CI {t.low:.1%}–{t.high:.1%}, sessions as clusters; "
            f"{t.path_sessions:,} of {t.sessions:,} sessions) vs {t.normal_share:.1%} in the "
            "reference."
        )
        out.append(
            DetailFinding.of(
                "path",
                t,
                text,
                {
                    "tool": t.path[0],
                    "path": list(t.path),
                    "share": t.share,
                    "ci": [t.low, t.high],
                    "normal_share": t.normal_share,
                    "sessions": t.sessions,
                    "path_sessions": t.path_sessions,
                    "top_paths": [{"path": list(p), "share": s} for p, s in t.top_paths],
                    "scope": t.scope,
                },
                withheld=not t.publishable,
            )
        )
    return out
