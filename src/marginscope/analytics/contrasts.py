"""Segment contrasts in the tool mix: U.S. vs rest, mobile vs desktop (tablet vs desktop).

For a span of days and a tool T, the share of T among segment a's checks and among segment
b's, ``p̂ = Σ_d T_d / Σ_d N_d`` (ratio of sums, never the mean of daily shares), and their ratio
``R̂ = p̂_a / p̂_b`` with a day-clustered, paired delta-method interval (``analytics_methods.md``
§4; :func:`~marginscope.analytics.clustered.paired_log_ratio`): days are the clusters, a and
b are paired by day so the day's common shock cancels; Student t with ``D − 1`` df.

Two tests, one Benjamini–Hochberg family across the month (kind ``contrast``):

* **the month**: is ``R̂ ≠ 1``? (a standing difference between the segments);
* **each phase**: did ``R̂`` change against the reference? ``log RoR = log R̂ − log R̂_ref``,
  the days are disjoint so the variances add.

A contrast is reported when its q ≤ ``fdr``, the ratio (or its change) is at least
``min_ratio`` either way, and the tool has at least ``max(k, min_checks)`` checks in each
segment. Every finding also states the reference's ratio (``normal_ratio``).

Small cells (:mod:`.disclosure`): ``share_a`` with ``checks_a`` gives segment a's checks, so
a contrast is published only when, in the span, the tool's checks in each segment, the other
tools' checks there (the complements) and the tool's checks outside both segments (the tool's
total minus ``checks_a`` and ``checks_b``: tablets and unknown devices for mobile vs desktop)
are 0 or at least k, in the span and across the month and its phases (the month's cell minus
a phase's is the rest of the month's: :func:`~marginscope.analytics.disclosure.spans_hidden`);
otherwise it is withheld. ``normal_ratio`` is null when the same cells of
the reference are not; a phase contrast (a change against the reference) is then withheld.

Assumptions: days independent given the segment; the tool's definition stable. It cannot say
*why* segments differ (different people, not the same people behaving differently), and it
does not standardise for the other dimension (a region contrast may partly be a device mix).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from marginscope.analytics.clustered import paired_log_ratio
from marginscope.analytics.cube import DailyCube
from marginscope.analytics.disclosure import cube_disclosure, safe_count, span_key, spans_hidden
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.lift import t_tail
from marginscope.analytics.names import tool_label
from marginscope.analytics.spikes import bh_adjust

__all__ = ["CONTRAST_PAIRS", "ContrastTest", "contrast_findings", "scan_contrasts"]

CONTRAST_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("region", "US", "rest"),
    ("device", "mobile", "desktop"),
    ("device", "tablet", "desktop"),
)
"""(dimension, a, b); the tablet pair only when tablets have at least k checks in the span."""

_LABEL = {
    "US": "U.S. checks",
    "rest": "checks outside the U.S.",
    "mobile": "mobile checks",
    "desktop": "desktop checks",
    "tablet": "tablet checks",
}


@dataclass(frozen=True)
class ContrastTest:
    """One tool's share ratio between two segments over a span, against the reference."""

    start: str
    end: str
    scope: str  # "month" or "phase"
    tool: str
    dimension: str
    a: str
    b: str
    share_a: float
    share_b: float
    ratio: float
    ratio_low: float
    ratio_high: float
    normal_ratio: float
    change: float
    p_value: float
    q_value: float
    checks_a: int
    checks_b: int
    flagged: bool
    publishable: bool = True
    """The span's cells are all 0 or at least k (see the module docstring)."""
    normal_publishable: bool = True
    """The same for the reference's cells (``normal_ratio``)."""


def _cells(ta, na, tb, nb, tool_total) -> dict[str, float]:
    """The counts a contrast gives back over some days: the tool's checks in each segment,
    the other tools' there, and the tool's checks outside both segments."""
    ta, na, tb, nb, tool_total = (float(v.sum()) for v in (ta, na, tb, nb, tool_total))
    return {"a": ta, "a_rest": na - ta, "b": tb, "b_rest": nb - tb, "outside": tool_total - ta - tb}


def _sums(cube: DailyCube, tool: str, dimension: str, a: str, b: str):
    seg_a, seg_b = f"{dimension}:{a}", f"{dimension}:{b}"
    return (
        cube.series(tool, seg_a),
        cube.series(None, seg_a),
        cube.series(tool, seg_b),
        cube.series(None, seg_b),
    )


