"""Setup content: a planted long-share shift (0.6 → 0.8) and a leverage shift, recovered.

Sessions from ``sessions_sim.py``; counts per (day, tool, value) from the engine (DuckDB via
Ibis). Printed with ``-s`` and written to ``test-artifacts/content_planted.txt``.
"""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.analytics.content import (
    CONTENT_FIELDS,
    content_findings,
    content_tables,
    scan_content,
)
from marginscope.analytics.permutation import day_permutation_p
from marginscope.analytics.sources import open_events

from .sessions_sim import (
    FIRST,
    FOLLOWING,
    LEVERAGE,
    LEVERAGE_WEIGHTS,
    REFERENCE,
    Effect,
    show,
    simulate,
    spans,
)

PHASE = ("2025-11-12", "2025-11-22")
SPANS = spans(PHASE)


def _planted_leverage(shift: int) -> tuple[float, float]:
    """(share at ≥ 20×, median) of the generator's leverage weights moved ``shift`` up."""
    weights = np.roll(np.asarray(LEVERAGE_WEIGHTS, dtype=float), shift)
    weights[:shift] = 1.0
    share = weights / weights.sum()
    edges = np.asarray(LEVERAGE)
    return float(share[edges >= 20].sum()), float(edges[np.searchsorted(np.cumsum(share), 0.5)])


def test_the_day_permutation_p_value_is_calibrated_and_never_zero():
    rng = np.random.default_rng(3)
    nulls = [
        day_permutation_p(*np.split(rng.poisson(100, (40, 3)).astype(float), [10]), rng)
        for _ in range(60)
    ]
    assert np.mean(np.asarray(nulls) <= 0.05) <= 0.12  # about 5 % under no change
    shifted = rng.poisson(100, (40, 3)).astype(float)
    shifted[:10, 0] *= 3
    assert day_permutation_p(shifted[:10], shifted[10:], rng) == pytest.approx(1 / 10_000)


@pytest.fixture(scope="module")
def tests_():
    events = simulate(
        81,
        (
            Effect(*PHASE, long_share=("position_size", 0.8)),
            Effect(*PHASE, leverage_shift=("futures", 2)),
        ),
    )
    return scan_content(content_tables(open_events(events), FIRST, FOLLOWING), SPANS, REFERENCE)


def test_planted_side_and_leverage_shifts_are_recovered_side_by_side(tests_):
    rows = {(t.start, t.tool, t.field): t for t in tests_}
    side = rows[(PHASE[0], "position_size", "side")]
    lev = rows[(PHASE[0], "futures", "leverage")]
    high, median = _planted_leverage(2)
    high0, median0 = _planted_leverage(0)
    lines = [
        "CONTENT (phase Nov 12–22 vs reference Oct 4–31; planted vs recovered)",
        f"position-size long share: planted 0.600 → 0.800, recovered "
        f"{side.extra['normal_long_share']:.3f} → {side.extra['long_share']:.3f} "
        f"[{side.extra['long_share_ci'][0]:.3f}, {side.extra['long_share_ci'][1]:.3f}], "
        f"q {side.q_value:.2g}",
        f"futures leverage ≥ 20×: planted {high0:.3f} → {high:.3f}, recovered "
        f"{lev.extra['normal_share_20x']:.3f} → {lev.extra['share_20x']:.3f}; median "
        f"planted {median0:g} → {median:g}, recovered {lev.extra['normal_median']:g} → "
        f"{lev.extra['median']:g}; q {lev.q_value:.2g}",
    ]
    false = [
        t
        for t in tests_
        if t.flagged
        and (t.tool, t.field) not in (("position_size", "side"), ("futures", "leverage"))
    ]
    lines.append(f"flags on untouched tool × field (false): {len(false)}")
    text = "\n".join(lines)
    show("content_planted.txt", text)
    assert side.flagged and lev.flagged
    low, high_ci = side.extra["long_share_ci"]
    assert low <= 0.8 <= high_ci
    assert side.extra["normal_long_share"] == pytest.approx(0.6, abs=0.02)
    assert lev.extra["share_20x"] == pytest.approx(high, abs=0.03)
    assert lev.extra["median"] == median and lev.extra["normal_median"] == median0
    assert len(false) <= 1
    found = [f.to_dict() for f in content_findings(tests_)]
    for f in found:
        assert f["field"] in CONTENT_FIELDS
        assert sum(f["observed"].values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(f["normal"].values()) == pytest.approx(1.0, abs=1e-5)
        assert f["text"] and f["start"] <= f["end"]
    assert any(f["field"] == "leverage" and "20" in f["observed"] for f in found)


def test_a_null_world_raises_few_content_findings():
    events = simulate(91)
    tests = scan_content(content_tables(open_events(events), FIRST, FOLLOWING), SPANS, REFERENCE)
    flagged = sum(t.flagged for t in tests)
    print(f"null world: false content findings {flagged} of {len(tests)} tests")
    assert flagged <= 1
