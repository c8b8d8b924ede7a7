"""Sessions: which check follows which, P(next = B | A), per span against the reference.

Engine side (Ibis, the same expression on DuckDB and Spark): each session's checks in the
order ``(ts, event_id)`` (``analytics_methods.md`` §5; ``event_id`` breaks ties on equal
timestamps deterministically on both engines, though the order within one timestamp is then
arbitrary), packed into a few integers per session and counted per ``(day, device, length,
keys)`` (:func:`sequence_expr`: one ``row_number`` window ordered by ``ts``; the rare sessions
with equal timestamps are numbered again by ``(ts, event_id)``, :func:`sequences`). Sessions
with the same sequence on the same day and device are alike for every session analysis, so
the result is small (the distinct sequences), and NumPy derives from it (:class:`Sequences`)
exactly what a ``lead()`` window would give: per ``(day, tool, next_tool)``

* ``n = Σ_s y_s``, ``yy = Σ_s y_s²``, ``xy = Σ_s x_s y_s``, ``sw = Σ_s y_s / x_s``;
* per ``(day, tool)``: ``nx = Σ_s x_s``, ``xx = Σ_s x_s²`` and the sessions;

where for session s, ``x_s`` is its checks of A that have a next check and ``y_s`` those whose
next check is B; the paths (:mod:`.paths`), positions (:mod:`.positions`) and the funnel
(:mod:`.funnel`) read the same sequences. A session's day and device are its first check's
day and its (smallest) device: session ids are keyed with a daily salt, so a session does not
span days. Any span of days then sums these, and the session-clustered ratio estimator
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
the SE is somewhat optimistic for heavy users); the order of checks is the order of ``ts``.
It cannot say why people moved on to B, only that they did more often.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import t as student_t

from marginscope.analytics.clustered import cluster_ratio_from_sums
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.lift import t_tail
from marginscope.analytics.names import tool_name
from marginscope.analytics.queries import day_number, in_range
from marginscope.analytics.spikes import bh_adjust

__all__ = [
    "Sequences",
    "TransitionTables",
    "TransitionTest",
    "day_of",
    "grouped_sums",
    "scan_transitions",
    "sequence_expr",
    "sequences",
    "span_sums",
    "tied_sessions_expr",
    "transition_cells",
    "transition_findings",
    "transition_tables",
]

MIN_ORIGINS = 50
MIN_SESSIONS = 20
MAX_DF = 200
"""Degrees of freedom beyond which Student t is taken at 200 (indistinguishable)."""


KEYS = 4
"""Integer columns a session's sequence is packed into (``KEYS × 62 // bits`` checks: 48 with
up to 31 tools); later checks of longer sessions are left out and counted
(:attr:`Sequences.truncated`)."""


def _packing(tools: int) -> tuple[int, int]:
    """Bits per check and checks per 62-bit key for ``tools`` tool codes (1 … tools)."""
    bits = max(1, math.ceil(math.log2(tools + 1)))
    return bits, 62 // bits


def sequence_expr(
    events: ir.Table,
    start: date,
    end: date,
    vocabulary: Sequence[str],
    *,
    tied: ir.Table | None = None,
) -> ir.Table:
    """Sessions per ``(day, device, length, k0 … k3, tied)`` in ``[start, end)``.

    One window numbers each session's checks (``row_number``, 0-based on every backend); each
    check's tool code (its index in ``vocabulary`` + 1) is shifted to its position's bits and
    summed per session (bits do not overlap, so the sum is exact), so a session's ordered
    sequence becomes a few integers, grouped by a plain hash aggregate — no list, no ordered
    aggregate (on DuckDB both are several times slower than the window). ``day`` is the first
    check's UTC day, ``device`` the session's (smallest) device.

    The window orders by ``ts`` alone (sorting on the ``event_id`` strings too doubled its cost
    on the bench), and ``tied`` is 1 for a session with two checks at the same ``ts`` (their
    order is then arbitrary): :func:`sequences` recomputes exactly those sessions, passed as
    ``tied`` (a table of session ids), ordered by ``(ts, event_id)``.
    """
    bits, per_key = _packing(len(vocabulary))
    rows = in_range(events, start, end)
    rows = rows.filter(rows.session.notnull())
    order = [rows.ts]
    if tied is not None:
        rows = rows.semi_join(tied, "session")
        order = [rows.ts, rows.event_id]
    code = ibis.cases(*[(rows.tool == t, i + 1) for i, t in enumerate(vocabulary)], else_=0)
    window = ibis.window(group_by=rows.session, order_by=order)
    rows = rows.select(
        "session",
        "device",
        day=day_number(rows),
        code=code.cast("int64"),
        pos=ibis.row_number().over(window).cast("int32"),
        tie=ibis.cases((rows.ts.lag().over(window) == rows.ts, 1), else_=0).cast("int8"),
    )
    keys = {}
    for j in range(KEYS):
        inside = (rows.pos >= j * per_key) & (rows.pos < (j + 1) * per_key)
        shift = ((rows.pos - j * per_key) * bits).cast("int32")
        keys[f"k{j}"] = ibis.cases((inside, rows.code << shift), else_=0).cast("int64").sum()
    per = rows.group_by("session").aggregate(
        day=rows.day.min(),
        device=rows.device.min(),
        length=rows.count(),
        tied=rows.tie.max(),
        **keys,
    )
    return per.group_by(["day", "device", "length", "tied", *keys]).aggregate(n=per.count())


def tied_sessions_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """The sessions with two checks at the same ``ts`` in ``[start, end)``."""
    rows = in_range(events, start, end)
    rows = rows.filter(rows.session.notnull())
    same = rows.group_by(["session", "ts"]).aggregate(n=rows.count())
    return same.filter(same.n > 1).select("session").distinct()


def tools_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """The distinct tools of the sessions' checks in ``[start, end)``."""
    rows = in_range(events, start, end)
    return rows.filter(rows.session.notnull()).select("tool").distinct()


