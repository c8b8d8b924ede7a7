"""Synthetic trader behaviour and test signals (every output is labelled synthetic).

* :mod:`.generate` — the agent-based simulator: traders with positions on the real
  October–November 2025 BTC path (:mod:`.path`), stepped hourly (:mod:`.agents`), their
  sessions turned into events: ``simulate(start, end, seed, scale) -> pyarrow.Table`` in the
  canonical event schema, ``run(...)`` also returns the agents' truth (:mod:`.population`,
  :mod:`.behaviour` hold the assumptions);
* :mod:`.inputs` — real calculator inputs for simulated setups, run through the calculators;
* :mod:`.load` — drives the HTTP API at a target rate (loopback only);
* :mod:`.output` — writes simulated events to the DuckDB store or Parquet;
* :mod:`.planted` — planted-effect months for testing the analytics.

See ``docs/sim.md``. The names below are imported on first use, so importing one module (e.g.
``marginscope.sim.planted``) does not load the others.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Assumptions", "Simulation", "run", "simulate", "source_label"]

_EXPORTS = {"Assumptions": "behaviour", "Simulation": "generate", "run": "generate",
            "simulate": "generate", "source_label": "generate"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"marginscope.sim.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
