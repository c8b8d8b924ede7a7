"""Load test of ``POST /api/v1/account`` against the framework's ceiling, on loopback only.

Starts the app as ``marginscope serve`` runs it (uvicorn with the hardened protocol, httptools,
uvloop) on 127.0.0.1 (a free port), checks that the account endpoint answers Binance's
published two-position cross example (BTCUSDT 26,316.89, ETHUSDT 1,153.26), then drives, for a
fixed time each and at a fixed number of keep-alive connections:

(a) ``GET /api/v1/health`` — a bare endpoint of the same app returning a constant: the ceiling
    of server + framework on this machine;
(b) ``POST /api/v1/account`` with the example body: validation, two-position cross
    evaluation, JSON answer.

``--telemetry on`` runs the server with telemetry as ``marginscope serve`` does (every
calculation recorded through the sink process, into a DuckDB file in a temporary directory;
the check asks for ``X-Marginscope-Event: recorded``); ``off`` without; ``both`` (the default)
starts one server of each and interleaves them. ``--baseline-src DIR`` also starts the same
servers from another source tree (``DIR`` on ``PYTHONPATH``, e.g. a ``git worktree`` of the
previous commit), interleaved in the same rounds: before/after on the same load.

The load generator is ``wrk`` when installed (Debian package ``wrk``), else a small asyncio
HTTP/1.1 client in this file (it shares the CPU with the server, so its figures are lower).
Prints requests/s, p50 and p99 latency of each, and (b) as a share of (a).

    python bench/web_load.py [--connections 64] [--seconds 10] [--repeat 3] [--workers 1 [2 ...]]
                             [--telemetry both|on|off] [--baseline-src DIR]
                             [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from marginscope.calculators.account import BINANCE_CROSS_EXAMPLE

HOST = "127.0.0.1"
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")  # a browser's: a crawler's event is dropped
PUBLISHED = {"BTCUSDT": 26316.89, "ETHUSDT": 1153.26}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int = 1,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """``marginscope serve`` on loopback; returns once /api/v1/health answers."""
    command = [sys.executable, "-c", "from marginscope.cli import main; main()", "serve",
               "--host", HOST, "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/health", timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(server.stderr.read().decode()) from None
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start within 30 s")


def check_answer(port: int, body: bytes, telemetry: bool = False) -> dict[str, float]:
    request = urllib.request.Request(f"http://{HOST}:{port}/api/v1/account", data=body,
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=5) as response:
        event = response.headers.get("X-Marginscope-Event")
        answer = json.load(response)
    assert event == ("recorded" if telemetry else None), f"X-Marginscope-Event: {event}"
    prices = {p["symbol"]: p["liquidation_price"] for p in answer["positions"]}
    for symbol, published in PUBLISHED.items():
        assert abs(prices[symbol] - published) < 0.01, (symbol, prices[symbol], published)
    return prices


# --- in process: the cost of one request without the network ------------------------------

def in_process_costs(body: bytes, data: Path, count: int = 300,
                     rounds: int = 15) -> dict[str, float]:
    """Microseconds of the request thread's CPU per request through the ASGI app, no sockets:
    the ceiling, the account request with telemetry off and on (recorded through the sink
    process as ``serve`` does), and the calculation alone (validation + ``Calculator.run``).
    Thread CPU time, best of ``rounds`` interleaved runs: robust to a busy machine, whose
    other processes take wall-clock time but not this thread's CPU."""
    from marginscope.calculators import REGISTRY
    from marginscope.web import create_app

    saved = {key: os.environ.get(key) for key in TELEMETRY_ENV}
    os.environ.update(telemetry_env(data / "in-process"))
    try:
        app = create_app()  # telemetry as serve runs it; off by setting no recorder
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    recorder = app.state.recorder
    calculator = REGISTRY["account"]

    async def call(method: str, path: str, payload: bytes) -> None:
        headers = [(b"host", f"{HOST}:80".encode()), (b"user-agent", USER_AGENT.encode()),
                   (b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": headers,
                 "client": (HOST, 1), "server": (HOST, 80)}
        messages = [{"type": "http.request", "body": payload, "more_body": False}]

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            pass

        await app(scope, receive, send)

    async def timed(method: str, path: str, payload: bytes) -> float:
        start = time.thread_time()
        for _ in range(count):
            await call(method, path, payload)
        return (time.thread_time() - start) / count * 1e6

    def compute() -> float:
        start = time.thread_time()
        for _ in range(count):
            calculator.run(calculator.model.model_validate_json(body, strict=True))
        return (time.thread_time() - start) / count * 1e6

    async def main() -> dict[str, float]:
        best = dict.fromkeys(("health", "account", "account_telemetry", "calculation"), 1e9)
        async with app.router.lifespan_context(app):  # the frozen heap, as when serving
            for _ in range(count):
                await call("POST", "/api/v1/account", body)
            for _ in range(rounds):
                best["health"] = min(best["health"], await timed("GET", "/api/v1/health", b""))
                app.state.recorder = None
                best["account"] = min(best["account"],
                                      await timed("POST", "/api/v1/account", body))
                app.state.recorder = recorder
                best["account_telemetry"] = min(best["account_telemetry"],
                                                await timed("POST", "/api/v1/account", body))
                best["calculation"] = min(best["calculation"], compute())
        return best

    return asyncio.run(main())


# --- wrk ----------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def run_wrk(url: str, connections: int, seconds: float, body: bytes | None) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency",
            "-H", f"User-Agent: {USER_AGENT}"]
    with tempfile.TemporaryDirectory() as tmp:
        if body is not None:
            script = Path(tmp, "post.lua")
            payload = Path(tmp, "body.json")
            payload.write_bytes(body)
            script.write_text('wrk.method = "POST"\n'
                              'wrk.headers["Content-Type"] = "application/json"\n'
                              f'local f = io.open("{payload}", "rb")\n'
                              'wrk.body = f:read("*a")\nf:close()\n')
            args += ["-s", str(script)]
        output = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1)),
        "p99": _ms(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "note": socket_errors.group(1) if socket_errors else "",
    }


