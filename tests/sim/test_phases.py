"""The phase schedule the simulator is given: anchored on real market events, and recovered
by the analytics' phase search from the simulated events (dates within ±1 day)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from marginscope.market import detect_events, load_snapshot
from marginscope.sim.behaviour import NOVEMBER_2025_PHASES

analytics = pytest.importorskip("marginscope.analytics",
                                reason="marginscope.analytics is not importable")


def _ms(day: str) -> int:
    return int(np.datetime64(day, "ms").astype(np.int64))


def test_each_phase_starts_on_a_real_market_event():
    events = detect_events(load_snapshot(), start_ms=_ms("2025-11-01"), end_ms=_ms("2025-12-01"))
    by_kind: dict[str, list] = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    starts = {p.name: p.start for p in NOVEMBER_2025_PHASES}
    first_break = min(e.time for e in by_kind["round_number_break"])
    assert starts["defensive checks"] == first_break == "2025-11-04T00:00:00Z"
    thirty = [e for e in by_kind["drawdown_threshold"] if e.details["threshold"] == 0.3]
    assert starts["margin defense"] == thirty[0].time
    longest = [e for e in by_kind["funding_negative_run"] if e.details["longest"]]
    assert starts["repositioning"] == longest[0].time == "2025-11-23T16:00:00Z"


def test_the_report_timeline_recovers_the_given_phases(small):
    from marginscope.report import build_report

    report = build_report(small.table, "2025-11", charts=False, today=date(2026, 1, 1))
    timeline = report.timeline
    assert report.synthetic
    given = [p for p in NOVEMBER_2025_PHASES if p.start >= "2025-11"]
    recovered = [p for p in timeline if p["theme"]]
    assert [p["theme"] for p in recovered] == [p.name for p in given]
    for phase, found in zip(given, recovered, strict=True):
        start = date.fromisoformat(phase.start_day)
        if phase.start[11:13] >= "12":  # a phase that begins late in the day shows from the next
            start = date.fromordinal(start.toordinal() + 1)
        assert abs((date.fromisoformat(found["start"]) - start).days) <= 1, (phase, found)
    assert timeline[0]["start"] == "2025-11-01" and timeline[0]["theme"] is None  # calm
