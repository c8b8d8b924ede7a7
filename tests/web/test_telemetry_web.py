"""Telemetry in the request path (issue 5): the API records exactly one anonymized event per
calculation, answers only once it is durable, keeps no byte of any IP or User-Agent, survives
kill -9 without losing an acknowledged event; the beacon's 202 / 413 / 422 / 429.

User-Agent strings are real browsers' published strings; the IPs are documentation ranges
(RFC 5737 / RFC 3849); the countries arrive in Cloudflare's ``CF-IPCountry`` header.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient

from marginscope.web import create_app
from marginscope.web.background import free_port

# (User-Agent, navigator.maxTouchPoints sent by the page, expected device)
BROWSERS = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", 5, "mobile"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.6478.122 Mobile Safari/537.36", 5, "mobile"),
    # iPadOS Safari asks for the desktop site: a Macintosh UA, told apart by touch points.
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Safari/605.1.15", 5, "tablet"),
    ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/125.0.0.0 Safari/537.36", 10, "tablet"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", 0, "desktop"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Safari/605.1.15", 0, "desktop"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", 0, "desktop"),
]
IPS = ["203.0.113.7", "198.51.100.23", "192.0.2.201", "2001:db8::5:1", "2001:db8:cafe::17"]
COUNTRIES = ["DE", "JP", "BR", "US", "IN", "NG"]

LIQUIDATION = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": 1.0,
               "entry_price": 90000.0, "leverage": 10}


@pytest.fixture
def telemetry_env(tmp_path, monkeypatch):
    """Telemetry on, every file it writes under ``tmp_path/data``."""
    data = tmp_path / "data"
    monkeypatch.setenv("MARGINSCOPE_TELEMETRY", "1")
    monkeypatch.setenv("MARGINSCOPE_DB", str(data / "events.duckdb"))
    monkeypatch.setenv("MARGINSCOPE_STATE_DIR", str(data / "state"))
    monkeypatch.setenv("MARGINSCOPE_PARQUET_DIR", str(data / "events"))
    monkeypatch.setenv("MARGINSCOPE_COUNTRY_HEADER", "CF-IPCountry")
    monkeypatch.setenv("MARGINSCOPE_CLIENT_IP_HEADER", "X-Forwarded-For")
    monkeypatch.setenv("MARGINSCOPE_FLUSH_SECONDS", "0.005")
    return data


def _files_containing(root: Path, needles: list[bytes]) -> list[tuple[str, bytes]]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            found += [(str(path), needle) for needle in needles if needle in content]
    return found


def _needles() -> list[bytes]:
    needles = [ip.encode() for ip in IPS]
    for ua, _, _ in BROWSERS:
        needles += [ua.encode(), ua.encode("utf-16-le"), ua.split(") ", 1)[0].encode()]
    return needles


def _events(data: Path, sink: str) -> list[tuple]:
    columns = "device, country, tool, venue, symbol, side, leverage, notional_bucket"
    if sink == "duckdb":
        con = duckdb.connect(str(data / "events.duckdb"), read_only=True)
        return con.execute(f"SELECT {columns} FROM events").fetchall()
    con = duckdb.connect()
    return con.execute(f"SELECT {columns} FROM read_parquet('{data / 'events'}/**/*.parquet', "
                       "hive_partitioning = true)").fetchall()


@pytest.mark.parametrize("sink", ["duckdb", "parquet"])
def test_n_calculations_store_n_events_with_device_and_country_and_no_ip_or_ua(
        telemetry_env, monkeypatch, sink):
    monkeypatch.setenv("MARGINSCOPE_SINK", sink)
    expected: Counter[tuple[str, str]] = Counter()
    n = 0
    with TestClient(create_app()) as client:
        for i, (ua, touch, device) in enumerate(BROWSERS):
            for j, ip in enumerate(IPS):
                country = COUNTRIES[(i + j) % len(COUNTRIES)]
                response = client.post("/api/v1/liquidation", json=LIQUIDATION, headers={
                    "User-Agent": ua, "X-Forwarded-For": f"{ip}, 10.0.0.1",
                    "CF-IPCountry": country, "X-Marginscope-Touch-Points": str(touch),
                    "X-Marginscope-Time-Zone": "Europe/Berlin"})
                assert response.status_code == 200
                assert response.headers["x-marginscope-event"] == "recorded"
                expected[(device, country)] += 1
                n += 1
        live = _files_containing(telemetry_env, _needles())  # WAL and salts while serving
    rows = _events(telemetry_env, sink)
    assert len(rows) == n == len(BROWSERS) * len(IPS)
    assert Counter((row[0], row[1]) for row in rows) == expected
    # 1 BTC at 90,000 USDT, 10x: the coarse context, bucketed
    assert set(rows) >= {(d, c, "liquidation_price", "binance-usdm", "BTC", "long", 10, 30000)
                         for d, c in expected}
    assert live == []
    assert _files_containing(telemetry_env, _needles()) == []
    assert any(telemetry_env.rglob("*"))  # the grep did look at files


def test_pages_record_too_and_a_crawler_is_a_counted_drop(telemetry_env):
    with TestClient(create_app()) as client:
        page = client.post("/liquidation", data={k: str(v) for k, v in LIQUIDATION.items()},
                           headers={"User-Agent": BROWSERS[0][0], "CF-IPCountry": "FR"})
        bot = client.post("/api/v1/liquidation", json=LIQUIDATION, headers={
            "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; "
                          "+http://www.google.com/bot.html)"})
        stats = client.app.state.telemetry.stats()
    assert page.status_code == 200 and page.headers["x-marginscope-event"] == "recorded"
    assert bot.status_code == 200 and bot.headers["x-marginscope-event"] == "dropped"
    assert stats["dropped"]["bot"] == 1
    assert [row[:2] for row in _events(telemetry_env, "duckdb")] == [("mobile", "FR")]


def test_every_calculator_tool_is_registered_and_recorded(telemetry_env):
    from marginscope.calculators import REGISTRY

    with TestClient(create_app()) as client:
        for calculator in REGISTRY.values():
            response = client.post(f"/api/v1/{calculator.name}", json=calculator.example)
            assert response.headers["x-marginscope-event"] == "recorded", calculator.name
    tools = Counter(row[2] for row in _events(telemetry_env, "duckdb"))
    assert tools == Counter(c.tool for c in REGISTRY.values())


def test_telemetry_is_off_for_a_bare_create_app(monkeypatch):
    monkeypatch.delenv("MARGINSCOPE_TELEMETRY", raising=False)
    app = create_app()
    assert app.state.recorder is None
    assert "/api/v1/events" not in {getattr(r, "path", "") for r in app.routes}


# --- the beacon --------------------------------------------------------------------------------


BEACON = {"tool": "liquidation_price", "venue": "bybit", "symbol": "ETHUSDT", "side": "short",
          "margin_mode": "cross", "leverage": 20, "notional": 5000, "time_zone": "Asia/Tokyo",
          "max_touch_points": 0}


def test_beacon_is_recorded_with_the_same_anonymizer(telemetry_env):
    with TestClient(create_app()) as client:
        response = client.post("/api/v1/events", json=BEACON, headers={
            "User-Agent": BROWSERS[4][0], "X-Forwarded-For": IPS[0]})
    assert response.status_code == 202 and response.json() == {"recorded": True}
    assert _events(telemetry_env, "duckdb") == [
        ("desktop", "JP", "liquidation_price", "bybit", "ETH", "short", 20, 3000)]
    assert _files_containing(telemetry_env, _needles()) == []


def test_the_pages_counter_is_stored_as_seq_with_the_session_only(telemetry_env):
    headers = {"User-Agent": BROWSERS[4][0], "X-Forwarded-For": IPS[0]}
    with TestClient(create_app()) as client:
        for seq, session in (("0", "tab-a"), ("1", "tab-a"), ("7", None), ("40000", "tab-b"),
                             ("x", "tab-b")):
            sent = {**headers, "X-Marginscope-Seq": seq}
            if session:
                sent["X-Marginscope-Session"] = session
            response = client.post("/api/v1/liquidation", json=LIQUIDATION, headers=sent)
            assert response.headers["x-marginscope-event"] == "recorded"
        beacon = client.post("/api/v1/events", json={**BEACON, "session": "tab-a", "seq": 2},
                             headers=headers)
        refused = client.post("/api/v1/events", json={**BEACON, "seq": -1}, headers=headers)
    assert beacon.status_code == 202 and refused.status_code == 422
    con = duckdb.connect(str(telemetry_env / "events.duckdb"), read_only=True)
    rows = con.execute("SELECT session IS NOT NULL, seq FROM events").fetchall()
    # no session: no seq; out of range or not a number: NULL (the event is still recorded)
    assert sorted(rows, key=str) == sorted([(True, 0), (True, 1), (False, None), (True, None),
                                            (True, None), (True, 2)], key=str)


@pytest.mark.parametrize("body", [
    {**BEACON, "tool": "not_a_tool"},
    {**BEACON, "venue": "my-broker"},
    {**BEACON, "side": "up"},
    {**BEACON, "leverage": 0},
    {**BEACON, "notional": -5},
    {**BEACON, "symbol": "BTC USDT; drop table"},
    {**BEACON, "note": "free text"},
    {"venue": "bybit"},
])
def test_beacon_refuses_a_body_outside_its_vocabulary(telemetry_env, body):
    with TestClient(create_app()) as client:
        response = client.post("/api/v1/events", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert _events(telemetry_env, "duckdb") == []


@pytest.mark.parametrize(("raw", "status"), [
    (b'{"tool": ', 400),                                     # malformed: 400, as on calculators
    (b'{"tool": "stops", "tool": "margin_call"}', 400),     # a key twice: not the last one wins
    (b'{"tool": "stops", "leverage": true}', 422),           # a boolean is not a number
])
def test_beacon_json_is_as_strict_as_the_calculators(telemetry_env, raw, status):
    with TestClient(create_app()) as client:
        response = client.post("/api/v1/events", content=raw,
                               headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert _events(telemetry_env, "duckdb") == []


def test_beacon_refuses_a_large_body(telemetry_env):
    with TestClient(create_app()) as client:
        response = client.post("/api/v1/events", content=b'{"tool": "' + b"x" * 4000 + b'"}',
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_beacon_is_rate_limited_per_client(telemetry_env):
    with TestClient(create_app()) as client:
        buckets = client.app.state.beacon_buckets
        buckets.rate, buckets.burst = 1e-6, 3  # 3 at once, then practically none
        statuses = [client.post("/api/v1/events", json=BEACON,
                                headers={"X-Forwarded-For": IPS[1]}).status_code
                    for _ in range(5)]
        other = client.post("/api/v1/events", json=BEACON, headers={"X-Forwarded-For": IPS[2]})
    assert statuses == [202, 202, 202, 429, 429]
    assert other.status_code == 202
    assert buckets.limited == 2
    assert len(_events(telemetry_env, "duckdb")) == 4


# --- abuse: the recording budget, the country's source (issue 15) ----------------------------


def _stored_counts(data: Path) -> dict[str, int]:
    con = duckdb.connect(str(data / "events.duckdb"), read_only=True)
    try:
        return dict(con.execute("SELECT counter, sum(n)::BIGINT FROM telemetry_counts "
                                "GROUP BY 1").fetchall())
    finally:
        con.close()


def test_one_client_records_60_then_is_answered_but_not_recorded(telemetry_env, monkeypatch):
    """61 calculations in a burst from one address, with seven User-Agents: 60 recorded, the
    61st answered (200, the same answer) and dropped as over_budget; the beacon from that
    address too; another address is unaffected; the drops are persisted."""
    monkeypatch.setenv("MARGINSCOPE_RECORD_RATE", "0.001")  # no refill within the test
    with TestClient(create_app()) as client:
        answers = [client.post("/api/v1/liquidation", json=LIQUIDATION, headers={
            "User-Agent": BROWSERS[i % len(BROWSERS)][0], "X-Forwarded-For": IPS[0],
            "CF-IPCountry": "DE"}) for i in range(61)]
        beacon = client.post("/api/v1/events", json=BEACON, headers={
            "User-Agent": BROWSERS[4][0], "X-Forwarded-For": IPS[0]})
        other = client.post("/api/v1/liquidation", json=LIQUIDATION, headers={
            "User-Agent": BROWSERS[0][0], "X-Forwarded-For": IPS[1], "CF-IPCountry": "JP"})
        stats = client.app.state.telemetry.stats()
    assert [a.status_code for a in answers] == [200] * 61
    assert answers[60].json() == answers[0].json()
    assert [a.headers["x-marginscope-event"] for a in answers] == ["recorded"] * 60 + ["dropped"]
    assert beacon.status_code == 202
    assert beacon.json() == {"recorded": False, "reason": "over_budget"}
    assert other.headers["x-marginscope-event"] == "recorded"
    assert stats["dropped"]["over_budget"] == 2
    assert Counter(row[1] for row in _events(telemetry_env, "duckdb")) == {"DE": 60, "JP": 1}
    assert _stored_counts(telemetry_env) == {"over_budget": 2}
    assert _files_containing(telemetry_env, _needles()) == []  # the budget keeps no address


def test_an_http_library_is_answered_and_counted_as_a_bot(telemetry_env):
    with TestClient(create_app()) as client:
        answers = [client.post("/api/v1/liquidation", json=LIQUIDATION,
                               headers={"User-Agent": ua, "X-Forwarded-For": IPS[2]})
                   for ua in ("curl/8.5.0", "python-requests/2.32.3", "Go-http-client/1.1")]
    assert [(a.status_code, a.headers["x-marginscope-event"]) for a in answers] == \
        [(200, "dropped")] * 3
    assert _events(telemetry_env, "duckdb") == []
    assert _stored_counts(telemetry_env) == {"bot": 3}


def test_the_country_source_is_stored_and_the_time_zone_is_marked(telemetry_env):
    """Any client may send a time zone: its country is kept, marked as the lower-trust source."""
    with TestClient(create_app()) as client:
        for headers in ({"CF-IPCountry": "FR"}, {}):
            client.post("/api/v1/liquidation", json=LIQUIDATION, headers={
                "User-Agent": BROWSERS[4][0], "X-Forwarded-For": IPS[3],
                "X-Marginscope-Time-Zone": "America/New_York", **headers})
    con = duckdb.connect(str(telemetry_env / "events.duckdb"), read_only=True)
    rows = con.execute("SELECT country, country_source FROM events ORDER BY 2").fetchall()
    con.close()
    assert rows == [("FR", "header"), ("US", "time_zone")]


# --- kill -9 under load ------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    return [int(child) for child in
            Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _wait_gone(pid: int, timeout: float) -> None:
    """Until process ``pid`` has exited (gone, or a zombie its new parent has not reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.05)


