"""Student's t distribution for integer degrees of freedom: exact tails and quantiles.

The statistics here estimate their noise from a reference of about 28 days, so tests and
intervals use Student's t with ``n − p`` degrees of freedom (``analytics_methods.md`` §2).
SciPy is not a dependency; for integer ν the distribution function has a finite closed form
(Abramowitz & Stegun 26.7.3–26.7.4). With ``θ = atan(t / √ν)``, ``A(t | ν) = P(|T| ≤ t)`` is

* ν odd:  ``(2/π) [θ + sin θ (cos θ + (2/3) cos³θ + … + (2·4…(ν−3))/(1·3…(ν−2)) cos^{ν−2}θ)]``
  (just ``2θ/π`` for ν = 1);
* ν even: ``sin θ [1 + (1/2) cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3…(ν−3))/(2·4…(ν−2))
  cos^{ν−2}θ]``.

Quantiles invert it by bisection (60 halvings: far below any printed digit).
"""

from __future__ import annotations

import math

from marginscope.errors import InputError

__all__ = ["t_quantile", "t_sf"]


def _abs_cdf(t: float, nu: int) -> float:
    """``P(|T| ≤ t)`` for ``t ≥ 0`` (A&S 26.7.3–4)."""
    theta = math.atan(t / math.sqrt(nu))
    s, c = math.sin(theta), math.cos(theta)
    if nu % 2 == 1:
        if nu == 1:
            return 2.0 * theta / math.pi
        term, total = c, c
        for k in range(3, nu - 1, 2):  # coefficients 2/3, 2·4/(3·5), …
            term *= c * c * (k - 1) / k
            total += term
        return 2.0 / math.pi * (theta + s * total)
    term, total = 1.0, 1.0
    for k in range(2, nu - 1, 2):  # coefficients 1/2, 1·3/(2·4), …
        term *= c * c * (k - 1) / k
        total += term
    return s * total


def _check(nu: int) -> int:
    if int(nu) != nu or nu < 1:
        raise InputError("degrees_of_freedom", nu, "an integer >= 1")
    return int(nu)


def t_sf(t: float, nu: int) -> float:
    """Upper tail ``P(T > t)`` of Student's t with ``nu`` (integer) degrees of freedom."""
    nu = _check(nu)
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * (1.0 - _abs_cdf(abs(t), nu))
    return max(0.0, tail) if t >= 0 else min(1.0, 1.0 - tail)


def t_quantile(p: float, nu: int) -> float:
    """The ``p`` quantile of Student's t (``t_sf(t_quantile(p, ν), ν) = 1 − p``)."""
    nu = _check(nu)
    if not 0.0 < p < 1.0:
        raise InputError("p", p, "strictly between 0 and 1")
    if p == 0.5:
        return 0.0
    upper = 1.0 - p if p > 0.5 else p  # the tail beyond |t|
    low, high = 0.0, 1.0
    while t_sf(high, nu) > upper:
        high *= 2.0
        if high > 1e12:
            break
    for _ in range(60):
        middle = 0.5 * (low + high)
        if t_sf(middle, nu) > upper:
            low = middle
        else:
            high = middle
    value = 0.5 * (low + high)
    return value if p > 0.5 else -value
