"""The JSON report is the contract other programs read: its fields, types and numbers."""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import pytest

from marginscope.analytics.findings import DETAIL_KINDS
from marginscope.report import to_json
from marginscope.telemetry.schema import tool_ids

SEGMENTS = {"all", "device:mobile", "device:desktop", "region:US", "region:rest"}
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def document(report):
    def no_nan(token):
        raise AssertionError(f"non-JSON number {token}")

    return json.loads(to_json(report), parse_constant=no_nan)


def test_summary_counts_match_plain_sql_on_the_same_file(document, events_db):
    con = duckdb.connect(str(events_db), read_only=True)
    setups, countries, visitors = con.execute(
        "SELECT count(*), count(DISTINCT country), count(DISTINCT visitor) FROM events "
        "WHERE ts >= TIMESTAMPTZ '2025-11-01 00:00:00+00' "
        "AND ts < TIMESTAMPTZ '2025-12-01 00:00:00+00'").fetchone()
    con.close()
    summary = document["summary"]
    assert (summary["setups"], summary["countries"], summary["visitors"]) == (
        setups, countries, visitors)


def test_every_finding_carries_the_contract_fields(document):
    findings = document["findings"]
    assert {f["kind"] for f in findings} >= {"spike", "share_shift", "phase"}
    for f in findings:
        assert ISO_DAY.match(f["date"])
        assert f["tool"] is None or f["tool"] in tool_ids()
        if f["kind"] in DETAIL_KINDS:  # issue 21 kinds: spans with their own fields
            assert ISO_DAY.match(f["start"]) and f["start"] <= f["end"] and f["text"]
            assert 0 <= f["q_value"] <= 1
            continue
        assert f["segment"] in SEGMENTS
        assert isinstance(f["observed"], int) and isinstance(f["expected"], float)
        assert isinstance(f["market"], list)
        if f["kind"] == "phase":
            assert ISO_DAY.match(f["start"]) and ISO_DAY.match(f["end"]) and f["start"] <= f["end"]
            continue
        low, high = f["lift_ci"]
        assert low <= f["lift"] <= high
        if f["kind"] == "spike":
            assert f["lift"] == pytest.approx(f["observed"] / f["expected"] - 1, abs=2e-6)
        if f["kind"] == "share_shift":
            assert 0 <= f["share"] <= 1 and 0 < f["normal_share"] < 1
            assert f["lift"] == pytest.approx(f["share"] / f["normal_share"] - 1, abs=1e-4)


def test_lift_is_a_fraction_and_the_headline_day_is_there(document):
    crash = [f for f in document["findings"] if f["kind"] == "spike" and f["date"] == "2025-11-21"
             and f["segment"] == "all" and f["tool"] == "margin_call"]
    assert len(crash) == 1
    assert 0.9 < crash[0]["lift"] < 2.5  # planted +150%: a fraction, not a percent
    assert crash[0]["market"][0]["wording"] == "coincided with"
    assert crash[0]["market"][0]["source"]


def test_the_report_is_labelled_synthetic_everywhere(document, report):
    assert document["synthetic"] is True and document["metadata"]["synthetic"] is True
    assert document["metadata"]["reference"] == ["2025-10-04", "2025-10-31"]
    assert "SYNTHETIC" in document["metadata"]["label"]
    assert "SYNTHETIC" in document["takeaways"][0]
    assert document["methodology"][0]["title"] == "Synthetic data"
    assert all("synthetic data" in chart.narrow.decode() for chart in report.charts)


def test_market_context_is_cited_and_never_causal(document):
    assert document["market"]["events"] and all(e["source"] for e in document["market"]["events"])
    text = json.dumps(document).lower()
    assert "caused" not in text and "because of" not in text


def test_a_month_still_running_is_not_compared_on_its_partial_day(events_db):
    from marginscope.report import build_report

    partial = build_report(events_db, "2025-11", charts=False, today=date(2025, 11, 25))
    assert all(f.date < "2025-11-25" for f in partial.findings)
    assert any("incomplete" in note for note in partial.notes)