def test_kill_9_of_the_server_under_load_loses_no_acknowledged_event(tmp_path):
    port = free_port()
    db = tmp_path / "events.duckdb"
    env = {**os.environ, "MARGINSCOPE_TELEMETRY": "1", "MARGINSCOPE_DB": str(db),
           "MARGINSCOPE_STATE_DIR": str(tmp_path / "state"), "MARGINSCOPE_SINK": "duckdb",
           "MARGINSCOPE_COUNTRY_HEADER": "CF-IPCountry",
           # one client (loopback) makes the whole load: its budget must cover it
           "MARGINSCOPE_RECORD_RATE": "1000000", "MARGINSCOPE_RECORD_BURST": "1000000"}
    server = subprocess.Popen([str(Path(sys.executable).with_name("marginscope")), "serve",
                               "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    acknowledged: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def load(worker: int) -> None:
        country = COUNTRIES[worker % len(COUNTRIES)]
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.post("/api/v1/liquidation", json=LIQUIDATION, headers={
                        "User-Agent": BROWSERS[worker % len(BROWSERS)][0],
                        "CF-IPCountry": country})
                except httpx.HTTPError:
                    continue
                if response.status_code == 200 and \
                        response.headers.get("x-marginscope-event") == "recorded":
                    with lock:
                        acknowledged[country] += 1

    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(12)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while sum(acknowledged.values()) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        sink_processes = _children(server.pid)
        assert sink_processes, "the server runs its sink in a child process"
        server.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        server.wait(timeout=30)
        for pid in sink_processes:  # it commits what it was handed, then exits
            _wait_gone(pid, timeout=60)
        with lock:
            snapshot = Counter(acknowledged)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    for thread in threads:
        thread.join(timeout=35)
    assert sum(snapshot.values()) >= 300
    con = duckdb.connect(str(db), read_only=True)
    stored = Counter(dict(con.execute("SELECT country, count(*) FROM events GROUP BY 1")
                          .fetchall()))
    for country, count in snapshot.items():
        assert stored[country] >= count, (country, stored, snapshot)