@dataclass(frozen=True, eq=False)
class Sequences:
    """:func:`sequence_expr`'s result, flattened for NumPy.

    Per distinct sequence (row): ``day``, ``device``, ``n`` (sessions), ``offsets`` into the
    flat arrays; per check (element): ``code`` (index into ``vocabulary``), ``row`` and
    ``pos`` (0-based position in its session).
    """

    day: np.ndarray
    device: np.ndarray
    n: np.ndarray
    offsets: np.ndarray
    code: np.ndarray
    row: np.ndarray
    pos: np.ndarray
    vocabulary: tuple[str, ...]

    @property
    def lengths(self) -> np.ndarray:
        """Checks per sequence."""
        return np.diff(self.offsets)

    def codes(self, tools: Sequence[str]) -> np.ndarray:
        """The codes of ``tools`` (those never seen are left out)."""
        index = {t: i for i, t in enumerate(self.vocabulary)}
        return np.asarray([index[t] for t in tools if t in index], dtype=np.int64)

    truncated: int = 0
    """Sessions longer than the packed keys hold (their later checks are left out)."""

    def device_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(devices, code per row)``: the distinct devices and each row's index into them."""
        devices, codes = np.unique(self.device.astype(str), return_inverse=True)
        return devices.astype(object), codes.ravel()

    @classmethod
    def from_arrow(cls, table: pa.Table, vocabulary: Sequence[str]) -> Sequences:
        """From :func:`sequence_expr`'s Arrow result (rows in any order: sorted here, so
        float sums come out bit-identical whichever engine returned them)."""
        bits, per_key = _packing(len(vocabulary))
        keys = ["day", "device", "length", *(f"k{j}" for j in range(KEYS)), "tied", "n"]
        table = table.sort_by([(k, "ascending") for k in keys])
        data = {k: table[k].to_numpy(zero_copy_only=False) for k in table.column_names}
        full = data["length"].astype(np.int64)
        lengths = np.minimum(full, KEYS * per_key)
        n = data["n"].astype(np.int64)
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        row = np.repeat(np.arange(lengths.size), lengths)
        pos = np.arange(row.size) - offsets[row]
        keys = np.column_stack([data[f"k{j}"].astype(np.int64) for j in range(KEYS)])
        if not keys.size:
            keys = np.zeros((0, KEYS), dtype=np.int64)
        packed = keys[row, pos // per_key] if row.size else np.zeros(0, dtype=np.int64)
        code = (packed >> (bits * (pos % per_key))) & ((1 << bits) - 1)
        if (code == 0).any():
            raise ValueError("a session check's tool is outside the vocabulary it was packed with")
        return cls(
            day=data["day"].astype(np.int64),
            device=data["device"].astype(object),
            n=n,
            offsets=offsets,
            code=code - 1,
            row=row,
            pos=pos,
            vocabulary=tuple(vocabulary),
            truncated=int(n[full > lengths].sum()),
        )


def sequences(events: ir.Table, start: date, end: date) -> Sequences:
    """Run :func:`tools_expr` and :func:`sequence_expr` in the engine."""
    vocabulary = sorted(
        str(t) for t in tools_expr(events, start, end).to_pyarrow()["tool"].to_pylist()
    )
    table = sequence_expr(events, start, end, vocabulary).to_pyarrow()
    tied = pc.equal(table["tied"], 1)
    if pc.any(tied).as_py():  # sessions with equal timestamps: again, ordered by event_id too
        again = sequence_expr(
            events, start, end, vocabulary, tied=tied_sessions_expr(events, start, end)
        ).to_pyarrow()
        table = pa.concat_tables([table.filter(pc.invert(tied)), again.cast(table.schema)])
    return Sequences.from_arrow(table, vocabulary)


DENSE_KEYS = 1 << 25
"""Key spaces up to this size are summed with a dense ``bincount`` instead of a sort."""


def grouped_sums(
    keys: Sequence[np.ndarray], values: dict[str, np.ndarray]
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """``values`` summed per distinct combination of the integer ``keys`` (same length);
    returns the distinct key columns and the sums."""
    columns = [np.asarray(k, dtype=np.int64) for k in keys]
    low = [int(c.min()) if c.size else 0 for c in columns]
    sizes = [int(c.max()) - lo + 1 if c.size else 1 for c, lo in zip(columns, low, strict=True)]
    key = np.zeros(columns[0].size, dtype=np.int64)
    for c, lo, size in zip(columns, low, sizes, strict=True):  # mixed radix, one int64
        key = key * size + (c - lo)
    total = int(np.prod(sizes, dtype=np.float64)) if columns[0].size else 0
    if total <= DENSE_KEYS:  # a small key space: count straight into it (no sort)
        present = np.bincount(key, minlength=total) > 0
        unique = np.flatnonzero(present)
        sums = {
            name: np.bincount(key, weights=np.asarray(v, dtype=float), minlength=total)[unique]
            for name, v in values.items()
        }
    else:
        unique, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.ravel()
        sums = {
            name: np.bincount(inverse, weights=np.asarray(v, dtype=float), minlength=unique.size)
            for name, v in values.items()
        }
    decoded = []
    rest = unique
    for lo, size in zip(reversed(low), reversed(sizes), strict=True):
        decoded.append(rest % size + lo)
        rest = rest // size
    return decoded[::-1], sums


def transition_cells(seqs: Sequences) -> dict[str, np.ndarray]:
    """Per ``(day, tool, next_tool)``: ``n, yy, xy, sw`` (see the module docstring)."""
    k = max(len(seqs.vocabulary), 1)
    has_next = seqs.pos < seqs.lengths[seqs.row] - 1
    i = np.flatnonzero(has_next)
    row, a, b = seqs.row[i], seqs.code[i], seqs.code[i + 1]
    (row_ab, a_ab, b_ab), per_cell = grouped_sums((row, a, b), {"y": np.ones(i.size)})
    (row_a, a_a), per_origin = grouped_sums((row, a), {"x": np.ones(i.size)})
    x = per_origin["x"][np.searchsorted(row_a * k + a_a, row_ab * k + a_ab)]
    y = per_cell["y"]
    w = seqs.n[row_ab].astype(float)
    (day, tool, nxt), sums = grouped_sums(
        (seqs.day[row_ab], a_ab, b_ab),
        {"n": w * y, "yy": w * y * y, "xy": w * x * y, "sw": w * y / np.maximum(x, 1)},
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
        cells: dict[tuple[str, str], np.ndarray] = {}
        c = self.cells
        inside = (c["day"] >= first) & (c["day"] <= last)
        for a, b, n, yy, xy in zip(
            c["tool"][inside],
            c["next_tool"][inside],
            c["n"][inside],
            c["yy"][inside],
            c["xy"][inside],
            strict=True,
        ):
            cells.setdefault((str(a), str(b)), np.zeros(3))[:] += (n, yy, xy)
        origins: dict[str, np.ndarray] = {}
        o = self.origins
        inside = (o["day"] >= first) & (o["day"] <= last)
        for a, nx, xx, s in zip(
            o["tool"][inside], o["nx"][inside], o["xx"][inside], o["sessions"][inside], strict=True
        ):
            origins.setdefault(str(a), np.zeros(3))[:] += (nx, xx, s)
        return cells, origins


def transition_tables(seqs: Sequences) -> TransitionTables:
    """The transition cells of :class:`Sequences`; origins summed from the cells."""
    cells = transition_cells(seqs)
    keys = sorted({(int(d), str(t)) for d, t in zip(cells["day"], cells["tool"], strict=True)})
    index = {key: i for i, key in enumerate(keys)}
    rows = np.asarray(
        [index[(int(d), str(t))] for d, t in zip(cells["day"], cells["tool"], strict=True)],
        dtype=np.int64,
    )
    sums = {name: np.zeros(len(keys)) for name in ("nx", "xx", "sessions")}
    for name, column in (("nx", "n"), ("xx", "xy"), ("sessions", "sw")):
        np.add.at(sums[name], rows, cells[column].astype(float))
    origins = {
        "day": np.asarray([k[0] for k in keys], dtype=np.int64),
        "tool": np.asarray([k[1] for k in keys], dtype=object),
        "nx": sums["nx"],
        "xx": sums["xx"],
        "sessions": np.round(sums["sessions"]),
    }
    return TransitionTables(cells=cells, origins=origins)


def day_of(iso: str) -> int:
    """Days since 1970-01-01 of an ISO day."""
    return int(np.datetime64(iso, "D").astype(np.int64))


def span_sums(
    data: dict[str, np.ndarray],
    keys: Sequence[str],
    columns: Sequence[str],
    first: str,
    last: str,
) -> dict[tuple, np.ndarray]:
    """``columns`` of a table of arrays summed over the days ``first … last`` (inclusive ISO
    days) per value of ``keys`` (at least one; nulls read ``None``)."""
    inside = (data["day"] >= day_of(first)) & (data["day"] <= day_of(last))
    out: dict[tuple, np.ndarray] = {}
    values = np.column_stack([data[c][inside].astype(float) for c in columns])
    for key, row in zip(zip(*(data[k][inside] for k in keys), strict=True), values, strict=True):
        key = tuple(None if v is None else str(v) for v in key)
        if key in out:
            out[key] += row
        else:
            out[key] = row.copy()
    return out


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
