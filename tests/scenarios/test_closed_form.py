"""Closed-form first-passage probability against independent derivations and limiting cases.

Independent derivations (written here, not taken from the module):

1. Reflection principle with drift, by quadrature of the joint law of (running minimum, end
   point). For X_t = νt + σW_t and b < 0, reflection gives for driftless motion
   P(min ≤ b, W_T ∈ dx) = φ_T(2b − x) dx (x ≥ b), and Girsanov reweights by
   exp(νx/σ² − ν²T/(2σ²)). So P(min ≤ b) = P(X_T ≤ b) + ∫_b^∞ e^{νx/σ² − ν²T/2σ²} φ_T(2b − x) dx.
2. The first-passage-time density of Brownian motion with drift towards a level at distance
   x (the inverse-Gaussian density, defective when the drift points away),
   f(t) = x / (σ√(2πt³)) · exp(−(x − a·t)²/(2σ²t)), integrated over (0, T].
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.scenarios import first_passage_probability

YEAR = 365.0


def phi_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def reflection_quadrature(s0, barrier, sigma, days, mu):
    """Derivation 1, numerically (trapezoid on 200,001 points)."""
    t = days / YEAR
    nu = mu - 0.5 * sigma**2
    b = math.log(barrier / s0)
    sd = sigma * math.sqrt(t)
    if b < 0:  # lower barrier: minimum
        tail = phi_cdf((b - nu * t) / sd)
        centre = 2 * b + nu * t  # the integrand is a Gaussian centred here
        x = np.linspace(b, max(b, centre) + 14 * sd, 200_001)
    else:  # upper barrier: maximum, mirrored
        tail = phi_cdf((nu * t - b) / sd)
        centre = 2 * b + nu * t
        x = np.linspace(min(b, centre) - 14 * sd, b, 200_001)
    density = (np.exp(nu * x / sigma**2 - nu**2 * t / (2 * sigma**2))
               * np.exp(-((2 * b - x) ** 2) / (2 * sd**2)) / (sd * math.sqrt(2 * math.pi)))
    return tail + np.trapezoid(density, x)


def passage_time_quadrature(s0, barrier, sigma, days, mu):
    """Derivation 2: ∫₀ᵀ f(t) dt with the first-passage-time density."""
    t_end = days / YEAR
    nu = mu - 0.5 * sigma**2
    s = 1.0 if barrier < s0 else -1.0
    x = s * math.log(s0 / barrier)
    a = -s * nu
    u = np.linspace(0.0, math.sqrt(t_end), 400_001)[1:]  # t = u², dt = 2u du: smooth at 0
    t = u * u
    f = x / (sigma * np.sqrt(2 * math.pi * t**3)) * np.exp(-((x - a * t) ** 2) / (2 * sigma**2 * t))
    return np.trapezoid(np.concatenate(([0.0], f * 2 * u)), np.concatenate(([0.0], u)))


CASES = [  # (price, barrier, sigma, days, mu)
    (100.0, 90.0, 0.60, 30.0, 0.0),
    (100.0, 90.0, 0.60, 30.0, -1.5),
    (100.0, 90.0, 0.60, 30.0, 2.0),
    (109_557.2, 98_997.47, 0.485, 30.0, 0.0),  # the Nov 2025 10x BTC long, 4h-bar volatility
    (100.0, 98.0, 0.40, 1.0, 0.3),
    (100.0, 50.0, 1.20, 365.0, -0.2),
    (100.0, 110.0, 0.60, 30.0, 0.0),  # shorts
    (100.0, 103.0, 0.90, 2.0, -0.8),
    (100.0, 150.0, 0.80, 180.0, 0.5),
]


@pytest.mark.parametrize("case", CASES)
def test_closed_form_matches_reflection_principle_with_drift_by_quadrature(case):
    assert first_passage_probability(*case) == pytest.approx(reflection_quadrature(*case),
                                                             abs=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_closed_form_matches_integrated_first_passage_time_density(case):
    assert first_passage_probability(*case) == pytest.approx(passage_time_quadrature(*case),
                                                             abs=1e-8)


def test_zero_log_drift_is_twice_the_tail_reflection_principle():
    # μ = σ²/2 makes ν = 0: P(min ≤ b) = 2Φ(b/(σ√T)) exactly.
    sigma, days = 0.7, 10.0
    for barrier in (95.0, 80.0, 60.0):
        expected = 2 * phi_cdf(math.log(barrier / 100.0) / (sigma * math.sqrt(days / YEAR)))
        got = first_passage_probability(100.0, barrier, sigma, days, drift=sigma**2 / 2)
        assert got == pytest.approx(expected, rel=1e-13)


def test_long_and_short_are_mirror_images_in_log_price():
    # ln S → −ln S maps a long (S, B, ν) to a short (S, S²/B, −ν); −ν needs μ' = σ² − μ.
    sigma, days = 0.8, 20.0
    for barrier, mu in ((90.0, 0.0), (70.0, -0.7), (95.0, 1.1)):
        long_p = first_passage_probability(100.0, barrier, sigma, days, mu)
        short_p = first_passage_probability(100.0, 100.0**2 / barrier, sigma, days,
                                            sigma**2 - mu)
        assert long_p == pytest.approx(short_p, rel=1e-12)


def test_no_volatility_is_the_deterministic_path():
    # σ = 0: S_t = S₀e^{μt}; liquidated iff the path reaches the barrier by T.
    days = 30.0
    crossing_mu = math.log(0.9) / (days / YEAR)  # reaches 90 exactly at T
    assert first_passage_probability(100.0, 90.0, 0.0, days, crossing_mu * 1.01) == 1.0
    assert first_passage_probability(100.0, 90.0, 0.0, days, crossing_mu * 0.99) == 0.0
    assert first_passage_probability(100.0, 90.0, 0.0, days, 0.0) == 0.0
    # and the diffusive formula tends to the same limit as σ → 0
    assert first_passage_probability(100.0, 90.0, 1e-4, days, crossing_mu * 1.01) > 0.999
    assert first_passage_probability(100.0, 90.0, 1e-4, days, crossing_mu * 0.99) < 1e-3


def test_vanishing_horizon_gives_zero_and_a_long_horizon_the_hitting_probability():
    assert first_passage_probability(100.0, 90.0, 0.8, 0.0) == 0.0
    assert first_passage_probability(100.0, 90.0, 0.8, 1e-6) < 1e-12
    # T → ∞ with the log drift away from the barrier: exp(2·a·x/σ²), a = −ν < 0 for a long.
    sigma, mu = 0.5, 0.4
    nu = mu - sigma**2 / 2
    x = math.log(100.0 / 90.0)
    ever = math.exp(-2 * nu * x / sigma**2)
    assert first_passage_probability(100.0, 90.0, sigma, 1e6, mu) == pytest.approx(ever,
                                                                                   rel=1e-9)
    # drift towards the barrier: certain, eventually
    assert first_passage_probability(100.0, 90.0, sigma, 1e6, -0.2) == pytest.approx(1.0)


def test_barrier_at_or_past_the_price_is_certain():
    assert first_passage_probability(100.0, 100.0 * (1 - 1e-9), 0.5, 1.0) > 0.9999
    assert first_passage_probability(100.0, 100.0, 0.5, 1.0) == 1.0
    assert first_passage_probability(100.0, 101.0, 0.5, 1.0, side="long") == 1.0
    assert first_passage_probability(100.0, 99.0, 0.5, 1.0, side="short") == 1.0
    assert first_passage_probability(100.0, 101.0, 0.5, 0.0, side="long") == 1.0


def test_no_liquidation_price_means_no_liquidation():
    assert first_passage_probability(100.0, np.nan, 0.9, 30.0) == 0.0
    assert first_passage_probability(100.0, -5.0, 0.9, 30.0, side="long") == 0.0
    assert first_passage_probability(100.0, 0.0, 0.9, 30.0) == 0.0
    assert first_passage_probability(100.0, np.inf, 0.9, 30.0, side="short") == 0.0


def test_drift_sign_moves_the_probability_the_right_way():
    long_p = [first_passage_probability(100.0, 90.0, 0.6, 30.0, mu) for mu in (-1, 0, 1)]
    short_p = [first_passage_probability(100.0, 110.0, 0.6, 30.0, mu) for mu in (-1, 0, 1)]
    assert long_p[0] > long_p[1] > long_p[2]
    assert short_p[0] < short_p[1] < short_p[2]


def test_probability_rises_with_volatility_horizon_and_a_nearer_barrier():
    p = first_passage_probability
    assert p(100, 90, 0.4, 30) < p(100, 90, 0.6, 30) < p(100, 90, 0.9, 30)
    assert p(100, 90, 0.6, 7) < p(100, 90, 0.6, 30) < p(100, 90, 0.6, 90)
    assert p(100, 80, 0.6, 30) < p(100, 90, 0.6, 30) < p(100, 95, 0.6, 30)


def test_extreme_drift_and_tiny_volatility_stay_finite():
    mus = np.array([-200.0, -50.0, -5.0, 0.0, 5.0, 50.0, 200.0])
    for sigma in (1e-3, 0.01, 0.05, 3.0):
        got = first_passage_probability(100.0, 95.0, sigma, 10.0, mus)
        assert np.isfinite(got).all() and ((got >= 0) & (got <= 1)).all()
        assert (np.diff(got) <= 1e-15).all()  # non-increasing in μ for a long


def test_scalars_zero_d_arrays_and_vectors_agree():
    prices = [100.0, 100.0, 100.0, 250.0]
    barriers = [90.0, 110.0, np.nan, 200.0]
    sigmas = [0.6, 0.5, 0.6, 1.1]
    days = [30.0, 7.0, 30.0, 3.0]
    mus = [0.0, 0.2, 0.0, -0.4]
    vector = first_passage_probability(prices, barriers, sigmas, days, mus)
    assert vector.shape == (4,)
    for i in range(4):
        args = (prices[i], barriers[i], sigmas[i], days[i], mus[i])
        scalar = first_passage_probability(*args)
        zero_d = first_passage_probability(*(np.asarray(a) for a in args))
        assert float(scalar) == float(zero_d) == vector[i]
    grid = first_passage_probability(100.0, np.array([[80.0], [90.0]]), [0.3, 0.6, 0.9], 30.0)
    assert grid.shape == (2, 3)


def test_explicit_side_arrays_are_accepted():
    got = first_passage_probability(100.0, [90.0, 110.0], 0.6, 30.0, side=["long", "short"])
    inferred = first_passage_probability(100.0, [90.0, 110.0], 0.6, 30.0)
    np.testing.assert_array_equal(got, inferred)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"price": -1.0}, "price"),
    ({"price": np.nan}, "price"),
    ({"volatility": -0.1}, "volatility"),
    ({"horizon_days": -1.0}, "horizon_days"),
    ({"drift": np.inf}, "drift"),
    ({"side": "up"}, "side"),
    ({"barrier": "ninety"}, "barrier"),
])
def test_bad_input_names_the_field(kwargs, field):
    args = {"price": 100.0, "barrier": 90.0, "volatility": 0.5, "horizon_days": 30.0}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        first_passage_probability(**args)
    assert err.value.field == field
