"""Where in a session each tool is used: first check or later, by device.

From the sessions' ordered sequences (:class:`~marginscope.analytics.sequences.Sequences`),
per session and tool its checks ``x_s`` and those that opened the session ``y_s`` (0 or 1),
summed per ``(day, device, tool)`` as ``nx = Σx, xx = Σx², ny = Σy, xy = Σxy`` and the
sessions (:func:`position_table`).

Statistics: per tool, device and span (the month, each phase), the share of the tool's checks
that were the first of their session, ``Σy/Σx`` with sessions as clusters (a session's checks
of one tool are alike; :func:`~marginscope.analytics.clustered.cluster_ratio_from_sums`),
against the same share in the reference (variances added); Benjamini–Hochberg across the
month's position tests; reported (kind ``session_position``) when q ≤ ``fdr`` and the share
moved by at least ``min_points`` (5 points), with ≥ ``min_checks`` checks in both.

"First" means the session's first check *recorded*: a session that started on another site or
a tool without telemetry is not seen. It cannot say whether people arrived for that tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from marginscope.analytics.clustered import cluster_change
from marginscope.analytics.findings import DetailFinding
from marginscope.analytics.formatting import span_text
from marginscope.analytics.grouped import grouped_sums, span_sums
from marginscope.analytics.names import tool_name
from marginscope.analytics.sequences import Sequences
from marginscope.analytics.spikes import bh_adjust

__all__ = ["PositionTest", "position_findings", "position_table", "scan_positions"]

COLUMNS = ("ny", "nx", "ny", "xy", "xx", "sessions")
"""A position cell as the cluster-ratio sums ``(Σy, Σx, Σy², Σxy, Σx², clusters)``
(``y`` is 0 or 1, so ``Σy² = Σy``)."""


def position_table(seqs: Sequences) -> dict[str, np.ndarray]:
    """Per ``(day, device, tool)``: ``nx, xx, ny, xy`` and ``sessions`` (see the module)."""
    if not seqs.code.size:
        return {k: np.zeros(0) for k in ("day", "device", "tool", *COLUMNS[1:])}
    (row, code), per = grouped_sums(
        (seqs.row, seqs.code), {"x": np.ones(seqs.code.size), "y": seqs.pos == 0}
    )
    devices, device = seqs.device_codes()
    w = seqs.n[row].astype(float)
    x, y = per["x"], per["y"]
    (day, dev, tool), sums = grouped_sums(
        (seqs.day[row], device[row], code),
        {"nx": w * x, "xx": w * x * x, "ny": w * y, "xy": w * x * y, "sessions": w},
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


def scan_positions(
    data: dict,
    spans: Sequence[tuple[str, str, str]],
    reference: tuple[str, str],
    *,
    fdr: float = 0.05,
    min_points: float = 0.05,
    min_checks: int = 200,
) -> list[PositionTest]:
    """Position tests per tool and device for ``spans`` against ``reference``; ``data``:
    :func:`position_expr`'s result as arrays."""
    keys = ("tool", "device")
    ref = span_sums(data, keys, COLUMNS, *reference)
    rows = []
    for start, end, scope in spans:
        now = span_sums(data, keys, COLUMNS, start, end)
        for key in sorted(set(now) & set(ref)):
            if min(now[key][1], ref[key][1]) < min_checks:
                continue
            change = cluster_change(tuple(now[key]), tuple(ref[key]))
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
            )
        )
    return out
