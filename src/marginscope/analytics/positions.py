"""Where in a session each tool is used: first check or later, by device.

From the sessions' ordered sequences (:class:`~marginscope.analytics.packed_sequences.Sequences`),
per session and tool its checks ``x_s`` and those that opened the session ``y_s`` (0 or 1),
summed per ``(day, device, tool)`` as ``nx = Σx, xx = Σx², ny = Σy, xy = Σxy`` and the
sessions (:func:`position_table`).

Statistics: per tool, device and span (the month, each phase), the share of the tool's checks
that were the first of their session, ``Σy/Σx`` with sessions as clusters (a session's checks
of one tool are alike; :func:`~marginscope.analytics.clustered.cluster_ratio_from_sums`),
against the same share in the reference (variances added); Benjamini–Hochberg across the
month's position tests; reported (kind ``session_position``) when q ≤ ``fdr`` and the share
moved by at least ``min_points`` (5 points), with ≥ ``min_checks`` checks in both.

Small cells (:mod:`.disclosure`): ``first_share`` times ``checks`` is a count, so a finding is
withheld unless the first checks and the other checks are 0 or at least k in the span and in
the reference, and the tool's checks per device in the span (published as ``checks``) pass
complementary suppression against the tool's total (so no device's checks are the total
minus the published ones); the month and its phases are protected together (the month's
cells minus a phase's are the rest of the month's,
:func:`~marginscope.analytics.disclosure.spans_hidden`).

"First" means the session's first check *recorded*: a session that started on another site or
a tool without telemetry is not seen. It cannot say whether people arrived for that tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from marginscope.analytics.clustered import cluster_change
from marginscope.analytics.disclosure import safe_count, safe_share, spans_hidden
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.grouped import code_bits, grouped_sums, span_sums
from marginscope.analytics.names import tool_name
from marginscope.analytics.packed_sequences import Sequences
from marginscope.analytics.spikes import bh_adjust

__all__ = ["PositionTest", "position_findings", "position_table", "scan_positions"]

COLUMNS = ("ny", "nx", "ny", "xy", "xx", "sessions")
"""A position cell as the cluster-ratio sums ``(Σy, Σx, Σy², Σxy, Σx², clusters)``
(``y`` is 0 or 1, so ``Σy² = Σy``)."""


def position_table(seqs: Sequences) -> dict[str, np.ndarray]:
    """Per ``(day, device, tool)``: ``nx, xx, ny, xy`` and ``sessions`` (see the module)."""
    if not seqs.code.size:
        return {k: np.zeros(0) for k in ("day", "device", "tool", *COLUMNS[1:])}
    bits = code_bits(len(seqs.vocabulary))
    cell, x = np.unique((seqs.row << bits) | seqs.code, return_counts=True)  # (row, tool): checks
    row, code = cell >> bits, cell & ((1 << bits) - 1)
    y = code == seqs.code[seqs.offsets[row]]  # the tool opened the session: its one first check
    devices, device = seqs.device_codes()
    w = seqs.n[row].astype(float)
    wx = w * x  # whole numbers: the products below are exact
    (day, dev, tool), sums = grouped_sums(
        (seqs.day[row], device[row], code),
        {"nx": wx, "xx": wx * x, "ny": w * y, "xy": wx * y, "sessions": w},
    )
    return {
        "day": day,
        "device": devices[dev],
        "tool": np.asarray(seqs.vocabulary, dtype=object)[tool],
        **sums,
    }


@dataclass(frozen=True)
class PositionTest:
    """The share of a tool's checks that opened their session, on one device, in a span."""

    start: str
    end: str
    scope: str
    tool: str
    device: str
    first_share: float
    low: float
    high: float
    normal_first_share: float
    checks: int
    sessions: int
    p_value: float
    q_value: float = 1.0
    flagged: bool = False
    publishable: bool = True
    """No count under k can be recovered from the finding (see the module docstring)."""


