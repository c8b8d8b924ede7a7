"""Local-time hour profiles: the clock change is taken out, a planted local shift is found.

Germany's checks follow one profile in *local* time (Europe/Berlin) from October to November;
the EU clocks went back on 26 Oct 2025, so in UTC the November profile sits an hour later than
October's — the pitfall of ``analytics_methods.md`` §6. The local profile must not move; a
planted shift (40 % of November's activity two local hours later) must be found, with the
recovered TV beside the planted one. Printed with ``-s`` and written to
``test-artifacts/local_hours.txt``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from marginscope.analytics.hours import HourTables, scan_hours
from marginscope.analytics.local_time import local_hours
from marginscope.analytics.permutation import day_numbers, tv_distance

from .sessions_sim import HOURS, MONTH, REFERENCE, show

SPANS = [MONTH]
BERLIN = ZoneInfo("Europe/Berlin")


def _tables(seed: int, moved: float = 0.0, hours_later: int = 2) -> HourTables:
    """DE checks per (UTC day, UTC hour): ~3,000 a day on the local profile ``HOURS``."""
    rng = np.random.default_rng(seed)
    days = day_numbers(REFERENCE[0], MONTH[1])
    profile = HOURS / HOURS.sum()
    rows = {"day": [], "hour": [], "country": [], "n": []}
    for day in days:
        local = profile
        if moved and day >= day_numbers(MONTH[0], MONTH[0])[0]:
            local = (1 - moved) * profile + moved * np.roll(profile, hours_later)
        mood = rng.dirichlet(local * 2000)  # the day's own profile
        for hour in range(24):
            at = datetime.fromtimestamp(int(day) * 86_400 + hour * 3600, tz=UTC)
            rows["day"].append(day)
            rows["hour"].append(hour)
            rows["country"].append("DE")
            rows["n"].append(rng.poisson(3000 * mood[at.astimezone(BERLIN).hour]))
    empty = {k: np.zeros(0, dtype=object) for k in ("device", "region", "tool")}
    return HourTables(
        data={"day": np.zeros(0, dtype=np.int64), "hour": np.zeros(0), "n": np.zeros(0), **empty},
        countries={k: np.asarray(v) for k, v in rows.items()},
    )


def _utc_tv(tables: HourTables) -> float:
    c = tables.countries
    october = c["day"] < day_numbers(MONTH[0], MONTH[0])[0]
    a = np.bincount(c["hour"][~october], weights=c["n"][~october], minlength=24)
    b = np.bincount(c["hour"][october], weights=c["n"][october], minlength=24)
    return float(tv_distance(a, b))


def test_only_countries_with_one_local_time_are_converted():
    days = day_numbers("2025-10-25", "2025-10-27")
    assert local_hours("US", days) is None  # several offsets
    berlin = local_hours("DE", days)  # Berlin and Busingen agree
    assert berlin is not None
    # 26 Oct 2025: 00:00 and 01:00 UTC are both 02:00 local (the repeated hour)
    assert [int(h) for h in berlin[1, :3, 1]] == [2, 2, 3]


def test_a_25_hour_day_is_divided_by_the_times_each_hour_occurred():
    days = day_numbers("2025-10-25", "2025-10-27")
    flat = HourTables(
        data={},
        countries={
            "day": np.repeat(days, 24),
            "hour": np.tile(np.arange(24), 3),
            "country": np.full(72, "DE"),
            "n": np.ones(72),
        },
    )
    rates, occurred = flat.local("DE", days)
    assert occurred.sum() == 72 and occurred.max() == 2
    assert np.all(rates[occurred > 0] == 1.0)  # one check per hour, whatever the clock


def test_the_clock_change_is_not_a_shift_and_a_planted_local_shift_is_found():
    null = _tables(5)
    test = next(t for t in scan_hours(null, SPANS, REFERENCE) if t.segment == "local:DE")
    planted = _tables(6, moved=0.4)
    found = next(t for t in scan_hours(planted, SPANS, REFERENCE) if t.segment == "local:DE")
    profile = HOURS / HOURS.sum()
    truth = float(tv_distance(0.6 * profile + 0.4 * np.roll(profile, 2), profile))
    show(
        "local_hours.txt",
        "\n".join(
            [
                "LOCAL HOURS (Germany, Europe/Berlin; EU clocks back on 26 Oct 2025)",
                f"no change in local time: UTC-profile TV {_utc_tv(null):.3f} (the clock alone), "
                f"local TV {test.tv:.3f}, q {test.q_value:.2g}, "
                f"{'flagged' if test.flagged else 'not flagged'}",
                f"40% moved 2 h later: planted TV {truth:.3f}, recovered {found.tv:.3f}, "
                f"q {found.q_value:.2g}, {'flagged' if found.flagged else 'not flagged'}",
            ]
        ),
    )
    assert _utc_tv(null) > 0.05  # the pitfall: in UTC the clock change looks like a shift
    assert not test.flagged and test.tv < 0.02 and test.hours == "local"
    assert found.flagged and found.tv == pytest.approx(truth, abs=0.02)
