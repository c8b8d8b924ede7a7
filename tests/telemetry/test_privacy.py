"""No byte of any IP or User-Agent reaches storage or logs: events recorded through the whole
request path into both sinks, then every file of the data directory is searched."""

from __future__ import annotations

import ipaddress
import logging

from marginscope.telemetry.country import CountryResolver
from marginscope.telemetry.export import export_events
from marginscope.telemetry.parquet_sink import ParquetDatasetSink
from marginscope.telemetry.pipeline import Pipeline
from marginscope.telemetry.request import RequestMeta
from marginscope.telemetry.salt import SaltStore
from marginscope.telemetry.store import DuckDBSink
from marginscope.telemetry.writer import BatchingWriter

USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "SyntheticTestAgent/9.9 (marginscope privacy test)",
]
IPS = ["203.0.113.77", "198.51.100.203", "2001:db8:85a3::8a2e:370:7334", "192.0.2.154"]
PROXY = "10.9.8.7"


def _needles() -> list[bytes]:
    needles = [ua.encode() for ua in USER_AGENTS]
    needles += [b"(iPhone; CPU iPhone OS 17_4", b"SM-X710", b"SyntheticTestAgent"]
    needles += [ip.encode() for ip in [*IPS, PROXY]]
    needles += [ipaddress.ip_address(IPS[2]).packed, ipaddress.ip_address(IPS[2]).exploded
                .encode()]
    return needles


def test_no_ip_or_user_agent_bytes_in_the_data_directory_or_logs(tmp_path, clock, caplog):
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    salts = SaltStore(data / "state", clock=clock)
    for sink in (DuckDBSink(data / "events.duckdb"), ParquetDatasetSink(data / "events", "w1")):
        writer = BatchingWriter(sink, flush_seconds=0.01)
        pipeline = Pipeline(salts, country=CountryResolver(header="CF-IPCountry"),
                            client_ip_header="X-Forwarded-For", writer=writer, clock=clock)
        acks = []
        for index in range(40):
            headers = {"User-Agent": USER_AGENTS[index % 4],
                       "X-Forwarded-For": f"{IPS[index % 4]}, {PROXY}",
                       "CF-IPCountry": ["US", "DE", "JP", "BR"][index % 4]}
            acks.append(pipeline.record(
                RequestMeta(headers=headers, client_ip=PROXY, time_zone="Europe/Berlin"),
                "liquidation_price",
                {"venue": "bybit", "symbol": "ETHUSDT", "side": "short", "leverage": 10,
                 "notional": 25_000, "entry_price": 3411.25}))
        for ack in acks:
            ack.result(timeout=10)
        writer.close()
    export_events(data / "events.duckdb", data / "export.jsonl", "jsonl")

    files = [p for p in data.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"events.duckdb", "export.jsonl", "salt-2025-11-04.key"} <= names
    assert any(name.endswith(".parquet") for name in names)
    for path in files:
        content = path.read_bytes()
        for needle in _needles():
            assert needle not in content, f"{needle!r} found in {path}"
    for needle in _needles():
        assert needle.decode("latin-1") not in caplog.text
    exported = (data / "export.jsonl").read_text()
    assert exported.count('"device":"mobile"') == 10 and '"country":"DE"' in exported