# --- asyncio client -----------------------------------------------------------------------------

def _request(path: str, body: bytes | None, port: int) -> bytes:
    head = f"HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
    if body is None:
        return f"GET {path} {head}\r\n".encode()
    return (f"POST {path} {head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _connection(port: int, request: bytes, until: float, latencies: list[float],
                      statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            statuses.append(int(head[9:12]))
    finally:
        writer.close()


def run_python(port: int, path: str, connections: int, seconds: float,
               body: bytes | None) -> dict[str, float]:
    latencies: list[float] = []
    statuses: list[int] = []
    request = _request(path, body, port)

    async def main() -> float:
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(*(_connection(port, request, until, latencies, statuses)
                               for _ in range(connections)))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    latencies.sort()

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3

    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50": quantile(0.50), "p99": quantile(0.99),
            "errors": sum(1 for s in statuses if s >= 300), "note": ""}


def measure(client: str, port: int, path: str, connections: int, seconds: float,
            body: bytes | None) -> dict[str, float]:
    if client == "wrk":
        return run_wrk(f"http://{HOST}:{port}{path}", connections, seconds, body)
    return run_python(port, path, connections, seconds, body)


@dataclass
class Server:
    """One server under test: its label, port, process, where its events go, and how many
    calculations it answered (each should be one stored event with telemetry on)."""

    label: str
    telemetry: bool
    port: int
    process: subprocess.Popen
    database: Path
    answered: int = 0


TELEMETRY_ENV = ("MARGINSCOPE_TELEMETRY", "MARGINSCOPE_DB", "MARGINSCOPE_PARQUET_DIR",
                 "MARGINSCOPE_STATE_DIR", "MARGINSCOPE_RECORD_RATE", "MARGINSCOPE_RECORD_BURST")


def telemetry_env(folder: Path) -> dict[str, str]:
    """Telemetry on as ``serve`` runs it, its files under ``folder``, the per-client recording
    budget lifted (one loopback client sends the whole load: every event must be recorded)."""
    return {"MARGINSCOPE_TELEMETRY": "1",
            "MARGINSCOPE_DB": str(folder / "events.duckdb"),
            "MARGINSCOPE_PARQUET_DIR": str(folder / "events"),  # MARGINSCOPE_SINK=parquet
            "MARGINSCOPE_STATE_DIR": str(folder / "state"),
            "MARGINSCOPE_RECORD_RATE": "1000000000",
            "MARGINSCOPE_RECORD_BURST": "1000000000"}


