"""Margin plan: the smallest top-up or cut that keeps the liquidation probability ≤ target."""

from __future__ import annotations

import pytest

from marginscope.errors import InputError
from marginscope.scenarios import (
    EnginePosition,
    first_passage_probability,
    liquidation_probability,
    margin_plan,
)

SIGMA, DAYS = 0.6, 30.0


def generic(side, qty, entry, leverage, mmr, cum=0.0):
    """An isolated linear position with a fixed MMR and maintenance amount (generic venue)."""
    return EnginePosition.open(venue="generic", side=side, qty=qty, entry=entry,
                               leverage=leverage, mmr=mmr, maintenance_amount=cum)


def barrier_for_target(price, sigma, days, target, side):
    """Independent inverse: bisection on the barrier itself (not on margin)."""
    lo, hi = (1e-9 * price, price) if side > 0 else (price, 1e9 * price)
    for _ in range(200):
        mid = (lo * hi) ** 0.5
        p = first_passage_probability(price, mid, sigma, days, side=side)
        # long: lower barrier ⇒ lower probability; short: higher barrier ⇒ lower
        if (p <= target) == (side > 0):
            lo = mid
        else:
            hi = mid
    return lo if side > 0 else hi


@pytest.mark.parametrize("side", ["long", "short"])
def test_top_up_is_the_margin_whose_lp_puts_the_probability_on_target(side):
    pos = generic(side, 0.1, 100_000.0, 10, 0.005, 50.0)
    plan = margin_plan(pos, 100_000.0, SIGMA, DAYS, target=0.05, tolerance=0.01)
    assert plan.probability_before > 0.05 >= plan.probability_after
    s = pos.side
    barrier = barrier_for_target(100_000.0, SIGMA, DAYS, 0.05, s)
    # WB such that LP = barrier: WB = LP·(Q·MMR − s·Q) − cum + s·Q·E   (§1.6 solved for WB)
    needed = barrier * (0.1 * 0.005 - s * 0.1) - 50.0 + s * 0.1 * 100_000.0
    assert plan.amount == pytest.approx(needed - pos.margin, abs=0.02)
    # and it is the smallest: a cent less misses the target
    short_of_it = pos.add_margin(plan.amount - 0.02)
    assert liquidation_probability(short_of_it, 100_000.0, SIGMA, DAYS).probability > 0.05


def test_a_cut_keeps_equity_and_reaches_the_target_minimally():
    pos = generic("long", 1.0, 3_000.0, 20, 0.005)
    plan = margin_plan(pos, 2_950.0, SIGMA, DAYS, target=0.10, action="cut")
    assert plan.probability_after <= 0.10 < plan.probability_before
    assert 0 < plan.fraction < 1 and plan.amount == pytest.approx(plan.fraction * pos.qty)
    cut = pos.reduce(plan.fraction, 2_950.0)
    assert float(cut.equity(2_950.0)) == pytest.approx(float(pos.equity(2_950.0)))
    less = pos.reduce(max(plan.fraction - 1e-5, 0.0), 2_950.0)
    assert liquidation_probability(less, 2_950.0, SIGMA, DAYS).probability > 0.10


def test_nothing_to_do_when_already_under_target():
    pos = generic("long", 0.1, 100_000.0, 2, 0.004)
    plan = margin_plan(pos, 100_000.0, SIGMA, DAYS, target=0.2)
    assert plan.amount == 0.0 and plan.probability_after == plan.probability_before <= 0.2


def test_monte_carlo_plan_is_consistent_with_the_closed_form():
    pos = generic("long", 0.1, 100_000.0, 10, 0.004)
    closed = margin_plan(pos, 100_000.0, SIGMA, DAYS, target=0.2, tolerance=1.0)
    mc = margin_plan(pos, 100_000.0, SIGMA, DAYS, target=0.2, tolerance=1.0,
                     method="monte_carlo", paths=20_000, steps=30, seed=1)
    assert mc.probability_after <= 0.2
    # The MC answer's true probability sits within a few MC standard errors of the target.
    true_p = first_passage_probability(100_000.0, mc.liquidation_price_after, SIGMA, DAYS)
    assert abs(true_p - 0.2) < 4 * (0.2 * 0.8 / 20_000) ** 0.5
    assert mc.amount == pytest.approx(closed.amount, rel=0.05)
    assert mc.to_dict()["method"] == "monte_carlo"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"target": 0.0}, "target"), ({"target": 1.0}, "target"), ({"action": "pray"}, "action"),
    ({"tolerance": 0.0}, "tolerance"), ({"method": "guess"}, "method"),
])
def test_bad_plan_input_names_the_field(kwargs, field):
    pos = generic("long", 0.1, 100_000.0, 10, 0.004)
    args = {"target": 0.05}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        margin_plan(pos, 100_000.0, SIGMA, DAYS, **args)
    assert err.value.field == field
