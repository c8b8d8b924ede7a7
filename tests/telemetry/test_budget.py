"""Analytics poisoning (issue 15): a per-client budget of recorded calculations, keyed on the
daily keyed hash of the client address alone; drops and losses persisted per day; the country's
source stored; older stores still open.

The IPs are documentation ranges (RFC 5737); the User-Agents real browsers' published strings.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import partial

import duckdb
import pytest

from marginscope.report.provenance import provenance
from marginscope.telemetry.budget import TokenBuckets
from marginscope.telemetry.country import CountryResolver
from marginscope.telemetry.export import export_events
from marginscope.telemetry.handoff import HandoffWriter
from marginscope.telemetry.pipeline import Drop, DropReason, Pipeline
from marginscope.telemetry.process_sink import ProcessSink
from marginscope.telemetry.request import RequestMeta
from marginscope.telemetry.salt import SaltStore, client_key
from marginscope.telemetry.schema import COLUMNS, DUCKDB_TYPES, Event, events_to_arrow
from marginscope.telemetry.store import DuckDBSink, HeldDuckDBSink, read_counts
from marginscope.telemetry.writer import BatchingWriter

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
CONTEXT = {"venue": "bybit", "symbol": "BTCUSDT", "side": "long", "leverage": 10, "notional": 5000}


def _pipeline(tmp_path, clock, *, burst: int = 60, writer=None) -> Pipeline:
    """60 a minute, ``burst`` at once; the buckets' clock stands still (no token comes back
    during a test)."""
    return Pipeline(
        SaltStore(tmp_path / "state", clock=clock),
        site="synthetic-site",
        country=CountryResolver(header="CF-IPCountry"),
        writer=writer,
        clock=clock,
        budget=TokenBuckets(1.0, burst, clock=lambda: 1000.0),
    )


def _meta(ip: str, ua: str = CHROME, **headers: str) -> RequestMeta:
    return RequestMeta(headers={"User-Agent": ua, **headers}, client_ip=ip)


def test_the_61st_calculation_in_a_burst_is_not_recorded(tmp_path, clock):
    pipeline = _pipeline(tmp_path, clock)
    outcomes = [
        pipeline.process(_meta("203.0.113.7"), "liquidation_price", CONTEXT) for _ in range(61)
    ]
    assert all(isinstance(o, Event) for o in outcomes[:60])
    assert outcomes[60] == Drop(
        "budget", DropReason.BUDGET, "recording budget spent for this client"
    )
    assert DropReason.BUDGET.value == "over_budget"
    assert pipeline.drop_counts()["over_budget"] == 1


def test_varying_the_user_agent_does_not_escape_the_budget(tmp_path, clock):
    pipeline = _pipeline(tmp_path, clock, burst=5)
    agents = [CHROME.replace("126.0.0.0", f"126.0.0.{i}") for i in range(10)]
    outcomes = [pipeline.process(_meta("203.0.113.7", ua), "stops", CONTEXT) for ua in agents]
    assert [isinstance(o, Event) for o in outcomes] == [True] * 5 + [False] * 5
    assert len({o.visitor for o in outcomes[:5]}) == 5  # five "visitors", one budget
    # another client is unaffected
    assert isinstance(pipeline.process(_meta("198.51.100.23"), "stops", CONTEXT), Event)


def test_the_budget_key_is_per_day_and_never_the_address(tmp_path, clock):
    pipeline = _pipeline(tmp_path, clock, burst=1)
    assert isinstance(pipeline.process(_meta("203.0.113.7"), "stops", CONTEXT), Event)
    assert isinstance(pipeline.process(_meta("203.0.113.7"), "stops", CONTEXT), Drop)
    held = list(pipeline.budget._buckets)
    # the bucket's id is the daily keyed hash of the address (no second hash), never the address
    assert held == [client_key(pipeline.salts.current(), "synthetic-site", "203.0.113.7")]
    assert "203.0.113.7" not in held[0] and b"203.0.113.7".hex() not in held[0]
    clock.advance(days=1)  # a new salt: a new key (the old bucket is not reachable)
    assert isinstance(pipeline.process(_meta("203.0.113.7"), "stops", CONTEXT), Event)
    assert list(pipeline.budget._buckets) == [held[0], client_key(
        pipeline.salts.current(), "synthetic-site", "203.0.113.7")]


def test_the_request_path_and_process_spend_one_bucket(tmp_path, clock):
    """The compact frame's path (the server's) and process() key the same bucket."""
    pipeline = _pipeline(tmp_path, clock, burst=2)
    assert isinstance(pipeline._compact(_meta("203.0.113.7"), "stops", CONTEXT), dict)
    assert isinstance(pipeline.process(_meta("203.0.113.7"), "stops", CONTEXT), Event)
    assert pipeline._compact(_meta("203.0.113.7"), "stops", CONTEXT) == Drop(
        "budget", DropReason.BUDGET, "recording budget spent for this client")
    assert isinstance(pipeline._compact(_meta("198.51.100.23"), "stops", CONTEXT), dict)
    assert len(pipeline.budget._buckets) == 2


def test_the_budget_comes_from_the_settings(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("MARGINSCOPE_STATE_DIR", str(tmp_path / "state"))
    assert (
        Pipeline.from_settings(clock=clock).budget.rate,
        Pipeline.from_settings(clock=clock).budget.burst,
    ) == (1.0, 60)
    monkeypatch.setenv("MARGINSCOPE_RECORD_RATE", "600")
    monkeypatch.setenv("MARGINSCOPE_RECORD_BURST", "1000")
    budget = Pipeline.from_settings(clock=clock).budget
    assert (budget.rate, budget.burst) == (10.0, 1000)


@pytest.mark.parametrize(
    ("headers", "time_zone", "expected"),
    [
        ({"CF-IPCountry": "DE"}, "America/New_York", ("DE", "header")),
        ({}, "America/New_York", ("US", "time_zone")),
        ({}, None, ("ZZ", None)),
    ],
)
def test_the_country_source_is_stored(tmp_path, clock, headers, time_zone, expected):
    pipeline = _pipeline(tmp_path, clock)
    event = pipeline.process(
        RequestMeta(
            headers={"User-Agent": CHROME, **headers}, client_ip="203.0.113.7", time_zone=time_zone
        ),
        "stops",
        CONTEXT,
    )
    assert (event.country, event.country_source) == expected


WRITERS = {
    "batching": lambda db: BatchingWriter(DuckDBSink(db), flush_seconds=0.01),
    "durable": lambda db: BatchingWriter(ProcessSink(partial(DuckDBSink, db)), flush_seconds=0.01),
    "handoff": lambda db: HandoffWriter(partial(HeldDuckDBSink, db), flush_seconds=0.01),
}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_drops_are_persisted_per_day_next_to_the_events(tmp_path, clock, kind):
    db = tmp_path / "events.duckdb"
    writer = WRITERS[kind](db)
    pipeline = _pipeline(tmp_path, clock, burst=3, writer=writer)
    outcomes = [pipeline.record(_meta("203.0.113.7"), "stops", CONTEXT) for _ in range(5)]
    outcomes.append(pipeline.record(_meta("203.0.113.9", "curl/8.5.0"), "stops", CONTEXT))
    clock.advance(days=1)
    outcomes.append(
        pipeline.record(_meta("198.51.100.1", "python-requests/2.32.3"), "stops", CONTEXT)
    )
    assert [getattr(o, "reason", None) for o in outcomes] == [None] * 3 + [
        DropReason.BUDGET
    ] * 2 + [DropReason.BOT] * 2
    writer.flush(30)
    writer.close()
    day = clock.now.date() - timedelta(days=1)
    assert read_counts(db, day, day + timedelta(days=1)) == {"bot": 1, "over_budget": 2}
    assert read_counts(db, day, day + timedelta(days=2)) == {"bot": 2, "over_budget": 2}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 3
    con.close()


OLD_COLUMNS = [c for c in COLUMNS if c != "country_source"]


@pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")  # Ibis 12
def test_a_store_written_before_country_source_still_opens(tmp_path, clock, event_factory):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE events (" + ", ".join(f"{c} {DUCKDB_TYPES[c]}" for c in OLD_COLUMNS) + ")"
    )
    con.execute(
        "INSERT INTO events (event_id, ts, tool, device, country) VALUES "
        "('synthetic-old', TIMESTAMPTZ '2025-11-04 10:00:00+00', 'stops', 'mobile', 'US')"
    )
    con.close()
    first, following = date(2025, 11, 1), date(2025, 12, 1)
    assert read_counts(db, first, following) is None  # read-only: no counts kept yet
    assert provenance(db, first, following) == {"not_recorded": None, "country_sources": None}
    out = tmp_path / "old.jsonl"
    assert export_events(db, out, "jsonl") == 1  # exported read-only, the new column NULL
    exported = json.loads(out.read_text())
    assert list(exported) == list(COLUMNS) and exported["country_source"] is None
    sink = DuckDBSink(db)  # a writer opens it: the column and the counts table are added
    sink.write(
        events_to_arrow([event_factory(0, event_id="synthetic-new", country_source="header")])
    )
    sink.close()
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT event_id, country_source FROM events ORDER BY 1").fetchall()
    con.close()
    assert rows == [("synthetic-new", "header"), ("synthetic-old", None)]
    assert read_counts(db, first, following) == {}


def test_keyed_buckets_are_the_keys_own_and_separate_clients():
    """allow_keyed: the (already keyed) client key is the bucket's id, one bucket per key,
    the same burst and refusal count as allow()."""
    buckets = TokenBuckets(1.0, 2, clock=lambda: 1000.0)
    assert [buckets.allow_keyed("a1b2c3d4e5f60718") for _ in range(3)] == [True, True, False]
    assert buckets.allow_keyed("0f1e2d3c4b5a6978") and buckets.limited == 1
    assert list(buckets._buckets) == ["a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"]
