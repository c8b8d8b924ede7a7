"""Setup content: side, leverage, notional bucket, margin mode, venue and symbol per tool.

Engine side (Ibis, DuckDB and Spark alike): checks per ``(day, tool, value)`` for each field,
from two small ``GROUP BY`` passes over fields counted together (:func:`content_exprs`,
:data:`TOGETHER`). Leverage and notional are stored as bucket edges; their keys are those
edges as strings.

Statistics per tool, field and span (the month, each phase) against the reference
(``analytics_methods.md`` §6–§7):

* the distributions (value → share of the tool's checks with the field set), pooled over the
  span's days and over the reference's;
* the **total-variation distance** ``TV = ½ Σ |p_v − q_v|`` (the share of checks that would
  have to change value), tested by a **day permutation** (:mod:`.permutation`; checks of one
  day and one session are alike, so a chi-square on checks is far too eager);
* side: the long share with a day-clustered 95 % interval; leverage: the median bucket and the
  share at 20× or more, in the span and in the reference.

Reported when q ≤ ``fdr`` (BH across all the month's content tests) and ``TV ≥ min_tv``
(5 points). Plug-in TV is above 0 even when nothing changed (about 1–2 points here): compare
it with ``min_tv``, not with 0. It cannot say whether the same people changed their setups or
different people came.

Small cells (:mod:`.disclosure`): a share times ``checks`` is a count, and the shares add to
1, so each distribution (the span's, the reference's) is protected as one line
(:func:`~marginscope.analytics.disclosure.hidden_shares`): a value whose checks or whose
complement are under k is null, and with it at least one more value (the smallest), so none
is ``1 −`` the others; the month and its phases are protected together
(:func:`~marginscope.analytics.disclosure.spans_hidden`), so the month's value minus a
phase's is not a count under k either. The published ``tv`` pools the values null on either
side into one bucket (it then uses published shares only); ``long_share`` (and its interval)
is null with ``long``, ``share_20x`` whenever any leverage bucket of its side is null. A
finding whose span values are all null is withheld.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import t as student_t

from marginscope.analytics.clustered import cluster_ratio
from marginscope.analytics.disclosure import (
    hidden_shares,
    or_suppressed,
    published_tv,
    spans_hidden_daily,
)
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.names import tool_name
from marginscope.analytics.permutation import (
    covered_days,
    day_numbers,
    day_permutation_p,
    p_text,
    tv_distance,
)
from marginscope.analytics.queries import day_number, in_range
from marginscope.analytics.spikes import bh_adjust

__all__ = [
    "CONTENT_FIELDS",
    "TOGETHER",
    "ContentTables",
    "ContentTest",
    "content_exprs",
    "content_findings",
    "content_tables",
    "scan_content",
]

CONTENT_FIELDS: tuple[str, ...] = (
    "side",
    "leverage",
    "notional_bucket",
    "margin_mode",
    "venue",
    "symbol",
)
HIGH_LEVERAGE = 20

TOGETHER: tuple[tuple[str, ...], ...] = (
    ("side", "leverage", "notional_bucket", "margin_mode"),
    ("venue", "symbol"),
)
"""Fields counted in one pass, the others' counts summed out afterwards: their values'
product stays small (≈ 130,000 and 15,000 ``(day, tool, …)`` cells on the 10-million-event
bench month, against 2.5 million for all six together), and two scans replace six."""


def content_exprs(
    events: ir.Table, start: date, end: date, fields: Sequence[str] = CONTENT_FIELDS
) -> dict[tuple[str, ...], ir.Table]:
    """Per group of :data:`TOGETHER` (a field of neither alone): checks per ``(day, tool,
    values of the group's fields)`` in ``[start, end)``."""
    rows = in_range(events, start, end)
    present = [name for name in fields if name in rows.columns]
    rows = rows.select("tool", *present, day=day_number(rows))
    groups = [tuple(f for f in group if f in present) for group in TOGETHER]
    groups += [(f,) for f in present if not any(f in group for group in TOGETHER)]
    return {
        group: rows.group_by(["day", "tool", *group]).aggregate(n=rows.count())
        for group in groups
        if group
    }


@dataclass(frozen=True, eq=False)
class ContentTables:
    """Per field, the engine's counts as arrays (``day`` in days since 1970-01-01)."""

    fields: dict[str, dict[str, np.ndarray]]

    def matrix(self, name: str, tool: str, days: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(len(days) × values) counts of ``tool`` per value, and the value labels."""
        data = self.fields[name]
        chosen = data["tool"] == tool
        values = sorted({str(v) for v in data["value"][chosen]}, key=_order)
        index = {v: i for i, v in enumerate(values)}
        out = np.zeros((len(days), len(values)))
        position = {int(d): i for i, d in enumerate(days)}
        for d, v, n in zip(
            data["day"][chosen], data["value"][chosen], data["n"][chosen], strict=True
        ):
            row = position.get(int(d))
            if row is not None:
                out[row, index[str(v)]] += n
        return out, values


def _order(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def content_tables(events: ir.Table, start: date, end: date) -> ContentTables:
    """Run :func:`content_exprs` in the engine; per field, checks per ``(day, tool, value)``
    (value not null, as text), the group's other fields summed out."""
    out = {}
    for group, expr in content_exprs(events, start, end).items():
        table = expr.to_pyarrow()
        for name in group:
            part = table.filter(pc.is_valid(table[name]))
            part = part.group_by(["day", "tool", name], use_threads=False).aggregate(
                [("n", "sum")]
            )
            out[name] = {
                "day": part["day"].to_numpy(),
                "tool": part["tool"].to_numpy(zero_copy_only=False),
                "value": pc.cast(part[name], pa.string()).to_numpy(zero_copy_only=False),
                "n": part["n_sum"].to_numpy(),
            }
    return ContentTables(fields={name: out[name] for name in CONTENT_FIELDS if name in out})


@dataclass(frozen=True)
class ContentTest:
    """One tool's distribution of one field in a span against the reference."""

    start: str
    end: str
    scope: str
    tool: str
    field: str
    observed: dict[str, float]
    normal: dict[str, float]
    tv: float
    checks: int
    p_value: float
    q_value: float
    flagged: bool
    extra: dict[str, object] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    """Values of ``observed`` not published (small cells, :mod:`.disclosure`)."""
    normal_hidden: frozenset[str] = frozenset()
    """Values of ``normal`` not published."""


def _extras(name: str, span: np.ndarray, ref: np.ndarray, values: list[str]) -> dict:
    """Long share with a day-clustered interval; leverage median and share at ≥ 20×."""
    if name == "side" and "long" in values:
        i = values.index("long")
        p, se, days = cluster_ratio(span[:, i], span.sum(axis=1))
        p0, _, _ = cluster_ratio(ref[:, i], ref.sum(axis=1))
        c = student_t.ppf(0.975, max(days - 1, 1))
        return {
            "long_share": p,
            "long_share_ci": [max(0.0, p - c * se), min(1.0, p + c * se)],
            "normal_long_share": p0,
        }
    if name == "leverage":
        edges = np.asarray([float(v) for v in values])

        def summary(block: np.ndarray) -> tuple[float, float]:
            counts = block.sum(axis=0)
            cumulative = np.cumsum(counts) / max(counts.sum(), 1.0)
            median = float(edges[int(np.searchsorted(cumulative, 0.5))])
            return median, float(counts[edges >= HIGH_LEVERAGE].sum() / max(counts.sum(), 1))

        median, high = summary(span)
        median0, high0 = summary(ref)
        return {
            "median": median,
            "normal_median": median0,
            "share_20x": high,
            "normal_share_20x": high0,
        }
    return {}


def _hidden(values: list[str], block: np.ndarray, k: int) -> frozenset[str]:
    """The values of a (days × values) block whose shares may not be published."""
    return frozenset(hidden_shares(dict(zip(values, block.sum(axis=0), strict=True)), k))


def scan_content(
    tables: ContentTables,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    fdr: float = 0.05,
    min_tv: float = 0.05,
    min_checks: int = 200,
    seed: int = 20251130,
    k: int = 10,
) -> list[ContentTest]:
    """Content tests for ``spans`` (inclusive ISO days, scope) against ``reference``; values
    that would reveal a count under ``k`` are marked hidden (see the module docstring)."""
    days = day_numbers
    rng = np.random.default_rng(seed)
    ref_days = days(*reference)
    covered = covered_days(spans)
    rows = []
    for name, data in tables.fields.items():
        for tool in sorted({str(t) for t in data["tool"]}):
            daily, labels = tables.matrix(name, tool, covered)
            hidden = spans_hidden_daily(daily, labels, covered, spans, k)
            for (start, end, scope), span_hidden in zip(spans, hidden, strict=True):
                span_days = days(start, end)
                matrix, values = tables.matrix(name, tool, np.concatenate([span_days, ref_days]))
                span, ref = matrix[: span_days.size], matrix[span_days.size :]
                if len(values) < 2 or min(span.sum(), ref.sum()) < min_checks:
                    continue
                p_span, p_ref = span.sum(axis=0) / span.sum(), ref.sum(axis=0) / ref.sum()
                rows.append(
                    (
                        start,
                        end,
                        scope,
                        tool,
                        name,
                        dict(zip(values, p_span.tolist(), strict=True)),
                        dict(zip(values, p_ref.tolist(), strict=True)),
                        float(tv_distance(span.sum(axis=0), ref.sum(axis=0))),
                        int(span.sum()),
                        day_permutation_p(span, ref, rng),
                        _extras(name, span, ref, values),
                        frozenset(span_hidden),
                        _hidden(values, ref, k),
                    )
                )
    q = bh_adjust([r[9] for r in rows])
    return [
        ContentTest(
            start=r[0],
            end=r[1],
            scope=r[2],
            tool=r[3],
            field=r[4],
            observed=r[5],
            normal=r[6],
            tv=r[7],
            checks=r[8],
            p_value=r[9],
            q_value=float(qv),
            flagged=bool(qv <= fdr and r[7] >= min_tv),
            extra=r[10],
            hidden=r[11],
            normal_hidden=r[12],
        )
        for r, qv in zip(rows, q, strict=True)
    ]


def _published_extras(t: ContentTest) -> dict[str, object]:
    """:func:`_extras` with what the small-cell rule hides set to None."""
    extra = dict(t.extra)
    if "long_share" in extra:
        if "long" in t.hidden:
            extra["long_share"] = extra["long_share_ci"] = None
        if "long" in t.normal_hidden:
            extra["normal_long_share"] = None
    if "share_20x" in extra:
        if t.hidden:
            extra["share_20x"] = None
        if t.normal_hidden:
            extra["normal_share_20x"] = None
    return extra


def content_findings(tests: Sequence[ContentTest]) -> list[DetailFinding]:
    """The flagged content shifts as ``content`` findings (the JSON contract fields); values
    under the small-cell rule are None (see the module docstring)."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        observed = {v: None if v in t.hidden else p for v, p in t.observed.items()}
        normal = {v: None if v in t.normal_hidden else p for v, p in t.normal.items()}
        extra = _published_extras(t)
        tv = published_tv(observed, normal)
        shown = [v for v in observed if observed[v] is not None]
        withheld = not any(observed[v] for v in shown)
        moved = max(shown or observed, key=lambda v: (observed[v] or 0.0) - (normal.get(v) or 0.0))
        detail = f"{or_suppressed(observed[moved])} {moved} vs {or_suppressed(normal.get(moved))}"
        if "long_share" in extra:
            ci = extra["long_share_ci"]
            detail = (
                f"{or_suppressed(extra['long_share'])} long (95% CI "
                f"{or_suppressed(ci[0] if ci else None)}–{or_suppressed(ci[1] if ci else None)}"
                f", days as clusters) vs {or_suppressed(extra['normal_long_share'])}"
            )
        elif "median" in extra:
            detail = (
                f"median {extra['median']:g}× vs {extra['normal_median']:g}×, "
                f"{or_suppressed(extra['share_20x'])} at 20× or more vs "
                f"{or_suppressed(extra['normal_share_20x'])}"
            )
        text = (
            f"{span_text(t.start, t.end)}: the {t.field.replace('_', ' ')} of "
            f"{tool_name(t.tool)} checks shifted ({detail} in the reference; "
            f"{tv:.0%} of checks would have to change value, day-permutation "
            f"{p_text(t.p_value)})."
        )
        out.append(
            DetailFinding.of(
                "content",
                t,
                text,
                {
                    "tool": t.tool,
                    "field": t.field,
                    "observed": observed,
                    "normal": normal,
                    "tv": tv,
                    "scope": t.scope,
                    "checks": t.checks,
                    **extra,
                },
                withheld=withheld,
            )
        )
    return out
