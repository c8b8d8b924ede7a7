"""Each session's checks in order, packed into a few integers: the engine side of the session
analyses (transitions, paths, positions, the funnel).

The order of a session's checks (``analytics_methods.md`` §5, "Ties") is

* **``seq`` order** when each of the session's events carries ``seq`` (the page's per-tab
  counter, :data:`~marginscope.telemetry.schema.SEQ_MAX`), the values are distinct and below
  the packed capacity (:func:`seq_capacity`: :data:`KEYS` × checks per key, 48 with up to
  31 tools, at most 62). ``seq`` may
  have gaps (a calculation not recorded: dropped, over budget): the order is still ``seq``
  order and a check's *next* check is the one with the next **present** ``seq``; a session's
  first check is its smallest ``seq``, wherever the counter started. No window: one hash
  aggregate per session (:func:`seq_sequence_expr`) shifts each check's tool code to its
  ``seq``'s bits, and NumPy closes the gaps (:func:`compact`);
* **``(ts, event_id)`` order** for every other session (events from before ``seq`` existed,
  a reloaded page that counted again, longer sessions): one ``row_number`` window ordered by
  ``ts`` (:func:`sequence_expr`), and the rare sessions with equal timestamps numbered again
  by ``(ts, event_id)`` (sorting on the ``event_id`` strings too doubled the window's cost on
  the bench). ``event_id`` breaks ties deterministically on both engines, though the order
  within one timestamp is then arbitrary.

Both give the same integers for the same order, so the results are merged and are identical
whichever path a session took (tests/analytics/test_sequences.py). Each check's tool code
(its index in the vocabulary + 1) is shifted to its position's bits and OR-ed per session
(``bit_or``; the bits do not overlap): a session's ordered sequence becomes a few integers,
grouped by a plain hash aggregate — no list, no ordered aggregate (on DuckDB both are several
times slower than the window). Sessions with the same sequence on the same day and device are
alike for every session analysis, so the result is small (the distinct sequences):
:class:`Sequences`.

**A session is one session id on one UTC day**, its device the smallest of its checks'. The
telemetry keys session ids with a daily salt (:func:`~marginscope.telemetry.salt.session_id`),
so for its events this is the id itself; for events from elsewhere a session that runs past
midnight is two sessions, the rule of Universal Analytics ("a new session starts at
midnight", Google Analytics Help, *How a web session is defined in Universal Analytics*). It
makes every day's sessions independent of the other days', so on DuckDB a long span is
aggregated one day at a time (:func:`~.chunks.by_day`: hash tables that fit in cache, about
half the CPU of one pass over two months of events), with the same result as one pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marginscope.analytics.chunks import by_day
from marginscope.analytics.queries import bit_or, day_number, in_range, region_bit, us_flags

__all__ = [
    "KEYS",
    "Sequences",
    "bit_or",
    "compact",
    "packing",
    "seq_capacity",
    "seq_sequence_expr",
    "sequence_expr",
    "sequences",
    "tied_sessions_expr",
    "tools_expr",
    "unordered",
    "unordered_sessions_expr",
]

KEYS = 4
"""Integer columns a session's sequence is packed into (``KEYS × 62 // bits`` checks: 48 with
up to 31 tools); later checks of longer sessions are left out and counted
(:attr:`Sequences.truncated`)."""

GROUP = ("day", "device", "length", *(f"k{j}" for j in range(KEYS)))
"""The columns a distinct sequence is keyed by (``n``: its sessions)."""

REGION = ("us_min", "us_max")
"""Whether a session's checks were all (``us_min`` 1) or partly (``us_max`` 1) from the U.S.
(one OR of :func:`~.queries.region_bit` per session): the engine keys sequences by these
too, so the same pass gives the sessions per day and region (:attr:`Sequences.reach`, the
cube's session reach: :func:`~.aggregate.aggregate`)."""


def packing(tools: int) -> tuple[int, int]:
    """Bits per check and checks per 62-bit key for ``tools`` tool codes (1 … tools)."""
    bits = max(1, math.ceil(math.log2(tools + 1)))
    return bits, 62 // bits


def seq_capacity(tools: int) -> int:
    """``seq`` values below this are packed at their own position (every position the keys
    hold, at most 62: the bit mask of the present ``seq`` values is one int64)."""
    return min(KEYS * packing(tools)[1], 62)


SESSION = ("session", "day")
"""What identifies a session: its id and UTC day (see the module)."""


def _sessions(events: ir.Table, start: date, end: date) -> ir.Table:
    """The checks with a session id in ``[start, end)``, with their UTC ``day`` and
    :func:`~.queries.region_bit`."""
    rows = in_range(events, start, end)
    rows = rows.filter(rows.session.notnull())
    return rows.mutate(day=day_number(rows), region=region_bit(rows.country))


def _code(rows: ir.Table, vocabulary: Sequence[str]) -> ir.Value:
    """Each check's tool code: its index in ``vocabulary`` + 1 (0 for none)."""
    return ibis.cases(*[(rows.tool == t, i + 1) for i, t in enumerate(vocabulary)], else_=0)


def _placed(rows: ir.Table, vocabulary: Sequence[str]) -> ir.Table:
    """``rows`` (with ``pos``, a check's 0-based position, and ``code``) with ``placed``: the
    code shifted to its position's bits within its key, 0 past the keys. Computed once per
    check, then OR-ed into each key (:func:`_keys`): a third less CPU on the bench than a
    shift written into each key's aggregate. The shift is 0 outside the keys: engines
    evaluate both branches of a ``CASE``, and a shift past 63 bits is an error on DuckDB."""
    bits, per_key = packing(len(vocabulary))
    inside = (rows.pos >= 0) & (rows.pos < KEYS * per_key)
    shift = ibis.cases((inside, (rows.pos % per_key) * bits), else_=0).cast("int32")
    return rows.mutate(placed=ibis.cases((inside, rows.code << shift), else_=0).cast("int64"))


def _keys(rows: ir.Table, vocabulary: Sequence[str], count: int = KEYS) -> dict[str, ir.Value]:
    """The packed keys ``k0 … k{count-1}``: per session, the OR of its checks placed
    (:func:`_placed`) at positions ``[j × per_key, (j + 1) × per_key)`` (a product, not a
    ``CASE``: cheaper; a check without a position adds nothing)."""
    per_key = packing(len(vocabulary))[1]
    keys = {}
    for j in range(count):
        in_key = (rows.pos >= j * per_key) & (rows.pos < (j + 1) * per_key)
        keys[f"k{j}"] = bit_or(rows.placed * in_key.cast("int64")).fill_null(0)
    return keys


def _counted(per: ir.Table, *extra: str, keys: int = KEYS) -> ir.Table:
    """Sessions (``n``) per distinct :data:`GROUP`, region and ``extra`` columns, with the
    region as :data:`REGION`; only the first ``keys`` keys are grouped by (the others are 0:
    constant columns still cost the hash aggregate)."""
    packed = [f"k{j}" for j in range(keys)]
    counted = per.group_by(["day", "device", "length", *packed, "region", *extra]).aggregate(
        n=per.count()
    )
    zero = ibis.literal(0, "int64")
    return counted.select(
        "day",
        "device",
        "length",
        **{f"k{j}": counted[f"k{j}"] if j < keys else zero for j in range(KEYS)},
        **us_flags(counted.region),
        **{name: counted[name] for name in extra},
        n=counted.n,
    )


def sequence_expr(
    events: ir.Table,
    start: date,
    end: date,
    vocabulary: Sequence[str],
    *,
    only: ir.Table | None = None,
) -> ir.Table:
    """Sessions per ``(day, device, length, k0 … k3, tied)`` in ``[start, end)``, in
    ``(ts, event_id)`` order (the window path).

    One window numbers each session's checks (``row_number``, 0-based on every backend),
    ordered by ``ts`` alone; ``tied`` is 1 for a session with two checks at the same ``ts``
    (their order is then arbitrary). With ``only`` (a table of session ids), just those
    sessions, ordered by ``(ts, event_id)`` (``tied`` 0): :func:`sequences` numbers the tied
    sessions again this way, and the sessions ``seq`` cannot order.
    """
    rows = _sessions(events, start, end)
    order = [rows.ts]
    if only is not None:
        rows = rows.semi_join(only, list(SESSION))
        order = [rows.ts, rows.event_id]
    window = ibis.window(group_by=[rows[c] for c in SESSION], order_by=order)
    tie = (rows.ts.lag().over(window) == rows.ts) if only is None else ibis.literal(False)
    rows = rows.select(
        *SESSION,
        "device",
        "region",
        code=_code(rows, vocabulary).cast("int64"),
        pos=ibis.row_number().over(window).cast("int64"),
        tie=ibis.cases((tie, 1), else_=0).cast("int8"),
    )
    rows = _placed(rows, vocabulary)
    per = rows.group_by(list(SESSION)).aggregate(
        device=rows.device.min(),
        length=rows.count(),
        tied=rows.tie.max(),
        region=bit_or(rows.region),
        **_keys(rows, vocabulary),
    )
    return _counted(per, "tied")


def _seq_sessions(
    events: ir.Table, start: date, end: date, vocabulary: Sequence[str], *, keys: int
) -> ir.Table:
    """Per session: day, device, length, ``mask`` (the OR of 2^seq over the ``seq`` below the
    capacity: whether ``seq`` orders the session, :func:`unordered` reads from it) and the
    checks packed at their ``seq``'s bits in ``keys`` keys (``k0 …``; the others would be 0)."""
    capacity = seq_capacity(len(vocabulary))
    rows = _sessions(events, start, end)
    rows = rows.mutate(pos=rows.seq.cast("int64"))
    inside = rows.pos < capacity
    present = ibis.cases(
        (inside, ibis.literal(1, "int64") << ibis.cases((inside, rows.pos), else_=0)), else_=0
    )
    if keys:
        rows = _placed(rows.mutate(code=_code(rows, vocabulary).cast("int64")), vocabulary)
    return rows.group_by(list(SESSION)).aggregate(
        device=rows.device.min(),
        length=rows.count(),
        mask=bit_or(present.cast("int64")),
        region=bit_or(rows.region),
        **(_keys(rows, vocabulary, keys) if keys else {}),
    )


def seq_sequence_expr(
    events: ir.Table, start: date, end: date, vocabulary: Sequence[str], *, last: int | None = None
) -> ir.Table:
    """Sessions per ``(day, device, length, mask, k0 … k3)`` in ``[start, end)``, in ``seq``
    order (no window): ``k0 … k3`` hold each check at its ``seq``'s position, so a gap leaves
    an empty slot (:func:`compact` closes it); the rows of sessions ``seq`` cannot order
    (:func:`unordered`) are only counted. ``last``: the largest ``seq`` in the span (fewer
    keys are summed when it is small; None: all of them)."""
    per_key = packing(len(vocabulary))[1]
    count = KEYS if last is None else max(1, min(KEYS, -(-(int(last) + 1) // per_key)))
    return _counted(_seq_sessions(events, start, end, vocabulary, keys=count), "mask", keys=count)


def unordered(mask: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Whether ``seq`` cannot order a session of ``length`` checks whose ``seq`` values
    below the capacity OR to ``mask`` (bit ``seq`` set): it can exactly when the mask has one
    bit per check — a NULL ``seq`` or one past the capacity adds no bit, and two checks
    sharing a ``seq`` set one bit, so each leaves fewer bits than checks."""
    mask = np.asarray(mask, dtype=np.int64)
    return np.bitwise_count(mask) != np.asarray(length)


def unordered_sessions_expr(
    events: ir.Table, start: date, end: date, pairs: Sequence[tuple[int, int]]
) -> ir.Table:
    """The sessions (:data:`SESSION`) in ``[start, end)`` with a ``(mask, length)`` of
    ``pairs`` (those :func:`unordered` found in :func:`seq_sequence_expr`'s result)."""
    per = _seq_sessions(events, start, end, (), keys=0)
    chosen = ibis.literal(False)
    for mask, length in pairs:
        chosen |= (per.mask == int(mask)) & (per.length == int(length))
    return per.filter(chosen).select(*SESSION)


def tied_sessions_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """The sessions (:data:`SESSION`) with two checks at the same ``ts`` in ``[start, end)``."""
    rows = _sessions(events, start, end)
    same = rows.group_by([*SESSION, "ts"]).aggregate(n=rows.count())
    return same.filter(same.n > 1).select(*SESSION).distinct()


def tools_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """The distinct tools of the sessions' checks in ``[start, end)``."""
    return _sessions(events, start, end).select("tool").distinct()


def compact(table: pa.Table, vocabulary: Sequence[str]) -> pa.Table:
    """:func:`seq_sequence_expr`'s ordered rows as :func:`sequence_expr` would pack them:
    the checks moved down over the gaps of their ``seq`` (position = rank of the ``seq``
    among the session's), columns :data:`GROUP`, :data:`REGION` and ``n``."""
    mask = table["mask"].to_numpy().astype(np.int64)
    length = table["length"].to_numpy().astype(np.int64)
    if unordered(mask, length).any():
        raise ValueError("a session seq cannot order was passed to compact")
    keys = np.column_stack([table[f"k{j}"].to_numpy().astype(np.int64) for j in range(KEYS)])
    gapped = np.flatnonzero(mask != (np.int64(1) << length) - 1)
    if gapped.size:
        bits, per_key = packing(len(vocabulary))
        slot = np.arange(seq_capacity(len(vocabulary)))
        rows = keys[gapped]
        present = (mask[gapped, None] >> slot) & 1
        code = (rows[:, slot // per_key] >> (bits * (slot % per_key))) & ((1 << bits) - 1)
        rank = np.cumsum(present, axis=1) - 1  # the check's position among those present
        moved = np.where(present == 1, code << (bits * (rank % per_key)), 0)
        packed = np.zeros_like(rows)
        for j in range(KEYS):
            packed[:, j] = np.where(rank // per_key == j, moved, 0).sum(axis=1)
        keys[gapped] = packed
    columns = {name: table[name] for name in ("day", "device", "length", *REGION)}
    columns |= {f"k{j}": pa.array(keys[:, j], type=pa.int64()) for j in range(KEYS)}
    return pa.table(columns | {"n": table["n"]})


def _merged(tables: Sequence[pa.Table]) -> dict[str, np.ndarray]:
    """The tables' rows (columns :data:`GROUP` and ``n``) sorted by :data:`GROUP`, one per
    distinct sequence (``n`` summed): the order makes float sums over the rows bit-identical
    whichever engine (or day-by-day run) returned them."""
    rows = pa.concat_tables([t.select([*GROUP, "n"]).cast(_SCHEMA) for t in tables])
    device = pc.dictionary_encode(rows["device"]).combine_chunks()
    names = device.dictionary.to_numpy(zero_copy_only=False).astype(str)
    rank = np.empty(names.size, dtype=np.int64)
    rank[np.argsort(names, kind="stable")] = np.arange(names.size)
    keys = {k: rows[k].to_numpy() for k in GROUP if k != "device"}
    keys["device"] = rank[device.indices.to_numpy(zero_copy_only=False)]
    order = np.lexsort([keys[k] for k in reversed(GROUP)])
    keys = {k: keys[k][order] for k in GROUP}
    n = rows["n"].to_numpy()[order]
    same = np.zeros(n.size, dtype=bool)  # the row's sequence is the one before's
    same[1:] = True
    for column in keys.values():
        same[1:] &= column[1:] == column[:-1]
    starts = np.flatnonzero(~same)
    out = {k: column[starts] for k, column in keys.items()}
    out["devices"] = np.sort(names).astype(object)
    out["device_code"] = out["device"]
    out["device"] = out["devices"][out["device_code"]]
    out["n"] = np.add.reduceat(n, starts) if n.size else n
    return out


_SCHEMA = pa.schema(
    [("day", pa.int64()), ("device", pa.string()), ("length", pa.int64())]
    + [(f"k{j}", pa.int64()) for j in range(KEYS)]
    + [("n", pa.int64())]
)


@dataclass(frozen=True, eq=False)
class Sequences:
    """The distinct session sequences, flattened for NumPy.

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

    reach: pa.Table | None = None
    """Sessions per ``(first, last, us_min, us_max)`` (``n``; ``first`` = ``last``, the
    session's day): :func:`~.queries.reach_expr`'s rows for sessions, from the same pass."""

    devices: np.ndarray | None = None
    """The distinct devices, sorted (None: :meth:`device_codes` finds them)."""
    device_code: np.ndarray | None = None
    """Each row's index into :attr:`devices`."""

    def device_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(devices, code per row)``: the distinct devices and each row's index into them."""
        if self.devices is not None and self.device_code is not None:
            return self.devices, self.device_code
        devices, codes = np.unique(self.device.astype(str), return_inverse=True)
        return devices.astype(object), codes.ravel()

    @classmethod
    def from_arrow(
        cls, table: pa.Table | Sequence[pa.Table], vocabulary: Sequence[str]
    ) -> Sequences:
        """From rows of :data:`GROUP` and ``n`` (one table or several, in any order, a
        sequence's rows summed: sorted here, so float sums come out bit-identical whichever
        engine returned them)."""
        bits, per_key = packing(len(vocabulary))
        data = _merged([table] if isinstance(table, pa.Table) else table)
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
            device=data["device"],
            devices=data["devices"],
            device_code=data["device_code"].astype(np.int64),
            n=n,
            offsets=offsets,
            code=code - 1,
            row=row,
            pos=pos,
            vocabulary=tuple(vocabulary),
            truncated=int(n[full > lengths].sum()),
        )


def sequences(events: ir.Table, start: date, end: date, *, use_seq: bool = True) -> Sequences:
    """The distinct session sequences of ``[start, end)``, computed in the engine: in ``seq``
    order where the events carry it (``use_seq``; False: every session by the window path,
    for comparison), the rest in ``(ts, event_id)`` order (see the module)."""
    vocabulary = sorted(
        str(t) for t in tools_expr(events, start, end).to_pyarrow()["tool"].to_pylist()
    )
    parts: list[pa.Table] = []
    remaining: ir.Table | None = None  # the sessions seq cannot order; None: every session
    if use_seq and "seq" in events.columns:
        rows = _sessions(events, start, end)
        span = rows.aggregate(last=rows.seq.max(), rows=rows.count()).to_pyarrow().to_pylist()
        last = span[0]["last"]
        if last is not None:
            table = by_day(
                events,
                start,
                end,
                lambda day: seq_sequence_expr(day, start, end, vocabulary, last=last),
                rows=span[0]["rows"],
            )
            mask, length = table["mask"].to_numpy(), table["length"].to_numpy()
            bad = unordered(mask, length)
            parts.append(compact(table.filter(pa.array(~bad)), vocabulary))
            if not bad.any():
                return _with_reach(parts, vocabulary)
            pairs = sorted({(int(m), int(n)) for m, n in zip(mask[bad], length[bad], strict=True)})
            remaining = unordered_sessions_expr(events, start, end, pairs)
    if remaining is None:
        table = sequence_expr(events, start, end, vocabulary).to_pyarrow()
        tied = pc.equal(table["tied"], 1)
        parts.append(table.filter(pc.invert(tied)))
        if pc.any(tied).as_py():  # equal timestamps: again, ordered by event_id too
            remaining = tied_sessions_expr(events, start, end)
    if remaining is not None:
        parts.append(sequence_expr(events, start, end, vocabulary, only=remaining).to_pyarrow())
    return _with_reach(parts, vocabulary)


def _with_reach(parts: Sequence[pa.Table], vocabulary: Sequence[str]) -> Sequences:
    """The :class:`Sequences` of ``parts``, with the sessions per day and region."""
    rows = pa.concat_tables([p.select(["day", *REGION, "n"]).cast(_REACH) for p in parts])
    per = rows.group_by(["day", *REGION], use_threads=False).aggregate([("n", "sum")])
    reach = pa.table({"first": per["day"], "last": per["day"], "us_min": per["us_min"],
                      "us_max": per["us_max"], "n": per["n_sum"]})
    return replace(Sequences.from_arrow(parts, vocabulary), reach=reach)


_REACH = pa.schema([("day", pa.int64()), ("us_min", pa.int64()), ("us_max", pa.int64()),
                    ("n", pa.int64())])
