"""The session order: ``seq`` order (no window) and ``(ts, event_id)`` order (the window)
give the same sequences for the same order, with gaps, counters that start late, sessions
``seq`` cannot order (NULL, repeated, past the packed capacity) and equal timestamps.

Events from ``sessions_sim.py`` (a Markov order of tools; ``seq`` numbered in time order as
the page's counter would), then damaged as live data can be.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from marginscope.analytics.funnel import funnel_table
from marginscope.analytics.packed_sequences import seq_capacity, unordered
from marginscope.analytics.paths import path_table
from marginscope.analytics.positions import position_table
from marginscope.analytics.sequences import seq_sequence_expr, sequences, vocabulary_expr
from marginscope.analytics.sources import open_events
from marginscope.analytics.transitions import transition_tables

from .sessions_sim import FIRST, FOLLOWING, World, simulate


def _flat(seqs) -> list[tuple]:
    return sorted(
        (
            int(d),
            str(v),
            tuple(int(c) for c in seqs.code[seqs.offsets[i] : seqs.offsets[i + 1]]),
            int(n),
        )
        for i, (d, v, n) in enumerate(zip(seqs.day, seqs.device, seqs.n, strict=True))
    )


def _same_tables(a, b) -> None:
    ta, tb = transition_tables(a), transition_tables(b)
    for name in ta.cells:
        assert np.array_equal(ta.cells[name], tb.cells[name]), name
    for build in (path_table, position_table, funnel_table):
        x, y = build(a), build(b)
        for name in x:
            assert np.array_equal(x[name], y[name]), (build.__name__, name)


def _both(events: pa.Table):
    table = open_events(events)
    return (sequences(table, FIRST, FOLLOWING), sequences(table, FIRST, FOLLOWING, use_seq=False))


@pytest.fixture(scope="module")
def events() -> pa.Table:
    return simulate(5, world=World(base_sessions=200.0), last=date(2025, 10, 20))


def _ordered_rows(events: pa.Table) -> int:
    table = open_events(events)
    vocabulary = sorted(
        set(vocabulary_expr(table, FIRST, FOLLOWING).to_pyarrow()["tool"].to_pylist())
    )
    out = seq_sequence_expr(table, FIRST, FOLLOWING, vocabulary).to_pyarrow()
    ordered = ~unordered(out["mask"].to_numpy(), out["length"].to_numpy())
    return int(out["n"].to_numpy()[ordered].sum())


def test_seq_order_and_the_window_agree_exactly(events):
    by_seq, by_window = _both(events)
    assert _flat(by_seq) == _flat(by_window)
    assert by_seq.n.sum() == pc.count_distinct(events["session"]).as_py()
    assert _ordered_rows(events) == by_seq.n.sum()  # every session took the seq path
    _same_tables(by_seq, by_window)
    devices, codes = by_seq.device_codes()  # kept from the merge, as np.unique finds them
    found, inverse = np.unique(by_seq.device.astype(str), return_inverse=True)
    assert list(devices) == list(found) and np.array_equal(codes, inverse.ravel())


def test_gaps_late_starts_and_unorderable_sessions_agree_with_the_window(events):
    rng = np.random.default_rng(3)
    keep = rng.random(events.num_rows) > 0.15  # dropped calculations: gaps in seq
    damaged = events.filter(pa.array(keep))
    seq = damaged["seq"].to_numpy(zero_copy_only=False).astype(np.int64)
    codes = pc.dictionary_encode(damaged["session"]).combine_chunks().indices.to_numpy()
    kind = codes % 7
    seq = np.where(kind == 1, seq + 5, seq)  # the counter started before the session
    seq = np.where(kind == 2, seq + 60, seq)  # past the packed capacity: the window
    seq = np.where((kind == 3) & (seq % 2 == 1), seq - 1, seq)  # a repeated seq
    null = (kind == 4) & (seq == 0)  # one event without seq
    damaged = damaged.set_column(
        damaged.column_names.index("seq"), "seq", pa.array(seq.astype(np.int16), mask=null)
    )
    by_seq, by_window = _both(damaged)
    assert _flat(by_seq) == _flat(by_window)
    _same_tables(by_seq, by_window)
    sessions = pc.count_distinct(damaged["session"]).as_py()
    assert by_seq.n.sum() == sessions
    assert 0.5 * sessions < _ordered_rows(damaged) < sessions  # both paths were taken


def _session(seqs: list[int | None], tools: list[str], ids: list[str]) -> pa.Table:
    ts = pa.array([1_762_000_000_000_000] * len(tools), type=pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "event_id": ids,
            "ts": ts,
            "tool": tools,
            "device": ["mobile"] * len(tools),
            "country": ["DE"] * len(tools),
            "session": ["s-tie"] * len(tools),
            "seq": pa.array(seqs, pa.int16()),
        }
    )


def test_seq_orders_checks_at_one_timestamp_with_gaps_and_a_late_start():
    tools = ["futures", "margin_call", "liquidation_price"]
    events = _session([12, 7, 9], tools, ["syn-a", "syn-b", "syn-c"])
    seqs = sequences(open_events(events), FIRST, FOLLOWING)
    assert [seqs.vocabulary[c] for c in seqs.code] == [
        "margin_call",
        "liquidation_price",
        "futures",
    ]
    assert list(seqs.pos) == [0, 1, 2]
    # without seq (or a repeated one) the window's (ts, event_id) order decides
    for broken in ([None, 7, 9], [7, 7, 9]):
        events = _session(broken, tools, ["syn-a", "syn-b", "syn-c"])
        seqs = sequences(open_events(events), FIRST, FOLLOWING)
        assert [seqs.vocabulary[c] for c in seqs.code] == tools


def test_a_session_filling_the_packed_capacity_takes_the_seq_path():
    tools = ["futures", "margin_call", "liquidation_price"]
    capacity = seq_capacity(len(tools))
    n = capacity - 1
    names = [tools[i % 3] for i in range(n)]
    events = _session(list(range(1, capacity)), names, [f"syn-{i:03d}" for i in range(n)])
    assert _ordered_rows(events) == 1
    seqs = sequences(open_events(events), FIRST, FOLLOWING)
    assert [seqs.vocabulary[c] for c in seqs.code] == names and seqs.truncated == 0


def test_a_parquet_dataset_half_written_before_seq_reads_it_by_name(events, tmp_path):
    import pyarrow.parquet as pq

    day = pc.cast(pc.cast(events["ts"], pa.timestamp("us")), pa.date32())
    cut = pa.scalar(date(2025, 10, 12), pa.date32())
    old, new = pc.less(day, cut), pc.greater_equal(day, cut)
    (tmp_path / "date=2025-10-04").mkdir()
    (tmp_path / "date=2025-10-12").mkdir()
    pq.write_table(events.filter(old).drop_columns(["seq"]), tmp_path / "date=2025-10-04/a.parquet")
    pq.write_table(events.filter(new), tmp_path / "date=2025-10-12/b.parquet")
    table = open_events(tmp_path)
    assert "seq" in table.columns
    by_seq = sequences(table, FIRST, FOLLOWING)
    assert _flat(by_seq) == _flat(_both(events)[1])


def test_many_checks_sharing_a_high_seq_take_the_window_not_an_overflow():
    # six checks of the largest code at seq 30 would sum past 2^63 in the packed key
    events = _session([30] * 6, ["stops"] * 6, [f"syn-{i}" for i in range(6)])
    ordered = _session([0, 1], ["futures", "margin_call"], ["syn-x", "syn-y"])
    ordered = ordered.set_column(
        ordered.column_names.index("session"), "session", pa.array(["s-ok"] * 2)
    )
    both = pa.concat_tables([events, ordered])
    assert _ordered_rows(both) == 1
    seqs = sequences(open_events(both), FIRST, FOLLOWING)
    assert _flat(seqs) == _flat(sequences(open_events(both), FIRST, FOLLOWING, use_seq=False))
