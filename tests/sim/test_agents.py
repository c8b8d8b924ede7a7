"""The agents' truth against the market data: liquidations and margin additions peak on the
days the market made them (named here from the shipped daily file, not from the simulator),
and the calm counterfactual liquidates (almost) nobody: only funding wears margins there."""

from __future__ import annotations

import csv
from itertools import pairwise

import numpy as np
import pytest

from marginscope.calculators import REGISTRY
from marginscope.market.snapshot import snapshot_paths
from marginscope.sim.behaviour import REASONS


def _market_days() -> tuple[set[str], str]:
    """The three largest close-to-close drops of November 2025 and its lowest low."""
    path = next(p for p in snapshot_paths() if p.name == "btc_daily_2025.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    change = {
        now["date"]: float(now["close"]) / float(before["close"]) - 1
        for before, now in pairwise(rows)
        if now["date"].startswith("2025-11")
    }
    lows = {r["date"]: float(r["low"]) for r in rows if r["date"].startswith("2025-11")}
    return set(sorted(change, key=change.get)[:3]), min(lows, key=lows.get)


def _top(simulation, values: np.ndarray, k: int = 3) -> set[str]:
    days = [str(d) for d in simulation.truth.days]
    month = [i for i, d in enumerate(days) if d.startswith("2025-11")]
    return {days[i] for i in sorted(month, key=lambda i: -values[i])[:k]}


def test_liquidations_peak_on_the_largest_drops_and_the_lowest_low(small):
    drops, lowest = _market_days()
    top = _top(small, small.truth.liquidated)
    assert top <= drops | {lowest}
    assert lowest in top


def test_margin_additions_peak_on_the_days_the_market_made_them(small):
    drops, lowest = _market_days()
    assert _top(small, small.truth.added_margin) <= drops | {lowest}
    assert _top(small, small.truth.within_5) & (drops | {lowest})


def test_on_the_calm_path_almost_nobody_is_liquidated_and_sessions_are_routine(calm, small):
    # only funding can wear a margin down when the price stands still
    assert calm.truth.liquidated.sum() <= 0.01 * small.truth.liquidated.sum()
    assert calm.truth.added_margin.sum() < 0.1 * small.truth.added_margin.sum()
    urgent = [REASONS.index(r) for r in ("liquidated", "margin call", "distance shrank")]
    assert calm.truth.sessions[:, urgent].sum() < 0.1 * small.truth.sessions[:, urgent].sum()


def test_the_long_share_moves_with_the_market_not_a_fixed_bias(small):
    share = small.truth.long_share
    assert share.max() - share.min() > 0.1
    assert ((share > 0) & (share < 1)).all()


def test_sessions_per_reason_add_up_to_the_sessions(small):
    month = small.sessions.hour >= small.path.first
    assert month.all()
    assert small.truth.sessions.sum() == len(small.sessions.agent)


def test_why_each_check_was_made_adds_up_and_follows_the_sessions(small):
    checks = small.truth.checks
    assert checks.sum() == small.table.num_rows
    why = small.truth.why()
    assert set(why[REGISTRY["margin-call"].tool]) == {"margin call", "routine"}
    assert set(why[REGISTRY["average"].tool]) == {"average down", "routine"}
    assert "new setup" in why[REGISTRY["position-size"].tool]


def test_routine_checks_are_a_stable_base_whatever_the_market(small, calm):
    from marginscope.sim.mix import CALCULATOR_MIX, TOOL_MIX

    routine = REASONS.index("routine")
    real, flat = small.truth.checks[:, routine, :], calm.truth.checks[:, routine, :]
    # the routine mix is the calm-market mix, and the same on the real and the calm path
    share, calm_share = real.sum(axis=0) / real.sum(), flat.sum(axis=0) / flat.sum()
    assert share == pytest.approx(list(TOOL_MIX.values()), abs=0.006)  # ~4 sd of a share
    assert share == pytest.approx(calm_share, abs=0.006)
    assert real.sum() == pytest.approx(flat.sum(), rel=0.03)  # day shocks: ~0.8 % sd
    assert len(CALCULATOR_MIX) == len(TOOL_MIX)
    # routine margin-call checks barely move from day to day; the state's come on top
    tool = list(TOOL_MIX).index(REGISTRY["margin-call"].tool)
    base = real[:, tool]
    driven = small.truth.checks[:, :, tool].sum(axis=1) - base
    assert base.std() / base.mean() < 0.25
    assert driven.std() / driven.mean() > 1.0
