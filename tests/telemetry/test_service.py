"""``Telemetry.from_settings``: the wiring a server uses, driven by the environment."""

from __future__ import annotations

import duckdb

from marginscope.telemetry import RequestMeta, Telemetry
from marginscope.telemetry.pipeline import Drop

IPAD = ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1")


def test_from_settings_records_into_duckdb_with_the_configured_country_header(
        tmp_path, monkeypatch, clock):
    monkeypatch.setenv("MARGINSCOPE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MARGINSCOPE_COUNTRY_HEADER", "CF-IPCountry")
    monkeypatch.setenv("MARGINSCOPE_FLUSH_SECONDS", "0.01")
    db = tmp_path / "events.duckdb"
    telemetry = Telemetry.from_settings(db=db, clock=clock)
    ack = telemetry.record(RequestMeta(headers={"User-Agent": IPAD, "CF-IPCountry": "KR"},
                                       client_ip="203.0.113.5"),
                           "margin_call", {"symbol": "ETH-USDT-SWAP", "leverage": 50})
    ack.result(timeout=10)
    assert isinstance(telemetry.record({}, "not_a_tool"), Drop)
    stats = telemetry.close()
    assert stats["writer"]["durable"] == 1 and stats["dropped"]["unknown_tool"] == 1
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT tool, device, country, symbol, leverage FROM events").fetchone()
    con.close()
    assert row == ("margin_call", "tablet", "KR", "ETH", 50)


def test_parquet_sink_and_daily_retention_from_settings(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("MARGINSCOPE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MARGINSCOPE_SINK", "parquet")
    monkeypatch.setenv("MARGINSCOPE_PARQUET_DIR", str(tmp_path / "dataset"))
    monkeypatch.setenv("MARGINSCOPE_WRITER_ID", "app-7")
    monkeypatch.setenv("MARGINSCOPE_RETENTION_AUTO", "1")
    telemetry = Telemetry.from_settings(db=tmp_path / "events.duckdb", clock=clock)
    telemetry.record({}, "stops").result(timeout=10)
    telemetry.writer.flush(timeout=10)
    clock.advance(days=91)
    telemetry.upkeep()          # the daily job: old partitions folded into aggregates, removed
    telemetry.close()
    assert not list((tmp_path / "dataset").glob("date=*"))
    con = duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True)
    assert con.execute("SELECT sum(events) FROM daily_aggregates").fetchone()[0] == 1
    con.close()
    assert [p.name for p in (tmp_path / "state").iterdir()] == []  # salts swept too