def scan_contrasts(
    cube: DailyCube,
    spans: Sequence[tuple[int, int, str]],
    reference: tuple[int, int],
    *,
    k: int = 10,
    fdr: float = 0.05,
    min_ratio: float = 1.2,
    min_checks: int = 30,
) -> list[ContrastTest]:
    """Contrast tests for each span ``(start, end, scope)`` (day indices, end exclusive;
    scope ``month`` tests ``R ≠ 1``, ``phase`` tests the change against the reference)."""
    tools = [t for t, n in cube.by_tool().items() if n > 0]
    ref = slice(*reference)
    first_day = int(cube.days[0].astype("datetime64[D]").astype(np.int64))
    named = [(str(cube.days[start]), str(cube.days[end - 1]), scope) for start, end, scope in spans]
    # the reference's tools × segments with its totals (last month's, when the reference is
    # that month): normal_ratio with the totals gives a region's cell back
    ref_table = cube_disclosure(cube, *reference, k, spans=[reference])
    rows = []
    for dimension, a, b in CONTRAST_PAIRS:
        if dimension == "device" and a not in cube.devices:
            continue
        for tool in tools:
            ta, na, tb, nb = _sums(cube, tool, dimension, a, b)
            whole = cube.series(tool, "all")
            _, _, log_ref, se_ref, _ = paired_log_ratio(ta[ref], na[ref], tb[ref], nb[ref])
            normal = _cells(ta[ref], na[ref], tb[ref], nb[ref], whole[ref])
            normal_safe = all(safe_count(n, k) for n in normal.values()) and not any(
                span_key(0, ref.stop - ref.start, "tool", tool, dimension, x) in ref_table.hidden
                for x in (a, b)
            )

            def counts(first: int, last: int, series=(ta, na, tb, nb, whole)) -> dict:
                days = slice(first - first_day, last - first_day + 1)
                return _cells(*(v[days] for v in series))

            hidden = spans_hidden(counts, named, k)
            for (start, end, scope), span_hidden in zip(spans, hidden, strict=True):
                span = slice(start, end)
                checks_a, checks_b = int(ta[span].sum()), int(tb[span].sum())
                if a == "tablet" and int(na[span].sum()) < k:
                    continue
                pa, pb, log_r, se, days = paired_log_ratio(ta[span], na[span], tb[span], nb[span])
                if not (math.isfinite(log_r) and math.isfinite(se) and se > 0) or days < 3:
                    continue
                if scope == "month":
                    statistic, size = log_r / se, log_r
                elif math.isfinite(log_ref) and math.isfinite(se_ref):
                    size = log_r - log_ref
                    statistic = size / math.sqrt(se**2 + se_ref**2)
                else:
                    continue
                c = student_t.ppf(0.975, days - 1)
                rows.append(
                    [
                        str(cube.days[start]),
                        str(cube.days[end - 1]),
                        scope,
                        tool,
                        dimension,
                        a,
                        b,
                        pa,
                        pb,
                        math.exp(log_r),
                        math.exp(log_r - c * se),
                        math.exp(log_r + c * se),
                        math.exp(log_ref) if math.isfinite(log_ref) else math.nan,
                        math.exp(size),
                        t_tail(statistic, days - 1, "both"),
                        checks_a,
                        checks_b,
                        not span_hidden,
                        normal_safe,
                    ]
                )
    q = bh_adjust([r[14] for r in rows])
    out = []
    for row, q_value in zip(rows, q, strict=True):
        (
            start,
            end,
            scope,
            tool,
            dimension,
            a,
            b,
            pa,
            pb,
            ratio,
            low,
            high,
            normal,
            change,
            p,
            checks_a,
            checks_b,
            publishable,
            normal_publishable,
        ) = row
        flagged = (
            q_value <= fdr
            and abs(math.log(change)) >= math.log(min_ratio)
            and min(checks_a, checks_b) >= max(k, min_checks)
        )
        out.append(
            ContrastTest(
                start=start,
                end=end,
                scope=scope,
                tool=tool,
                dimension=dimension,
                a=a,
                b=b,
                share_a=pa,
                share_b=pb,
                ratio=ratio,
                ratio_low=low,
                ratio_high=high,
                normal_ratio=normal,
                change=change,
                p_value=p,
                q_value=float(q_value),
                checks_a=checks_a,
                checks_b=checks_b,
                flagged=bool(flagged),
                publishable=bool(publishable and (normal_publishable or scope == "month")),
                normal_publishable=bool(normal_publishable),
            )
        )
    return out


def contrast_findings(tests: Sequence[ContrastTest]) -> list[DetailFinding]:
    """The flagged contrasts as ``contrast`` findings (the JSON contract fields); those that
    would reveal a count under k are marked ``withheld``, and ``normal_ratio`` is None when
    the reference's cells would."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        a, b = _LABEL.get(t.a, t.a), _LABEL.get(t.b, t.b)
        normal_ratio = t.normal_ratio if t.normal_publishable else None
        if normal_ratio is None:
            normal = "; the reference's ratio is suppressed (small cells)"
        else:
            normal = (
                f"; in the reference {normal_ratio:.2f}×" if math.isfinite(normal_ratio) else ""
            )
        change = f", {t.change:.2f}× its reference ratio" if t.scope == "phase" else ""
        text = (
            f"{span_text(t.start, t.end)}: {tool_label(t.tool)} were {t.share_a:.1%} of "
            f"{a} vs {t.share_b:.1%} of {b}, {t.ratio:.2f}× (95% CI "
            f"{t.ratio_low:.2f}–{t.ratio_high:.2f}×, days as clusters){change}{normal}."
        )
        out.append(
            DetailFinding.of(
                "contrast",
                t,
                text,
                {
                    "tool": t.tool,
                    "dimension": t.dimension,
                    "a": t.a,
                    "b": t.b,
                    "share_a": t.share_a,
                    "share_b": t.share_b,
                    "ratio": t.ratio,
                    "ratio_ci": [t.ratio_low, t.ratio_high],
                    "normal_ratio": normal_ratio,
                    "scope": t.scope,
                    "test": "ratio" if t.scope == "month" else "change",
                    "checks_a": t.checks_a,
                    "checks_b": t.checks_b,
                },
                withheld=not t.publishable,
            )
        )
    return out
