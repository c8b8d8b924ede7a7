"""Drive the HTTP API with simulated traders at a target rate (loopback only, bounded).

Requests come from a small simulation (:func:`marginscope.sim.generate.run`): each simulated
setup becomes ``POST /api/v1/{calculator}`` with a body built from the calculator's declared
example and the setup's real-price inputs (:mod:`.inputs`), a User-Agent typical of the
setup's device class and the setup's country in a CDN-style header (``CF-IPCountry`` by
default; the app honours it only when ``MARGINSCOPE_COUNTRY_HEADER`` names it).

Scheduling is open-loop: request *i* is due at ``start + i / rate``; at most ``concurrency``
are in flight (a request that cannot start on time starts late and is counted as late). The
run stops by itself after ``seconds`` or ``count`` requests, whichever comes first; both are
capped (:data:`MAX_SECONDS`, :data:`MAX_COUNT`). Only loopback addresses are accepted.

    python -m marginscope.sim.load --url http://127.0.0.1:8000 --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from marginscope.errors import InputError

__all__ = ["MAX_COUNT", "MAX_SECONDS", "USER_AGENTS", "LoadResult", "build_requests", "drive",
           "main", "run_load"]

MAX_SECONDS = 600.0
MAX_COUNT = 1_000_000
USER_AGENTS: dict[str, tuple[str, ...]] = {
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    ),
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    "unknown": ("curl/8.11.0", "python-httpx/0.28.1"),
}
"""User-Agent strings per device class (common browsers of late 2025; tools for unknown)."""


@dataclass
class LoadResult:
    """What a load run did."""

    target_rate: float
    sent: int = 0
    ok: int = 0
    late: int = 0
    seconds: float = 0.0
    status: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    by_calculator: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def rate(self) -> float:
        """Requests answered per second."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        """Latency percentile, milliseconds (None without answers)."""
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        p50, p99 = self.percentile(50), self.percentile(99)
        return {"target_rate": self.target_rate, "achieved_rate": round(self.rate, 2),
                "sent": self.sent, "ok": self.ok, "late": self.late,
                "seconds": round(self.seconds, 3), "status": dict(self.status),
                "errors": dict(self.errors), "by_calculator": dict(self.by_calculator),
                "p50_ms": None if p50 is None else round(p50, 3),
                "p99_ms": None if p99 is None else round(p99, 3)}


def _loopback(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        loop = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loop = False
    if parts.scheme not in ("http", "https") or not loop:
        raise InputError("url", url, "an http(s) URL on a loopback address (127.0.0.1, ::1, "
                                     "localhost)")
    return url.rstrip("/")


def build_requests(count: int, *, seed: int = 0, country_header: str = "CF-IPCountry",
                   scale: float = 0.2) -> list[tuple[str, bytes, dict[str, str]]]:
    """``count`` requests ``(path, JSON body, headers)`` from simulated November setups."""
    from marginscope.sim.generate import run
    from marginscope.sim.inputs import payloads

    simulation = run("2025-11-01", "2025-11-30", seed=seed, scale=scale)
    table = simulation.table
    rng = np.random.default_rng(seed)
    built = []
    pool = list(payloads(table, simulation.state, sample=min(count, table.num_rows), seed=seed))
    for name, body, row in pool:
        agents = USER_AGENTS[row["device"]]
        headers = {"Content-Type": "application/json",
                   "User-Agent": agents[int(rng.integers(len(agents)))],
                   country_header: row["country"]}
        built.append((f"/api/v1/{name}", json.dumps(body).encode(), headers))
    order = rng.permutation(len(built))
    return [built[i] for i in order]


async def drive(url: str, *, rate: float = 50.0, seconds: float = 5.0, count: int | None = None,
                concurrency: int = 32, seed: int = 0, country_header: str = "CF-IPCountry",
                requests: list[tuple[str, bytes, dict[str, str]]] | None = None,
                timeout: float = 10.0) -> LoadResult:
    """Send simulated setups to ``url`` at ``rate`` per second; see the module docstring."""
    import httpx

    base = _loopback(url)
    if not rate > 0:
        raise InputError("rate", rate, "> 0 requests per second")
    if not 0 < seconds <= MAX_SECONDS:
        raise InputError("seconds", seconds, f"> 0 and <= {MAX_SECONDS:g}")
    planned = min(MAX_COUNT, count if count is not None else int(np.ceil(rate * seconds)))
    if planned < 1:
        raise InputError("count", count, f"1 … {MAX_COUNT}")
    if not 1 <= concurrency <= 1024:
        raise InputError("concurrency", concurrency, "1 … 1024")
    requests = requests or build_requests(min(planned, 5000), seed=seed,
                                          country_header=country_header)
    result = LoadResult(target_rate=rate)
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        began = time.perf_counter()
        deadline = began + seconds

        async def one(index: int) -> None:
            path, body, headers = requests[index % len(requests)]
            try:
                sent = time.perf_counter()
                response = await client.post(path, content=body, headers=headers)
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
                result.status[response.status_code] += 1
                result.ok += response.status_code == 200
                result.by_calculator[path.rsplit("/", 1)[-1]] += 1
            except httpx.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
            finally:
                result.sent += 1
                gate.release()

        tasks: set[asyncio.Task] = set()
        for index in range(planned):
            due = began + index / rate
            if due >= deadline:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            await gate.acquire()
            if time.perf_counter() - due > 0.05:
                result.late += 1
            if time.perf_counter() >= deadline:
                gate.release()
                break
            task = asyncio.create_task(one(index))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        result.seconds = time.perf_counter() - began
    return result


def run_load(url: str, **options: Any) -> LoadResult:
    """:func:`drive` from synchronous code (starts and closes its own event loop)."""
    return asyncio.run(drive(url, **options))


def main(argv: list[str] | None = None) -> int:
    """``python -m marginscope.sim.load``: print the run's summary as JSON."""
    parser = argparse.ArgumentParser(prog="python -m marginscope.sim.load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--country-header", default="CF-IPCountry")
    args = parser.parse_args(argv)
    try:
        result = run_load(args.url, rate=args.rate, seconds=args.seconds, count=args.count,
                          concurrency=args.concurrency, seed=args.seed,
                          country_header=args.country_header)
    except InputError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(json.dumps(result.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
