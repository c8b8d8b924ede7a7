"""Each session's checks in order, packed into a few integers: the engine side of the session
analyses (transitions, paths, positions, the funnel).

The order of a session's checks (``analytics_methods.md`` §5, "Ties") is

* **``seq`` order** when each of the session's events carries ``seq`` (the page's per-tab
  counter, :data:`~marginscope.telemetry.schema.SEQ_MAX`), the values are distinct and below
  the packed capacity (:func:`~.packed_sequences.seq_capacity`:
  :data:`~.packed_sequences.KEYS` × checks per key, 48 with up to 31 tools, at most 62).
  ``seq`` may have gaps (a calculation not recorded: dropped, over budget): the order is still ``seq``
  order and a check's *next* check is the one with the next **present** ``seq``; a session's
  first check is its smallest ``seq``, wherever the counter started. No window: one hash
  aggregate per session (:func:`seq_sequence_expr`) shifts each check's tool code to its
  ``seq``'s bits, and NumPy closes the gaps (:func:`~.packed_sequences.compact`);
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
:class:`~.packed_sequences.Sequences`.

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

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from marginscope.analytics.chunks import by_day
from marginscope.analytics.packed_sequences import (
    KEYS,
    REGION,
    Sequences,
    compact,
    packing,
    seq_capacity,
    unordered,
)
from marginscope.analytics.queries import bit_or, day_number, in_range, region_bit, us_flags

__all__ = [
    "SESSION",
    "seq_sequence_expr",
    "sequence_expr",
    "sequences",
    "tied_sessions_expr",
    "unordered_sessions_expr",
    "vocabulary_expr",
]

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


def _coded(rows: ir.Table, devices: Sequence[str]) -> ir.Table:
    """``rows`` with ``device`` as its index in the sorted ``devices`` (none: unchanged): the
    smallest index is the smallest name's, and an integer minimum costs a session's hash
    aggregate less than a string's (0.91× the pass's CPU on the bench); :func:`_named`
    gives the names back."""
    if not devices:
        return rows
    index = ibis.cases(*[(rows.device == d, i) for i, d in enumerate(devices)], else_=-1)
    return rows.mutate(device=index.cast("int16"))


def _named(table: pa.Table, devices: Sequence[str]) -> pa.Table:
    """:func:`_coded`'s ``device`` indexes in ``table`` as the devices' names."""
    column = table.column_names.index("device")
    codes = table["device"].combine_chunks().cast(pa.int32())
    names = pa.DictionaryArray.from_arrays(codes, pa.array(list(devices), pa.string()))
    return table.set_column(column, "device", names.cast(pa.string()))


def _placed(rows: ir.Table, vocabulary: Sequence[str]) -> ir.Table:
    """``rows`` (with ``pos``, a check's 0-based position, and ``code``) with ``placed``: the
    code shifted to its position's bits within its key, 0 past the keys. Computed once per
    check, then OR-ed into each key (:func:`_keys`): 0.89× the pass's CPU with three keys on
    the bench, against a shift written into each key's aggregate. The shift is 0 outside the keys: engines
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
    """Sessions (``n``) per distinct :data:`~.packed_sequences.GROUP`, region and ``extra``
    columns, with the region as :data:`~.packed_sequences.REGION`; only the first ``keys``
    keys are grouped by (the others are 0: constant columns still cost the hash aggregate)."""
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
    devices: Sequence[str] = (),
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
    rows = _coded(_sessions(events, start, end), devices)
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
    events: ir.Table,
    start: date,
    end: date,
    vocabulary: Sequence[str],
    *,
    keys: int,
    devices: Sequence[str] = (),
) -> ir.Table:
    """Per session: day, device, length, ``mask`` (the OR of 2^seq over the ``seq`` below the
    capacity: whether ``seq`` orders the session, :func:`~.packed_sequences.unordered` reads from it) and the
    checks packed at their ``seq``'s bits in ``keys`` keys (``k0 …``; the others would be 0)."""
    capacity = seq_capacity(len(vocabulary))
    rows = _coded(_sessions(events, start, end), devices)
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
    events: ir.Table,
    start: date,
    end: date,
    vocabulary: Sequence[str],
    *,
    devices: Sequence[str] = (),
    last: int | None = None,
) -> ir.Table:
    """Sessions per ``(day, device, length, mask, k0 … k3)`` in ``[start, end)``, in ``seq``
    order (no window): ``k0 … k3`` hold each check at its ``seq``'s position, so a gap leaves
    an empty slot (:func:`~.packed_sequences.compact` closes it); the rows of sessions ``seq`` cannot order
    (:func:`~.packed_sequences.unordered`) are only counted. ``last``: the largest ``seq`` in the span (fewer
    keys are summed when it is small; None: all of them)."""
    per_key = packing(len(vocabulary))[1]
    count = KEYS if last is None else max(1, min(KEYS, -(-(int(last) + 1) // per_key)))
    per = _seq_sessions(events, start, end, vocabulary, keys=count, devices=devices)
    return _counted(per, "mask", keys=count)


def unordered_sessions_expr(
    events: ir.Table, start: date, end: date, pairs: Sequence[tuple[int, int]]
) -> ir.Table:
    """The sessions (:data:`SESSION`) in ``[start, end)`` with a ``(mask, length)`` of
    ``pairs`` (those :func:`~.packed_sequences.unordered` found in :func:`seq_sequence_expr`'s result)."""
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


def vocabulary_expr(events: ir.Table, start: date, end: date) -> ir.Table:
    """The sessions' checks in ``[start, end)`` per ``(tool, device)``: ``rows``, and
    ``last``, the largest ``seq``, when the events carry it (one scan for what the passes
    are built from)."""
    rows = _sessions(events, start, end)
    last = {"last": rows.seq.max()} if "seq" in rows.columns else {}
    return rows.group_by(["tool", "device"]).aggregate(rows=rows.count(), **last)


def sequences(events: ir.Table, start: date, end: date, *, use_seq: bool = True) -> Sequences:
    """The distinct session sequences of ``[start, end)``, computed in the engine: in ``seq``
    order where the events carry it (``use_seq``; False: every session by the window path,
    for comparison), the rest in ``(ts, event_id)`` order (see the module)."""
    found = vocabulary_expr(events, start, end).to_pyarrow()
    vocabulary = sorted({str(t) for t in found["tool"].to_pylist()})
    devices = sorted({str(d) for d in found["device"].to_pylist()})
    parts: list[pa.Table] = []
    remaining: ir.Table | None = None  # the sessions seq cannot order; None: every session
    last = pc.max(found["last"]).as_py() if "last" in found.column_names else None
    if use_seq and last is not None:
        table = _named(
            by_day(
                events,
                start,
                end,
                lambda day: seq_sequence_expr(
                    day, start, end, vocabulary, devices=devices, last=last
                ),
                rows=pc.sum(found["rows"]).as_py(),
            ),
            devices,
        )
        mask, length = table["mask"].to_numpy(), table["length"].to_numpy()
        bad = unordered(mask, length)
        parts.append(compact(table.filter(pa.array(~bad)), vocabulary))
        if not bad.any():
            return _with_reach(parts, vocabulary)
        pairs = sorted({(int(m), int(n)) for m, n in zip(mask[bad], length[bad], strict=True)})
        remaining = unordered_sessions_expr(events, start, end, pairs)

    def window(only: ir.Table | None = None) -> pa.Table:
        expr = sequence_expr(events, start, end, vocabulary, devices=devices, only=only)
        return _named(expr.to_pyarrow(), devices)

    if remaining is None:
        table = window()
        tied = pc.equal(table["tied"], 1)
        parts.append(table.filter(pc.invert(tied)))
        if pc.any(tied).as_py():  # equal timestamps: again, ordered by event_id too
            remaining = tied_sessions_expr(events, start, end)
    if remaining is not None:
        parts.append(window(remaining))
    return _with_reach(parts, vocabulary)


def _with_reach(parts: Sequence[pa.Table], vocabulary: Sequence[str]) -> Sequences:
    """The :class:`~.packed_sequences.Sequences` of ``parts``, with the sessions per day and region."""
    rows = pa.concat_tables([p.select(["day", *REGION, "n"]).cast(_REACH) for p in parts])
    per = rows.group_by(["day", *REGION], use_threads=False).aggregate([("n", "sum")])
    reach = pa.table(
        {
            "first": per["day"],
            "last": per["day"],
            "us_min": per["us_min"],
            "us_max": per["us_max"],
            "n": per["n_sum"],
        }
    )
    return replace(Sequences.from_arrow(parts, vocabulary), reach=reach)


_REACH = pa.schema(
    [("day", pa.int64()), ("us_min", pa.int64()), ("us_max", pa.int64()), ("n", pa.int64())]
)
