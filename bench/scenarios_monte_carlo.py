"""Benchmark: Monte Carlo liquidation probability, 100,000 paths × 1,440 one-minute steps.

Times :func:`marginscope.scenarios.monte_carlo_probability` (float64 and float32) on a one-day
horizon monitored every minute, against a per-path pure-Python loop (``random.gauss``, stop at
the first breach) run on a smaller number of paths and scaled up linearly to the same size.

    .venv/bin/python bench/scenarios_monte_carlo.py [--paths 100000] [--steps 1440]
        [--baseline-paths 1000] [--repeat 3]

Case: long, price 100,000, liquidation price 97,000 (−3%), σ = 60%/yr, μ = 0, one day.
Target (issue 3): the vectorized run under 3 s on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import time

import numpy as np

from marginscope.scenarios import (
    BGK_BETA,
    DAYS_PER_YEAR,
    first_passage_probability,
    monte_carlo_probability,
)

PRICE, BARRIER, SIGMA, DAYS, DRIFT = 100_000.0, 97_000.0, 0.60, 1.0, 0.0


def python_loop(paths: int, steps: int, seed: int = 0) -> float:
    """The baseline: one path at a time, one step at a time, BGK-corrected barrier."""
    rng = random.Random(seed)
    dt = DAYS / DAYS_PER_YEAR / steps
    unit = SIGMA * math.sqrt(dt)
    drift = (DRIFT - 0.5 * SIGMA * SIGMA) * dt
    level = math.log(BARRIER / PRICE) + BGK_BETA * unit  # lower barrier moved towards the price
    hits = 0
    for _ in range(paths):
        x = 0.0
        for _ in range(steps):
            x += drift + unit * rng.gauss(0.0, 1.0)
            if x <= level:
                hits += 1
                break
    return hits / paths


def best_of(repeat: int, fn, *args, **kwargs):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1_440)
    parser.add_argument("--baseline-paths", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    exact = float(first_passage_probability(PRICE, BARRIER, SIGMA, DAYS, DRIFT))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"case: long, S0={PRICE:,.0f}, LP={BARRIER:,.0f}, sigma={SIGMA:.0%}, {DAYS:g} day, "
          f"{args.steps} steps; closed form P = {exact:.5f}")

    rows = []
    for dtype in ("float64", "float32"):
        seconds, est = best_of(args.repeat, monte_carlo_probability, PRICE, BARRIER, SIGMA, DAYS,
                               DRIFT, paths=args.paths, steps=args.steps, seed=1, dtype=dtype)
        rows.append((dtype, seconds, est))

    base_seconds, base_p = best_of(1, python_loop, args.baseline_paths, args.steps)
    scaled = base_seconds * args.paths / args.baseline_paths
    print(f"\npython loop: {args.baseline_paths:,} paths in {base_seconds:.2f} s, P = {base_p:.4f}"
          f" -> scaled to {args.paths:,} paths: {scaled:.1f} s")
    print(f"\n{'vectorized':<12}{'seconds':>9}{'paths x steps / s':>20}{'speed-up':>10}"
          f"{'P':>9}{'SE':>9}{'z vs exact':>12}")
    for dtype, seconds, est in rows:
        rate = args.paths * args.steps / seconds
        z = (est.probability - exact) / est.standard_error
        print(f"{dtype:<12}{seconds:>9.2f}{rate:>20.3g}{scaled / seconds:>9.0f}x"
              f"{est.probability:>9.4f}{est.standard_error:>9.4f}{z:>12.2f}")
    verdict = "under" if min(r[1] for r in rows) < 3.0 else "OVER"
    print(f"\ntarget < 3 s for {args.paths:,} x {args.steps:,}: float64 {rows[0][1]:.2f} s, "
          f"float32 {rows[1][1]:.2f} s ({verdict})")


if __name__ == "__main__":
    main()
