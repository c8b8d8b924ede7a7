"""The session tables (transitions, positions, paths, funnel) and the grouped sums under them,
against a plain per-session recomputation in Python on random sequences.

The vectorized tables group each sequence's checks with sorts and bincounts
(:mod:`marginscope.analytics.grouped`); here every quantity is recomputed from its definition
(the module docstrings), one session at a time, with dicts. Whole-number sums must match
exactly; ``sw`` (a sum of fractions) to rounding, and :func:`grouped_sums` and
:func:`span_sums` must add in the input's order exactly (bit for bit).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from marginscope.analytics.funnel import funnel_table
from marginscope.analytics.grouped import (
    code_bits,
    grouped_sums,
    run_starts,
    span_sums,
)
from marginscope.analytics.packed_sequences import Sequences
from marginscope.analytics.paths import END, path_table
from marginscope.analytics.positions import position_table
from marginscope.analytics.transitions import transition_tables

DEVICES = np.asarray(["desktop", "mobile", "tablet"], dtype=object)


def _random(seed: int, tools: int, rows: int, longest: int = 7) -> Sequences:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, longest + 1, rows)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    row = np.repeat(np.arange(rows), lengths)
    return Sequences(
        day=np.sort(rng.integers(20_000, 20_006, rows)).astype(np.int64),
        device=DEVICES[rng.integers(0, DEVICES.size, rows)],
        n=rng.integers(1, 40, rows).astype(np.int64),
        offsets=offsets,
        code=rng.integers(0, tools, row.size).astype(np.int64),
        row=row,
        pos=np.arange(row.size) - offsets[row],
        vocabulary=tuple(f"tool{i:02d}" for i in range(tools)),
    )


def _checks(seqs: Sequences):
    """Per sequence: day, device, sessions and its tools in order."""
    for r in range(seqs.n.size):
        codes = seqs.code[seqs.offsets[r] : seqs.offsets[r + 1]]
        yield (
            int(seqs.day[r]),
            str(seqs.device[r]),
            int(seqs.n[r]),
            [seqs.vocabulary[c] for c in codes],
        )


def _add(table: dict, key, values) -> None:
    table[key] = [a + b for a, b in zip(table.get(key, [0] * len(values)), values, strict=True)]


SHAPES = [(0, 10, 300), (1, 1, 50), (2, 2, 200), (3, 17, 120)]
"""(seed, tools, sequences): a single tool (every next check the same), two, more than 16."""


@pytest.mark.parametrize(("seed", "tools", "rows"), SHAPES)
def test_transition_cells_and_origins_equal_a_per_session_count(seed, tools, rows):
    seqs = _random(seed, tools, rows)
    cells: dict = {}
    origins: dict = {}
    for day, _, w, path in _checks(seqs):
        pairs = list(pairwise(path))
        x = {a: sum(1 for p, _ in pairs if p == a) for a, _ in pairs}
        y = {pair: pairs.count(pair) for pair in pairs}
        for (a, b), count in y.items():
            _add(cells, (day, a, b), [w * count, w * count**2, w * x[a] * count, w * count / x[a]])
        for a, count in x.items():
            _add(origins, (day, a), [w * count, w * count**2, w])
    tables = transition_tables(seqs)
    c, o = tables.cells, tables.origins
    keys = list(zip(c["day"], c["tool"], c["next_tool"], strict=True))
    assert keys == sorted(cells)
    for i, key in enumerate(keys):
        assert [c["n"][i], c["yy"][i], c["xy"][i]] == cells[key][:3]
        assert c["sw"][i] == pytest.approx(cells[key][3], rel=1e-12)
    assert list(zip(o["day"], o["tool"], strict=True)) == sorted(origins)
    for d, a, nx, xx, s in zip(o["day"], o["tool"], o["nx"], o["xx"], o["sessions"], strict=True):
        assert [nx, xx, s] == origins[(d, a)]


@pytest.mark.parametrize(("seed", "tools", "rows"), SHAPES)
def test_position_table_equals_a_per_session_count(seed, tools, rows):
    seqs = _random(seed, tools, rows)
    want: dict = {}
    for day, device, w, path in _checks(seqs):
        for tool in set(path):
            x, y = path.count(tool), int(path[0] == tool)
            _add(want, (day, device, tool), [w * x, w * x * x, w * y, w * x * y, w])
    got = position_table(seqs)
    keys = list(zip(got["day"], got["device"], got["tool"], strict=True))
    assert keys == sorted(want)
    columns = ("nx", "xx", "ny", "xy", "sessions")
    assert [[got[c][i] for c in columns] for i in range(len(keys))] == [want[k] for k in keys]


@pytest.mark.parametrize(("seed", "tools", "rows"), SHAPES)
def test_path_table_equals_each_sessions_first_three_checks(seed, tools, rows):
    seqs = _random(seed, tools, rows)
    want: dict = {}
    for day, _, w, path in _checks(seqs):
        _add(want, (day, *(path + [END] * 3)[:3]), [w])
    got = path_table(seqs)
    keys = zip(got["day"], got["tool"], got["next_tool"], got["next2"], strict=True)
    assert {k: [n] for k, n in zip(keys, got["n"], strict=True)} == want


@pytest.mark.parametrize(("seed", "tools", "rows"), SHAPES)
def test_funnel_table_equals_an_ordered_walk_of_each_session(seed, tools, rows):
    seqs = _random(seed, tools, rows)
    names = seqs.vocabulary
    steps = [names[:1], names[-1:], names[1:3] or names[:1]]  # repeated tools when few
    want: dict = {}
    for day, device, w, path in _checks(seqs):
        reached, at = [], -1
        for step in steps:
            at = next((i for i in range(at + 1, len(path)) if path[i] in step), None)
            if at is None:
                break
            reached.append(w)
        _add(want, (day, device), [*reached, 0, 0, 0][:3])
    got = funnel_table(seqs, steps)
    keys = list(zip(got["day"], got["device"], strict=True))
    assert keys == sorted(want)
    assert [[got[c][i] for c in ("s1", "s2", "s3")] for i in range(len(keys))] == [
        want[k] for k in keys
    ]


@pytest.mark.parametrize("spread", [5, 1 << 24])  # a dense key space, and one sorted instead
def test_grouped_sums_add_in_input_order_per_distinct_key(spread):
    rng = np.random.default_rng(7)
    a, b = rng.integers(-3, 3, 500) * spread, rng.integers(0, 4, 500)
    v = rng.normal(size=500) * 10.0 ** rng.integers(-8, 8, 500)  # order-sensitive floats
    want: dict = {}
    for key, value in zip(zip(a.tolist(), b.tolist(), strict=True), v.tolist(), strict=True):
        want[key] = want[key] + value if key in want else value  # left to right, as Python adds
    (ka, kb), sums = grouped_sums((a, b), {"v": v})
    assert list(zip(ka.tolist(), kb.tolist(), strict=True)) == sorted(want)
    assert sums["v"].tolist() == [want[k] for k in sorted(want)]  # exactly, not approximately


def test_grouped_sums_of_no_rows_are_empty_floats():
    (key,), sums = grouped_sums((np.zeros(0, dtype=np.int64),), {"v": np.zeros(0)})
    assert key.size == 0 and sums["v"].dtype == np.float64 and sums["v"].size == 0


def test_span_sums_add_rows_of_the_span_per_key_in_first_appearance_order():
    rng = np.random.default_rng(3)
    size = 400
    data = {
        "day": rng.integers(0, 10, size),
        "a": np.asarray(["x", None, "y", "z"], dtype=object)[rng.integers(0, 4, size)],
        "b": np.asarray([1, 2], dtype=object)[rng.integers(0, 2, size)],
        "v": rng.normal(size=size) * 10.0 ** rng.integers(-8, 8, size),
        "c": rng.integers(0, 9, size),
    }
    want: dict = {}
    for i in range(size):
        if 2 <= data["day"][i] <= 6:  # 1970-01-03 … 1970-01-07
            key = (data["a"][i], str(data["b"][i]))  # nulls stay None, the rest read as text
            row = np.asarray([data["v"][i], float(data["c"][i])])
            want[key] = want[key] + row if key in want else row
    got = span_sums(data, ("a", "b"), ("v", "c"), "1970-01-03", "1970-01-07")
    assert list(got) == list(want)
    assert all(got[k].tolist() == want[k].tolist() for k in want)


def test_run_starts_and_code_bits():
    values = np.asarray([3, 3, 5, 5, 5, 3, 9])
    assert run_starts(values).tolist() == [0, 2, 5, 6]
    assert run_starts(np.zeros(0)).tolist() == []
    for size in range(1, 70):
        bits = code_bits(size)
        assert (1 << bits) >= size and (bits == 1 or (1 << (bits - 1)) < size)
