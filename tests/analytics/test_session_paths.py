"""Session paths, positions and the funnel: planted against recovered, and the engine's
sequences against a plain SQL window.

One world from ``sessions_sim.py`` with, in a phase, P(margin-call next | liquidation-price)
raised from 0.15 to 0.5 and, on mobile only, futures P&L as the first check of 45 % of
sessions (15 % normally). The truths are exact (the Markov chain and the length distribution),
not re-estimated. Printed with ``-s`` and written to ``test-artifacts/session_paths_planted.txt``.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from marginscope.analytics.funnel import funnel_findings, funnel_steps, funnel_table, scan_funnel
from marginscope.analytics.paths import END, path_findings, path_table, scan_paths
from marginscope.analytics.positions import position_findings, position_table, scan_positions
from marginscope.analytics.sequences import sequences
from marginscope.analytics.sources import open_events
from marginscope.calculators import REGISTRY

from .sessions_sim import (
    DEVICES,
    FIRST,
    FOLLOWING,
    INITIAL,
    REFERENCE,
    Effect,
    World,
    first_weights,
    planted_matrix,
    show,
    simulate,
    spans,
    true_first_share,
    true_funnel,
    true_path_share,
)

PHASE = ("2025-11-10", "2025-11-20")
SPANS = spans(PHASE)
LIQUIDATION, MARGIN_CALL = REGISTRY["liquidation"].tool, REGISTRY["margin-call"].tool
FUTURES = REGISTRY["pnl"].tool
PLANTED = (
    Effect(*PHASE, transition=(LIQUIDATION, MARGIN_CALL, 0.5)),
    Effect(*PHASE, first_tool=("mobile", FUTURES, 0.45)),
)


@pytest.fixture(scope="module")
def world():
    events = simulate(81, PLANTED)
    return events, sequences(open_events(events), FIRST, FOLLOWING)


def _start(device: str | None = None, planted: bool = False) -> np.ndarray:
    start = np.asarray(INITIAL) / sum(INITIAL)
    if planted and device == "mobile":
        return first_weights(start, (FUTURES, 0.45))
    if planted and device is None:  # the device mixture of the phase
        mix = np.asarray(World().device_mix)
        mobile = first_weights(start, (FUTURES, 0.45))
        return mix[0] * mobile + (1 - mix[0]) * start
    return start


def test_sequences_equal_a_plain_sql_window(world):
    events, seqs = world
    con = duckdb.connect()
    con.register("events", events)
    rows = con.execute("""
        SELECT tool, nxt, count(*) FROM (
          SELECT tool, lead(tool) OVER w AS nxt, row_number() OVER w AS pos
          FROM events WINDOW w AS (PARTITION BY session ORDER BY ts, event_id))
        WHERE pos = 1 GROUP BY ALL""").fetchall()
    sql = {(a, b or END): n for a, b, n in rows}
    paths = path_table(seqs)
    engine: dict[tuple[str, str], float] = {}
    for a, b, n in zip(paths["tool"], paths["next_tool"], paths["n"], strict=True):
        engine[(a, b)] = engine.get((a, b), 0) + n
    assert engine == sql
    assert (
        int(seqs.n.sum()) == con.execute("SELECT count(DISTINCT session) FROM events").fetchone()[0]
    )
    assert seqs.truncated == 0


def test_planted_paths_positions_and_funnel_are_recovered_side_by_side(world):
    _, seqs = world
    normal, phase = planted_matrix(), planted_matrix((LIQUIDATION, MARGIN_CALL, 0.5))
    lines = [
        "SESSIONS (planted vs recovered [95% CI, sessions as clusters]; phase "
        f"{PHASE[0]}..{PHASE[1]} vs the reference {REFERENCE[0]}..{REFERENCE[1]})"
    ]

    paths = scan_paths(path_table(seqs), SPANS, REFERENCE)
    path = (LIQUIDATION, MARGIN_CALL, END)
    test = next(t for t in paths if t.start == PHASE[0] and t.path == path)
    truth = true_path_share(path, phase, _start(planted=True))
    truth0 = true_path_share(path, normal, _start())
    lines.append(
        f"path {' > '.join(path)}: planted {truth0:.4f} -> {truth:.4f}, recovered "
        f"{test.normal_share:.4f} -> {test.share:.4f} [{test.low:.4f}, {test.high:.4f}],"
        f" q {test.q_value:.2g}, {'flagged' if test.flagged else 'not flagged'}"
    )
    assert test.flagged and test.low <= truth <= test.high
    assert test.normal_share == pytest.approx(truth0, abs=0.004)
    finding = next(
        f.to_dict()
        for f in path_findings(paths)
        if f.start == PHASE[0] and tuple(f.fields["path"]) == path
    )
    assert finding["ci"][0] <= finding["share"] <= finding["ci"][1]
    assert finding["top_paths"] and finding["top_paths"][0]["share"] >= finding["share"] - 1e-9

    positions = scan_positions(position_table(seqs), SPANS, REFERENCE)
    for device in ("mobile", "desktop"):
        test = next(
            t for t in positions if t.start == PHASE[0] and t.tool == FUTURES and t.device == device
        )
        truth = true_first_share(FUTURES, phase, _start(device, planted=True))
        lines.append(
            f"position: {FUTURES} first in session on {device}: planted "
            f"{true_first_share(FUTURES, normal, _start()):.3f} -> {truth:.3f}, "
            f"recovered {test.normal_first_share:.3f} -> {test.first_share:.3f} "
            f"[{test.low:.3f}, {test.high:.3f}], "
            f"{'flagged' if test.flagged else 'not flagged'}"
        )
        assert test.low <= truth <= test.high
        assert test.flagged == (device == "mobile")
    assert any(f.fields["device"] == "mobile" for f in position_findings(positions))

    funnel = scan_funnel(funnel_table(seqs), SPANS, REFERENCE)
    steps = [list(step) for step in funnel_steps()]
    test = next(t for t in funnel if t.start == PHASE[0])
    reach, reach0 = (
        true_funnel(steps, phase, _start(planted=True)),
        true_funnel(steps, normal, _start()),
    )
    for k, step in enumerate(test.steps):
        truth, truth0 = reach[k + 1] / reach[k], reach0[k + 1] / reach0[k]
        lines.append(
            f"funnel step {k + 1}->{k + 2}: planted {truth0:.3f} -> {truth:.3f}, "
            f"recovered {step.normal_probability:.3f} -> {step.probability:.3f} "
            f"[{step.low:.3f}, {step.high:.3f}], q {test.q_values[k]:.2g}"
        )
        assert step.low <= truth <= step.high
        assert step.normal_probability == pytest.approx(truth0, abs=0.02)
    assert test.flagged
    finding = next(f.to_dict() for f in funnel_findings(funnel) if f.start == PHASE[0])
    assert finding["steps"] == steps and len(finding["conversion"]) == 2

    # both plants move other paths and other tools' positions too (fewer sessions can start
    # with another tool): false flags are counted in the null worlds below
    lines.append(
        f"all path / position flags in the phase: "
        f"{sum(t.flagged for t in paths if t.start == PHASE[0])} / "
        f"{sum(t.flagged for t in positions if t.start == PHASE[0])}"
    )
    show("session_paths_planted.txt", "\n".join(lines))


def test_a_null_world_raises_few_session_findings():
    counts = []
    for seed in (91, 92):
        seqs = sequences(open_events(simulate(seed)), FIRST, FOLLOWING)
        flagged = [t for t in scan_paths(path_table(seqs), SPANS, REFERENCE) if t.flagged]
        flagged += [t for t in scan_positions(position_table(seqs), SPANS, REFERENCE) if t.flagged]
        flagged += [t for t in scan_funnel(funnel_table(seqs), SPANS, REFERENCE) if t.flagged]
        counts.append(len(flagged))
    print(f"null worlds: false path, position and funnel findings per month {counts}")
    assert max(counts) <= 2
    assert DEVICES[0] == "mobile"


def test_a_session_longer_than_the_packed_order_is_counted_not_hidden():
    import pyarrow as pa

    from marginscope.analytics.packed_sequences import KEYS, packing

    tools = [LIQUIDATION, MARGIN_CALL, FUTURES]
    kept = KEYS * packing(len(tools))[1]  # 124 checks with three tools
    checks = kept + 6
    events = pa.table(
        {
            "event_id": [f"syn-long-{i:03d}" for i in range(checks)],
            "ts": pa.array(
                [1_762_000_000_000_000 + i * 1_000_000 for i in range(checks)],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "tool": [tools[i % 3] for i in range(checks)],
            "device": ["mobile"] * checks,
            "country": ["DE"] * checks,
            "session": ["s-long"] * checks,
        }
    )
    seqs = sequences(open_events(events), FIRST, FOLLOWING)
    assert seqs.truncated == 1 and seqs.code.size == kept
    assert [seqs.vocabulary[c] for c in seqs.code[:4]] == [*tools, tools[0]]
