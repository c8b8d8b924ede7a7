"""Fingerprint of the agent simulator's output for fixed seeds: a check that a speed change
kept every event, session and truth count (SYNTHETIC data).

For each ``(seed, scale)`` in :data:`CASES`, SHA-256 of the event table (every column, in
the table's order, nulls marked), of the sessions and of the truth (every array), from
``marginscope.sim.generate.run``. ``--write`` stores them in ``sim_fingerprint.json`` beside
this file; without it the script recomputes them and exits 1 on any difference. The stored
file was written from main at ``acc32c8``, before the speed work (docs/sim.md, Performance);
a change meant to alter the output re-stores it with ``--write`` and says why.

    python bench/sim_fingerprint.py [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from marginscope.sim.generate import Simulation, run

CASES = ((7, 1.0), (7, 3.0))
STORED = Path(__file__).with_name("sim_fingerprint.json")


def _array_digest(h: hashlib._Hash, values: np.ndarray) -> None:
    values = np.ascontiguousarray(values)
    h.update(f"{values.dtype.str}{values.shape}".encode())
    h.update(values.tobytes())


def _column_digest(h: hashlib._Hash, column: pa.ChunkedArray) -> None:
    column = column.combine_chunks()
    h.update(str(column.type).encode())
    h.update(np.asarray(column.is_null()).tobytes())
    if pa.types.is_string(column.type):
        h.update("\x00".join("" if v is None else v for v in column.to_pylist()).encode())
    else:
        _array_digest(h, column.fill_null(0).to_numpy(zero_copy_only=False))


def fingerprint(simulation: Simulation) -> dict[str, str]:
    """SHA-256 of the events, the sessions and the truth of ``simulation``."""
    out = {}
    h = hashlib.sha256()
    for name in simulation.table.column_names:
        h.update(name.encode())
        _column_digest(h, simulation.table.column(name))
    h.update(json.dumps(simulation.metadata, sort_keys=True).encode())
    out["events"] = h.hexdigest()
    for part in ("sessions", "truth"):
        h = hashlib.sha256()
        for field in dataclasses.fields(getattr(simulation, part)):
            value = getattr(getattr(simulation, part), field.name)
            h.update(field.name.encode())
            if value is not None:
                _array_digest(h, np.asarray(value))
        out[part] = h.hexdigest()
    out["rows"] = str(simulation.table.num_rows)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the fingerprints")
    args = parser.parse_args()
    now = {
        f"seed {seed} scale {scale:g}": fingerprint(run(seed=seed, scale=scale))
        for seed, scale in CASES
    }
    if args.write:
        STORED.write_text(json.dumps(now, indent=2) + "\n", encoding="utf-8")
        print(f"stored {STORED.name}")
        return 0
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    same = True
    for case, parts in now.items():
        for part, digest in parts.items():
            ok = stored.get(case, {}).get(part) == digest
            same &= ok
            print(f"{case} {part}: {'same' if ok else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
