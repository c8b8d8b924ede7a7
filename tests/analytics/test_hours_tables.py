"""The hour tables' reads are their definitions: checks summed by (day, hour) from the engine's
rows, and local day and hour of each UTC hour from :mod:`zoneinfo`, one hour at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from marginscope.analytics.hours import HourTables
from marginscope.analytics.local_time import local_hours
from marginscope.analytics.permutation import day_numbers
from marginscope.telemetry.country import country_zones


def _rows(seed: int) -> dict[str, np.ndarray]:
    """Engine-like rows (repeated cells too) for days 20390–20399, some outside the reads."""
    rng = np.random.default_rng(seed)
    size = 4000
    return {
        "day": rng.integers(20390, 20400, size).astype(np.int32),
        "hour": rng.integers(0, 24, size).astype(np.int8),
        "device": rng.choice(np.array(["mobile", "desktop", "tablet"], dtype=object), size),
        "region": rng.choice(np.array(["US", "rest", None], dtype=object), size),
        "tool": rng.choice(np.array(["a", "b"], dtype=object), size),
        "country": rng.choice(np.array(["DE", "US", "IN"], dtype=object), size),
        "n": rng.integers(1, 50, size),
    }


def _summed(rows: dict[str, np.ndarray], chosen: np.ndarray, days: np.ndarray) -> np.ndarray:
    out = np.zeros((len(days), 24))
    for day, hour, n in zip(
        rows["day"][chosen], rows["hour"][chosen], rows["n"][chosen], strict=True
    ):
        if day in days:
            out[int(np.flatnonzero(days == day)[0]), hour] += n
    return out


def test_the_matrix_sums_the_rows_of_a_segment_by_day_and_hour():
    rows = _rows(1)
    tables = HourTables(data=rows, countries=rows)
    days = np.arange(20395, 20405)  # half inside the rows' days
    for segment in ("device:mobile", "region:US", "region:rest", "device:none"):
        kind, _, value = segment.partition(":")
        for tool in (None, "b"):
            chosen = rows[kind] == value
            if tool is not None:
                chosen &= rows["tool"] == tool
            assert np.array_equal(tables.matrix(segment, days, tool), _summed(rows, chosen, days))
    assert np.array_equal(tables._utc("IN", days), _summed(rows, rows["country"] == "IN", days))


def _by_datetime(zone: str, days: np.ndarray) -> np.ndarray:
    out = np.zeros((len(days), 24, 2), dtype=np.int64)
    for i, day in enumerate(days):
        for hour in range(24):
            at = datetime.fromtimestamp(int(day) * 86_400 + hour * 3600, tz=UTC)
            local = at.astimezone(ZoneInfo(zone))
            out[i, hour] = ((local.date() - date(1970, 1, 1)).days, local.hour)
    return out


def test_local_hours_are_each_utc_hour_read_on_the_local_clock():
    days = day_numbers("2025-10-24", "2025-11-04")  # both EU and U.S. clock changes
    for country in ("DE", "IN", "NP", "AU", "NZ", "CL"):  # half and quarter hours, south
        zones = country_zones()[country]
        mapping = local_hours(country, days)
        maps = [_by_datetime(zone, days) for zone in zones]
        if all(np.array_equal(m, maps[0]) for m in maps):
            assert mapping is not None and np.array_equal(mapping, maps[0])
        else:
            assert mapping is None
    assert local_hours("US", days) is None


def test_the_utc_hour_by_arithmetic_is_the_engines_hour_in_utc():
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa

    from marginscope.analytics.queries import utc_hour
    from marginscope.analytics.sources import open_events

    start = datetime(2025, 3, 30, 0, 0, tzinfo=UTC)  # a European DST night, then every hour
    times = [start + timedelta(minutes=37 * i, microseconds=i) for i in range(400)]
    times += [datetime(2025, 11, 3, 23, 59, 59, 999_999, tzinfo=UTC)]
    events = open_events(pa.table({"ts": pa.array(times, pa.timestamp("us", tz="UTC"))}))
    out = events.select(a=utc_hour(events), b=events.ts.hour()).to_pyarrow()
    assert out["a"].to_pylist() == out["b"].to_pylist() == [t.hour for t in times]
