"""The simulated events: seeded, canonical (ingest accepts them), labelled synthetic, and
moving with the market as the model says."""

from __future__ import annotations

import duckdb
import pytest

from marginscope.sim.generate import run, simulate, source_label
from marginscope.sim.output import write_duckdb, write_parquet
from marginscope.telemetry.ingest import ingest_files
from marginscope.telemetry.schema import ARROW_SCHEMA


@pytest.fixture(scope="module")
def con(small):
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.register("e", small.table)
    yield connection
    connection.close()


def _daily(con, tool, day):
    return con.execute("SELECT count(*) FROM e WHERE tool = ? AND CAST(ts AS DATE) = ?",
                       [tool, day]).fetchone()[0]


def test_same_seed_same_events_other_seed_other_events():
    first = simulate("2025-11-01", "2025-11-07", seed=5, scale=0.02)
    again = simulate("2025-11-01", "2025-11-07", seed=5, scale=0.02)
    other = simulate("2025-11-01", "2025-11-07", seed=6, scale=0.02)
    assert first.equals(again, check_metadata=True)
    assert not first.equals(other)


def test_the_table_is_canonical_and_labelled_synthetic(small):
    table = small.table
    assert table.schema.remove_metadata().equals(ARROW_SCHEMA)
    meta = small.metadata
    assert meta["synthetic"] == "true"
    assert meta["source"] == source_label(3) == "synthetic: marginscope.sim 0.1.0 seed=3"
    ids = table.column("event_id").to_pylist()
    assert all(i.startswith("syn-3-") for i in ids[:1000])
    assert len(set(ids)) == len(ids)


def test_ingest_validates_and_loads_every_row(small, tmp_path):
    part = small.table.slice(0, 50_000)
    path = write_parquet(part, tmp_path / "sim.parquet")
    result = ingest_files([path], tmp_path / "events.duckdb")
    assert (result.bad_count, result.loaded) == (0, part.num_rows)
    again = ingest_files([path], tmp_path / "events.duckdb")
    assert again.loaded == 0   # the ids make it idempotent


def test_store_write_sets_the_synthetic_comment(small, tmp_path):
    db = tmp_path / "store.duckdb"
    part = small.table.slice(0, 20_000)
    assert write_duckdb(part, db) == part.num_rows
    assert write_duckdb(part, db) == 0
    with duckdb.connect(str(db), read_only=True) as store:
        comment = store.execute("SELECT comment FROM duckdb_tables() "
                                "WHERE table_name = 'events'").fetchone()[0]
    assert comment == "synthetic: marginscope.sim 0.1.0 seed=3"


def test_180_plus_countries_with_the_us_largest(con):
    rows = con.execute("SELECT country, count(*) n FROM e GROUP BY 1 ORDER BY n DESC").fetchall()
    assert len(rows) >= 180
    assert rows[0][0] == "US"


def test_visitors_come_in_sessions_and_some_have_several(con):
    per_visitor = con.execute("SELECT count(DISTINCT session) s, count(*) c FROM e "
                              "GROUP BY visitor").fetchnumpy()
    assert per_visitor["c"].mean() > 1.5
    assert (per_visitor["s"] > 1).mean() > 0.1
    same_day = con.execute("SELECT count(DISTINCT CAST(ts AS DATE)) FROM e GROUP BY session "
                           "ORDER BY 1 DESC LIMIT 1").fetchone()[0]
    assert same_day == 1


def test_margin_call_checks_peak_on_the_days_the_agents_added_margin(con, small):
    truth = small.truth
    days = [str(d) for d in truth.days if str(d).startswith("2025-11")]
    counts = {d: _daily(con, "margin_call", d) for d in days}
    busiest = max(counts, key=counts.get)
    position = [str(d) for d in truth.days].index(busiest)
    added = sorted(truth.added_margin[-len(days):], reverse=True)
    assert truth.added_margin[position] >= added[2]   # among the agents' top-3 defense days


def test_november_holds_about_the_seeds_98_700_checks(con):
    checks = con.execute("SELECT count(*) FROM e WHERE ts >= TIMESTAMP '2025-11-01' "
                         "AND ts < TIMESTAMP '2025-12-01'").fetchone()[0]
    assert 0.85 * 98_700 < checks < 1.15 * 98_700


def test_alarmed_sessions_are_more_mobile_than_planning_ones(con):
    def mobile(tool):
        return con.execute("SELECT avg((device = 'mobile')::INT) FROM e WHERE tool = ?",
                           [tool]).fetchone()[0]

    assert mobile("margin_call") > mobile("scenario") + 0.1


def test_daily_totals_are_overdispersed_like_traffic(con):
    totals = con.execute("SELECT count(*) FROM e GROUP BY CAST(ts AS DATE)").fetchnumpy()
    counts = next(iter(totals.values())).astype(float)
    assert counts.var() > 5 * counts.mean()           # far from Poisson


def test_fields_a_tool_does_not_take_are_null(con):
    rows = con.execute("SELECT count(*) FILTER (WHERE leverage IS NOT NULL), "
                       "count(*) FILTER (WHERE side IS NULL) FROM e "
                       "WHERE tool = 'liquidation_risk'").fetchone()
    assert rows == (0, 0)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="scale"):
        run(scale=0)
    with pytest.raises(ValueError, match="seed"):
        run(seed=-1)
