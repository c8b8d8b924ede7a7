"""``marginscope demo --no-serve`` end to end on a small scale: the report files, labelled
synthetic, the agents' truth beside the report, the calm counterfactual; and the demo never
deletes a foreign store."""

from __future__ import annotations

import json

import duckdb
import pytest

from marginscope.cli import main


def test_demo_writes_the_report_and_says_synthetic(tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        main(["demo", "--no-serve", "--out", str(out), "--scale", "1", "--seed", "3"])
    assert stop.value.code == 0
    for name in ("report.html", "report.json", "report.md", "simulation.json",
                 "marginscope-demo.duckdb"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["synthetic"] is True and report["metadata"]["synthetic_share"] == 1.0
    assert report["summary"]["countries"] >= 180
    assert "SYNTHETIC" in (out / "report.html").read_text()
    assert "SYNTHETIC" in (out / "report.md").read_text()
    simulation = json.loads((out / "simulation.json").read_text())
    assert simulation["source"] == "synthetic: marginscope.sim 0.1.0 seed=3"
    assert simulation["metadata"]["synthetic"] == "true"
    versus = simulation["report_vs_truth"]
    assert versus["market"]["lowest_low"]["day"] == "2025-11-21"
    assert {r["truth"] for r in versus["peaks_flagged"]} == {"liquidated", "added_margin",
                                                             "within_5pct"}
    days = simulation["truth"]["days"]
    assert days[0]["day"] == "2025-10-01" and len(days) == 61
    lowest = next(d for d in days if d["day"] == "2025-11-21")
    assert lowest["liquidated"] > 0 and lowest["within_5pct"] >= lowest["liquidated"]
    assert simulation["counterfactual"]["liquidated"] <= 0.01 * sum(d["liquidated"] for d in days)
    assert simulation["engine_check"]["succeeded"] == simulation["engine_check"]["attempted"]
    with duckdb.connect(str(out / "marginscope-demo.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert {"events", "market_ohlcv", "market_funding"} <= tables
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed and "report (html)" in printed
    assert "Spike days the report flagged" in printed
    assert versus["reference"]["span"] == ["2025-10-04", "2025-10-31"]
    assert "Normal (the report's reference): 2025-10-04 .. 2025-10-31" in printed


def test_demo_refuses_to_replace_a_store_it_did_not_write(tmp_path, capsys):
    db = tmp_path / "real.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE events (event_id VARCHAR)")
    with pytest.raises(SystemExit) as stop:
        main(["demo", "--no-serve", "--out", str(tmp_path / "o"), "--db", str(db)])
    assert stop.value.code == 2
    assert "--db" in capsys.readouterr().err
    assert db.is_file()
