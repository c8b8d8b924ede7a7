"""Segment contrasts: planted region and device differences in the tool mix, recovered.

Sessions come from ``tests/analytics/sessions_sim.py`` (a Markov order of tools, regions,
devices); the events go through the engine (DuckDB via Ibis) into a cube. Planted vs
recovered is printed (``-s``) and written to ``test-artifacts/contrasts_planted.txt``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from marginscope.analytics.aggregate import aggregate
from marginscope.analytics.clustered import cluster_ratio, paired_log_ratio
from marginscope.analytics.contrasts import contrast_findings, scan_contrasts

from .sessions_sim import World, show, simulate, true_share

FIRST, MONTH, FOLLOWING = date(2025, 10, 4), date(2025, 11, 1), date(2025, 12, 1)
PLANTED = World(region_tool={"margin_call": 1.6}, mobile_tool={"position_size": 1.5})


def _cube(world, seed):
    return aggregate(simulate(seed, world=world), FIRST, FOLLOWING, reach=False)


def _truth(world, tool, dimension):
    mix = np.asarray(world.device_mix)
    if dimension == "region":

        def share(us):
            return mix[0] * true_share(world, tool, us=us, device=0) + (1 - mix[0]) * true_share(
                world, tool, us=us
            )

        return share(True) / share(False)
    us = world.us_share
    mobile = us * true_share(world, tool, us=True, device=0) + (1 - us) * true_share(
        world, tool, us=False, device=0
    )
    desktop = us * true_share(world, tool, us=True) + (1 - us) * true_share(world, tool, us=False)
    return mobile / desktop


def test_the_methods_worked_examples_for_clustered_ratios():
    # §5: sessions x = 2,1,3,2,1 and y = 1,1,0,2,0 → p̂ = 4/9, clustered SE 0.233.
    p, se, clusters = cluster_ratio(np.array([1, 1, 0, 2, 0]), np.array([2, 1, 3, 2, 1]))
    assert p == pytest.approx(4 / 9)
    assert se == pytest.approx(0.233, abs=0.001)
    assert clusters == 5
    # paired: a common day shock cancels (identical relative shocks → SE 0)
    shock = np.array([1.0, 1.3, 0.8, 1.1])
    _, _, log_r, se, _ = paired_log_ratio(30 * shock, 100 * shock, 20 * shock, 100 * shock)
    assert log_r == pytest.approx(np.log(1.5))
    assert se == pytest.approx(0.0, abs=1e-12)


@pytest.fixture(scope="module")
def planted():
    cube = _cube(PLANTED, 41)
    start, end = cube.index(MONTH), len(cube.days)
    return cube, scan_contrasts(cube, [(start, end, "month")], (0, start), k=10)


def test_planted_region_and_device_contrasts_are_recovered_side_by_side(planted):
    _, tests = planted
    rows = {(t.tool, t.dimension, t.a): t for t in tests}
    lines = ["CONTRASTS (month; planted ratio vs recovered ratio [95% CI, days as clusters])"]
    for tool, dimension, a in (
        ("margin_call", "region", "US"),
        ("position_size", "device", "mobile"),
    ):
        test = rows[(tool, dimension, a)]
        truth = _truth(PLANTED, tool, dimension)
        lines.append(
            f"{tool:<15}{dimension:<8}{a:<8}planted {truth:.3f}  recovered "
            f"{test.ratio:.3f} [{test.ratio_low:.3f}, {test.ratio_high:.3f}]  "
            f"normal {test.normal_ratio:.3f}  q {test.q_value:.2g}  "
            f"{'flagged' if test.flagged else 'not flagged'}"
        )
        assert 1.3 <= truth <= 1.5
        assert test.flagged
        assert test.ratio_low <= truth <= test.ratio_high
        assert test.normal_ratio == pytest.approx(truth, rel=0.1)
    untouched = [
        t
        for t in tests
        if t.flagged
        and abs(np.log(_truth(PLANTED, t.tool, t.dimension) if t.a != "tablet" else 1.0))
        < np.log(1.1)
    ]
    lines.append(f"false contrasts (true ratio within 10% of 1, yet flagged): {len(untouched)}")
    text = "\n".join(lines)
    show("contrasts_planted.txt", text)
    assert len(untouched) <= 1


def test_contrast_findings_carry_the_contract_fields(planted):
    _, tests = planted
    findings = [f.to_dict() for f in contrast_findings(tests)]
    assert findings
    for f in findings:
        assert f["kind"] == "contrast" and f["start"] <= f["end"]
        assert f["dimension"] in ("region", "device")
        assert f["ratio"] == pytest.approx(f["share_a"] / f["share_b"], rel=1e-4)
        low, high = f["ratio_ci"]
        assert low <= f["ratio"] <= high
        assert f["normal_ratio"] > 0 and 0 <= f["q_value"] <= 1 and f["text"]


def test_a_null_world_raises_at_most_a_few_contrasts():
    counts = []
    for seed in (51, 52, 53):
        cube = _cube(World(), seed)
        start = cube.index(MONTH)
        tests = scan_contrasts(
            cube,
            [
                (start, len(cube.days), "month"),
                (start, start + 10, "phase"),
                (start + 10, len(cube.days), "phase"),
            ],
            (0, start),
        )
        counts.append(sum(t.flagged for t in tests))
    print(f"null worlds: false contrast findings per month {counts}")
    assert max(counts) <= 2
