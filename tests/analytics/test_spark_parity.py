"""Parity: the same Ibis aggregation on DuckDB and on Spark (local mode) gives the same numbers.

One SYNTHETIC planted month (``small_story``: seed 3, a tenth of the default traffic, the
November 2025 story) is written as the Hive-partitioned Parquet dataset the telemetry sink
writes (two writers, so several files per day), plus a few edge events: the last and first
microsecond of a UTC day and a visitor seen on two days (the multi-day reach path). Both
engines read that dataset; the daily counts, exact distinct visitors and sessions, the
dashboard query, the event-level tables (the session sequences and what derives from them:
transitions, paths, positions, the funnel; setup content; hour counts; the previous month's
visitors) and the JSON report must be identical. One session holds three checks with the same
timestamp, ordered only by their event ids (deliberate ties). One SparkSession (``local[2]``, all
traffic on loopback, UI off) serves the module.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from marginscope.analytics import aggregate, daily
from marginscope.analytics import spark as spark_engine
from marginscope.analytics.detail import event_tables
from marginscope.analytics.sequences import sequences
from marginscope.analytics.sources import opened_events
from marginscope.calculators import REGISTRY
from marginscope.cli import main
from marginscope.report import build_report
from marginscope.telemetry.parquet_sink import ParquetDatasetSink
from marginscope.telemetry.schema import ARROW_SCHEMA

pytestmark = [
    pytest.mark.skipif(not spark_engine.java_available(),
                       reason="no Java runtime: Spark needs Java 17+ (JAVA_HOME or java on "
                              "PATH); the DuckDB side is covered by test_aggregate.py"),
    # pandas 3 deprecations raised inside PySpark's and Ibis's toPandas paths; py4j sockets
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

START, END, MONTH = date(2025, 10, 4), date(2025, 12, 1), date(2025, 11, 1)
AFTER_THE_MONTH = date(2026, 1, 1)


def _edge_events() -> pa.Table:
    """Events on day boundaries and one visitor on two days (US, then not)."""
    def event(name: str, when: datetime, visitor: str, country: str) -> dict[str, Any]:
        return {"event_id": f"syn-edge-{name}", "ts": when, "tool": "margin_call",
                "device": "mobile", "country": country, "visitor": visitor,
                "session": f"s-edge-{name}"}

    rows = [
        event("last-us", datetime(2025, 11, 3, 23, 59, 59, 999_999, tzinfo=UTC), "v-edge", "US"),
        event("first-us", datetime(2025, 11, 4, 0, 0, 0, tzinfo=UTC), "v-edge", "DE"),
        event("span-a", datetime(2025, 11, 10, 8, tzinfo=UTC), "v-span", "US"),
        event("span-b", datetime(2025, 11, 11, 9, tzinfo=UTC), "v-span", "FR"),
        event("before", datetime(2025, 10, 3, 23, 59, 59, 999_999, tzinfo=UTC), "v-out", "US"),
    ]
    tie = datetime(2025, 11, 12, 10, tzinfo=UTC)  # one session, one timestamp, three checks
    for suffix, calculator in zip("cab", TIE_ORDER[::-1], strict=True):
        rows.append({**event("tie", tie, "v-tie", "DE"), "event_id": f"syn-edge-tie-{suffix}",
                     "tool": REGISTRY[calculator].tool})
    # seq with a gap and a late start, against the time order; and a repeated seq (the window)
    for name, seqs in (("gap", (9, 4, 6)), ("twice", (1, 1, 2))):
        for i, (seq, calculator) in enumerate(zip(seqs, TIE_ORDER, strict=True)):
            rows.append({**event(name, tie + timedelta(minutes=i), f"v-{name}", "DE"),
                         "event_id": f"syn-edge-{name}-{i}", "seq": seq,
                         "tool": REGISTRY[calculator].tool})
    return pa.Table.from_pylist(rows, schema=ARROW_SCHEMA)


TIE_ORDER = ("pnl", "liquidation", "margin-call")
"""The tie session's calculators in event-id order (a, b, c), written in reverse."""


@pytest.fixture(scope="module")
def dataset(small_story, tmp_path_factory) -> Path:
    """The month as a Hive Parquet dataset written by two app servers' sinks."""
    root = tmp_path_factory.mktemp("spark-parity") / "events"
    writers = [ParquetDatasetSink(root, "app-1"), ParquetDatasetSink(root, "app-2")]
    for batch in small_story.batches():
        half = batch.num_rows // 2
        writers[0].write(batch.slice(0, half))
        writers[1].write(batch.slice(half))
    writers[0].write(_edge_events())
    return root


