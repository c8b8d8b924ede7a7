"""Markdown, HTML, JSON and PDF outputs; the CLI around them."""

from __future__ import annotations

import json
import re

import pytest

from marginscope.cli import main
from marginscope.report import render, to_html, to_markdown
from marginscope.report.render import find_chromium


def test_html_is_one_self_contained_mobile_first_page(report):
    page = to_html(report)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href|srcset)="(https?:)?//', page)  # no external assets
    # four charts, two to a row on a desktop: the narrow drawing serves both widths
    assert page.count('<img src="data:image/svg+xml;base64,') == len(report.charts) == 4
    assert 'style="max-width:100%"' in page
    assert "SYNTHETIC DATA" in page
    for heading in ("Key takeaways", "The month in charts", "phases</h2>",
                    "Market claims checked against the data", "Methodology", "References",
                    "Appendix"):
        assert heading in page, heading
    assert f"<h1>{report.headline}</h1>" in page and report.standfirst in page
    assert page.count(report.label) == 1  # one banner


def test_markdown_writes_its_charts_beside_it(report, tmp_path):
    text = to_markdown(report, tmp_path / "report_charts")
    assert text.startswith("*Pre-trade setups · November 2025*\n\n# " + report.headline)
    assert "> **SYNTHETIC DATA" in text
    for chart in report.charts:
        assert (tmp_path / "report_charts" / f"{chart.name}.svg").is_file()
        assert f"report_charts/{chart.name}.svg" in text


def test_json_round_trips(report, tmp_path):
    path = render(report, "json", tmp_path / "report.json")
    assert json.loads(path.read_text())["month"] == "2025-11"


@pytest.mark.skipif(find_chromium() is None,
                    reason="no Chromium for PDF (make test installs Debian's chromium)")
def test_pdf_is_printed_by_headless_chromium(report, tmp_path):
    path = render(report, "pdf", tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 3


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_cli_writes_the_json_contract(capsys, events_db, tmp_path):
    out = tmp_path / "november.json"
    code, stdout, _ = run(capsys, "report", "--month", "2025-11", "--db", str(events_db),
                          "--format", "json", "--out", str(out))
    assert code == 0 and "SYNTHETIC DATA" in stdout
    document = json.loads(out.read_text())
    assert document["summary"]["setups"] > 100_000 and document["findings"]


@pytest.mark.parametrize(("args", "field"), [
    (["--month", "2025-13"], "--month"),
    (["--month", "2025-11", "--format", "docx"], "--format"),
    (["--month", "2025-11", "--engine", "spark-sql"], "--engine"),
])
def test_cli_bad_input_is_one_line_and_exit_code_2(capsys, events_db, tmp_path, args, field):
    code, _, err = run(capsys, "report", *args, "--db", str(events_db), "--out",
                       str(tmp_path / "x.html"))
    assert code == 2
    assert err.startswith(f"error: {field}") and err.count("\n") == 1


def test_cli_refuses_a_missing_database(capsys, tmp_path):
    code, _, err = run(capsys, "report", "--month", "2025-11", "--db",
                       str(tmp_path / "absent.duckdb"), "--out", str(tmp_path / "x.html"))
    assert code == 2 and "--db" in err


def test_the_database_file_is_released_for_the_live_writer(events_db, report):
    from marginscope.telemetry.store import connect

    con = connect(events_db, wait_seconds=0.5)  # read-write: fails while a reader holds it
    con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
