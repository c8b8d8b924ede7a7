"""Every risk test that takes ``kind`` runs three times: its inputs as Python floats, as 0-d
arrays and as vectors (empyrical's habit), and checks that the output has the matching kind
(0-d for scalars, the inputs' shape for vectors) and the same values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

KINDS = ("float", "0-d", "vector")
VECTOR = 3  # length of the vector kind: the same case repeated


class Kind:
    """Converts a case's inputs to one kind and checks the outputs' kind."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __call__(self, value: Any) -> Any:
        """``value`` (a number or a word such as ``"long"``) as this kind."""
        if value is None:
            return None
        if self.name == "float":
            return value if isinstance(value, str) else float(value)
        if self.name == "0-d":
            return np.asarray(value)
        return np.full(VECTOR, value)

    def out(self, result: Any) -> float:
        """The one value of ``result``, after checking its kind (and, for vectors, that every
        element is the same number)."""
        if self.name == "vector":
            assert np.shape(result) == (VECTOR,), f"vector in, shape {np.shape(result)} out"
            np.testing.assert_array_equal(result, np.full(VECTOR, result[0]))
            return float(result[0])
        assert isinstance(result, np.ndarray | np.floating | float) and np.ndim(result) == 0, (
            f"{self.name} in, {type(result).__name__} of shape {np.shape(result)} out"
        )
        return float(result)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kind" in metafunc.fixturenames:
        metafunc.parametrize("kind", [Kind(name) for name in KINDS], ids=KINDS)
