"""Issue 19, third pass: the request path hands the sink process a compact frame (keyed hashes,
derived fields, the POSIX second, the raw coarse context) and the sink builds the event.

The events stored that way must equal, column for column (the random ``event_id`` aside), those
the in-process path (:meth:`Pipeline.process`, which builds the event on the request path)
makes of the same requests; a frame the sink refuses is counted, never silently lost."""

from __future__ import annotations

import math
import os
import random
import signal
import time
from concurrent.futures import Future
from functools import partial

import duckdb
import orjson
import pytest

from marginscope.calculators import REGISTRY
from marginscope.errors import InputError
from marginscope.telemetry.country import CountryResolver
from marginscope.telemetry.frames import event_of_frame
from marginscope.telemetry.handoff import HandoffWriter
from marginscope.telemetry.pipeline import Drop, DropReason, Pipeline
from marginscope.telemetry.request import RequestMeta
from marginscope.telemetry.salt import SaltStore
from marginscope.telemetry.schema import COLUMNS, symbols, venues, wire_row
from marginscope.telemetry.store import DuckDBSink
from marginscope.telemetry.writer import QueueFull, refused

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
_ID = COLUMNS.index("event_id")


class _Frames:
    """A writer that keeps the frames as the pipe carries them (orjson there and back)."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.counted: list[tuple] = []

    def record_frame(self, frame: dict) -> Future[None]:
        self.frames.append(orjson.dumps(frame))
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def count(self, day, counter: str, n: int = 1) -> None:
        self.counted.append((day, counter, n))


@pytest.fixture
def pipeline(tmp_path, clock) -> Pipeline:
    return Pipeline(
        SaltStore(tmp_path / "state", clock=clock),
        site="synthetic-site",
        country=CountryResolver(header="CF-IPCountry"),
        client_ip_header="X-Forwarded-For",
        clock=clock,
    )


def _request(i: int) -> RequestMeta:
    headers = {"user-agent": (IPHONE, DESKTOP)[i % 2]}
    if i % 3 == 0:
        headers["cf-ipcountry"] = "DE"
    return RequestMeta(
        headers=headers,
        client_ip=f"198.51.100.{i % 250}",
        time_zone=("Europe/Berlin", "Asia/Tokyo", None)[i % 3],
        session=None if i % 7 == 6 else f"tab-{i}",
        max_touch_points=(None, 5)[i % 2],
        seq=(i, str(i), None, "x", -1, 10**9)[i % 6],  # the page's counter, odd ones too
    )


def _examples() -> list[tuple[str, dict]]:
    """(tool, context) of every registered calculator's published example."""
    cases = []
    for calculator in REGISTRY.values():
        result = calculator.run(calculator.example)
        body = calculator.model.model_validate(calculator.example)
        cases.append((calculator.tool, calculator.context(body, result)))
    return cases


def _old_and_new(pipeline: Pipeline, meta: RequestMeta, tool: str, context: dict):
    """The in-process path's outcome and the compact path's, for the same request."""
    old = pipeline.process(meta, tool, context)
    frames = _Frames()
    pipeline.writer = frames
    try:
        outcome = pipeline.record(meta, tool, context)
    finally:
        pipeline.writer = None
    if isinstance(outcome, Drop):
        return old, outcome
    (payload,) = frames.frames
    try:
        return old, event_of_frame(orjson.loads(payload))
    except InputError as exc:
        return old, exc


def _without_id(row: tuple) -> tuple:
    return row[:_ID] + row[_ID + 1 :]


def test_every_calculators_example_gives_the_same_event_both_ways(pipeline):
    for i, (tool, context) in enumerate(_examples()):
        old, new = _old_and_new(pipeline, _request(i), tool, context)
        assert _without_id(wire_row(new)) == _without_id(wire_row(old)), tool
        assert new.event_id != old.event_id  # a fresh id, drawn in the sink


def test_random_contexts_give_the_same_event_or_the_same_refusal(pipeline):
    rng = random.Random(19)
    usual = {
        "venue": [*venues(), "kraken-futures-x", None],
        "symbol": [*symbols()[:40], "BTC/USDT:USDT", "1000PEPEUSDT", "XBTUSD", None],
        "side": ["long", "short", "LONG", None],
        "margin_mode": ["isolated", "cross", None],
        "leverage": [None, 1, 2.5, 20, 125, 200, 1e-9, "12"],
        "notional": [None, 0, 1e-9, 5234.17, 1e30, 12345, "100"],
    }
    odd = ["", " ", "x" * 300, "ü", "DROP TABLE", 7, -3, "x", True]  # what a context may hold
    compared = refused = 0
    for i in range(600):
        context = {
            key: rng.choice(odd) if rng.random() < 0.04 else rng.choice(values)
            for key, values in usual.items()
        }
        context["leverage"] = [1] if rng.random() < 0.01 else context["leverage"]
        context["entry_price"] = rng.random()  # not a context key: never stored
        old, new = _old_and_new(pipeline, _request(i), "liquidation_price", context)
        if isinstance(old, Drop):
            assert old.reason is DropReason.INVALID_CONTEXT
            assert isinstance(new, InputError) and new.field == old.detail
            refused += 1
        else:
            assert _without_id(wire_row(new)) == _without_id(wire_row(old)), context
            compared += 1
    assert compared > 100 and refused > 20  # both branches exercised


