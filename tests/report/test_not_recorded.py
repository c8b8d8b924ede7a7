"""The methodology states what was not recorded (issue 15): the persisted per-day counts of
dropped and lost calculations, and the share of events whose country came from the client's
time zone; both in ``metadata`` of the JSON contract (new fields, nothing renamed)."""

from __future__ import annotations

import json
import shutil
from datetime import date

import duckdb
import pytest

from marginscope.report import build_report
from marginscope.report.render import to_html, to_json, to_markdown
from marginscope.telemetry.store import add_counts, connect, ensure_schema

# per-day counts as the sinks persist them; the December day is outside the month
COUNTS = {
    (date(2025, 11, 3), "over_budget"): 140,
    (date(2025, 11, 17), "over_budget"): 60,
    (date(2025, 11, 17), "bot"): 35,
    (date(2025, 11, 30), "lost"): 7,
    (date(2025, 12, 1), "bot"): 1000,
}


@pytest.fixture(scope="module")
def live_db(events_db, tmp_path_factory):
    """The synthetic month with counts and country sources, as a live store would hold them."""
    path = tmp_path_factory.mktemp("live") / "events.duckdb"
    shutil.copy(events_db, path)
    con = connect(path)
    ensure_schema(con)  # an older store: the column and the counts table are added
    con.execute(
        "UPDATE events SET country_source = CASE WHEN hash(event_id) % 5 = 0 THEN "
        "'time_zone' WHEN hash(event_id) % 5 = 1 THEN NULL ELSE 'header' END"
    )
    add_counts(con, COUNTS)
    con.close()
    return path


@pytest.fixture(scope="module")
def live_report(live_db):
    return build_report(live_db, "2025-11", k=10, charts=False, today=date(2026, 1, 1))


def _truth(db) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    row = con.execute(
        "SELECT count(*) FILTER (WHERE country_source = 'time_zone'), count(*) "
        "FROM events WHERE ts >= TIMESTAMPTZ '2025-11-01 00:00:00+00' AND "
        "ts < TIMESTAMPTZ '2025-12-01 00:00:00+00'"
    ).fetchone()
    con.close()
    return row


def test_metadata_gives_the_counts_and_the_country_sources(live_report, live_db):
    data = json.loads(to_json(live_report))
    assert data["metadata"]["not_recorded"] == {"bot": 35, "lost": 7, "over_budget": 200}
    time_zone, total = _truth(live_db)
    sources = data["metadata"]["country_sources"]
    assert sources["time_zone"] == time_zone > 0
    assert sum(sources.values()) == total == data["summary"]["setups"]
    assert sources["geoip"] == 0 and sources["unknown"] > 0


def test_the_methodology_states_them_in_words(live_report, live_db):
    time_zone, total = _truth(live_db)
    section = next(s for s in live_report.methodology if s["title"].startswith("What was not"))
    text = " ".join(section["paragraphs"])
    assert text.startswith(
        "242 calculations were not recorded in 2025-11: 200 over the "
        "per-client budget, 35 from crawlers and HTTP clients, 7 lost with "
        "a sink process that died."
    )
    assert f"{time_zone / total:.1%} of the month's events took their country from it" in text
    for rendered in (to_markdown(live_report, live_db.parent / "charts"), to_html(live_report)):
        assert "242 calculations were not recorded" in rendered
        assert "lower-trust source" in rendered


def test_a_source_without_counts_says_so_and_keeps_every_old_field(report):
    data = report.to_dict()
    assert data["metadata"]["not_recorded"] == {}  # the simulator's store: nothing dropped
    assert data["metadata"]["country_sources"]["unknown"] == data["summary"]["setups"]
    assert {
        "synthetic",
        "synthetic_share",
        "label",
        "source",
        "engine",
        "k",
        "suppressed_cells",
        "notes",
    } <= set(data["metadata"])
    section = next(s for s in report.methodology if s["title"].startswith("What was not"))
    assert section["paragraphs"][0].startswith("0 calculations were not recorded in 2025-11.")
