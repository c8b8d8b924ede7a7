"""``marginscope market …`` end to end: the events contract, load, fetch (replayed), export."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import typer

from marginscope.cli import app, main
from marginscope.market.times import parse_utc_ms

DOCS = Path(__file__).resolve().parents[2] / "docs" / "market.md"


@pytest.fixture(autouse=True)
def no_store_from_the_environment(monkeypatch):
    monkeypatch.delenv("MARGINSCOPE_DB", raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["market", *argv])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_events_json_on_the_shipped_snapshot_meets_the_acceptance_contract(capsys):
    code, out, err = run(capsys, "events", "--json")
    assert code == 0, err
    events = json.loads(out)
    assert isinstance(events, list) and events
    for event in events:
        assert {"kind", "time", "value", "description", "source"} <= set(event)
        parse_utc_ms(event["time"])
    have = {(e["kind"], e["time"]) for e in events}
    assert {("round_number_break", "2025-11-04T00:00:00Z"),
            ("round_number_break", "2025-11-18T00:00:00Z"),
            ("month_low", "2025-11-21T00:00:00Z"), ("volume_peak", "2025-11-21T00:00:00Z"),
            ("drawdown", "2025-11-21T00:00:00Z"),
            ("funding_negative_run", "2025-11-23T16:00:00Z")} <= have


def test_a_configured_store_without_market_data_falls_back_to_the_snapshot(capsys, tmp_path,
                                                                          monkeypatch):
    path = tmp_path / "telemetry.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events (id INTEGER)")
    monkeypatch.setenv("MARGINSCOPE_DB", str(path))
    code, out, err = run(capsys, "events", "--json")
    assert code == 0
    assert "using the shipped snapshot" in err
    _, snapshot_out, _ = run(capsys, "events", "--json", "--snapshot")
    assert json.loads(out) == json.loads(snapshot_out)


def test_load_then_events_from_the_store_matches_the_snapshot(capsys, tmp_path):
    db = str(tmp_path / "m.duckdb")
    code, out, err = run(capsys, "load", "--snapshot", "--db", db)
    assert code == 0, err
    assert "market_funding: 90 rows" in out
    _, stored, _ = run(capsys, "events", "--json", "--db", db)
    _, shipped, _ = run(capsys, "events", "--json")
    assert json.loads(stored) == json.loads(shipped)


def test_a_bad_row_fails_the_whole_load_with_its_line_number(capsys, tmp_path):
    from marginscope.market.snapshot import snapshot_paths

    good = next(p for p in snapshot_paths() if p.name == "btcusdt_funding_2025-11.csv")
    lines = good.read_text(encoding="utf-8").splitlines()
    lines[7] = lines[7].replace(",0.0", ",zero", 1)
    bad = tmp_path / "bad_funding.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "m.duckdb"
    code, _, err = run(capsys, "load", str(good), str(bad), "--db", str(db))
    assert code == 2
    assert err.count("\n") == 1 and "bad_funding.csv line 8, column funding_rate" in err
    assert "Traceback" not in err
    if db.exists():
        with duckdb.connect(str(db)) as con:
            assert con.execute("SELECT count(*) FROM market_funding").fetchone()[0] == 0


def test_bad_options_are_one_line_errors_with_exit_code_2(capsys):
    for argv in (["events", "--kind", "bogus"], ["events", "--start", "November"],
                 ["events", "--db", "/nonexistent/m.duckdb"],
                 ["load", "--volume-unit", "bars", "--snapshot"],
                 ["fetch", "--venue", "nowhere", "--since", "2025-11-01"]):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("error: ") and err.count("\n") == 1, err


def _replayed_funding(replay, shipped):
    rows = [{"symbol": "BTCUSDT", "fundingTime": parse_utc_ms(r["funding_time_utc"]),
             "fundingRate": r["funding_rate"]} for r in shipped("btcusdt_funding_2025-11.csv")]
    return replay({"/fapi/v1/fundingRate": (rows, lambda r: r["fundingTime"])})


def test_fetch_stores_paged_funding_from_the_replayed_venue(capsys, tmp_path, monkeypatch,
                                                           replay, shipped):
    exchange, venue = _replayed_funding(replay, shipped)
    monkeypatch.setattr("marginscope.cli.market._exchange", lambda name: exchange)
    db = str(tmp_path / "m.duckdb")
    code, out, err = run(capsys, "fetch", "--venue", "binance-usdm", "--symbol", "BTCUSDT",
                         "--since", "2025-11-01", "--until", "2025-11-30", "--what", "funding",
                         "--limit", "40", "--db", db)
    assert code == 0, err
    assert "market_funding: 90 rows" in out
    assert len(venue.pages("/fapi/v1/fundingRate")) >= 3
    _, events, _ = run(capsys, "events", "--json", "--db", db, "--kind", "funding_negative_run")
    assert "2025-11-23T16:00:00Z" in {e["time"] for e in json.loads(events)}


def test_a_fetch_that_runs_out_of_retries_is_one_line_and_exit_1(capsys, tmp_path, monkeypatch,
                                                                 replay, recorded):
    error = recorded("binance_errors.json")["rate_limit"]
    exchange, _ = replay({"/fapi/v1/fundingRate": ([], lambda r: 0)}, failures={1: error})
    monkeypatch.setattr("marginscope.cli.market._exchange", lambda name: exchange)
    code, _, err = run(capsys, "fetch", "--since", "2025-11-01", "--until", "2025-11-02",
                       "--what", "funding", "--retries", "1", "--db", str(tmp_path / "m.duckdb"))
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: fetch failed")


def test_export_writes_a_hive_parquet_dataset(capsys, tmp_path):
    db = str(tmp_path / "m.duckdb")
    run(capsys, "load", "--snapshot", "--db", db)
    code, out, _ = run(capsys, "export", str(tmp_path / "ds"), "--db", db)
    assert code == 0
    assert "market_funding/venue=binance-usdm/symbol=BTCUSDT" in out


def test_facts_are_listed_with_their_articles(capsys, shipped):
    code, out, _ = run(capsys, "facts", "--json")
    facts = json.loads(out)
    assert code == 0
    assert [f["source"] for f in facts] == [r["source"] for r in
                                           shipped("news_facts_2025-11.csv")]


def test_every_market_command_and_option_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    group = typer.main.get_command(app).commands["market"]
    for name, command in group.commands.items():
        assert f"market {name}" in text, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in text, f"{name} {opt}"
