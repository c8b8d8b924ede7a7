"""Sums per key of small integer tables (NumPy), and per key over a span of days.

The session analyses (:mod:`.transitions`, :mod:`.paths`, :mod:`.positions`, :mod:`.funnel`)
reduce the engine's distinct session sequences (:mod:`.sequences`) to per-day tables with
:func:`grouped_sums` (per-sequence counts first: one sort of keys packed with
:func:`code_bits`, runs found with :func:`run_starts`), and the statistics sum those tables
over a span with :func:`span_sums` / :func:`day_sums`. Every float sum adds its rows in the
input's order (``bincount``), so a table's sums do not depend on how it was grouped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DENSE_KEYS",
    "code_bits",
    "day_of",
    "day_sums",
    "grouped_sums",
    "run_starts",
    "span_sums",
]

DENSE_KEYS = 1 << 25
"""Key spaces up to this size are summed with a dense ``bincount`` instead of a sort."""


def grouped_sums(
    keys: Sequence[np.ndarray], values: dict[str, np.ndarray]
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """``values`` summed per distinct combination of the integer ``keys`` (same length);
    returns the distinct key columns (in lexicographic order) and the sums (floats, each
    adding its rows in input order)."""
    columns = [np.asarray(k, dtype=np.int64) for k in keys]
    low = [int(c.min()) if c.size else 0 for c in columns]
    sizes = [int(c.max()) - lo + 1 if c.size else 1 for c, lo in zip(columns, low, strict=True)]
    key = columns[0] - low[0]  # mixed radix, one int64 (in place: one pass per operation)
    for c, lo, size in zip(columns[1:], low[1:], sizes[1:], strict=True):
        key *= size
        key += c
        if lo:
            key -= lo
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
    # (a bincount of no rows is int64 even with weights)
    return decoded[::-1], {name: v.astype(float, copy=False) for name, v in sums.items()}


def code_bits(size: int) -> int:
    """Bits that hold the codes ``0 … size − 1`` (at least one): keys packed with shifts
    decode with shifts and masks (integer division is several times slower)."""
    return max(size - 1, 1).bit_length()


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal ``values`` starts: of sorted values, each distinct value's
    first index."""
    new = np.ones(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=new[1:])
    return np.flatnonzero(new)


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
    days) per value of ``keys`` (:func:`day_sums`)."""
    return day_sums(data, keys, columns, (day_of(first), day_of(last)))


def day_sums(
    data: dict[str, np.ndarray], keys: Sequence[str], columns: Sequence[str], days: tuple[int, int]
) -> dict[tuple, np.ndarray]:
    """``columns`` of a table of arrays summed over ``days`` (first and last, inclusive day
    numbers) per value of ``keys`` (at least one; read as text, nulls ``None``), in the order
    the keys first appear; each sum adds the rows in table order."""
    inside = (data["day"] >= days[0]) & (data["day"] <= days[1])
    rows = list(zip(*(data[k][inside] for k in keys), strict=True))
    seen = {key: i for i, key in enumerate(dict.fromkeys(rows))}  # in first-appearance order
    group = np.fromiter(map(seen.__getitem__, rows), dtype=np.int64, count=len(rows))
    out: dict[tuple, int] = {}  # the keys read as text (two raw keys may read alike)
    text = [
        out.setdefault(tuple(None if v is None else str(v) for v in key), len(out)) for key in seen
    ]
    group = np.asarray(text, dtype=np.int64)[group]
    sums = [
        np.bincount(group, weights=data[c][inside].astype(float), minlength=len(out))
        for c in columns
    ]
    return dict(zip(out, np.column_stack(sums), strict=True))