@pytest.fixture(scope="module")
def spark():
    """One local[2] SparkSession for the module, on loopback, stopped at the end."""
    session = spark_engine.session("local[2]", shuffle_partitions=4)
    yield session
    spark_engine.stop()


@pytest.fixture(scope="module")
def cubes(dataset, spark):
    return {engine: aggregate(dataset, START, END, engine=engine, reach_from=MONTH)
            for engine in ("duckdb", "spark")}


def test_spark_stays_on_loopback_with_the_ui_off(spark):
    conf = dict(spark.sparkContext.getConf().getAll())
    assert spark.sparkContext.master == "local[2]"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == "false"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_daily_counts_are_identical_and_count_every_event_once(cubes, dataset):
    duck, spark = cubes["duckdb"], cubes["spark"]
    assert (spark.tools, spark.devices, spark.countries) == (duck.tools, duck.devices,
                                                             duck.countries)
    assert list(spark.days) == list(duck.days)
    assert np.array_equal(spark.counts, duck.counts)
    # independent count: every event of the dataset in [START, END), read with PyArrow
    events = ds.dataset(dataset, format="parquet", partitioning="hive").to_table(
        columns=["ts"])
    low = pa.scalar(datetime(2025, 10, 4, tzinfo=UTC), type=ARROW_SCHEMA.field("ts").type)
    assert int(spark.counts.sum()) == pc.sum(pc.greater_equal(events["ts"], low)).as_py()
    # the last microsecond of Nov 3 and the first of Nov 4 land on their own UTC days
    margin_call, mobile = spark.tools.index("margin_call"), spark.devices.index("mobile")
    us, de = spark.countries.index("US"), spark.countries.index("DE")
    assert spark.counts[spark.index("2025-11-03"), margin_call, mobile, us] >= 1
    assert spark.counts[spark.index("2025-11-04"), margin_call, mobile, de] >= 1
    assert spark.synthetic == duck.synthetic == int(spark.counts.sum())


def test_distinct_visitors_and_sessions_are_identical_and_exact(cubes):
    duck, spark = cubes["duckdb"].reach, cubes["spark"].reach
    assert np.array_equal(spark.visitors, duck.visitors)
    assert np.array_equal(spark.sessions, duck.sessions)
    assert (spark.total_visitors, spark.total_sessions) == (duck.total_visitors,
                                                            duck.total_sessions)
    assert spark.multi_day == duck.multi_day == 2  # v-edge and v-span, each on two days


def test_the_dashboard_query_is_identical(dataset, spark):
    args = (dataset, "2025-11-01", "2025-12-01", {"device": ["mobile", "tablet"]})
    by = ("tool", "region")
    assert daily(*args, by=by, engine="spark") == daily(*args, by=by, engine="duckdb")


def _rows(table: dict[str, Any]) -> list[tuple]:
    """A table of arrays as its sorted rows (engines return rows in any order)."""
    names = sorted(table)
    return sorted(tuple(str(v) for v in row)
                  for row in zip(*(np.asarray(table[n]).tolist() for n in names), strict=True))


def test_the_event_level_tables_are_identical_with_ties(dataset, spark):
    previous = (date(2025, 10, 1), MONTH)
    tables = {engine: event_tables(dataset, START, END, engine=engine, previous=previous)
              for engine in ("duckdb", "spark")}
    duck, on_spark = tables["duckdb"], tables["spark"]
    assert on_spark.previous_visitors == duck.previous_visitors > 0
    assert _rows(on_spark.transitions.cells) == _rows(duck.transitions.cells)
    assert _rows(on_spark.transitions.origins) == _rows(duck.transitions.origins)
    for name in ("paths", "positions", "funnel"):
        assert _rows(getattr(on_spark, name)) == _rows(getattr(duck, name)), name
    assert sorted(on_spark.content.fields) == sorted(duck.content.fields)
    for name, table in duck.content.fields.items():
        assert _rows(on_spark.content.fields[name]) == _rows(table), name
    assert _rows(on_spark.hours.data) == _rows(duck.hours.data)
    assert _rows(on_spark.hours.countries) == _rows(duck.hours.countries)
    # the tie session: ordered by event id on both engines
    day = (date(2025, 11, 12) - date(1970, 1, 1)).days
    path = tuple(REGISTRY[c].tool for c in TIE_ORDER)
    for found in (duck.paths, on_spark.paths):
        rows = {(int(d), a, b, c) for d, a, b, c in zip(found["day"], found["tool"],
                                                       found["next_tool"], found["next2"],
                                                       strict=True)}
        assert (day, *path) in rows


