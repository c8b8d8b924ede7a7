"""docs/telemetry.md is the contract: every telemetry setting, CLI option, column, drop reason
and step is documented there (a missing one fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from marginscope import config
from marginscope.telemetry.pipeline import STEPS, DropReason
from marginscope.telemetry.schema import COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "telemetry.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text()


TELEMETRY_SETTINGS = (
    "MARGINSCOPE_DB", "MARGINSCOPE_COUNTRY_HEADER", "MARGINSCOPE_GEOIP_DB",
    "MARGINSCOPE_CLIENT_IP_HEADER", "MARGINSCOPE_STATE_DIR", "MARGINSCOPE_SITE",
    "MARGINSCOPE_SINK", "MARGINSCOPE_PARQUET_DIR", "MARGINSCOPE_WRITER_ID",
    "MARGINSCOPE_QUEUE_SIZE", "MARGINSCOPE_FLUSH_SECONDS", "MARGINSCOPE_RETENTION_DAYS",
    "MARGINSCOPE_RETENTION_AUTO", "MARGINSCOPE_MIN_CELL", "MARGINSCOPE_CLI_TELEMETRY",
)


def test_every_telemetry_setting_is_in_the_config_table_and_the_docs(doc):
    table = set(re.findall(r"``(MARGINSCOPE_[A-Z_]+)``", config.__doc__))
    assert [s for s in TELEMETRY_SETTINGS if s not in table] == []
    assert [s for s in TELEMETRY_SETTINGS if f"`{s}`" not in doc] == []


@pytest.mark.parametrize("option", ["--db", "--format", "--out", "--days", "--dataset",
                                    "marginscope ingest", "marginscope export",
                                    "marginscope retention run"])
def test_cli_options_are_documented(doc, option):
    assert option in doc


def test_columns_steps_and_drop_reasons_are_documented(doc):
    missing = [name for name in (*COLUMNS, *STEPS, *(r.value for r in DropReason))
               if f"`{name}`" not in doc]
    assert missing == []
