"""Small-cell suppression with complementary (secondary) suppression for published tables.

Primary suppression hides every cell with ``0 < count < k``. That alone is not enough when a
total is published next to its parts: the total minus the published parts gives the hidden
cell back. Statistical offices therefore hide a second cell in every line (a row or column with
its margin) that would otherwise have exactly one hidden cell — "complementary" or "secondary"
suppression (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, §4.2.3;
Eurostat, *Handbook on Statistical Disclosure Control for Outputs*, 2019, §4.3).

:class:`Disclosure` holds named cells and the additive lines between them (``total = sum of
parts``) and applies both rules until no line has exactly one hidden member; the secondary cell
is the smallest positive published part of the line (the least information lost), else its
total. The result cannot recover any single hidden cell by one subtraction; what it can still
give is the *sum* of two or more hidden cells of a line. Zero cells are published as zero (a
zero is not a person).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from marginscope.analytics.cube import REACH_COLUMNS, REGIONS, DailyCube

__all__ = [
    "Disclosure",
    "cube_disclosure",
    "hidden_across_spans",
    "hidden_shares",
    "merge_small",
    "or_suppressed",
    "protect_parts",
    "published_tv",
    "safe_count",
    "safe_share",
    "span_atoms",
    "span_key",
    "spans_hidden",
    "spans_hidden_daily",
]

Key = Hashable


@dataclass
class Disclosure:
    """Cells (``key → count``) and additive lines; :meth:`protect` decides what is hidden."""

    k: int
    values: dict[Key, int] = field(default_factory=dict)
    lines: list[tuple[tuple[Key, ...], Key]] = field(default_factory=list)
    hidden: set[Key] = field(default_factory=set)
    secondary: set[Key] = field(default_factory=set)
    implied: set[Key] = field(default_factory=set)
    """Cells no table prints (a series' checks over a span of days, a tool's in a segment):
    they carry lines, and findings publish them; not counted in :attr:`secondary` or
    :meth:`suppressed`."""

    def cell(self, key: Key, value: int | float) -> Key:
        """Add (or overwrite) one cell; returns its key."""
        self.values[key] = int(value)
        return key

    def line(self, parts: Sequence[Key], total: Key) -> None:
        """Declare ``total = sum(parts)`` as published together (all keys must be cells)."""
        missing = [key for key in (*parts, total) if key not in self.values]
        if missing:
            raise KeyError(f"disclosure line refers to unknown cells: {missing[:3]}")
        self.lines.append((tuple(parts), total))

    def protect(self) -> Disclosure:
        """Primary then complementary suppression (idempotent); returns ``self``."""
        self.hidden |= {key for key, value in self.values.items() if 0 < value < self.k}
        changed = True
        while changed:
            changed = False
            for parts, total in self.lines:
                members = (*parts, total)
                if sum(1 for key in members if key in self.hidden) != 1:
                    continue
                choice = self._second(parts, total)
                if choice is not None:
                    self.hidden.add(choice)
                    if choice not in self.implied:
                        self.secondary.add(choice)
                    changed = True
        return self

    def suppressed(self) -> int:
        """How many of the table's printed cells are hidden (primary or complementary)."""
        return len(self.hidden - self.implied)

    def _second(self, parts: Sequence[Key], total: Key) -> Key | None:
        visible = [key for key in parts if key not in self.hidden]
        positive = [key for key in visible if self.values[key] > 0]
        if positive:
            return min(positive, key=lambda key: (self.values[key], str(key)))
        if total not in self.hidden and self.values[total] > 0:
            return total
        return visible[0] if visible else None

    def shown(self, key: Key) -> int | None:
        """The published value of ``key``: its count, or None when hidden."""
        return None if key in self.hidden else self.values[key]

    def masked(self, values: Sequence[float] | np.ndarray, *key: str) -> np.ndarray:
        """Daily ``values`` (from the period's first day) as floats, NaN where the table hides
        ``("day", i, *key)``: what a chart may draw."""
        out = np.asarray(values, dtype=float).copy()
        for i in range(len(out)):
            if ("day", i, *key) in self.hidden:
                out[i] = np.nan
        return out

    def shown_all(self, keys: Iterable[Key]) -> list[int | None]:
        """:meth:`shown` of each key."""
        return [self.shown(key) for key in keys]