def test_the_session_sequences_are_identical(dataset, spark):
    out = {}
    for engine in ("duckdb", "spark"):
        with opened_events(dataset, engine=engine) as events:
            seqs = sequences(events, START, END)
        out[engine] = sorted(
            (int(d), str(v), tuple(seqs.code[seqs.offsets[i]:seqs.offsets[i + 1]]), int(n))
            for i, (d, v, n) in enumerate(zip(seqs.day, seqs.device, seqs.n, strict=True)))
        assert seqs.truncated == 0
    assert out["spark"] == out["duckdb"]


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The report minus what names the engine or the clock."""
    document = json.loads(json.dumps(document))
    engine = document["metadata"].pop("engine")
    document.pop("generated_at")
    document["methodology"] = json.loads(
        json.dumps(document["methodology"]).replace(f"({engine}, through Ibis)", "(ENGINE)"))
    return document


def test_the_json_report_is_identical_on_both_engines(dataset, spark):
    reports = {engine: build_report(dataset, "2025-11", engine=engine, charts=False,
                                    today=AFTER_THE_MONTH).to_dict()
               for engine in ("duckdb", "spark")}
    duck, spark_doc = reports["duckdb"], reports["spark"]
    assert spark_doc["metadata"]["engine"] == "spark" and duck["metadata"]["engine"] == "duckdb"
    assert len(duck["findings"]) >= 5
    assert spark_doc["findings"] == duck["findings"]
    assert spark_doc["summary"] == duck["summary"]
    assert _comparable(spark_doc) == _comparable(duck)


def _run_report(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--month", "2025-11", "--format", "json", *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out + err


def test_cli_report_on_spark_equals_duckdb(capsys, dataset, spark, tmp_path):
    outputs = {}
    for engine, extra in (("duckdb", []), ("spark", ["--spark-master", "local[2]"])):
        outputs[engine] = tmp_path / f"{engine}.json"
        code, text = _run_report(capsys, "--dataset", str(dataset), "--engine", engine, *extra,
                                 "--out", str(outputs[engine]))
        assert code == 0, text
        assert "SYNTHETIC DATA" in text
    duck, on_spark = (json.loads(outputs[e].read_text()) for e in ("duckdb", "spark"))
    assert on_spark["findings"] == duck["findings"]
    assert _comparable(on_spark) == _comparable(duck)
    assert spark_engine.current() is spark  # the command reused the caller's session


def test_cli_refuses_a_duckdb_file_or_a_master_without_spark(capsys, dataset, tmp_path):
    code, text = _run_report(capsys, "--engine", "spark", "--db", str(tmp_path / "x.duckdb"),
                             "--out", str(tmp_path / "x.json"))
    assert code == 2 and text.startswith("error: --db")
    code, text = _run_report(capsys, "--dataset", str(dataset), "--spark-master", "local[2]",
                             "--out", str(tmp_path / "x.json"))
    assert code == 2 and text.startswith("error: --spark-master")


def test_cli_ingest_writes_a_dataset_that_spark_reads(capsys, small_story, spark, tmp_path):
    source = tmp_path / "november.parquet"
    pq.write_table(small_story.events, source)
    root = tmp_path / "ingested"
    for expected in (f"wrote {small_story.events.num_rows:,} rows", "wrote 0 rows"):
        with pytest.raises(SystemExit) as exit_info:  # the second run finds every id present
            main(["ingest", str(source), "--sink", "parquet", "--dataset", str(root)])
        out, err = capsys.readouterr()
        assert exit_info.value.code == 0, err
        assert expected in out
    cube = aggregate(root, START, END, engine="spark", reach=False, tools=small_story.tools)
    order = [small_story.countries.index(c) for c in cube.countries]
    assert np.array_equal(cube.counts[:, :, :len(small_story.devices)],
                          small_story.counts[:, :, :, order])
