"""Small cells: nothing under k checks is published, in any cut of the report."""

from __future__ import annotations

from datetime import date

import pytest

from marginscope.analytics import DailyCube
from marginscope.report import report_from_cube
from marginscope.sim.planted import NOVEMBER_2025, planted_month


@pytest.fixture(scope="module", params=[10, 40])
def small(request):
    # a tenth of the traffic: the long tail of countries and the tablet/unknown devices give
    # many cells under k
    month = planted_month(2, NOVEMBER_2025, scale=0.1)
    cube = DailyCube(days=month.days, tools=month.tools, devices=month.devices,
                     countries=month.countries, counts=month.counts)
    return request.param, report_from_cube(cube, "2025-11", k=request.param, charts=False,
                                           today=date(2026, 1, 1))


def test_no_country_under_k_is_listed_and_the_merged_rest_says_how_many(small):
    k, report = small
    named = [row for row in report.countries if row["country"] != "other"]
    assert named and all(row["checks"] >= k for row in named)
    other = report.countries[-1]
    assert other["country"] == "other" and other["countries"] > 0
    assert other["checks"] is None or other["checks"] >= k


def test_daily_cells_under_k_are_null_and_counted(small):
    k, report = small
    cells = [v for group in ("checks", "devices", "regions")
             for series in report.daily[group].values() for v in series]
    assert all(v is None or v == 0 or v >= k for v in cells)
    assert report.suppressed_cells > 0
    assert report.to_dict()["metadata"]["suppressed_cells"] == report.suppressed_cells


def test_no_finding_rests_on_fewer_than_k_checks(small):
    k, report = small
    assert report.findings
    for finding in report.findings:
        assert finding.observed >= k
        if finding.kind == "spike":
            assert finding.expected >= k


def test_totals_by_tool_and_device_hide_small_cells(small):
    k, report = small
    for group in ("tools", "devices"):
        assert all(v is None or v >= k for v in report.summary[group].values())
