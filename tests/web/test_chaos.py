"""Chaos at the web level (issue 15): ``kill -9`` of the sink process under load.

A real ``marginscope serve`` on 127.0.0.1 (loopback only), calculation load from a few threads
for a bounded time, the sink child killed mid-load; the server starts another on the same pipe
and answers say ``recorded`` again; then a clean stop (SIGTERM). Every acknowledged event is
stored or counted as lost in ``telemetry_counts``: none is silently lost. Bounded: about 15 s
of load, 60 s in all at most.

Each thread marks its events with a country (``CF-IPCountry``, trusted through
``MARGINSCOPE_COUNTRY_HEADER``): one set of countries before the kill, another after it.
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

from marginscope.web.background import free_port

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
LIQUIDATION = {
    "venue": "binance-usdm",
    "symbol": "BTCUSDT",
    "side": "long",
    "qty": 1.0,
    "entry_price": 90000.0,
    "leverage": 10,
}
BEFORE = ("DE", "JP", "BR", "IN")  # one marker per thread before the kill…
AFTER = ("FR", "GB", "NG", "MX")  # …and after it
TOTAL_SECONDS = 60.0


def _sink_children(pid: int) -> list[int]:
    """The server's children running the hand-off sink (started by any of its threads: the
    first by the main thread, a replacement by the watch thread)."""
    children = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children.update((task / "children").read_text().split())
        except FileNotFoundError:  # a thread that just ended
            continue
    found = []
    for child in sorted(children, key=int):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"marginscope.telemetry.handoff" in command:
            found.append(int(child))
    return found


def _wait(condition, until: float, what: str) -> None:
    while not condition():
        assert time.monotonic() < until, what
        time.sleep(0.05)


def test_kill_9_of_the_sink_under_load_loses_nothing_silently(tmp_path):
    started = time.monotonic()
    until = started + TOTAL_SECONDS
    port = free_port()
    db = tmp_path / "events.duckdb"
    env = {
        **os.environ,
        "MARGINSCOPE_TELEMETRY": "1",
        "MARGINSCOPE_DB": str(db),
        "MARGINSCOPE_STATE_DIR": str(tmp_path / "state"),
        "MARGINSCOPE_SINK": "duckdb",
        "MARGINSCOPE_ACK": "handoff",
        "MARGINSCOPE_COUNTRY_HEADER": "CF-IPCountry",
        # one loopback client makes the whole load: its budget must cover it
        "MARGINSCOPE_RECORD_RATE": "1000000",
        "MARGINSCOPE_RECORD_BURST": "1000000",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("marginscope")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    acknowledged: Counter[str] = Counter()
    answered = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set():
                country = (AFTER if killed.is_set() else BEFORE)[worker]
                try:
                    response = client.post(
                        "/api/v1/liquidation",
                        json=LIQUIDATION,
                        headers={"User-Agent": BROWSER, "CF-IPCountry": country},
                    )
                except httpx.HTTPError:
                    continue
                with lock:
                    answered[response.headers.get("x-marginscope-event", "none")] += 1
                    if (
                        response.status_code == 200
                        and response.headers.get("x-marginscope-event") == "recorded"
                    ):
                        acknowledged[country] += 1

    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(4)]
    try:

        def healthy() -> bool:
            assert server.poll() is None, "server exited"
            try:
                return httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(healthy, until, "server did not start")
        for thread in threads:
            thread.start()
        _wait(lambda: sum(acknowledged.values()) >= 200, until, "no load recorded")
        first = _sink_children(server.pid)
        assert len(first) == 1, first
        os.kill(first[0], signal.SIGKILL)  # mid-load: the child holds an open batch
        killed.set()
        _wait(lambda: _sink_children(server.pid) not in ([], first), until, "no new sink process")
        after_restart = sum(acknowledged[c] for c in AFTER)
        _wait(
            lambda: sum(acknowledged[c] for c in AFTER) >= after_restart + 100,
            until,
            "answers did not say recorded again after the restart",
        )
        time.sleep(1.0)  # a little more load on the new sink process
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        server.send_signal(signal.SIGTERM)  # a clean stop: flush, count, close
        server.wait(timeout=max(1.0, until - time.monotonic()))
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert server.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises it after shutdown
    assert time.monotonic() - started < TOTAL_SECONDS

    con = duckdb.connect(str(db), read_only=True)
    stored = Counter(
        dict(con.execute("SELECT country, count(*) FROM events GROUP BY 1").fetchall())
    )
    lost = con.execute(
        "SELECT coalesce(sum(n), 0) FROM telemetry_counts WHERE counter = 'lost'"
    ).fetchone()[0]
    con.close()
    print(
        f"acknowledged {dict(acknowledged)}, stored {dict(stored)}, lost {lost}, "
        f"answers {dict(answered)}"
    )
    missing = {c: n - stored[c] for c, n in acknowledged.items() if n > stored[c]}
    assert sum(missing.values()) <= lost, (missing, lost)  # 0 silently lost
    assert set(missing) <= set(BEFORE)  # only what the killed process held can be missing
    for country in AFTER:  # the new sink process stored everything acknowledged to it
        assert stored[country] >= acknowledged[country] > 0
    # nothing stored that no one sent; what is stored or lost covers every acknowledgement
    assert sum(stored.values()) <= sum(answered.values())
    assert sum(stored.values()) + lost >= sum(acknowledged.values())
