"""Liquidation prices for 10 million tiered positions: engine vs a Python loop vs the floor.

(a) a per-position pure-Python loop of the same formulas (bisect tier lookup + closed form),
    timed on a sample and scaled up; (b) the bare NumPy expression with MMR and cum given per
    position (no tier lookup: the memory-bound floor); (c) the engine,
    ``marginscope.risk.liquidation_price`` with tier self-consistency, several symbols, on
    every core (blocks shared between threads) and (c1) on one thread.
Synthetic positions (labelled so): sizes, prices and leverages drawn at random, seeded.

    python bench/liquidation_engine.py [--positions 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import bisect
import time

import numpy as np

from marginscope import risk
from marginscope.risk import liquidation
from marginscope.risk.tiers import load_venue_tables

VENUE = "binance-usdm"


def synthetic_positions(n: int, symbols: list[str], seed: int = 7) -> dict[str, np.ndarray]:
    """SYNTHETIC positions: mixed sides, symbols, 1x-20x, notional from $100 to $50M."""
    rng = np.random.default_rng(seed)
    tables = load_venue_tables(VENUE)
    index = rng.integers(0, len(symbols), n)
    price_scale = np.array([90_000.0 if "BTC" in s else 3_000.0 if "ETH" in s else 150.0
                            for s in symbols])
    entry = price_scale[index] * rng.uniform(0.8, 1.2, n)
    notional = np.exp(rng.uniform(np.log(100.0), np.log(5e7), n))
    qty = notional / entry
    leverage = rng.uniform(1.0, 20.0, n)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    # the bare expression gets the tier of the engine's answer, so both compute the same prices
    del tables
    return {"index": index, "entry": entry, "qty": qty, "margin": notional / leverage,
            "side": side}


def bare(p, mmr, cum):
    return (p["margin"] + cum - p["side"] * p["qty"] * p["entry"]) / (
        p["qty"] * mmr - p["side"] * p["qty"])


def engine(p, symbols):
    return risk.liquidation_price(VENUE, p["side"], p["qty"], p["entry"], margin=p["margin"],
                                  symbol=symbols, symbol_index=p["index"])


def python_loop(p, symbols, count):
    tables = [load_venue_tables(VENUE)[s] for s in symbols]
    floors = [list(t.floor) for t in tables]
    mmrs = [list(t.mmr) for t in tables]
    cums = [list(t.cum) for t in tables]
    out = []
    for i in range(count):
        t = int(p["index"][i])
        s, q, e, w = float(p["side"][i]), float(p["qty"][i]), float(p["entry"][i]), \
            float(p["margin"][i])
        k = max(bisect.bisect_right(floors[t], q * e) - 1, 0)
        for _ in range(len(floors[t])):  # bracket self-consistency, as the FAQ describes
            price = (w + cums[t][k] - s * q * e) / (q * mmrs[t][k] - s * q)
            new = max(bisect.bisect_right(floors[t], q * max(price, 0.0)) - 1, 0)
            if new == k:
                break
            k = new
        out.append(price if 0 < price < 1e15 else float("nan"))
    return out


def best_of(repeat, fn, *args):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loop-sample", type=int, default=200_000)
    args = parser.parse_args()
    symbols = ["BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT"]  # the documented benchmark's four tables
    n = args.positions
    p = synthetic_positions(n, symbols)
    print(f"{n:,} synthetic positions, {len(symbols)} symbols ({', '.join(symbols)}), "
          f"mixed sides, tiered ({VENUE})")

    t_engine, prices = best_of(args.repeat, engine, p, symbols)
    threads, liquidation.THREADS = liquidation.THREADS, 1
    t_single, single_prices = best_of(args.repeat, engine, p, symbols)
    liquidation.THREADS = threads
    tables = [load_venue_tables(VENUE)[s] for s in symbols]
    # tiers of the engine's answers, for the floor (index per table at the liquidation notional)
    at = np.where(np.isnan(prices), p["entry"], prices) * p["qty"]
    mmr = np.empty(n)
    cum = np.empty(n)
    for t, table in enumerate(tables):
        rows = p["index"] == t
        k = table.tier_index(at[rows])
        mmr[rows], cum[rows] = table.mmr[k], table.cum[k]
    t_bare, floor_prices = best_of(args.repeat, bare, p, mmr, cum)
    sample = min(args.loop_sample, n)
    t_loop_sample, loop_prices = best_of(1, python_loop, p, symbols, sample)
    t_loop = t_loop_sample * n / sample

    agree = np.allclose(loop_prices, prices[:sample], rtol=1e-9, equal_nan=True)
    agree_floor = np.allclose(np.where(floor_prices > 0, floor_prices, np.nan), prices,
                              rtol=1e-9, equal_nan=True)
    print(f"(a) Python loop   {t_loop:8.3f} s  (timed on {sample:,}, scaled)   "
          f"engine is {t_loop / t_engine:7.1f}x faster   answers agree: {agree}")
    print(f"(b) bare NumPy    {t_bare:8.3f} s  (no tier lookup: the floor)   "
          f"engine / floor = {t_engine / t_bare:5.2f}x   answers agree: {agree_floor}")
    print(f"(c) engine        {t_engine:8.3f} s  = {n / t_engine / 1e6:6.1f} M positions/s "
          f"on {threads} threads")
    print(f"(c1) one thread   {t_single:8.3f} s  = {n / t_single / 1e6:6.1f} M positions/s   "
          f"{t_loop / t_single:5.1f}x the loop, {t_single / t_bare:4.2f}x the floor   "
          f"same answers: {np.array_equal(prices, single_prices, equal_nan=True)}")


if __name__ == "__main__":
    main()
