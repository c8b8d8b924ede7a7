"""docs/analytics.md is the contract: every ``marginscope report`` option, JSON field, finding
kind and segment is documented there (a missing one fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from marginscope.analytics import SEGMENTS
from marginscope.analytics.findings import KINDS
from marginscope.cli import app
from marginscope.report import FORMATS

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _report_options() -> list[str]:
    command = typer.main.get_command(app).commands["report"]
    return [opt for param in command.params for opt in param.opts if opt.startswith("--")]


def test_every_report_option_and_format_is_documented(doc):
    options = _report_options()
    assert {"--month", "--db", "--format", "--out", "--engine"} <= set(options)
    assert [o for o in options if f"`{o}`" not in doc] == []
    assert [f for f in FORMATS if f"`{f}`" not in doc] == []


def test_the_json_contract_fields_kinds_and_segments_are_documented(doc, report):
    document = report.to_dict()
    finding_fields = {key for f in document["findings"] for key in f}
    top = set(document) | set(document["summary"])
    missing = [name for name in sorted(finding_fields | top | set(KINDS) | set(SEGMENTS))
               if f'"{name}"' not in doc]
    assert missing == []
