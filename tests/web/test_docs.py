"""docs/web.md is the contract: every web setting, ``serve`` option and fixed endpoint is
documented there (a missing one fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marginscope.web import settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_setting_is_documented(doc):
    names = re.findall(r"``(MARGINSCOPE_[A-Z_]+)``", settings.__doc__)
    assert "MARGINSCOPE_DB" in names and len(names) >= 6
    assert [name for name in names if f"`{name}`" not in doc] == []


def test_serve_options_are_documented(doc):
    import inspect

    from marginscope.cli.serve import serve

    options = [p.default.param_decls[0] for p in inspect.signature(serve).parameters.values()]
    assert options == ["--host", "--port", "--workers"]
    assert [o for o in options if o not in doc] == []


def test_fixed_endpoints_and_error_statuses_are_documented(client, doc):
    paths = [p for p in client.get("/openapi.json").json()["paths"] if "{" not in p]
    fixed = [p for p in paths if p.split("/")[-1] in ("health", "calculators", "venues", "curve")]
    assert len(fixed) == 4
    assert [p for p in fixed if p not in doc] == []
    for text in ("POST /api/v1/{name}", "GET /openapi.json", "GET /docs", "| 422 |", "| 400 |",
                 "| 413 |", "app.state.recorder"):
        assert text in doc