def test_the_request_path_decisions_stay_on_the_request_path(pipeline):
    """Unknown tool and crawler: a Drop (the answer says ``dropped``), no frame written."""
    frames = _Frames()
    pipeline.writer = frames
    bot = RequestMeta(
        headers={"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}, client_ip="198.51.100.9"
    )
    assert pipeline.record(bot, "liquidation_price", {}).reason is DropReason.BOT
    assert pipeline.record(_request(1), "no_such_tool", {}).reason is DropReason.UNKNOWN_TOOL
    assert frames.frames == []
    assert [counter for _, counter, _ in frames.counted] == ["bot", "unknown_tool"]


def test_the_frame_carries_no_raw_request_field(pipeline):
    frames = _Frames()
    pipeline.writer = frames
    meta = RequestMeta(
        headers={"user-agent": IPHONE, "x-forwarded-for": "203.0.113.77"},
        client_ip="198.51.100.20",
        time_zone="Europe/Berlin",
        session="tab-secret-1234",
        max_touch_points=5,
    )
    pipeline.record(meta, "liquidation_price", {"venue": "bybit", "entry_price": 97250.5})
    (payload,) = frames.frames
    for raw in (
        "198.51.100.20",
        "203.0.113.77",
        "iPhone",
        "Mozilla",
        "tab-secret-1234",
        "Europe/Berlin",
        "97250.5",
        "entry_price",
    ):
        assert raw.encode() not in payload
    assert set(orjson.loads(payload)) == {
        "ts",
        "tool",
        "device",
        "country",
        "country_source",
        "visitor",
        "session",
        "seq",
        "context",
    }


def test_the_event_time_is_the_requests_second(pipeline, clock):
    frames = _Frames()
    pipeline.writer = frames
    pipeline.record(_request(0), "stops", {})
    frame = orjson.loads(frames.frames[0])
    assert frame["ts"] == math.floor(clock().timestamp())
    assert event_of_frame(frame).ts == clock().replace(microsecond=0)


def _stored(db) -> list[tuple]:
    columns = ", ".join("epoch(ts)" if c == "ts" else c for c in COLUMNS)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [tuple(row) for row in con.execute(f"SELECT {columns} FROM events").fetchall()]
    finally:
        con.close()


def test_the_sink_process_stores_what_the_old_path_stored(tmp_path, pipeline):
    """Through the real pipe and sink process: every calculator's example, stored."""
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=0.01)
    expected = {}
    for i, (tool, context) in enumerate(_examples()):
        meta = _request(i)
        expected[_without_id(wire_row(pipeline.process(meta, tool, context)))] = tool
        pipeline.writer = writer
        assert pipeline.record(meta, tool, context).exception() is None
        pipeline.writer = None
    assert writer.flush(timeout=30)
    stats = writer.close()
    assert sorted(map(_without_id, _stored(db)), key=repr) == sorted(expected, key=repr)
    assert (stats.accepted, stats.durable, stats.rejected, stats.queued) == (
        len(expected),
        len(expected),
        0,
        0,
    )


def test_a_frame_the_sink_refuses_is_counted_never_silently_lost(tmp_path, pipeline):
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=0.01)
    pipeline.writer = writer
    assert pipeline.record(_request(1), "stops", {"venue": "bybit"}).exception() is None
    good = orjson.loads(writer_frame(pipeline, _request(2)))
    bad = [
        b"c:not json",  # unreadable
        b"c:" + orjson.dumps({**good, "ip": "198.51.100.20"}),  # a column not in the schema
        b"c:" + orjson.dumps({**good, "device": "toaster"}),  # outside the vocabulary
        b"c:" + orjson.dumps({**good, "ts": "yesterday"}),  # not a POSIX second
        b"c:" + orjson.dumps({k: v for k, v in good.items() if k != "context"}),
        b"c:" + orjson.dumps({**good, "context": {"leverage": "lots"}}),  # invalid context
    ]
    for payload in bad:
        assert writer._hand(payload).exception() is None  # acknowledged: in the pipe
    assert writer.flush(timeout=30)
    stats = writer.close()
    assert (stats.accepted, stats.durable, stats.rejected, stats.queued) == (7, 1, 6, 0)
    con = duckdb.connect(str(db), read_only=True)
    counts = dict(con.execute("SELECT counter, sum(n) FROM telemetry_counts GROUP BY 1").fetchall())
    con.close()
    assert counts == {"malformed_frame": 5, "invalid_context": 1}
    assert len(_stored(db)) == 1


