"""Real calculator inputs for simulated setups: built on real prices, accepted by the engine."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.sim.behaviour import TOOLS
from marginscope.sim.inputs import calculator_for, payloads, run_sample


def test_every_sampled_setup_runs_through_its_calculator(small):
    outcome = run_sample(small.table, small.state, sample=400, seed=1)
    assert outcome.attempted == 400
    assert outcome.succeeded == 400, outcome.messages
    assert set(outcome.by_tool) == set(TOOLS)


def test_marks_are_the_real_price_at_the_events_time(small):
    for name, body, row in payloads(small.table, small.state, sample=200, seed=2):
        ts_us = np.array([int(row["ts"].timestamp() * 1_000_000)])
        price = float(small.state.price_at(ts_us)[0])
        if name in ("liquidation", "margin-call"):
            assert body["mark_price"] == pytest.approx(price)
        elif name == "liquidation-risk":
            assert body["price"] == pytest.approx(price)
            assert 0.1 < body["volatility"] < 2.0


def test_unknown_tool_is_an_error():
    with pytest.raises(ValueError, match="tool"):
        calculator_for("spot_pnl")
