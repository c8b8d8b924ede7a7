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

Device and region profiles are in **UTC**. Daylight-saving changes move local activity by an
hour in UTC (U.S. DST ended 2 Nov 2025, EU 26 Oct 2025), so a November month against an
October reference shows a one-hour "shift" that is only the clock (on the demo, 5–7 points of
TV). When an EU or U.S. change falls between the reference's first day and the span's last,
such a finding needs ``TV ≥ min_tv_dst`` (10 points) and its text names the change
(:func:`~.local_time.dst_changes`).

**Local time** (segments ``local:<country>``, ``hours: "local"``): for each country with one
local time — its ``zone.tab`` zones (:func:`~.local_time.local_hours`) give
the same local hour for every UTC hour of the reference and the span (``DE``'s Berlin and
Busingen do; the U.S., Russia, Brazil … do not and stay in UTC) — the engine's checks per
``(UTC day, UTC hour, country)`` (:func:`country_hour_expr`) are moved to local date and hour
with :mod:`zoneinfo`, **per date**, in Python (the engines' time-zone functions differ; this
keeps parity trivial). On a local day of 23 or 25 hours an hour is missing or repeated, so
each local hour's count on a day is divided by the number of times that hour occurred that
day, and the profile is each hour's mean over the days it existed (``analytics_methods.md``
§6). No clock-change floor applies: the clock is taken out.
Plug-in TV is above 0 even with no change (compare with ``min_tv``).

Small cells (:mod:`.disclosure`): the 24 shares with ``checks`` give each hour's checks, so
each profile (the span's, the reference's) is one line of
:func:`~marginscope.analytics.disclosure.hidden_shares`: an hour whose checks (for local time,
its checks before the division by occurrences) or whose complement are under k is null, and
with it at least one more hour; the month and its phases are protected together
(:func:`~marginscope.analytics.disclosure.spans_hidden`: the month's hour minus a phase's is
not a count under k either), and the device and region profiles in one table (an hour's
devices and its regions add to the same checks, so one device's hour is never the regions'
minus the other devices'; ``groups`` of
:func:`~marginscope.analytics.disclosure.hidden_across_spans`). The published ``tv`` pools
the hours null on either side; the busiest hour is named among the published ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import ibis.expr.types as ir
import numpy as np

from marginscope.analytics.disclosure import hidden_shares, published_tv, spans_hidden_daily
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.local_time import dst_changes, local_hours
from marginscope.analytics.permutation import (
    covered_days,
    day_numbers,
    day_permutation_p,
    p_text,
    tv_distance,
)
from marginscope.analytics.queries import day_number, in_range, region_of, utc_hour
from marginscope.analytics.spikes import bh_adjust

