"""Lift = observed / expected − 1, with a 95 % interval that allows for overdispersion.

Method (``analytics_anchors.md`` §3.4; quasi-Poisson as in McCullagh & Nelder, *Generalized
Linear Models*, 2nd ed., §6.2; the statsmodels Poisson-rates notes on estimating excess
dispersion separately):

* ``R = obs / E``; ``lift = R − 1`` (0.72 means +72 %).
* On the log scale, ``Var(log obs) ≈ φ / obs`` (quasi-Poisson, φ from the baseline window) and
  ``Var(log E)`` comes from :class:`~marginscope.analytics.baseline.Baseline`. The interval is
  ``R · exp(± z₀.₉₇₅ · √(φ / obs + Var log E)) − 1``: day-to-day variability beyond Poisson is
  inside it, so a busy but ordinary day does not look like a surge.
* Test of "no change": ``z = log(obs / E) / √(φ / E + Var log E)`` (variance under the null),
  one-sided upward by default; because φ is estimated from about 28 days, the p-value is the
  Student-t tail with the baseline's degrees of freedom (window days − 8), computed through
  the normal approximation :func:`t_to_z` and the stdlib ``NormalDist``.
* **Fixed-reference baselines** (``baseline.day_variance`` set, :mod:`.reference`;
  ``analytics_methods.md`` §2): the test uses the prediction variance
  ``V = σ̂² + 1/E + Var log E`` (multiplicative day noise plus Poisson plus the reference's
  estimation error); the interval of the underlying lift is
  ``R · exp(± c √(σ̂² + 1/obs + Var log E)) − 1``, so a large spike's interval is as wide as
  the day-to-day noise makes it (a Poisson-only ``1/obs`` would give ±4 % on 3,000 checks);
  Student's t on the reference's degrees of freedom (``scipy.special.stdtr``/``stdtrit``, what
  ``scipy.stats.t.sf``/``ppf`` compute, without their per-call overhead), and ``c`` the
  family's one critical value when given: flagged ⇔ the interval excludes 0 (up to obs vs E).
* Below ``min_expected`` checks a percentage is not stated ("was negligible"): 0 → N is not
  "+100 %" (the Plausible ``percent_change`` trap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.special import stdtr, stdtrit

from marginscope.analytics.baseline import Baseline
from marginscope.errors import InputError

__all__ = ["DIRECTIONS", "Lift", "lift", "normal_tail", "t_tail", "t_to_z"]

DIRECTIONS = ("up", "down", "both")
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Lift:
    """Observed against expected, with the interval and the test of "no change".

    ``lift``, ``low`` and ``high`` are fractions (None when the baseline is negligible).
    """

    observed: int
    expected: float
    lift: float | None
    low: float | None
    high: float | None
    z: float
    p_value: float


def t_to_z(t: float, degrees_of_freedom: float) -> float:
    """Normal deviate with the same tail probability as Student's t (Abramowitz & Stegun
    26.7.8 form: ``z = t (1 − 1/(4ν)) / √(1 + t²/(2ν))``; good to ~0.01 for ν ≥ 5)."""
    nu = float(degrees_of_freedom)
    return t * (1.0 - 1.0 / (4.0 * nu)) / math.sqrt(1.0 + t * t / (2.0 * nu))


def normal_tail(z: float, direction: str = "up") -> float:
    """P-value of a standard-normal statistic: upper, lower or two-sided tail."""
    if direction == "up":
        return 1.0 - _NORMAL.cdf(z)
    if direction == "down":
        return _NORMAL.cdf(z)
    if direction == "both":
        return 2.0 * (1.0 - _NORMAL.cdf(abs(z)))
    raise InputError("direction", direction, " | ".join(DIRECTIONS))


def t_tail(t: float | np.ndarray, degrees_of_freedom: int | np.ndarray,
           direction: str = "up") -> float | np.ndarray:
    """P-value of a Student-t statistic (exact, integer degrees of freedom): upper, lower or
    two-sided tail; ``t`` and ``degrees_of_freedom`` may be arrays (element-wise).

    ``scipy.special.stdtr`` is the t CDF that ``scipy.stats.t.sf`` evaluates (``sf(t) =
    stdtr(ν, −t)``, the same floats) without the distribution object's ~30 µs of argument
    handling per call, which a month of tests paid thousands of times.
    """
    if direction == "up":
        return stdtr(degrees_of_freedom, -t)
    if direction == "down":
        return stdtr(degrees_of_freedom, t)
    if direction == "both":
        return np.fmin(1.0, 2.0 * stdtr(degrees_of_freedom, -np.abs(t)))  # NaN t: 1, as min()
    raise InputError("direction", direction, " | ".join(DIRECTIONS))


def lift(observed: int, baseline: Baseline, *, confidence: float = 0.95,
         direction: str = "up", min_expected: float = 5.0,
         critical: float | None = None) -> Lift:
    """Lift of ``observed`` over ``baseline.expected`` with its interval and p-value.

    Parameters
    ----------
    observed : int
        Checks on the day.
    baseline : Baseline
        From :func:`~marginscope.analytics.baseline.dow_baseline`.
    confidence : float
        Interval level (0.95).
    direction : str
        ``up`` (surges), ``down`` (drops) or ``both``.
    min_expected : float
        Below this expected count no lift is stated and p = 1.
    critical : float, optional
        The family's critical value for the interval (fixed-reference baselines; default
        the ``confidence`` quantile of Student's t).
    """
    if not 0 < confidence < 1:
        raise InputError("confidence", confidence, "between 0 and 1")
    expected = baseline.expected
    if expected < min_expected or not math.isfinite(baseline.log_variance):
        return Lift(observed=int(observed), expected=expected, lift=None, low=None, high=None,
                    z=0.0, p_value=1.0)
    if baseline.day_variance is not None:
        return _reference_lift(observed, baseline, confidence, direction, critical)
    phi = baseline.dispersion
    ratio = observed / expected
    log_ratio = math.log(max(observed, 0.5) / expected)
    z_crit = _NORMAL.inv_cdf(0.5 + confidence / 2)
    half = z_crit * math.sqrt(phi / max(observed, 0.5) + baseline.log_variance)
    z = log_ratio / math.sqrt(phi / expected + baseline.log_variance)
    z_tail = t_to_z(z, baseline.degrees_of_freedom)
    point = math.exp(log_ratio)
    return Lift(observed=int(observed), expected=expected, lift=ratio - 1.0,
                low=point * math.exp(-half) - 1.0, high=point * math.exp(half) - 1.0,
                z=z, p_value=normal_tail(z_tail, direction))


def _reference_lift(observed: int, baseline: Baseline, confidence: float, direction: str,
                    critical: float | None) -> Lift:
    """Lift against a fixed reference: prediction variance for the test, day noise plus
    observation plus estimation variance for the interval (see the module docstring)."""
    expected = baseline.expected
    df = baseline.degrees_of_freedom
    log_ratio = math.log(max(observed, 0.5) / expected)
    spread = math.sqrt(baseline.day_variance + 1.0 / expected + baseline.log_variance)
    t = log_ratio / spread
    c = stdtrit(df, 0.5 + confidence / 2) if critical is None else critical  # t.ppf
    half = c * math.sqrt(baseline.day_variance + 1.0 / max(observed, 0.5)
                         + baseline.log_variance)
    point = math.exp(log_ratio)
    return Lift(observed=int(observed), expected=expected, lift=observed / expected - 1.0,
                low=point * math.exp(-half) - 1.0, high=point * math.exp(half) - 1.0,
                z=t, p_value=t_tail(t, df, direction))
