"""Complementary suppression: a month with 3 U.S. checks and a tool used 4 times.

Nothing published — report JSON, Markdown, HTML, the CSV files beside them and the
dashboard's JSON — may give either count back, directly or as a published total minus its
published parts.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from marginscope.analytics.disclosure import Disclosure, merge_small, protect_parts
from marginscope.report import build_report
from marginscope.report.render import to_csv, to_html, to_markdown
from marginscope.sim.planted import NOVEMBER_2025, planted_month, write_duckdb
from marginscope.web import create_app
from marginscope.web.settings import WebSettings

pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

K = 10
US_CHECKS = 3
RARE_CHECKS = 4
TOKEN = "disclosure-token-51c2"


# --- the rule on its own --------------------------------------------------------------------


def test_one_hidden_part_takes_the_smallest_other_part_with_it():
    parts = protect_parts({"a": 3, "b": 500, "c": 40, "d": 0}, 543, K)
    assert parts == {"a": None, "b": 500, "c": None, "d": 0}


def test_two_hidden_parts_need_nothing_more():
    assert protect_parts({"a": 3, "b": 4, "c": 40}, 47, K) == {"a": None, "b": None, "c": 40}


def test_a_secondary_cell_is_protected_in_its_other_lines_too():
    # a 2 x 2 table with margins: hiding (0, 0) forces a second cell in its row and its
    # column, and those in turn force the fourth
    table = Disclosure(K)
    cells = {(0, 0): 3, (0, 1): 50, (1, 0): 60, (1, 1): 70}
    for key, value in cells.items():
        table.cell(key, value)
    for r in range(2):
        table.cell(("row", r), cells[(r, 0)] + cells[(r, 1)])
        table.line([(r, 0), (r, 1)], ("row", r))
    for c in range(2):
        table.cell(("col", c), cells[(0, c)] + cells[(1, c)])
        table.line([(0, c), (1, c)], ("col", c))
    table.protect()
    assert table.hidden == set(cells)
    assert table.secondary == {(0, 1), (1, 0), (1, 1)}


def test_merged_small_rows_take_the_smallest_published_row_when_still_under_k():
    shown, merged = merge_small({"DE": 900, "FR": 12, "XX": 3}, K)
    assert shown == {"DE": 900} and sorted(merged) == ["FR", "XX"]


# --- a whole report -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted():
    month = planted_month(4, NOVEMBER_2025, scale=0.2)
    counts = month.counts.copy()
    start = month.month_start
    us = month.countries.index("US")
    counts[start:, :, :, us] = 0
    counts[start + 10] *= 3  # a spike outside the U.S. on the day of the 3 U.S. checks:
    counts[start + 10, 0, 0, us] = US_CHECKS  # 3 U.S. checks in the whole month
    rare = month.tools.index(
        min(month.tools[1:], key=lambda t: counts[start:, month.tools.index(t)].sum())
    )
    counts[start:, rare] = 0
    rest = 1 if us != 1 else 2
    counts[start + 5, rare, 0, rest] = RARE_CHECKS  # one tool used 4 times
    return dataclasses.replace(month, counts=counts), month.tools[rare]


@pytest.fixture(scope="module")
def db(planted, tmp_path_factory):
    path = tmp_path_factory.mktemp("disclosure") / "events.duckdb"
    write_duckdb(planted[0], path)
    return path


@pytest.fixture(scope="module")
def report(db):
    return build_report(db, "2025-11", k=K, today=date(2026, 1, 1))


def _lines(data: dict) -> list[tuple[str, list, int | None]]:
    """Every (name, published parts, published total) the JSON holds."""
    s, daily = data["summary"], data["daily"]
    out = [
        ("regions", list(s["regions"].values()), s["setups"]),
        ("tools", list(s["tools"].values()), s["setups"]),
        ("devices", list(s["devices"].values()), s["setups"]),
        ("countries", [row["checks"] for row in data["countries"]], s["setups"]),
        (
            "visitor_days",
            [s["visitor_days"]["US"], s["visitor_days"]["rest"]],
            s["visitor_days"]["all"],
        ),
    ]
    days = range(len(daily["dates"]))
    all_checks = daily["checks"]["all"]
    out.append(("days", all_checks, s["setups"]))
    for group, parts in (
        ("checks", {t: v for t, v in daily["checks"].items() if t != "all"}),
        ("devices", daily["devices"]),
        ("regions", daily["regions"]),
    ):
        for i in days:
            out.append((f"{group} day {i}", [v[i] for v in parts.values()], all_checks[i]))
        monthly = {"checks": s["tools"], "devices": s["devices"], "regions": s["regions"]}[group]
        for name, values in parts.items():
            out.append((f"{group} {name} over days", values, monthly.get(name)))
    return out


def test_no_published_line_has_exactly_one_hidden_cell(report):
    data = report.to_dict()
    for name, parts, total in _lines(data):
        if total is None:
            continue
        hidden = sum(1 for v in parts if v is None)
        assert hidden != 1, name
        if hidden == 0:
            assert sum(parts) == total, name


def test_the_small_counts_are_not_published_directly(report, planted):
    rare = planted[1]
    data = report.to_dict()
    s = data["summary"]
    assert s["regions"]["US"] is None and s["regions"]["rest"] is None
    assert s["tools"][rare] is None
    assert s["visitor_days"]["US"] is None and s["checks_per_visitor"]["US"] is None
    assert all(v in (None, 0) for v in data["daily"]["regions"]["US"])
    assert all(v in (None, 0) for v in data["daily"]["checks"][rare])
    assert data["metadata"]["complementary_cells"] > 0


def test_text_artefacts_do_not_quote_the_small_counts(report, tmp_path):
    for text in (to_markdown(report), to_html(report)):
        assert "U.S. visitors ran" not in text
        assert not re.search(r"U\.S\. ([0-9.]+) checks per visitor", text)
        assert not re.search(r"checks per visitor-day: U\.S\. [0-9]", text)
    for name, body in to_csv(report).items():
        rows = [line.split(",") for line in body.splitlines()]
        header = rows[0]
        if name == "daily":
            us = [row[header.index("region:US")] for row in rows[1:]]
            assert all(v in ("", "0") for v in us)


def test_dashboard_totals_do_not_give_the_small_counts_back(db, planted):
    rare = planted[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARGINSCOPE_DB", str(db))
        patch.setenv("MARGINSCOPE_MIN_CELL", str(K))
        app = create_app(WebSettings(dashboard_token=TOKEN))
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            whole = client.get("/dashboard/data.json", params={"month": "2025-11"}).json()
            us = client.get(
                "/dashboard/data.json", params={"month": "2025-11", "region": "US"}
            ).json()
            tool = client.get(
                "/dashboard/data.json", params={"month": "2025-11", "tool": rare}
            ).json()
            csv = client.get("/dashboard/daily.csv", params={"month": "2025-11"})
    totals = whole["totals"]
    assert totals["regions"]["US"] is None and totals["regions"]["rest"] is None
    assert totals["us_share"] is None
    published = [n for _name, n in totals["tools"]]
    assert sum(1 for n in published if n is None) != 1
    assert us["totals"]["checks"] is None
    assert tool["totals"]["checks"] is None
    assert csv.status_code == 200
    header, *rows = [line.split(",") for line in csv.text.splitlines()]
    assert all(row[header.index("region:US")] in ("", "0") for row in rows)


def test_no_segment_finding_gives_a_small_rest_back(report):
    data = report.to_dict()
    # the day's spike outside the U.S. is flagged in "all" but withheld in "region:rest"
    assert data["metadata"]["withheld_findings"] > 0
    daily = data["daily"]
    for f in data["findings"]:
        if f["kind"] not in ("spike", "share_shift") or f["segment"] == "all":
            continue
        day = daily["dates"].index(f["date"])
        parent = daily["checks"]["all" if f["tool"] is None else f["tool"]][day]
        if parent is not None:
            assert not 0 < parent - f["observed"] < K, f["text"]