def _hidden(
    data: dict, spans: Sequence[tuple[str, str, str]], k: int
) -> tuple[dict[tuple, list[set]], dict[str, list[set]]]:
    """Per (tool, device), the span's cells (first checks, later checks) that may not be
    published, and per tool the devices whose checks may not: the month and its phases
    together (:func:`~marginscope.analytics.disclosure.spans_hidden`)."""
    sums: dict[tuple[int, int], dict] = {}

    def atom(first: int, last: int) -> dict:
        if (first, last) not in sums:
            days = (str(np.datetime64(day, "D")) for day in (first, last))
            sums[(first, last)] = span_sums(data, ("tool", "device"), COLUMNS, *days)
        return sums[(first, last)]

    keys = {(str(t), str(d)) for t, d in zip(data["tool"], data["device"], strict=True)}
    cells = {
        key: spans_hidden(
            lambda a, b, key=key: _first_later(atom(a, b), key),
            spans,
            k,
        )
        for key in keys
    }
    devices = {
        tool: spans_hidden(
            lambda a, b, tool=tool: {d: v[1] for (t, d), v in atom(a, b).items() if t == tool},
            spans,
            k,
        )
        for tool in {t for t, _ in keys}
    }
    return cells, devices


def _first_later(sums: dict, key: tuple) -> dict[str, float]:
    """A (tool, device)'s checks that opened their session and the others."""
    ny, nx = sums[key][:2] if key in sums else (0.0, 0.0)
    return {"first": float(ny), "later": float(nx - ny)}


def scan_positions(
    data: dict,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    fdr: float = 0.05,
    min_points: float = 0.05,
    min_checks: int = 200,
    k: int = 10,
) -> list[PositionTest]:
    """Position tests per tool and device for ``spans`` against ``reference``; ``data``:
    :func:`position_expr`'s result as arrays; tests that would reveal a count under ``k``
    are marked not publishable."""
    keys = ("tool", "device")
    ref = span_sums(data, keys, COLUMNS, *reference)
    cells, devices = _hidden(data, spans, k)
    rows = []
    for i, (start, end, scope) in enumerate(spans):
        now = span_sums(data, keys, COLUMNS, start, end)
        for key in sorted(set(now) & set(ref)):
            if min(now[key][1], ref[key][1]) < min_checks:
                continue
            change = cluster_change(tuple(now[key]), tuple(ref[key]))
            publishable = (
                not cells[key][i]
                and safe_share(ref[key][0], ref[key][1], k)
                and safe_count(now[key][5], k)
                and key[1] not in devices[key[0]][i]
            )
            rows.append(
                PositionTest(
                    start,
                    end,
                    scope,
                    key[0],
                    key[1],
                    change.probability,
                    change.low,
                    change.high,
                    change.normal_probability,
                    change.trials,
                    change.clusters,
                    change.p_value,
                    publishable=publishable,
                )
            )
    q = bh_adjust([r.p_value for r in rows])
    return [
        replace(
            r,
            q_value=float(qv),
            flagged=bool(qv <= fdr and abs(r.first_share - r.normal_first_share) >= min_points),
        )
        for r, qv in zip(rows, q, strict=True)
    ]


def position_findings(tests: Sequence[PositionTest]) -> list[DetailFinding]:
    """The flagged positions as ``session_position`` findings."""
    out = []
    for t in tests:
        if not t.flagged:
            continue
        text = (
            f"{span_text(t.start, t.end)}: on {t.device}, {t.first_share:.0%} of "
            f"{tool_name(t.tool)} checks opened their session (95% CI {t.low:.0%}–{t.high:.0%},"
            f" sessions as clusters; {t.checks:,} checks) vs {t.normal_first_share:.0%} in the "
            "reference."
        )
        out.append(
            DetailFinding.of(
                "session_position",
                t,
                text,
                {
                    "tool": t.tool,
                    "segment": f"device:{t.device}",
                    "device": t.device,
                    "first_share": t.first_share,
                    "ci": [t.low, t.high],
                    "normal_first_share": t.normal_first_share,
                    "checks": t.checks,
                    "sessions": t.sessions,
                    "scope": t.scope,
                },
                withheld=not t.publishable,
            )
        )
    return out
