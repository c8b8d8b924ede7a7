"""Distinct session sequences packed into integers, and unpacked for NumPy: the packing
(:data:`KEYS`, :func:`packing`, :func:`seq_capacity`), the ``seq`` path's NumPy steps
(:func:`unordered`, :func:`compact`) and the result, :class:`Sequences`. The engine side
that fills them is :mod:`.sequences`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "GROUP",
    "KEYS",
    "REGION",
    "Sequences",
    "compact",
    "packing",
    "seq_capacity",
    "unordered",
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


def unordered(mask: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Whether ``seq`` cannot order a session of ``length`` checks whose ``seq`` values
    below the capacity OR to ``mask`` (bit ``seq`` set): it can exactly when the mask has one
    bit per check — a NULL ``seq`` or one past the capacity adds no bit, and two checks
    sharing a ``seq`` set one bit, so each leaves fewer bits than checks."""
    mask = np.asarray(mask, dtype=np.int64)
    return np.bitwise_count(mask) != np.asarray(length)


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
