"""Hour of day: 24-hour profiles per device and region, per span against the reference.

Engine side (Ibis, DuckDB and Spark alike): checks per ``(day, UTC hour, device, region,
tool)`` (:func:`hour_expr`); both engines run in UTC (the report's connections pin it).

Statistics (``analytics_methods.md`` §6): for each segment (``device:<d>``, ``region:US``,
``region:rest``) and span (the month, each phase), the pooled profile (share of the segment's
checks in each UTC hour) against the reference's; the **total-variation distance**
``TV = ½ Σ_h |p_h − q_h|`` (the share of activity that would have to move), tested by a
**day permutation** (:func:`~marginscope.analytics.permutation.day_permutation_p`; a chi-square
on checks treats every check as independent and rejects far too often); Benjamini–Hochberg
across the month's hour tests; reported (kind ``hour_profile``) when q ≤ ``fdr`` and
``TV ≥ min_tv``.

Limits: profiles are in **UTC**. Daylight-saving changes move local activity by an hour in
UTC (U.S. DST ended 2 Nov 2025, EU 26 Oct 2025), so a November month against an October
reference shows a one-hour "shift" that is only the clock (on the demo, 5–7 points of TV).
When an EU or U.S. change falls between the reference's first day and the span's last, a
finding needs ``TV ≥ min_tv_dst`` (10 points) and its text names the change
(:func:`dst_changes`); local-time profiles for single-zone countries are not built yet.
Plug-in TV is above 0 even with no change (compare with ``min_tv``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import ibis.expr.types as ir
import numpy as np

from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.permutation import day_numbers, day_permutation_p, p_text, tv_distance
from marginscope.analytics.queries import day_number, in_range, region_of
from marginscope.analytics.spikes import bh_adjust

__all__ = [
    "HourTables",
    "HourTest",
    "dst_changes",
    "hour_expr",
    "hour_findings",
    "hour_tables",
    "scan_hours",
]

_SEGMENT_TEXT = {
    "device:mobile": "mobile",
    "device:desktop": "desktop",
    "device:tablet": "tablet",
    "region:US": "U.S.",
    "region:rest": "non-U.S.",
}


def _sunday(year: int, month: int, which: int) -> date:
    """The ``which``-th Sunday of a month (``-1``: the last)."""
    if which > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (which - 1))
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def dst_changes(first: str, last: str) -> list[str]:
    """EU (last Sundays of March and October) and U.S. (second Sunday of March, first of
    November) clock changes from ``first`` to ``last`` (inclusive ISO days)."""
    out = []
    for year in range(int(first[:4]), int(last[:4]) + 1):
        for day in (
            _sunday(year, 3, -1),
            _sunday(year, 10, -1),
            _sunday(year, 3, 2),
            _sunday(year, 11, 1),
        ):
            if first <= day.isoformat() <= last:
                out.append(day.isoformat())
    return sorted(out)


def hour_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """Checks per ``(day, hour, device, region, tool)`` in ``[start, end)``; hour in UTC."""
    rows = in_range(events, start, end)
    rows = rows.select(
        "tool",
        "device",
        day=day_number(rows),
        hour=rows.ts.hour().cast("int8"),
        region=region_of(rows.country),
    )
    return rows.group_by(["day", "hour", "device", "region", "tool"]).aggregate(n=rows.count())


@dataclass(frozen=True, eq=False)
class HourTables:
    """The engine's counts as arrays (``day`` in days since 1970-01-01)."""

    data: dict[str, np.ndarray]

    def matrix(self, segment: str, days: np.ndarray, tool: str | None = None) -> np.ndarray:
        """(len(days) × 24) checks of ``segment`` (and ``tool``; None: all tools)."""
        d = self.data
        kind, _, value = segment.partition(":")
        chosen = d[kind] == value
        if tool is not None:
            chosen &= d["tool"] == tool
        out = np.zeros((len(days), 24))
        position = {int(x): i for i, x in enumerate(days)}
        rows = np.asarray([position.get(int(x), -1) for x in d["day"][chosen]], dtype=np.int64)
        keep = rows >= 0
        np.add.at(
            out,
            (rows[keep], d["hour"][chosen][keep].astype(np.int64)),
            d["n"][chosen][keep].astype(float),
        )
        return out


def hour_tables(events: ir.Table, start: date, end: date) -> HourTables:
    """Run :func:`hour_expr` in the engine."""
    table = hour_expr(events, start, end).to_pyarrow()
    return HourTables(data={k: table[k].to_numpy(zero_copy_only=False) for k in table.column_names})


@dataclass(frozen=True)
class HourTest:
    """A segment's hour profile in a span against the reference."""

    start: str
    end: str
    scope: str
    segment: str
    tool: str | None
    observed: list[float]
    normal: list[float]
    tv: float
    checks: int
    p_value: float
    q_value: float
    flagged: bool
    dst: tuple[str, ...] = ()


def scan_hours(
    tables: HourTables,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    fdr: float = 0.05,
    min_tv: float = 0.05,
    min_tv_dst: float = 0.10,
    min_checks: int = 500,
    seed: int = 20251130,
) -> list[HourTest]:
    """Hour-profile tests of each device and region segment (all tools) for ``spans``."""
    days = day_numbers
    rng = np.random.default_rng(seed)
    segments = [f"device:{d}" for d in sorted({str(v) for v in tables.data["device"]})]
    segments += ["region:US", "region:rest"]
    ref_days = days(*reference)
    rows = []
    for segment in segments:
        ref = tables.matrix(segment, ref_days)
        for start, end, scope in spans:
            span = tables.matrix(segment, days(start, end))
            if min(span.sum(), ref.sum()) < min_checks:
                continue
            observed, normal = span.sum(axis=0), ref.sum(axis=0)
            rows.append(
                (
                    start,
                    end,
                    scope,
                    segment,
                    None,
                    (observed / observed.sum()).tolist(),
                    (normal / normal.sum()).tolist(),
                    float(tv_distance(observed, normal)),
                    int(observed.sum()),
                    day_permutation_p(span, ref, rng),
                )
            )
    q = bh_adjust([r[-1] for r in rows])
    out = []
    for r, qv in zip(rows, q, strict=True):
        dst = tuple(dst_changes(reference[0], r[1]))
        floor = min_tv_dst if dst else min_tv
        out.append(
            HourTest(*r, q_value=float(qv), flagged=bool(qv <= fdr and r[7] >= floor), dst=dst)
        )
    return out


def hour_findings(tests: Sequence[HourTest]) -> list[DetailFinding]:
    """The flagged profiles as ``hour_profile`` findings (the JSON contract fields)."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        peak, peak0 = int(np.argmax(t.observed)), int(np.argmax(t.normal))
        text = (
            f"{span_text(t.start, t.end)}: the hours of {_SEGMENT_TEXT.get(t.segment, t.segment)}"
            f" checks shifted (busiest hour {peak:02d}:00 UTC vs {peak0:02d}:00 in the "
            f"reference; {t.tv:.0%} of activity would have to move, day-permutation "
            f"{p_text(t.p_value)}"
            + (
                f"; the clocks changed on {', '.join(t.dst)}, which alone moves activity by an "
                "hour in UTC"
                if t.dst
                else ""
            )
            + ")."
        )
        out.append(
            DetailFinding.of(
                "hour_profile",
                t,
                text,
                {
                    "segment": t.segment,
                    "tool": t.tool,
                    "observed": t.observed,
                    "normal": t.normal,
                    "tv": t.tv,
                    "scope": t.scope,
                    "checks": t.checks,
                    "hours": "UTC",
                    "dst_changes": list(t.dst),
                },
            )
        )
    return out