__all__ = [
    "HourTables",
    "HourTest",
    "country_hour_expr",
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


def hour_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """Checks per ``(day, hour, device, region, tool)`` in ``[start, end)``; hour in UTC."""
    rows = in_range(events, start, end)
    rows = rows.select(
        "tool",
        "device",
        day=day_number(rows),
        hour=utc_hour(rows),
        region=region_of(rows.country),
    )
    return rows.group_by(["day", "hour", "device", "region", "tool"]).aggregate(n=rows.count())


def country_hour_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """Checks per ``(day, hour, country)`` in ``[start, end)``; hour in UTC."""
    rows = in_range(events, start, end)
    rows = rows.select("country", day=day_number(rows), hour=utc_hour(rows))
    return rows.group_by(["day", "hour", "country"]).aggregate(n=rows.count())


def _rates(counts: np.ndarray, occurred: np.ndarray) -> np.ndarray:
    """Counts of local hours divided by the times each occurred that day (0 where it did not)."""
    return np.divide(counts, occurred, out=np.zeros_like(counts), where=occurred > 0)


def _sum_into(shape: tuple[int, int], cells: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A (rows × 24) array of ``weights`` summed by flat cell ``row * 24 + hour`` (in the
    order given, as ``np.add.at`` would)."""
    total = np.bincount(cells.ravel(), weights=weights.ravel(), minlength=shape[0] * shape[1])
    return total.reshape(shape)


@dataclass(frozen=True)
class _Grid:
    """A table's checks per (label, day, UTC hour), built once and read by days."""

    index: dict[object, int]
    first: int
    counts: np.ndarray
    """(labels × days from ``first`` × 24)."""

    @classmethod
    def of(cls, table: dict[str, np.ndarray], columns: Sequence[str]) -> _Grid:
        """The grid of ``table`` (columns ``day``, ``hour``, ``n``) by the values of ``columns``
        (one column: its values; several: tuples of them)."""
        values = [table[c].tolist() for c in columns]
        keys = values[0] if len(values) == 1 else list(zip(*values, strict=True))
        index: dict[object, int] = {}
        code = np.fromiter((index.setdefault(k, len(index)) for k in keys), np.int64, len(keys))
        day = np.asarray(table["day"], dtype=np.int64)
        hour = np.asarray(table["hour"], dtype=np.int64)
        if hour.size and (hour.min() < 0 or hour.max() > 23):
            raise ValueError(f"hour tables: hours must be 0–23, got {hour.min()}–{hour.max()}")
        first = int(day.min()) if day.size else 0
        span = int(day.max()) - first + 1 if day.size else 0
        cells = (code * span + day - first) * 24 + hour
        counts = _sum_into((len(index) * span, 24), cells, np.asarray(table["n"], dtype=float))
        return cls(index, first, counts.reshape(len(index), span, 24))

    def rows(self, label: object, days: np.ndarray) -> np.ndarray:
        """(len(days) × 24) checks of ``label`` on ``days`` (0 on days outside the table)."""
        out = np.zeros((len(days), 24))
        if label not in self.index:
            return out
        at = np.asarray(days, dtype=np.int64) - self.first
        inside = (at >= 0) & (at < self.counts.shape[1])
        out[inside] = self.counts[self.index[label], at[inside]]
        return out


@dataclass(frozen=True, eq=False)
class HourTables:
    """The engine's counts as arrays (``day`` in days since 1970-01-01)."""

    data: dict[str, np.ndarray]
    countries: dict[str, np.ndarray] = field(default_factory=dict)
    """Checks per (day, UTC hour, country): :func:`country_hour_expr`."""

    @cached_property
    def _grids(self) -> dict[tuple[str, ...], _Grid]:
        """The :class:`_Grid` of each tuple of columns asked for (``("country",)`` reads
        ``countries``, any other ``data``), built on first use."""
        return {}

    def _grid(self, columns: tuple[str, ...]) -> _Grid:
        if columns not in self._grids:
            table = self.countries if columns == ("country",) else self.data
            self._grids[columns] = _Grid.of(table, columns)
        return self._grids[columns]

    def values(self, column: str) -> list[str]:
        """The distinct values of ``column`` (``country``: of ``countries``) as sorted strings."""
        return sorted({str(v) for v in self._grid((column,)).index})

    def _utc(self, country: str, days: np.ndarray) -> np.ndarray:
        """(len(days) × 24) checks of ``country`` by UTC hour."""
        return self._grid(("country",)).rows(country, days)

    def local_by_day(self, country: str, days: np.ndarray) -> np.ndarray | None:
        """(len(days) × 24) checks of ``country`` per UTC day by local hour (not divided by
        occurrences); None without one local time."""
        mapping = local_hours(country, days)
        if mapping is None:
            return None
        cells = np.arange(len(days))[:, None] * 24 + mapping[..., 1]
        return _sum_into((len(days), 24), cells, self._utc(country, days))

    def local(self, country: str, days: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(local days × 24) checks of ``country`` by local hour, each hour divided by the
        times it occurred that local day, and those occurrences; None without one local time.
        Rows are the local days the UTC ``days`` reach."""
        mapping = local_hours(country, days)
        if mapping is None:
            return None
        first = int(mapping[..., 0].min())
        shape = (int(mapping[..., 0].max()) - first + 1, 24)
        cells = (mapping[..., 0] - first) * 24 + mapping[..., 1]
        counts = _sum_into(shape, cells, self._utc(country, days))
        occurred = _sum_into(shape, cells, np.ones(cells.shape))
        return _rates(counts, occurred), occurred

    def matrix(self, segment: str, days: np.ndarray, tool: str | None = None) -> np.ndarray:
        """(len(days) × 24) checks of ``segment`` (and ``tool``; None: all tools)."""
        kind, _, value = segment.partition(":")
        if tool is None:
            return self._grid((kind,)).rows(value, days)
        return self._grid((kind, "tool")).rows((value, tool), days)


def hour_tables(events: ir.Table, start: date, end: date) -> HourTables:
    """Run :func:`hour_expr` in the engine."""

    def arrays(expr: ir.Table) -> dict[str, np.ndarray]:
        table = expr.to_pyarrow()
        return {k: table[k].to_numpy(zero_copy_only=False) for k in table.column_names}

    return HourTables(
        data=arrays(hour_expr(events, start, end)),
        countries=arrays(country_hour_expr(events, start, end)),
    )


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
    hours: str = "UTC"
    hidden: frozenset[int] = frozenset()
    """Hours of ``observed`` not published (small cells, :mod:`.disclosure`)."""
    normal_hidden: frozenset[int] = frozenset()
    """Hours of ``normal`` not published."""


def _hidden(counts: np.ndarray, k: int) -> frozenset[int]:
    """The hours of a 24-hour count profile whose shares may not be published."""
    return frozenset(hidden_shares(dict(enumerate(np.asarray(counts, dtype=float))), k))


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
    k: int = 10,
) -> list[HourTest]:
    """Hour-profile tests of each device and region segment (all tools) for ``spans``; hours
    that would reveal a count under ``k`` are marked hidden (see the module docstring)."""
    days = day_numbers
    rng = np.random.default_rng(seed)
    devices = [f"device:{d}" for d in tables.values("device")]
    segments = [*devices, "region:US", "region:rest"]
    ref_days = days(*reference)
    covered = covered_days(spans)
    rows, masks = [], []
    # one table for every segment: an hour's devices and its regions add to the same checks
    groups = (devices, segments[len(devices) :])
    joint = spans_hidden_daily(
        {s: tables.matrix(s, covered) for s in segments}, range(24), covered, spans, k, groups
    )
    ref_joint = spans_hidden_daily(
        {s: tables.matrix(s, ref_days) for s in segments},
        range(24),
        ref_days,
        [(*reference, "reference")],
        k,
        groups,
    )[0]
    for segment in segments:
        ref = tables.matrix(segment, ref_days)
        hidden = [{h for s, h in found if s == segment} for found in joint]
        for (start, end, scope), span_hidden in zip(spans, hidden, strict=True):
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
            masks.append(
                (frozenset(span_hidden), frozenset(h for s, h in ref_joint if s == segment))
            )
    local_rows, local_masks = _local_rows(tables, spans, reference, rng, min_checks, k)
    q = bh_adjust([r[-1] for r in rows] + [r[-1] for r in local_rows])
    out = []
    for r, qv, (hidden, normal_hidden) in zip(rows, q[: len(rows)], masks, strict=True):
        dst = tuple(dst_changes(reference[0], r[1]))
        floor = min_tv_dst if dst else min_tv
        out.append(
            HourTest(
                *r,
                q_value=float(qv),
                flagged=bool(qv <= fdr and r[7] >= floor),
                dst=dst,
                hidden=hidden,
                normal_hidden=normal_hidden,
            )
        )
    for r, qv, (hidden, normal_hidden) in zip(local_rows, q[len(rows) :], local_masks, strict=True):
        out.append(
            HourTest(
                *r,
                q_value=float(qv),
                flagged=bool(qv <= fdr and r[7] >= min_tv),
                hours="local",
                hidden=hidden,
                normal_hidden=normal_hidden,
            )
        )
    return out


def _profile(rates: np.ndarray, occurred: np.ndarray) -> np.ndarray:
    """Each local hour's mean over the days it existed, as shares."""
    days = (occurred > 0).sum(axis=0)
    mean = np.divide(rates.sum(axis=0), days, out=np.zeros(24), where=days > 0)
    return mean / mean.sum() if mean.sum() > 0 else mean


def _local_rows(
    tables: HourTables,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    rng: np.random.Generator,
    min_checks: int,
    k: int,
) -> tuple[list[tuple], list[tuple[frozenset[int], frozenset[int]]]]:
    """Local-time profile tests of the countries with one local time, and each one's hidden
    hours (span, reference)."""
    if not tables.countries:
        return [], []
    rows, masks = [], []
    ref_days = day_numbers(*reference)
    countries = tables.values("country")
    covered = covered_days(spans)
    for country in countries:
        ref = tables.local(country, ref_days)
        if ref is None or ref[0].sum() < min_checks:
            continue
        daily = tables.local_by_day(country, covered)
        if daily is None:  # no one local time over all the spans' days: none is published
            continue
        hidden = spans_hidden_daily(daily, range(24), covered, spans, k)
        for (start, end, scope), span_hidden in zip(spans, hidden, strict=True):
            span = tables.local(country, day_numbers(start, end))
            if span is None or span[0].sum() < min_checks:
                continue
            observed, normal = _profile(*span), _profile(*ref)
            rows.append(
                (
                    start,
                    end,
                    scope,
                    f"local:{country}",
                    None,
                    observed.tolist(),
                    normal.tolist(),
                    float(0.5 * np.abs(observed - normal).sum()),
                    round(span[0].sum()),
                    day_permutation_p(span[0], ref[0], rng),
                )
            )
            masks.append((frozenset(span_hidden), _hidden(_checks(*ref), k)))
    return rows, masks


def _checks(rates: np.ndarray, occurred: np.ndarray) -> np.ndarray:
    """Each local hour's checks (the rates times the times the hour occurred, summed)."""
    return (rates * occurred).sum(axis=0)


def _busiest(profile: Sequence[float | None]) -> int:
    """The hour with the largest published share."""
    return max(range(len(profile)), key=lambda h: -1.0 if profile[h] is None else profile[h])


def hour_findings(tests: Sequence[HourTest]) -> list[DetailFinding]:
    """The flagged profiles as ``hour_profile`` findings (the JSON contract fields); hours
    under the small-cell rule are None (see the module docstring)."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        observed = [None if h in t.hidden else p for h, p in enumerate(t.observed)]
        normal = [None if h in t.normal_hidden else p for h, p in enumerate(t.normal)]
        tv = published_tv(dict(enumerate(observed)), dict(enumerate(normal)))
        peak, peak0 = _busiest(observed), _busiest(normal)
        who = _SEGMENT_TEXT.get(t.segment, t.segment.replace("local:", "") + " (local time)")
        clock = "local time" if t.hours == "local" else "UTC"
        text = (
            f"{span_text(t.start, t.end)}: the hours of {who}"
            f" checks shifted (busiest hour {peak:02d}:00 {clock} vs {peak0:02d}:00 in the "
            f"reference; {tv:.0%} of activity would have to move, day-permutation "
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
                    "observed": observed,
                    "normal": normal,
                    "tv": tv,
                    "scope": t.scope,
                    "checks": t.checks,
                    "hours": t.hours,
                    "dst_changes": list(t.dst),
                },
                withheld=all(v is None for v in observed if v != 0.0),
            )
        )
    return out
