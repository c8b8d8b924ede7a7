"""The one set of input checks (risk and scenarios share it): what is accepted, what is named."""

from __future__ import annotations

import numpy as np
import pytest

from marginscope.errors import InputError
from marginscope.risk import validate


def test_sides_are_words_or_unit_signs_element_by_element():
    np.testing.assert_array_equal(
        validate.side([" Long", "SELL", "buy", "short"]), [1.0, -1.0, 1.0, -1.0]
    )
    np.testing.assert_array_equal(validate.side(np.array(["long", -1], dtype=object)), [1.0, -1.0])
    assert validate.one_side(" short ") == -1.0 and validate.one_side(1) == 1.0
    for bad in (True, np.array([True]), 0.5, "flat", ["long", "up"]):
        with pytest.raises(InputError, match="side"):
            validate.side(bad)
    with pytest.raises(InputError, match="side"):
        validate.one_side(["long"])


def test_number_bounds_nan_and_infinity():
    assert validate.number("x", [0.0, 1.0], low=0.0, low_inclusive=True).tolist() == [0.0, 1.0]
    with pytest.raises(InputError, match="< 1 and finite"):
        validate.number("x", 1.0, high=1.0, high_inclusive=False)
    with pytest.raises(InputError, match=r"got nan; allowed: a finite number"):
        validate.number("x", [1.0, np.nan])
    barrier = validate.number("b", [np.nan, np.inf, 5.0], allow_nan=True, allow_inf=True)
    assert np.isnan(barrier[0]) and barrier[1] == np.inf
    with pytest.raises(InputError, match="a single number"):
        validate.scalar("x", [1.0, 2.0])
    with pytest.raises(InputError, match="integer"):
        validate.integer("n", True)
    with pytest.raises(InputError, match="at least 3"):
        validate.series("closes", [1.0, 2.0], min_length=3)
    with pytest.raises(InputError, match="> 0 and finite"):
        validate.series("closes", [1.0, -2.0, 3.0])
