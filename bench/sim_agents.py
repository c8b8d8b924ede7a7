"""The agent simulator at the default scale and at ``--scale 100``, against a floor in the same run.

For each scale: (a) ``marginscope.sim.generate.run`` (Oct 1 – Nov 30 2025 plus the burn-in
week, every hour, every agent, the events built) — wall and CPU seconds, events, November
checks; (b) the **floor**: the least any hourly agent simulator over the same number of agents
and hours must do — one hazard expression, one random draw and one selection per agent per
hour (NumPy, float32) — timed in the same run, so the ratio (a)/(b) is comparable across
machines and loads. The load average (start and end of the run, averaged) is printed beside
them: on a shared machine, CPU seconds are the steadier figure. All data are SYNTHETIC
(seeded simulation on the real price path).

    python bench/sim_agents.py [--scales 1 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from marginscope.sim.behaviour import Assumptions
from marginscope.sim.generate import run


def floor(agents: int, hours: int, seed: int = 0) -> float:
    """Seconds of the bare hourly pass (see the module docstring)."""
    rng = np.random.default_rng(seed)
    attention = rng.gamma(0.6, 1 / 0.6, agents).astype(np.float32)
    rhythm = rng.uniform(0.2, 1.5, agents).astype(np.float32)
    urgent = np.zeros(agents, dtype=np.float32)
    began = time.perf_counter()
    fired = 0
    for _ in range(hours):
        hazard = attention * (rhythm * np.float32(0.005) + urgent)
        fired += np.flatnonzero(rng.standard_exponential(agents, dtype=np.float32) < hazard).size
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 100.0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    run("2025-11-01", "2025-11-02", seed=args.seed, scale=0.1)  # imports, tier tables, caches
    print("SYNTHETIC benchmark (marginscope.sim on the real Oct–Nov 2025 path)")
    for scale in args.scales:
        load = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        simulation = run(seed=args.seed, scale=scale)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        load = (load + os.getloadavg()[0]) / 2
        agents = len(simulation.population)
        hours = len(simulation.path.time_ms)
        bare = floor(agents, hours, args.seed)
        ts = simulation.table.column("ts").to_numpy().astype("datetime64[M]")
        november = int((ts == np.datetime64("2025-11")).sum())
        print(
            f"scale {scale:g}: {agents:,} agents × {hours:,} hours; "
            f"{simulation.table.num_rows:,} events ({november:,} in November; the seed's "
            f"98,700 × {scale:g} = {98_700 * scale:,.0f}); "
            f"simulation {wall:.1f} s wall, {cpu:.1f} s CPU; "
            f"floor {bare:.2f} s; ratio {wall / bare:.1f}×; "
            f"load average {load:.1f} (2 cores: wall > CPU when other jobs run)"
        )
    print(f"(Assumptions.traders = {Assumptions().traders:,} per unit of scale)")


if __name__ == "__main__":
    main()