def start_servers(args: argparse.Namespace, data: Path, workers: int) -> list[Server]:
    """One server per (source tree, telemetry setting) asked for, of ``workers`` workers."""
    modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.telemetry]
    trees = [("", None)] + ([("before ", args.baseline_src)] if args.baseline_src else [])
    servers = []
    for prefix, source in trees:
        for telemetry in modes:
            name = f"{prefix}telemetry {'on' if telemetry else 'off'}"
            folder = data / f"{workers}-{name.replace(' ', '-')}"
            env = {**telemetry_env(folder), "MARGINSCOPE_TELEMETRY": "1" if telemetry else "0"}
            if source:
                env["PYTHONPATH"] = str(Path(source).resolve() / "src")
            port = free_port()
            servers.append(Server(name, telemetry, port, start_server(port, workers, env),
                                  folder / "events.duckdb"))
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="uvicorn workers; several (e.g. 1 2): one measurement each")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--telemetry", choices=["both", "on", "off"], default="both")
    parser.add_argument("--baseline-src", metavar="DIR",
                        help="also run the servers of this source tree (its src/), interleaved")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    if not (1 <= args.connections <= 1024 and 0 < args.seconds <= 120
            and 1 <= args.repeat <= 10 and all(1 <= w <= 8 for w in args.workers)):
        parser.error("connections 1…1024, seconds 0…120, repeat 1…10, workers 1…8 "
                     "(a bounded test)")
    if args.baseline_src and not (Path(args.baseline_src) / "src" / "marginscope").is_dir():
        parser.error(f"--baseline-src {args.baseline_src}: no src/marginscope there")
    client = ("wrk" if shutil.which("wrk") else "python") if args.client == "auto" \
        else args.client
    body = json.dumps(BINANCE_CROSS_EXAMPLE).encode()
    with tempfile.TemporaryDirectory(prefix="marginscope-web-load-") as data:
        costs = in_process_costs(body, Path(data))
        print(f"in process (thread CPU per request, best of interleaved runs): GET "
              f"/api/v1/health {costs['health']:.0f} µs; POST /api/v1/account "
              f"{costs['account']:.0f} µs with telemetry off "
              f"({costs['health'] / costs['account']:.0%} of the ceiling's rate), "
              f"{costs['account_telemetry']:.0f} µs on "
              f"({costs['health'] / costs['account_telemetry']:.0%}); the calculation "
              f"(validate + run) {costs['calculation']:.0f} µs")
        for workers in args.workers:
            measure_workers(args, client, body, Path(data), workers)


def measure_workers(args: argparse.Namespace, client: str, body: bytes, data: Path,
                    workers: int) -> None:
    """Start the servers of ``workers`` workers, measure them, stop them, count the events."""
    print(f"--- {workers} uvicorn worker(s)")
    servers = start_servers(args, data, workers)
    try:
        run(args, client, body, servers, workers)
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
    for server in servers:  # shut down: every sink process has committed
        if server.telemetry:
            stored, counted = stored_events(server.database)
            print(f"{server.label}: {stored:,} events stored for {server.answered:,} "
                  f"calculations answered (wrk does not count the last requests in "
                  f"flight); counted, not recorded: {counted or 'none'}")


def stored_events(database: Path) -> tuple[int, dict[str, int]]:
    """Events in a server's DuckDB file and its counts of events not recorded, by reason
    (read after the server has shut down; stores without the counts table give none)."""
    import duckdb

    stored = 0
    parquet = database.parent / "events"
    if parquet.is_dir():  # MARGINSCOPE_SINK=parquet: the events are there, the counts here
        with duckdb.connect() as con:
            pattern = str(parquet / "**" / "*.parquet").replace("'", "''")
            stored = con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
    if not database.exists():
        return stored, {}
    with duckdb.connect(str(database), read_only=True) as con:
        if not parquet.is_dir():
            stored = con.execute("SELECT count(*) FROM events").fetchone()[0]
        try:
            counted = dict(con.execute("SELECT counter, sum(n) FROM telemetry_counts "
                                       "GROUP BY counter").fetchall())
        except duckdb.CatalogException:
            counted = {}
    return stored, counted