def protect_parts(parts: Mapping[str, int], total: int, k: int) -> dict[str, int | None]:
    """One line: ``parts`` whose sum is the published ``total``, with cells that would reveal a
    count under ``k`` (directly or as the total minus the rest) set to None."""
    table = Disclosure(k)
    for name, value in parts.items():
        table.cell(name, value)
    table.cell(("total",), total)
    table.line(list(parts), ("total",))
    table.protect()
    return {name: table.shown(name) for name in parts}


def cube_disclosure(
    cube: DailyCube, start: int, end: int, k: int, spans: Sequence[tuple[int, ...]] = ()
) -> Disclosure:
    """The cells a report or dashboard publishes for the cube's days ``[start, end)``, protected.

    Keys (``i`` counts days from ``start``): ``("all",)``; ``("tool", t)``, ``("device", d)``,
    ``("region", r)`` over the period; ``("day", i, "all")`` and ``("day", i, "tool"|"device"|
    "region", name)``; with reach, ``("visitors", c)`` and ``("day", i, "visitors", c)`` for
    ``c`` in ``US``/``rest``/``all`` (visitor-days). Lines: each day's parts add to the day;
    each name's days add to its period total; each period breakdown adds to ``("all",)``; the
    regional visitor-days are treated as adding to ``all`` (a visitor in both regions on a
    day counts in each, so the true sum is a little above: treating it as exact protects
    more, never less).

    ``spans`` (cube day indices ``(first, end, …)``, end exclusive: the month and its phases)
    add the counts the findings publish over them (:func:`span_key`, :func:`_span_lines`), so
    that one table protects the daily cells, the month's totals and those counts together.
    """
    table = Disclosure(k)
    span = range(end - start)
    table.cell(("all",), cube.counts[start:end].sum())
    for i in span:
        table.cell(("day", i, "all"), cube.counts[start + i].sum())
    table.line([("day", i, "all") for i in span], ("all",))
    axes = {
        "tool": (cube.tools, cube.tool_matrix()),
        "device": (
            cube.devices,
            np.stack([cube.series(None, f"device:{d}") for d in cube.devices], axis=1),
        ),
        "region": (REGIONS, np.stack([cube.series(None, f"region:{r}") for r in REGIONS], axis=1)),
    }
    for axis, (names, matrix) in axes.items():
        block = matrix[start:end]
        for j, name in enumerate(names):
            table.cell((axis, name), block[:, j].sum())
            for i in span:
                table.cell(("day", i, axis, name), block[i, j])
            table.line([("day", i, axis, name) for i in span], (axis, name))
        table.line([(axis, name) for name in names], ("all",))
        for i in span:
            table.line([("day", i, axis, name) for name in names], ("day", i, "all"))
    if cube.reach is not None:
        visitors = cube.reach.visitors[start:end]
        for j, name in enumerate(REACH_COLUMNS):
            table.cell(("visitors", name), visitors[:, j].sum())
            for i in span:
                table.cell(("day", i, "visitors", name), visitors[i, j])
            table.line([("day", i, "visitors", name) for i in span], ("visitors", name))
        table.line([("visitors", "US"), ("visitors", "rest")], ("visitors", "all"))
        for i in span:
            table.line(
                [("day", i, "visitors", "US"), ("day", i, "visitors", "rest")],
                ("day", i, "visitors", "all"),
            )
    if spans:
        _span_lines(table, cube, start, end, spans)
    return table.protect()


def span_key(first: int, end: int, *series: str) -> Key:
    """The key of ``series``' checks over the table's days ``[first, end)`` (counted from its
    first day) in a :func:`cube_disclosure` table built with spans. ``series``: ``("all",)``,
    ``("tool", t)``, ``("device", d)``, ``("region", r)``, ``("tool", t, "device", d)`` or
    ``("tool", t, "region", r)``."""
    return ("span", first, end, *series)


