"""The simulators' one event write path: the store's idempotent insert, synthetic ids only."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from marginscope.errors import InputError
from marginscope.sim.output import insert_events
from marginscope.sim.planted import planted_month, write_duckdb


def test_a_planted_month_written_twice_is_stored_once(tmp_path):
    month = planted_month(4, (), month="2025-11", scale=0.01)
    db = tmp_path / "events.duckdb"
    assert write_duckdb(month, db) == month.events.num_rows > 0
    assert write_duckdb(month, db) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert (
            con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
            == (month.events.num_rows,) * 2
        )


def test_events_that_are_not_synthetic_are_refused_and_nothing_is_written(tmp_path):
    events = planted_month(4, (), month="2025-11", scale=0.01).events
    ids = events.column("event_id").to_pylist()
    live = events.set_column(0, "event_id", pa.array(["0" * 32, *ids[1:]]))
    db = tmp_path / "events.duckdb"
    with pytest.raises(InputError, match="event_id"):
        insert_events(db, [events.slice(0, 5), live])
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
