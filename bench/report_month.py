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
* **plain event-level SQL** (issue 21): hand-written DuckDB for what the report's event-level
  pass computes — the session order (``pos = seq``, the page's counter, and one ``lead``
  window over the session ordered by ``seq``, kept in a temporary table) and from it the
  transition sums,
  the first-three-check paths, first-vs-later positions by device and the funnel; the six
  setup-content ``GROUP BY``s (as one ``GROUPING SETS`` query), the hour profile counts and
  the previous month's distinct visitors;
* **session order, seq vs window**: the report's session-order query
  (:func:`~marginscope.analytics.sequences.sequences`) by ``seq`` (one hash aggregate, day by
  day: :func:`~marginscope.analytics.chunks.by_day`), by ``seq`` in one pass over the span,
  and by the ``(ts, event_id)`` window it uses for events without ``seq``, interleaved, the
  same sequences every way (asserted);
* **report**: ``marginscope report`` end to end in-process — market context, daily counts,
  exact reach (two id-keyed passes), the event-level pass (sessions, content, hours),
  statistics, findings, charts and the HTML file — with the time of each step.

Prints each time and the ratios report ÷ ceiling and ibis counts ÷ ceiling, and the report
against plain SQL for all the numbers it aggregates (counts + exact distinct reach + the
event-level aggregates), with the machine's load (``uptime``) before and after: the machine
is shared, so compare ratios measured in one run. Targets (issues 7 and 21): the report under
10 s, within 1.5× of plain SQL for the same numbers.

    .venv/bin/python bench/report_month.py              # ~2 min to write the data once
    .venv/bin/python bench/report_month.py --db /tmp/bench10m.duckdb   # reuse a file
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from marginscope.analytics import chunks
from marginscope.analytics.detail import event_tables
from marginscope.analytics.funnel import FUNNEL
from marginscope.analytics.queries import daily_counts_expr
from marginscope.analytics.sequences import sequences
from marginscope.analytics.sources import open_events
from marginscope.calculators import REGISTRY
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


