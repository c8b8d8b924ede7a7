"""Benchmark: the month's aggregation over 100 million events on DuckDB and on Spark local mode.

Writes a SYNTHETIC month (``marginscope.sim.planted``, seed 11, the ``NOVEMBER_2025`` story,
every event id ``syn-…``, a ``_SYNTHETIC.txt`` note in the dataset root) of ``--events``
events over November 2025 and its 28-day lead-in as the telemetry's Hive-partitioned Parquet
dataset (``date=YYYY-MM-DD/part-*.parquet``), one day at a time (memory stays bounded by a
day) and split over four writers, as four app servers would write it. Then, each in a fresh
child process, it runs the report's aggregation (:func:`marginscope.analytics.aggregate`: daily
counts per day × tool × device × country over the 58 days, exact distinct visitors and
sessions per day and region over the month, synthetic count) and measures:

* **counts**: the daily-counts query alone (the first query: on Spark it includes the JIT
  warm-up), then **aggregate**: the whole aggregation (its four queries) after it;
* **peak RSS**: the child's whole process tree (Python + DuckDB, or Python + the Spark JVM),
  sampled every 0.1 s from ``/proc`` by this process (no psutil);
* for Spark also the session start (JVM launch), outside the other times.

Engines: DuckDB (its default threads = cores) and Spark ``local[N]`` for each ``--spark``
setting ``N:shuffle_partitions:driver_memory``. Every run's numbers (total checks, distinct
visitors) are checked equal across engines. The dataset is deleted at the end unless
``--keep``.

    .venv/bin/python bench/spark_scale.py                        # 100M events, ~1 h here
    .venv/bin/python bench/spark_scale.py --events 2000000 --spark 2:8:2g
    .venv/bin/python bench/spark_scale.py --dir /data/bench --keep --skip-write
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MONTH = "2025-11"
FIRST, FOLLOWING = date(2025, 11, 1), date(2025, 12, 1)
LEAD = FIRST - timedelta(days=28)
WRITERS = 4
DEFAULT_SPARK = ("2:8:4g", "2:200:4g", "1:8:4g", "2:8:1g")
"""``local[N]:spark.sql.shuffle.partitions:spark.driver.memory`` settings: ours (8 shuffle
partitions), Spark's default 200 partitions, one core, and Spark's default 1g driver."""


# --- the dataset ---------------------------------------------------------------------------

def write_dataset(root: Path, events: int, seed: int = 11) -> dict[str, Any]:
    """Write about ``events`` SYNTHETIC events as a Hive Parquet dataset, a day at a time."""
    from marginscope.sim.planted import NOVEMBER_2025, planted_month
    from marginscope.telemetry.parquet_sink import ParquetDatasetSink

    unit = planted_month(seed, NOVEMBER_2025).null_mean.sum()  # expected events at scale 1
    month = planted_month(seed, NOVEMBER_2025, scale=events / unit)
    total = int(month.counts.sum())
    print(f"writing {total:,} SYNTHETIC events ({month.setups:,} in {MONTH}, "
          f"{len(month.days)} days) to {root} …", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / "_SYNTHETIC.txt").write_text(
        "SYNTHETIC benchmark data (marginscope.sim.planted, seed "
        f"{seed}): planted test signals, not real usage.\n")
    sinks = [ParquetDatasetSink(root, f"bench-app-{i + 1}") for i in range(WRITERS)]
    start = time.perf_counter()
    for index, batch in enumerate(month.batches()):
        step = -(-batch.num_rows // WRITERS)
        for i, sink in enumerate(sinks):
            sink.write(batch.slice(i * step, step))
        if index % 10 == 9:
            print(f"  {index + 1}/{len(month.days)} days, {time.perf_counter() - start:.0f} s",
                  flush=True)
    files = list(root.glob("date=*/*.parquet"))
    size = sum(f.stat().st_size for f in files)
    seconds = time.perf_counter() - start
    print(f"  written in {seconds:.0f} s: {len(files)} files, {size / 2**30:.2f} GiB", flush=True)
    return {"events": total, "files": len(files), "bytes": size, "write_s": seconds}


# --- one measured run (in a child process) --------------------------------------------------

def run_child(engine: str, root: Path, setting: str | None) -> dict[str, Any]:
    """Time the aggregation in this process; returns the figures (printed as JSON)."""
    from marginscope.analytics import aggregate
    from marginscope.analytics.queries import daily_counts_expr
    from marginscope.analytics.sources import close_events, open_events

    out: dict[str, Any] = {"engine": engine, "setting": setting or f"threads={os.cpu_count()}"}
    if engine == "spark":
        from marginscope.analytics import spark

        cores, partitions, memory = (setting or "2:8:4g").split(":")
        start = time.perf_counter()
        spark.session(f"local[{cores}]", shuffle_partitions=int(partitions),
                      driver_memory=memory)
        out["session_s"] = time.perf_counter() - start
    start = time.perf_counter()
    events = open_events(root, engine=engine)
    table = daily_counts_expr(events, LEAD, FOLLOWING).to_pyarrow()
    out["counts_s"] = time.perf_counter() - start
    out["cells"] = table.num_rows
    close_events(events, root)
    start = time.perf_counter()
    cube = aggregate(root, LEAD, FOLLOWING, engine=engine, reach_from=FIRST)
    out["aggregate_s"] = time.perf_counter() - start
    out["checks"] = int(cube.counts.sum())
    out["visitors"] = cube.reach.total_visitors
    out["sessions"] = cube.reach.total_sessions
    out["visitor_days"] = int(cube.reach.visitors[:, 2].sum())
    out["synthetic"] = cube.synthetic
    return out


# --- measuring a child's process tree -------------------------------------------------------

def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)
        rss[child] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total


def measure(engine: str, root: Path, setting: str | None) -> dict[str, Any]:
    """Run one child and sample its tree's RSS; returns its figures plus ``peak_rss``."""
    command = [sys.executable, __file__, "--child", engine, "--dir", str(root)]
    if setting:
        command += ["--setting", setting]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(child.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    output, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        return {"engine": engine, "setting": setting, "error": f"exit {child.returncode}",
                "wall_s": wall, "peak_rss": peak}
    figures = json.loads(output.strip().splitlines()[-1])
    figures.update(wall_s=wall, peak_rss=peak)
    return figures


# --- the table ------------------------------------------------------------------------------

def print_table(results: list[dict[str, Any]], events: int) -> None:
    header = (f"{'engine':<8}{'setting (cores:shuffle:mem)':<30}{'session s':>10}{'counts s':>10}"
              f"{'aggregate s':>12}{'Mev/s':>8}{'peak RSS GiB':>14}")
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        if "error" in r:
            print(f"{r['engine']:<8}{r['setting']!s:<30}  failed: {r['error']} after "
                  f"{r['wall_s']:.0f} s, peak {r['peak_rss'] / 2**30:.2f} GiB")
            continue
        session = f"{r['session_s']:.1f}" if "session_s" in r else "-"
        rate = events / r["aggregate_s"] / 1e6
        print(f"{r['engine']:<8}{r['setting']:<30}{session:>10}{r['counts_s']:>10.1f}"
              f"{r['aggregate_s']:>12.1f}{rate:>8.2f}{r['peak_rss'] / 2**30:>14.2f}")
    good = [r for r in results if "error" not in r]
    keys = ("checks", "visitors", "sessions", "visitor_days", "synthetic")
    same = len({tuple(r[k] for k in keys) for r in good}) == 1
    if good:
        print(f"\n{good[0]['checks']:,} checks, {good[0]['visitors']:,} visitors, "
              f"{good[0]['sessions']:,} sessions (SYNTHETIC DATA); engines agree: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--dir", type=Path, help="dataset root (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the dataset afterwards")
    parser.add_argument("--skip-write", action="store_true", help="reuse the dataset in --dir")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--spark", nargs="*", default=list(DEFAULT_SPARK),
                        help="cores:shuffle_partitions:driver_memory settings")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=("duckdb", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--setting", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_child(args.child, args.dir, args.setting)), flush=True)
        return

    folder = None
    if args.dir is None:
        folder = tempfile.mkdtemp(prefix="marginscope-spark-bench-")
        args.dir = Path(folder) / "events"
    try:
        if args.skip_write:
            files = list(args.dir.glob("date=*/*.parquet"))
            dataset = {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}
        else:
            dataset = write_dataset(args.dir, args.events)
        runs = [("duckdb", None)] * (not args.no_duckdb) + [("spark", s) for s in args.spark]
        results = []
        for engine, setting in runs:
            load = os.getloadavg()[0]
            print(f"running {engine} {setting or ''} (load average {load:.1f}) …", flush=True)
            figures = measure(engine, args.dir, setting)
            figures["load_before"] = load
            figures["load_after"] = os.getloadavg()[0]  # 1-min average; ours alone is ~cores
            results.append(figures)
            print("  " + json.dumps(figures), flush=True)
        events = next((r["checks"] for r in results if "checks" in r), args.events)
        print(f"\ndataset: {dataset.get('files')} Parquet files, "
              f"{dataset.get('bytes', 0) / 2**30:.2f} GiB, {os.cpu_count()} cores")
        print_table(results, events)
        if args.json:
            args.json.write_text(json.dumps({"dataset": dataset, "runs": results}, indent=1))
    finally:
        if not args.keep and not args.skip_write:  # never delete a dataset we did not write
            shutil.rmtree(folder or args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
