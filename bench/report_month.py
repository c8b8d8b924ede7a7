"""Benchmark: the full monthly report on a 10-million-event month against plain DuckDB.

Writes a SYNTHETIC month (``marginscope.sim.planted``, seed 11, the ``NOVEMBER_2025`` story,
every event id ``syn-…``) of about 10 million events in November 2025 plus its 28-day
lead-in at the same rate (the baseline needs it) into a DuckDB file, then times, best of
``--repeat`` runs, in the same process:

* **ceiling**: the plain DuckDB ``GROUP BY`` of the same daily counts (day × tool × device ×
  country over the month and its lead-in), written by hand, in the faster of two forms
  (``CAST(ts AS DATE)`` and ``epoch_us(ts) // 86400e6``);
* **ibis counts**: the report's own aggregation of those counts (Ibis → DuckDB);
* **plain reach**: hand-written DuckDB for the exact distinct visitors and sessions per day and
  region (``COUNT(DISTINCT …) GROUP BY day, region``), for reference;
* **report**: ``marginscope report`` end to end in-process — market context, daily counts,
  exact reach (two id-keyed passes), statistics, findings, charts and the HTML file — with
  the time of each step.

Prints each time and the ratios report ÷ ceiling and ibis counts ÷ ceiling, and the report
against plain SQL for all the numbers it aggregates (counts + exact distinct reach). Targets
(issue 7): the report under 10 s, within 3× of the ceiling.

    .venv/bin/python bench/report_month.py              # ~2 min to write the data once
    .venv/bin/python bench/report_month.py --db /tmp/bench10m.duckdb   # reuse a file
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from marginscope.analytics.queries import daily_counts_expr
from marginscope.analytics.sources import open_events
from marginscope.report import STEPS, build_report, render
from marginscope.sim.planted import NOVEMBER_2025, planted_month, write_duckdb

MONTH = "2025-11"
FIRST, FOLLOWING = date(2025, 11, 1), date(2025, 12, 1)
LEAD = FIRST - timedelta(days=28)
EVENTS_PER_DAY_AT_SCALE_1 = 5000.0


def _best(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _write(path: Path, events: int) -> None:
    scale = events / (EVENTS_PER_DAY_AT_SCALE_1 * 30)
    month = planted_month(11, NOVEMBER_2025, scale=scale)
    print(f"writing {month.counts.sum():,} SYNTHETIC events ({month.setups:,} in {MONTH}) "
          f"to {path} …", flush=True)
    start = time.perf_counter()
    write_duckdb(month, path)
    print(f"  written in {time.perf_counter() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="DuckDB file to use (written if absent)")
    parser.add_argument("--events", type=int, default=10_000_000,
                        help="events in the month (default 10,000,000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory(prefix="marginscope-bench-")
    db = args.db or Path(folder.name) / "bench.duckdb"
    if not db.exists():
        _write(db, args.events)

    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    total, in_month = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE ts >= TIMESTAMPTZ '2025-11-01 00:00:00+00') "
        "FROM events").fetchone()
    where = (f"ts >= TIMESTAMPTZ '{LEAD} 00:00:00+00' "
             f"AND ts < TIMESTAMPTZ '{FOLLOWING} 00:00:00+00'")
    plain_cast = ("SELECT CAST(ts AS DATE) AS day, tool, device, country, count(*) AS checks "
                  f"FROM events WHERE {where} GROUP BY ALL")
    plain_epoch = ("SELECT epoch_us(ts) // 86400000000 AS day, tool, device, country, "
                   f"count(*) AS checks FROM events WHERE {where} GROUP BY ALL")
    plain_reach = ("SELECT CAST(ts AS DATE) AS day, country = 'US' AS us, "
                   "count(DISTINCT visitor), count(DISTINCT session) FROM events "
                   "WHERE ts >= TIMESTAMPTZ '2025-11-01 00:00:00+00' "
                   "AND ts < TIMESTAMPTZ '2025-12-01 00:00:00+00' GROUP BY ALL")
    print(f"events in the file: {total:,} ({in_month:,} in {MONTH}); "
          f"{con.execute('SELECT current_setting(' + chr(39) + 'threads' + chr(39) + ')').fetchone()[0]} "
          "DuckDB threads", flush=True)

    t_cast, rows_cast = _best(lambda: con.execute(plain_cast).fetchall(), args.repeat)
    t_epoch, _ = _best(lambda: con.execute(plain_epoch).fetchall(), args.repeat)
    ceiling = min(t_cast, t_epoch)
    con.close()

    events = open_events(db)
    t_ibis, table = _best(lambda: daily_counts_expr(events, LEAD, FOLLOWING).to_pyarrow(),
                          args.repeat)
    assert table.num_rows == len(rows_cast), "Ibis and plain SQL disagree on the cells"
    assert sum(table["checks"].to_pylist()) == sum(r[-1] for r in rows_cast)
    events.get_backend().disconnect()

    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    t_reach, _ = _best(lambda: con.execute(plain_reach).fetchall(), 1)
    con.close()

    out = Path(folder.name) / "report.html"
    steps: dict[str, float] = {}
    best_total = float("inf")
    for _ in range(args.repeat):
        marks: list[tuple[str, float]] = []

        def mark(name: str, marks: list[tuple[str, float]] = marks) -> None:
            marks.append((name, time.perf_counter()))

        start = time.perf_counter()
        report = build_report(db, MONTH, progress=mark, today=date(2026, 1, 1))
        marks.append(("render html", time.perf_counter()))
        render(report, "html", out)
        end = time.perf_counter()
        if end - start < best_total:
            best_total = end - start
            ends = [m[1] for m in marks[1:]] + [end]
            steps = {name: stop - begin for (name, begin), stop in zip(marks, ends, strict=True)}
    print()
    print(f"{'ceiling: plain DuckDB GROUP BY (CAST AS DATE)':<58}{t_cast:>7.2f} s")
    print(f"{'ceiling: plain DuckDB GROUP BY (epoch_us // day)':<58}{t_epoch:>7.2f} s")
    print(f"{'ibis daily counts (same cells, same sums)':<58}{t_ibis:>7.2f} s   "
          f"{t_ibis / ceiling:.2f}x ceiling")
    print(f"{'reference: plain COUNT(DISTINCT) visitors+sessions/day':<58}{t_reach:>7.2f} s")
    print(f"{'full report, HTML (best of ' + str(args.repeat) + ')':<58}{best_total:>7.2f} s   "
          f"{best_total / ceiling:.2f}x ceiling")
    same_numbers = ceiling + t_reach
    print(f"{'  vs plain SQL for the same numbers (counts + distinct)':<58}{same_numbers:>7.2f} s   "
          f"{best_total / same_numbers:.2f}x")
    for name in (*STEPS, "render html"):
        if name in steps:
            print(f"    {name:<54}{steps[name]:>7.2f} s")
    print(f"\n{report.summary['setups']:,} setups, {report.summary['visitors']:,} visitors, "
          f"{len(report.findings)} findings (SYNTHETIC DATA)")
    folder.cleanup()


if __name__ == "__main__":
    main()