def _event_level_sql(first: date, following: date) -> list[str]:
    """Hand-written DuckDB for the report's event-level aggregates (see the module)."""
    where = (f"ts >= TIMESTAMPTZ '{first} 00:00:00+00' "
             f"AND ts < TIMESTAMPTZ '{following} 00:00:00+00'")
    previous = (f"ts >= TIMESTAMPTZ '2025-10-01 00:00:00+00' "
                f"AND ts < TIMESTAMPTZ '{FIRST} 00:00:00+00'")
    funnel = [[REGISTRY[n].tool for n in step] for step in FUNNEL]

    def among(step: list[str]) -> str:
        return "tool IN (" + ", ".join(f"'{t}'" for t in step) + ")"

    return [
        # the session order by seq (the bench's events all carry it, numbered from 0 without
        # gaps, so the position is seq itself); lead() for the next checks
        "CREATE OR REPLACE TEMP TABLE o AS SELECT session, device, tool, "
        "epoch_us(ts) // 86400000000 AS day, "
        "seq AS pos, lead(tool) OVER w AS nxt, lead(tool, 2) OVER w AS nxt2 "
        f"FROM events WHERE {where} AND session IS NOT NULL "
        "WINDOW w AS (PARTITION BY session ORDER BY seq)",
        # transitions: per (day, A, B) Σy, Σy², Σxy, Σy/x over sessions
        "SELECT day, tool, nxt, sum(y), sum(y * y), sum(x * y), sum(y / x) FROM ("
        "SELECT *, sum(y) OVER (PARTITION BY day, session, tool) AS x FROM ("
        "SELECT day, session, tool, nxt, count(*) AS y FROM o WHERE nxt IS NOT NULL "
        "GROUP BY ALL)) GROUP BY ALL",
        "SELECT day, tool, nxt, nxt2, count(*) FROM o WHERE pos = 0 GROUP BY ALL",
        "SELECT day, device, tool, sum(x), sum(x * x), sum(y), sum(x * y), count(*) FROM ("
        "SELECT day, session, device, tool, count(*) AS x, count(*) FILTER (pos = 0) AS y "
        "FROM o GROUP BY ALL) GROUP BY ALL",
        "SELECT day, device, count(s1), count(s2), count(CASE WHEN m3 > s2 THEN 1 END) FROM ("
        "SELECT session, min(day) AS day, min(device) AS device, min(s1) AS s1, "
        "min(pos) FILTER (" + among(funnel[1]) + " AND pos > s1) AS s2, "
        "max(pos) FILTER (" + among(funnel[2]) + ") AS m3 FROM ("
        "SELECT *, min(pos) FILTER (" + among(funnel[0]) + ") OVER (PARTITION BY session) "
        "AS s1 FROM o WHERE " + among([t for step in funnel for t in step]) + ") "
        "GROUP BY session) GROUP BY ALL",
        "SELECT epoch_us(ts) // 86400000000 AS day, tool, side, leverage, notional_bucket, "
        "margin_mode, venue, symbol, count(*) FROM events "
        f"WHERE {where} GROUP BY GROUPING SETS ((day, tool, side), (day, tool, leverage), "
        "(day, tool, notional_bucket), (day, tool, margin_mode), (day, tool, venue), "
        "(day, tool, symbol))",
        "SELECT epoch_us(ts) // 86400000000 AS day, hour(ts), device, country = 'US', tool, "
        f"count(*) FROM events WHERE {where} GROUP BY ALL",
        f"SELECT count(DISTINCT visitor) FROM events WHERE {previous}",
    ]


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


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

    print(f"machine: {os.cpu_count()} cores, {_load()} (before the runs)", flush=True)
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
    event_sql = _event_level_sql(LEAD, FOLLOWING)  # as the report: the reference and the month

    def event_level() -> None:
        for query in event_sql:
            con.execute(query).fetchall()

    t_events, _ = _best(event_level, args.repeat)
    con.close()

    def event_pass() -> None:  # the session tables are built when first read
        tables = event_tables(db, LEAD, FOLLOWING, previous=(date(2025, 10, 1), FIRST))
        assert tables.transitions and tables.paths and tables.positions and tables.funnel

    t_pass, _ = _best(event_pass, args.repeat)

    events = open_events(db)
    ways = {"by day": (True, chunks.MIN_ROWS), "one pass": (True, 1 << 62),
            "window": (False, chunks.MIN_ROWS)}
    order: dict[str, list[float]] = {way: [] for way in ways}
    found = {}
    for _ in range(args.repeat):  # interleaved: the load changes between runs
        for way, (use_seq, min_rows) in ways.items():
            chunks.MIN_ROWS, kept = min_rows, chunks.MIN_ROWS
            start = time.perf_counter()
            seqs = sequences(events, LEAD, FOLLOWING, use_seq=use_seq)
            order[way].append(time.perf_counter() - start)
            chunks.MIN_ROWS = kept
            found[way] = (seqs.n.sum(), seqs.n.size, seqs.code.sum())
    assert len(set(found.values())) == 1, "the ways of ordering sessions disagree"
    events.get_backend().disconnect()
    t_seq, t_one_pass, t_window = (min(order[way]) for way in ways)

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
    print(f"machine: {os.cpu_count()} cores, {_load()} (after the runs)")
    print(f"{'ceiling: plain DuckDB GROUP BY (CAST AS DATE)':<58}{t_cast:>7.2f} s")
    print(f"{'ceiling: plain DuckDB GROUP BY (epoch_us // day)':<58}{t_epoch:>7.2f} s")
    print(f"{'ibis daily counts (same cells, same sums)':<58}{t_ibis:>7.2f} s   "
          f"{t_ibis / ceiling:.2f}x ceiling")
    print(f"{'reference: plain COUNT(DISTINCT) visitors+sessions/day':<58}{t_reach:>7.2f} s")
    print(f"{'plain event-level SQL (sessions, content, hours, prev.)':<58}{t_events:>7.2f} s")
    print(f"{'ibis event-level pass (same numbers, + NumPy)':<58}{t_pass:>7.2f} s   "
          f"{t_pass / t_events:.2f}x plain")
    print(f"{'  of which session order by seq, day by day':<58}{t_seq:>7.2f} s")
    print(f"{'  the same by seq in one pass over the span':<58}{t_one_pass:>7.2f} s   "
          f"day by day {t_seq / t_one_pass:.2f}x one pass")
    print(f"{'  the same by the (ts, event_id) window (no seq)':<58}{t_window:>7.2f} s   "
          f"seq {t_seq / t_window:.2f}x window")
    print(f"{'full report, HTML (best of ' + str(args.repeat) + ')':<58}{best_total:>7.2f} s   "
          f"{best_total / ceiling:.2f}x ceiling")
    same_numbers = ceiling + t_reach + t_events
    print(f"{'hand-written SQL for the same numbers (all aggregates)':<58}{same_numbers:>7.2f} s")
    print(f"{'RATIO full report / hand-written SQL (target <= 1.5)':<58}"
          f"{best_total / same_numbers:>7.2f}x")
    for name in (*STEPS, "render html"):
        if name in steps:
            print(f"    {name:<54}{steps[name]:>7.2f} s")
    print(f"\n{report.summary['setups']:,} setups, {report.summary['visitors']:,} visitors, "
          f"{len(report.findings)} findings (SYNTHETIC DATA)")
    folder.cleanup()


if __name__ == "__main__":
    main()