def _span_series(cube: DailyCube, start: int, end: int) -> dict[tuple[str, ...], np.ndarray]:
    """Daily checks over ``[start, end)`` of every series a span count can be of."""
    block = cube.counts[start:end]
    by_device = block.sum(axis=3)
    us = np.asarray([c == "US" for c in cube.countries], dtype=bool)
    by_region = np.stack([block[..., us].sum(axis=(2, 3)), block[..., ~us].sum(axis=(2, 3))], 2)
    out: dict[tuple[str, ...], np.ndarray] = {("all",): block.sum(axis=(1, 2, 3))}
    for axis, names, cells in (
        ("device", cube.devices, by_device),
        ("region", REGIONS, by_region),
    ):
        for j, name in enumerate(names):
            out[(axis, name)] = cells[:, :, j].sum(axis=1)
            for t, tool in enumerate(cube.tools):
                out[("tool", tool, axis, name)] = cells[:, t, j]
    for t, tool in enumerate(cube.tools):
        out[("tool", tool)] = by_device[:, t].sum(axis=1)
    return out


def _span_lines(
    table: Disclosure, cube: DailyCube, start: int, end: int, spans: Sequence[tuple[int, ...]]
) -> None:
    """Add to ``table`` every series' checks over each span and each of their atoms
    (:func:`span_atoms`: a phase, the rest of the month), as cells :attr:`Disclosure.implied`,
    with the lines an attacker knows: a period's days add to it (series the table prints per
    day), its atoms add to a span, and within each period the tools × devices and tools ×
    regions tables add to their margins. A span's count minus its published days, the
    month's minus a phase's, or a tool's minus its published segments is then never one
    hidden count."""
    bounds = list(
        dict.fromkeys([(0, end - start), *((a - start, b - start) for a, b, *_ in spans)])
    )
    atoms, members = span_atoms([(a, b - 1) for a, b in bounds])
    daily = _span_series(cube, start, end)
    periods = [
        (("atom", a), [i for f, last in runs for i in range(f, last + 1)])
        for a, runs in enumerate(atoms)
    ]
    periods += [(("span", a, b), list(range(a, b))) for a, b in bounds]
    for prefix, days in periods:
        for series, values in daily.items():
            key = (*prefix, *series)
            table.implied.add(table.cell(key, values[days].sum()))
            if len(series) <= 2:  # printed per day
                table.line([("day", i, *series) for i in days], key)
        for axis, names in (("device", cube.devices), ("region", REGIONS)):
            for tool in cube.tools:
                table.line(
                    [(*prefix, "tool", tool, axis, x) for x in names], (*prefix, "tool", tool)
                )
            for x in names:
                table.line([(*prefix, "tool", t, axis, x) for t in cube.tools], (*prefix, axis, x))
            table.line([(*prefix, axis, x) for x in names], (*prefix, "all"))
        table.line([(*prefix, "tool", t) for t in cube.tools], (*prefix, "all"))
    for (a, b), parts in zip(bounds, members, strict=True):
        for series in daily:
            table.line([("atom", j, *series) for j in parts], span_key(a, b, *series))
            if (a, b) == (0, end - start) and len(series) <= 2:  # the period's printed total
                table.line([series], span_key(a, b, *series))


def merge_small(totals: Mapping[str, int], k: int) -> tuple[dict[str, int], list[str]]:
    """Rows of a one-way table (largest first) with those under ``k`` merged into one "other"
    row; if that row would still be under ``k``, the smallest published rows join it until it
    is not (or nothing is left to publish). Returns (published rows, merged names)."""
    order = sorted(totals.items(), key=lambda item: -item[1])
    shown = [(name, n) for name, n in order if n >= k]
    merged = [name for name, n in order if 0 < n < k]
    rest = sum(totals[name] for name in merged)
    while merged and rest < k and shown:
        name, n = shown.pop()
        merged.append(name)
        rest += n
    return dict(shown), merged


# --- shares, probabilities and profiles (the issue-21 finding kinds) -----------------------


def safe_count(count: float, k: int) -> bool:
    """A count that may be published or recovered: 0 (a zero is not a person) or at least k."""
    return round(float(count)) == 0 or round(float(count)) >= k