def writer_frame(pipeline: Pipeline, meta: RequestMeta) -> bytes:
    """One well-formed frame of ``meta`` (captured, not sent)."""
    frames = _Frames()
    writer, pipeline.writer = pipeline.writer, frames
    try:
        pipeline.record(meta, "stops", {"venue": "bybit", "leverage": 10})
    finally:
        pipeline.writer = writer
    return frames.frames[0]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_signalled_sink_process_loses_no_frame_silently(tmp_path, pipeline, sig, pipe_empty):
    """kill -9 of the sink process holding 300 frames read, uncommitted: a successor reads on,
    and every acknowledged frame is stored or counted ``lost``; SIGTERM: it builds and commits
    what it holds, nothing is lost."""
    db = tmp_path / "events.duckdb"
    writer = HandoffWriter(partial(DuckDBSink, db), flush_seconds=5.0)  # it holds its batch
    pipeline.writer = writer
    for i in range(300):
        assert pipeline.record(_request(i), "stops", {"venue": "bybit"}).exception() is None
    first = writer._process
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not pipe_empty(writer):
        time.sleep(0.01)
    os.kill(first.pid, sig)
    first.wait(timeout=10)
    for i in range(300):
        assert pipeline.record(_request(i), "stops", {"venue": "bybit"}).exception() is None
    assert writer.flush(timeout=60)
    stats = writer.close()
    stored = len(_stored(db))
    assert stats.restarts == 1 and stats.accepted == 600
    assert stored + stats.lost == 600
    assert (stored, stats.lost) == ((300, 300) if sig == signal.SIGKILL else (600, 0))


class _Acknowledging(_Frames):
    """A hand-off writer: answers with its one done future, or refuses (the pipe full)."""

    def __init__(self) -> None:
        super().__init__()
        self.acknowledged: Future[None] = Future()
        self.acknowledged.set_result(None)
        self.full = False

    def record_frame(self, frame: dict) -> Future[None]:
        if self.full:
            return refused(QueueFull("pipe full"))
        super().record_frame(frame)
        return self.acknowledged


def test_a_hand_off_is_answered_with_the_writers_acknowledgement_and_a_refusal_counted(pipeline):
    writer = _Acknowledging()
    pipeline.writer = writer
    meta = _request(1)
    tool, context = _examples()[0]
    assert pipeline.record(meta, tool, context) is writer.acknowledged  # no future asked
    assert len(writer.frames) == 1
    writer.full = True
    outcome = pipeline.record(meta, tool, context)
    assert isinstance(outcome, Drop) and outcome.reason is DropReason.QUEUE_FULL
    assert [counter for _, counter, _ in writer.counted] == ["queue_full"]
    assert pipeline.drop_counts()["queue_full"] == 1
    assert len(writer.frames) == 1


def test_the_days_salt_is_remembered_for_that_day_only(tmp_path):
    from marginscope.telemetry.salt import visitor_id

    pipeline = Pipeline(SaltStore(tmp_path / "state"), site="synthetic-site")  # system clocks
    asked = []
    current = pipeline.salts.current
    pipeline.salts.current = lambda: asked.append(1) or current()
    meta = RequestMeta(headers={"user-agent": DESKTOP}, client_ip="198.51.100.7")
    tool, context = _examples()[0]
    frames = [pipeline._compact(meta, tool, context) for _ in range(3)]
    assert len(asked) == 1  # once for the day
    assert {frame["visitor"] for frame in frames} == {
        visitor_id(current(), "synthetic-site", "198.51.100.7", DESKTOP)
    }
    day, salt = pipeline._salt_of_day
    pipeline._salt_of_day = (day - 1, b"yesterday's salt")  # the clock passed midnight
    assert pipeline._compact(meta, tool, context)["visitor"] == frames[0]["visitor"]
    assert len(asked) == 2 and pipeline._salt_of_day == (day, salt)


def test_a_fake_clock_asks_the_salt_store_every_time(pipeline):
    asked = []
    current = pipeline.salts.current
    pipeline.salts.current = lambda: asked.append(1) or current()
    tool, context = _examples()[0]
    for i in range(3):
        assert isinstance(pipeline._compact(_request(i), tool, context), dict)
    assert len(asked) == 3