def cpu_seconds(pid: int) -> dict[int, tuple[float, bool]]:
    """CPU seconds (user + system) of process ``pid`` and its descendants (uvicorn's workers,
    the telemetry sink processes), by process, each with whether it is a telemetry sink
    process, from ``/proc`` (empty where there is none)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = [child for task in Path(f"/proc/{current}/task").iterdir()
                        for child in (task / "children").read_text().split()]
        except OSError:  # exited, or no /proc
            continue
        sink = b"marginscope.telemetry" in Path(f"/proc/{current}/cmdline").read_bytes()
        found[current] = ((int(fields[11]) + int(fields[12])) / tick, sink)
        pending += map(int, children)
    return found


def cpu_per_request(before: dict[int, tuple[float, bool]], after: dict[int, tuple[float, bool]],
                    requests: int, sink: bool = False) -> float:
    """Microseconds of server CPU per request between two readings: of the processes serving
    HTTP, or (``sink``) of the telemetry sink processes, which on an idle machine run on
    another core (and whose fixed costs per second — polling, commits — are shared by fewer
    events when the rate falls).

    On a machine shared with other work, requests per second measure the share of the CPU
    the scheduler gave the server as much as the server; the CPU it spent per request does
    not depend on that share, so the ratio of two endpoints' CPU per request is the ratio
    their rates would have on a machine of their own (as long as the server, not the
    client, is the bottleneck). NaN without ``/proc``."""
    if not after or not requests:
        return math.nan
    spent = sum(seconds - before.get(pid, (0.0, sink))[0]
                for pid, (seconds, kind) in after.items() if kind == sink)
    return spent / requests * 1e6


def run(args: argparse.Namespace, client: str, body: bytes, servers: list[Server],
        workers: int) -> None:
    """Check each server's answer, then measure every (server, endpoint) in interleaved
    rounds and print the table."""
    for server in servers:
        prices = check_answer(server.port, body, server.telemetry)
        server.answered += 1
        print(f"{server.label}: POST /api/v1/account answers the published example: "
              + ", ".join(f"{s} {p:,.2f}" for s, p in prices.items()))
    print(f"client {client}, {args.connections} connections, {args.seconds:g} s per "
          f"measurement, median of {args.repeat} interleaved rounds, {workers} uvicorn "
          f"worker(s), {os.cpu_count()} CPUs, loopback {HOST}; load average before: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    targets = [(server, endpoint, path, payload) for server in servers
               for endpoint, path, payload in (("health", "/api/v1/health", None),
                                               ("account", "/api/v1/account", body))]
    for server, endpoint, path, payload in targets:
        warm = measure(client, server.port, path, args.connections, args.warmup, payload)
        server.answered += warm["requests"] - warm["errors"] if endpoint == "account" else 0
    rounds: dict[tuple[str, str], list[dict[str, float]]] = {
        (server.label, endpoint): [] for server, endpoint, _, _ in targets}
    for _ in range(args.repeat):  # interleaved, so drift in the machine's load hits all
        for server, endpoint, path, payload in targets:
            before = cpu_seconds(server.process.pid)
            result = measure(client, server.port, path, args.connections, args.seconds, payload)
            after = cpu_seconds(server.process.pid)
            result["cpu"] = cpu_per_request(before, after, result["requests"])
            result["sink_cpu"] = cpu_per_request(before, after, result["requests"], sink=True)
            rounds[server.label, endpoint].append(result)
            server.answered += result["requests"] - result["errors"] if endpoint == "account" \
                else 0
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for (label, endpoint), runs in rounds.items():
        row = {key: statistics.median(r[key] for r in runs)
               for key in ("rps", "p50", "p99", "cpu", "sink_cpu")}
        errors = sum(r["errors"] for r in runs)
        by_round = ", ".join(f"{r['rps']:,.0f}" for r in runs)
        name = f"{label}, {'GET /api/v1/health' if endpoint == 'health' else 'POST /api/v1/account'}"
        print(f"{name:48s} {row['rps']:9,.0f} req/s   p50 {row['p50']:7.2f} ms   "
              f"p99 {row['p99']:7.2f} ms   CPU {row['cpu']:4.0f} µs/req"
              + (f" + sink {row['sink_cpu']:3.0f}" if row["sink_cpu"] else "")
              + f"   non-2xx {errors}   "
              f"(req/s by round: {by_round})")
    for server in servers:
        ceiling, account = rounds[server.label, "health"], rounds[server.label, "account"]
        ratios = [a["rps"] / c["rps"] for c, a in zip(ceiling, account, strict=True)]
        p99 = statistics.median(a["p99"] for a in account)
        cpu_ratio = statistics.median(c["cpu"] for c in ceiling) / \
            statistics.median(a["cpu"] for a in account)
        print(f"{server.label}: account / ceiling {statistics.median(ratios):.1%} "
              f"(rounds: {', '.join(f'{r:.0%}' for r in ratios)}; target >= 50%), "
              f"by CPU per request {cpu_ratio:.1%}; account p99 {p99:.2f} ms "
              f"(target < 20 ms)")


if __name__ == "__main__":
    main()
