"""The report beside the agents' truth (today's analytics, ``marginscope.report``): its
phases start within a day of the agents' own phases (change points of *why* they came), it
flags the month's lowest-low day, and on the calm counterfactual it flags (almost) nothing."""

from __future__ import annotations

from datetime import date

import pytest

from marginscope.cli.demo import compare


@pytest.fixture(scope="module")
def comparison(small):
    from marginscope.report import build_report

    report = build_report(small.table, "2025-11", charts=False, today=date(2026, 1, 1))
    return report, compare(report, small)


def test_the_report_is_built_on_synthetic_events(comparison):
    report, _ = comparison
    assert report.synthetic and report.synthetic_share == 1.0


def test_report_phases_start_within_a_day_of_the_agents_phases(comparison):
    report, result = comparison
    assert len(report.timeline) >= 2  # the month is not one undivided mix
    for row in result["phases"]:
        assert abs(row["days_apart"]) <= 1, row


def test_the_lowest_low_day_is_flagged_within_a_day(comparison):
    _, result = comparison
    lowest = result["market"]["lowest_low"]["day"]
    rows = [r for r in result["peaks_flagged"] if r["day"] == lowest]
    assert rows and all(r["days_apart"] is not None and abs(r["days_apart"]) <= 1 for r in rows)


def test_on_the_calm_path_the_report_flags_at_most_a_handful_of_days(calm):
    from marginscope.report import build_report

    report = build_report(calm.table, "2025-11", charts=False, today=date(2026, 1, 1))
    flagged = {f.date for f in report.findings if f.kind != "phase"}
    assert len(flagged) <= 3, sorted(flagged)
    assert len([p for p in report.timeline if p["theme"]]) <= 1
