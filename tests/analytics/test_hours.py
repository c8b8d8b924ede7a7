"""Hour of day: desktop checks planted 3 hours later in a phase, recovered from the engine.

Printed with ``-s`` and written to ``test-artifacts/hours_planted.txt``.
"""

from __future__ import annotations

import duckdb
import numpy as np

from marginscope.analytics.hours import hour_findings, hour_tables, scan_hours
from marginscope.analytics.local_time import dst_changes
from marginscope.analytics.sources import open_events

from .sessions_sim import FIRST, FOLLOWING, HOURS, REFERENCE, Effect, show, simulate, spans

PHASE = ("2025-11-15", "2025-11-25")
SPANS = spans(PHASE)


def test_planted_late_desktop_hours_are_recovered_side_by_side():
    events = simulate(101, (Effect(*PHASE, desktop_hours=3),))
    tables = hour_tables(open_events(events), FIRST, FOLLOWING)
    con = duckdb.connect()
    con.register("events", events)
    sql = con.execute(
        "SELECT count(*) FROM events WHERE device = 'desktop' AND hour(ts AT TIME ZONE 'UTC') = 17"
    ).fetchone()[0]
    assert tables.matrix("device:desktop", np.arange(20000, 20500)).sum(axis=0)[17] == sql
    tests = scan_hours(tables, SPANS, REFERENCE)
    rows = {(t.start, t.segment): t for t in tests}
    desktop = rows[(PHASE[0], "device:desktop")]
    base = HOURS / HOURS.sum()
    planted_tv = 0.5 * np.abs(np.roll(base, 3) - base).sum()
    shift = int(
        np.argmax([np.dot(desktop.observed, np.roll(desktop.normal, k)) for k in range(24)])
    )
    lines = [
        "HOURS (desktop, phase Nov 15–25 vs reference; planted vs recovered)",
        f"shift of the profile: planted +3 h, recovered {shift:+d} h (busiest hour "
        f"{int(np.argmax(desktop.normal))} → {int(np.argmax(desktop.observed))} UTC)",
        f"TV: planted {planted_tv:.3f}, recovered {desktop.tv:.3f}, q {desktop.q_value:.2g}",
    ]
    false = [
        t
        for t in tests
        if t.flagged
        and t.segment != "device:desktop"
        and t.segment not in ("region:US", "region:rest")
    ]
    lines.append(f"flags on untouched device segments (false): {len(false)}")
    text = "\n".join(lines)
    show("hours_planted.txt", text)
    assert desktop.flagged
    assert shift == 3
    assert abs(desktop.tv - planted_tv) < 0.04
    assert not false
    found = [f.to_dict() for f in hour_findings(tests)]
    f = next(f for f in found if f["segment"] == "device:desktop" and f["start"] == PHASE[0])
    assert len(f["observed"]) == 24 and len(f["normal"]) == 24 and f["tool"] is None


def test_a_null_world_raises_no_hour_findings():
    tests = scan_hours(hour_tables(open_events(simulate(111)), FIRST, FOLLOWING), SPANS, REFERENCE)
    utc = [t for t in tests if t.hours == "UTC"]
    print(f"null world: false hour findings {sum(t.flagged for t in utc)} of {len(utc)}")
    assert not any(t.flagged for t in utc)
    # the simulator's hours are fixed in UTC, so in Berlin time its German checks *did* move
    # an hour on 26 Oct: local-time profiles see that (test_local_hours.py has a local null)
    local = [t for t in tests if t.hours == "local"]
    assert [t.segment for t in local if t.flagged] in ([], ["local:DE"], ["local:DE"] * 2)


def test_clock_changes_are_the_eu_and_us_rules():
    # 2025: EU 30 Mar and 26 Oct (last Sundays), U.S. 9 Mar and 2 Nov.
    assert dst_changes("2025-01-01", "2025-12-31") == [
        "2025-03-09",
        "2025-03-30",
        "2025-10-26",
        "2025-11-02",
    ]
    assert dst_changes("2025-11-03", "2025-11-30") == []
