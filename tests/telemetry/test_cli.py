"""``marginscope ingest | export | retention run``: exact options, one-line errors, exit 2."""

from __future__ import annotations

import json

import pytest

from marginscope.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def events_file(tmp_path, synthetic_rows):
    path = tmp_path / "synthetic-events.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in synthetic_rows))
    return path


def test_ingest_then_ingest_again_then_export(capsys, tmp_path, events_file):
    db = str(tmp_path / "events.duckdb")
    code, out, _ = run(capsys, "ingest", str(events_file), "--db", db)
    assert code == 0 and "loaded 4 rows, skipped 0" in out
    code, out, _ = run(capsys, "ingest", str(events_file), "--db", db)
    assert code == 0 and "loaded 0 rows, skipped 4" in out
    for fmt in ("csv", "parquet", "jsonl"):
        out_file = tmp_path / f"export.{fmt}"
        code, out, _ = run(capsys, "export", "--db", db, "--format", fmt, "--out",
                           str(out_file))
        assert code == 0 and out_file.stat().st_size > 0 and "exported 4 events" in out


def test_db_comes_from_the_environment_when_not_given(capsys, tmp_path, events_file,
                                                      monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_DB", str(tmp_path / "env.duckdb"))
    assert run(capsys, "ingest", str(events_file))[0] == 0
    assert (tmp_path / "env.duckdb").exists()


def test_ingest_of_a_bad_file_lists_lines_and_exits_2(capsys, tmp_path, events_file):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(events_file.read_text().replace('"tool": "margin_call"', '"tool": "x"'))
    code, _, err = run(capsys, "ingest", str(events_file), str(bad),
                       "--db", str(tmp_path / "e.duckdb"))
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"{bad}:2: tool: got 'x'")
    assert lines[-1].startswith("error: FILE:") and "nothing was loaded" in lines[-1]


def test_calculator_tool_ids_are_valid_for_ingest(capsys, tmp_path):
    from marginscope.calculators import REGISTRY

    base = {"liquidation_price", "margin_call", "leverage", "position_size", "futures",
            "funding_rate", "average_price", "stops", "liquidation_risk", "scenario"}
    extra = sorted({c.tool for c in REGISTRY.values()} - base)
    if not extra:
        pytest.skip("no calculator beyond the base tools is declared")
    tool = extra[0]
    path = tmp_path / "in.csv"
    path.write_text(f"ts,tool\n2025-11-04T00:00:00Z,{tool}\n")
    assert run(capsys, "ingest", str(path), "--db", str(tmp_path / "e.duckdb"))[0] == 0


@pytest.mark.parametrize("args", [
    ("export", "--format", "xml", "--out", "x.xml"),
    ("export", "--format", "csv"),
    ("retention", "run", "--days", "0"),
])
def test_bad_options_are_one_line_errors_with_exit_2(capsys, tmp_path, args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "marginscope.duckdb").write_bytes(b"")
    code, _, err = run(capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error:")


def test_export_of_a_missing_store_is_an_error_not_an_empty_file(capsys, tmp_path):
    code, _, err = run(capsys, "export", "--db", str(tmp_path / "none.duckdb"), "--format",
                       "csv", "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "--db" in err and not (tmp_path / "o.csv").exists()


def test_retention_run_reports_what_it_expired(capsys, tmp_path, events_file):
    db = str(tmp_path / "events.duckdb")
    run(capsys, "ingest", str(events_file), "--db", db)
    code, out, _ = run(capsys, "retention", "run", "--db", db, "--days", "36500")
    assert code == 0 and "expired 0 raw events" in out
    code, out, _ = run(capsys, "retention", "run", "--db", db, "--days", "1")
    assert code == 0 and "expired 4 raw events" in out and "over 3 day(s)" in out