def safe_share(numerator: float, denominator: float, k: int) -> bool:
    """Whether the share ``numerator / denominator`` may be published next to its denominator
    (or anything that gives it back): the cell and its complement are both safe counts."""
    return safe_count(numerator, k) and safe_count(denominator - numerator, k)


def hidden_shares(counts: Mapping[Key, float], k: int, total: float | None = None) -> set[Key]:
    """The values of a distribution (``counts`` adding to ``total``, published as shares of it
    with the total or each other) that must not be published.

    Primary: a cell or its complement (``total − cell``) under k; complementary: one line
    ``total = Σ counts`` (:class:`Disclosure`), so a single hidden share is never
    ``1 − Σ published shares``. Returns the hidden keys (empty: publish them all).
    """
    total = float(sum(counts.values())) if total is None else float(total)
    table = Disclosure(k)
    for key, value in counts.items():
        table.cell(("part", key), round(float(value)))
    table.cell(("total",), round(total))
    table.line([("part", key) for key in counts], ("total",))
    table.hidden |= {
        ("part", key) for key, value in counts.items() if not safe_share(value, total, k)
    }
    table.protect()
    return {key for key in counts if ("part", key) in table.hidden}


def published_tv(observed: Mapping[Key, float | None], normal: Mapping[Key, float | None]) -> float:
    """Total-variation distance ``½ Σ |p − q|`` of two published distributions (shares, None
    where suppressed) with every value suppressed on either side pooled into one bucket: a
    function of the published shares only, so it cannot give a suppressed share back."""
    keys = set(observed) | set(normal)
    pooled = {
        key
        for key in keys
        if (key in observed and observed[key] is None) or (key in normal and normal[key] is None)
    }
    shown = keys - pooled
    p = {key: float(observed.get(key) or 0.0) for key in shown}
    q = {key: float(normal.get(key) or 0.0) for key in shown}
    rest = abs((1.0 - sum(p.values())) - (1.0 - sum(q.values()))) if pooled else 0.0
    return 0.5 * (sum(abs(p[key] - q[key]) for key in shown) + rest)


def or_suppressed(value: float | None, spec: str = ".0%") -> str:
    """``value`` formatted with ``spec``, or ``suppressed`` (a value under the small-cell rule)."""
    return "suppressed" if value is None else format(value, spec)


def span_atoms(
    spans: Sequence[tuple[int, int]],
) -> tuple[list[list[tuple[int, int]]], list[list[int]]]:
    """The fewest sets of days ("atoms") every span is a union of — days in the same spans
    belong together — each as its runs of consecutive days (inclusive ``(first, last)`` day
    numbers), and each span's atoms: the month and its phases give each phase and the rest of
    the month (before and after the phases together)."""
    cuts = sorted({first for first, _ in spans} | {last + 1 for _, last in spans})
    atoms: dict[frozenset[int], list[tuple[int, int]]] = {}
    for a, b in pairwise(cuts):
        inside = frozenset(
            i for i, (first, last) in enumerate(spans) if first <= a and b - 1 <= last
        )
        if inside:
            atoms.setdefault(inside, []).append((a, b - 1))
    keys = list(atoms)
    return [atoms[key] for key in keys], [
        [j for j, key in enumerate(keys) if i in key] for i in range(len(spans))
    ]


