"""Transitions: a planted change of P(next = margin-call | liquidation-price), recovered.

Sessions from ``sessions_sim.py`` (a Markov order of tools); the session order comes from the
engine (DuckDB through Ibis: each session's tools packed in order, ``sessions.sequences``) and
the next check from NumPy, checked against a plain SQL ``lead`` window. Printed with ``-s`` and
written to ``test-artifacts/transitions_planted.txt``.
"""

from __future__ import annotations

import duckdb
import pytest

from marginscope.analytics.sequences import sequences
from marginscope.analytics.sources import open_events
from marginscope.analytics.transitions import (
    scan_transitions,
    transition_findings,
    transition_tables,
)

from .sessions_sim import FIRST, FOLLOWING, REFERENCE, Effect, show, simulate, spans

PHASE = ("2025-11-10", "2025-11-20")
SPANS = spans(PHASE)


def _tables(events):
    return transition_tables(sequences(open_events(events), FIRST, FOLLOWING))


@pytest.fixture(scope="module")
def planted():
    events = simulate(61, (Effect(*PHASE, transition=("liquidation_price", "margin_call", 0.5)),))
    return events, _tables(events)


def test_next_check_counts_equal_a_plain_sql_lead(planted):
    events, tables = planted
    con = duckdb.connect()
    con.register("events", events)
    sql = con.execute("""
        SELECT count(*) FROM (
          SELECT tool, lead(tool) OVER (PARTITION BY session ORDER BY ts, event_id) AS nxt
          FROM events) WHERE tool = 'liquidation_price' AND nxt = 'margin_call'""").fetchone()[0]
    assert (
        int(
            tables.cells["n"][
                (tables.cells["tool"] == "liquidation_price")
                & (tables.cells["next_tool"] == "margin_call")
            ].sum()
        )
        == sql
    )


def test_a_planted_transition_change_is_recovered_side_by_side(planted):
    _, tables = planted
    tests = scan_transitions(tables, SPANS, REFERENCE)
    rows = {(t.start, t.from_tool, t.to_tool): t for t in tests}
    test = rows[(PHASE[0], "liquidation_price", "margin_call")]
    lines = [
        "TRANSITIONS (P(margin-call next | liquidation-price); planted vs recovered [95% CI])",
        f"reference {REFERENCE[0]}..{REFERENCE[1]}: planted 0.150, recovered "
        f"{test.normal_probability:.3f}",
        f"phase {PHASE[0]}..{PHASE[1]}: planted 0.500, recovered {test.probability:.3f} "
        f"[{test.low:.3f}, {test.high:.3f}], q {test.q_value:.2g}, "
        f"{'flagged' if test.flagged else 'not flagged'}",
    ]
    false = [t for t in tests if t.flagged and t.from_tool != "liquidation_price"]
    lines.append(f"flags on untouched origins (false): {len(false)}")
    text = "\n".join(lines)
    show("transitions_planted.txt", text)
    assert test.flagged
    assert test.low <= 0.5 <= test.high
    assert test.normal_probability == pytest.approx(0.15, abs=0.02)
    assert len(false) <= 1
    finding = next(
        f.to_dict()
        for f in transition_findings(tests)
        if f.start == PHASE[0] and f.fields["to_tool"] == "margin_call"
    )
    assert {
        "from_tool",
        "to_tool",
        "probability",
        "normal_probability",
        "ci",
        "start",
        "end",
        "text",
        "q_value",
    } <= set(finding)
    assert finding["ci"][0] <= finding["probability"] <= finding["ci"][1]


def test_a_null_world_raises_few_transition_findings():
    counts = []
    for seed in (71, 72):
        tests = scan_transitions(_tables(simulate(seed)), SPANS, REFERENCE)
        counts.append(sum(t.flagged for t in tests))
    print(f"null worlds: false transition findings per month {counts}")
    assert max(counts) <= 2
