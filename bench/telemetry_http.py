"""Sustained ingest through HTTP: ``POST /api/v1/liquidation`` with telemetry off vs on.

Starts the same app twice under uvicorn on 127.0.0.1 (free ports): once with
``MARGINSCOPE_TELEMETRY=0``, once with ``MARGINSCOPE_TELEMETRY=1`` into a fresh DuckDB file
(or ``--sink parquet``) in a temporary directory. Both get the same request (the liquidation
example, a real desktop Chrome User-Agent, ``CF-IPCountry: DE``), for a fixed time each at a
fixed number of keep-alive connections, in interleaved rounds. With telemetry on, every 200 is
sent once its event is held by the sink process (``--ack handoff``, the server's default) or
durable (``--ack durable``). Prints req/s, p50/p99 latency, the on/off ratio (target
>= 70 %), the events stored against the 200s counted by the client, and the stored events/s
against the ceiling: DuckDB's bare insert of the same rows (Arrow → table, no checks, one
commit), timed in the same run.

Load from ``wrk`` (Debian package) when installed, else the asyncio client of web_load.py.

    python bench/telemetry_http.py [--connections 64] [--seconds 10] [--repeat 3]
                                   [--sink duckdb|parquet] [--ack handoff|durable]
                                   [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_load import HOST, _ms, free_port, run_python, start_server

PATH = "/api/v1/liquidation"
BODY = {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": 1.0,
        "entry_price": 90000.0, "leverage": 10}
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/126.0.0.0 Safari/537.36",
    "CF-IPCountry": "DE",
}


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()  # SIGTERM: uvicorn's lifespan shutdown closes (flushes) the telemetry
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()


def run_wrk(port: int, connections: int, seconds: float, body: bytes) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp, "body.json")
        payload.write_bytes(body)
        script = Path(tmp, "post.lua")
        script.write_text('wrk.method = "POST"\n'
                          + "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in HEADERS.items())
                          + f'local f = io.open("{payload}", "rb")\n'
                          'wrk.body = f:read("*a")\nf:close()\n'
                          'done = function(summary, latency, requests)\n'
                          '  io.write(string.format("completed %d\\n", summary.requests))\n'
                          'end\n')
        output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s",
                                 "--latency", "-s", str(script), f"http://{HOST}:{port}{PATH}"],
                                capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    completed = int(re.search(r"completed (\d+)", output).group(1))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50": _ms(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1)),
            "p99": _ms(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1)),
            "errors": int(errors.group(1)) if errors else 0,
            "ok": completed - (int(errors.group(1)) if errors else 0)}


def measure(client: str, port: int, connections: int, seconds: float,
            body: bytes) -> dict[str, float]:
    if client == "wrk":
        return run_wrk(port, connections, seconds, body)
    result = run_python(port, PATH, connections, seconds, body)  # no UA: device "unknown"
    result["ok"] = result["rps"] * seconds - result["errors"]
    return result


def stored_events(data: Path, sink: str) -> Any:
    con = duckdb.connect()
    if sink == "duckdb":
        con.execute(f"ATTACH '{data / 'events.duckdb'}' AS store (READ_ONLY)")
        return con.sql("SELECT * FROM store.events").to_arrow_table()
    return con.sql(f"SELECT * EXCLUDE (date) FROM read_parquet('{data / 'events'}/**/*.parquet'"
                   ", hive_partitioning = true)").to_arrow_table()


def bare_insert_rate(table: Any, repeat: int = 3) -> float:
    """Events/s of DuckDB's bare insert of ``table`` into a fresh file (best of ``repeat``)."""
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            con = duckdb.connect(str(Path(tmp, "bare.duckdb")))
            con.register("rows", table)
            con.execute("CREATE TABLE bare AS SELECT * FROM rows LIMIT 0")
            start = time.perf_counter()
            con.execute("INSERT INTO bare SELECT * FROM rows")
            con.close()
            best = min(best, time.perf_counter() - start)
    return table.num_rows / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sink", choices=["duckdb", "parquet"], default="duckdb")
    parser.add_argument("--ack", choices=["handoff", "durable"], default="handoff",
                        help="MARGINSCOPE_ACK of the telemetry-on server")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    if not (1 <= args.connections <= 1024 and 0 < args.seconds <= 120
            and 1 <= args.repeat <= 10):
        parser.error("connections 1…1024, seconds 0…120, repeat 1…10 (a bounded test)")
    client = ("wrk" if shutil.which("wrk") else "python") if args.client == "auto" \
        else args.client
    body = json.dumps(BODY).encode()
    with tempfile.TemporaryDirectory(prefix="marginscope-bench-") as tmp:
        data = Path(tmp)
        on_env = {"MARGINSCOPE_TELEMETRY": "1", "MARGINSCOPE_SINK": args.sink,
                  "MARGINSCOPE_ACK": args.ack,
                  "MARGINSCOPE_DB": str(data / "events.duckdb"),
                  "MARGINSCOPE_PARQUET_DIR": str(data / "events"),
                  "MARGINSCOPE_STATE_DIR": str(data / "state"),
                  "MARGINSCOPE_COUNTRY_HEADER": "CF-IPCountry",
                  # one loopback client sends the whole load: every event must be recorded
                  "MARGINSCOPE_RECORD_RATE": "1000000000",
                  "MARGINSCOPE_RECORD_BURST": "1000000000"}
        ports = {"off": free_port(), "on": free_port()}
        servers = {"off": start_server(ports["off"], env={"MARGINSCOPE_TELEMETRY": "0"}),
                   "on": start_server(ports["on"], env=on_env)}
        rounds: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        try:
            print(f"client {client}, {args.connections} connections, {args.seconds:g} s per "
                  f"measurement, median of {args.repeat} interleaved rounds, sink {args.sink}, "
                  f"acknowledgement {args.ack}, "
                  f"{os.cpu_count()} CPUs, loopback {HOST}, POST {PATH}")
            for mode in ("off", "on"):
                measure(client, ports[mode], args.connections, args.warmup, body)
            for _ in range(args.repeat):
                for mode in ("off", "on"):
                    rounds[mode].append(measure(client, ports[mode], args.connections,
                                                args.seconds, body))
        finally:
            for server in servers.values():
                stop_server(server)
        for mode, runs in rounds.items():
            row = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
            by_round = ", ".join(f"{r['rps']:,.0f}" for r in runs)
            print(f"telemetry {mode:3s} {row['rps']:9,.0f} req/s   p50 {row['p50']:7.2f} ms   "
                  f"p99 {row['p99']:7.2f} ms   non-2xx {sum(r['errors'] for r in runs)}   "
                  f"(req/s by round: {by_round})")
        ratios = [on["rps"] / off["rps"] for off, on in zip(rounds["off"], rounds["on"],
                                                             strict=True)]
        print(f"on / off: {statistics.median(ratios):.1%} (rounds: "
              f"{', '.join(f'{r:.0%}' for r in ratios)}; target >= 70%)")
        table = stored_events(data, args.sink)
        print(f"events stored: {table.num_rows:,} (warm-up included); 200s counted in the "
              f"measured rounds: {sum(r['ok'] for r in rounds['on']):,.0f}")
        ceiling = bare_insert_rate(table)
        on_rps = statistics.median(r["rps"] for r in rounds["on"])
        print(f"ceiling (bare DuckDB insert of the same {table.num_rows:,} rows): "
              f"{ceiling:,.0f} events/s; through HTTP {on_rps:,.0f} events/s = "
              f"{on_rps / ceiling:.2%} of it")


if __name__ == "__main__":
    main()