def hidden_across_spans(
    atom_counts: Sequence[Mapping[Key, float]],
    members: Sequence[Sequence[int]],
    k: int,
    groups: Sequence[Sequence[Key]] = (),
) -> list[set[Key]]:
    """:func:`hidden_shares` of each span's distribution when spans overlap (a month and its
    phases): one table whose cells are the values per atom (:func:`span_atoms`) and per span,
    with the lines ``span value = Σ its atoms' values`` and ``total = Σ values`` for every atom
    and span, so that the month's value minus a phase's (the rest of the month's) cannot be a
    count under ``k`` either. Returns the hidden values of each span.

    With ``groups`` the keys are ``(segment, value)`` pairs and each segment is a distribution
    of its own (its shares are of its own total: a device's checks per hour); the segments of
    a group partition the same checks (the devices; the regions), so for each value they add
    to one total too, and those lines are protected with the rest: one segment's value is
    never the others' minus the other group's."""
    keys = sorted(set().union(*atom_counts), key=str) if atom_counts else []

    def part(key: Key) -> Key:
        return key[0] if groups else None

    segments = sorted({part(key) for key in keys}, key=str)
    values = sorted({key[1] for key in keys}, key=str) if groups else []
    table = Disclosure(k)

    def margins(prefix: tuple) -> None:
        for segment in segments:
            cells = [(*prefix, key) for key in keys if part(key) == segment]
            total = table.cell((*prefix, "total", segment), sum(table.values[c] for c in cells))
            table.line(cells, total)
        for value in values:
            for g, group in enumerate(groups):
                cells = [(*prefix, (segment, value)) for segment in group]
                cells = [c for c in cells if c in table.values]
                table.cell((*prefix, "group", g, value), sum(table.values[c] for c in cells))
                table.line(cells, (*prefix, "group", g, value))
                if g:  # each group adds to the same checks
                    table.line([(*prefix, "group", 0, value)], (*prefix, "group", g, value))

    for a, counts in enumerate(atom_counts):
        for key in keys:
            table.cell(("atom", a, key), round(float(counts.get(key, 0))))
        margins(("atom", a))
    for s, atoms in enumerate(members):
        for key in keys:
            table.cell(("span", s, key), sum(table.values[("atom", a, key)] for a in atoms))
            table.line([("atom", a, key) for a in atoms], ("span", s, key))
        margins(("span", s))
        for key in keys:
            n, total = table.values[("span", s, key)], table.values[("span", s, "total", part(key))]
            if not safe_share(n, total, k):
                table.hidden.add(("span", s, key))
    table.protect()
    return [{key for key in keys if ("span", s, key) in table.hidden} for s in range(len(members))]


def spans_hidden(
    counts_of: Callable[[int, int], Mapping[Key, float]],
    spans: Sequence[tuple[str, str, str]],
    k: int,
    groups: Sequence[Sequence[Key]] = (),
) -> list[set[Key]]:
    """:func:`hidden_across_spans` of the analyses' ``spans`` (inclusive ISO days and a
    scope), reading each atom's counts with ``counts_of(first, last)`` (inclusive day numbers,
    days since 1970-01-01); ``groups`` as there."""
    days = [
        tuple(int(np.datetime64(day, "D").astype(np.int64)) for day in (first, last))
        for first, last, _ in spans
    ]
    atoms, members = span_atoms(days)
    counts = []
    for runs in atoms:
        total: dict[Key, float] = {}
        for first, last in runs:
            for key, n in counts_of(first, last).items():
                total[key] = total.get(key, 0.0) + float(n)
        counts.append(total)
    return hidden_across_spans(counts, members, k, groups)


def spans_hidden_daily(
    daily: np.ndarray | Mapping[Key, np.ndarray],
    labels: Sequence[Key],
    days: np.ndarray,
    spans: Sequence[tuple[str, str, str]],
    k: int,
    groups: Sequence[Sequence[Key]] = (),
) -> list[set[Key]]:
    """:func:`spans_hidden` from per-day counts at hand: ``daily`` (len(days) × len(labels)),
    ``days`` its rows' day numbers (covering the spans). With ``groups``, ``daily`` maps each
    segment to its matrix and the keys are ``(segment, label)`` (:func:`hidden_across_spans`)."""
    position = {int(d): i for i, d in enumerate(days)}
    matrices = daily if groups else {None: daily}

    def counts(first: int, last: int) -> dict[Key, float]:
        rows = [position[d] for d in range(first, last + 1) if d in position]
        out: dict[Key, float] = {}
        for segment, matrix in matrices.items():
            sums = np.asarray(matrix)[rows].sum(axis=0)
            keys = [(segment, label) for label in labels] if groups else labels
            out.update(zip(keys, sums, strict=True))
        return out

    return spans_hidden(counts, spans, k, groups)
