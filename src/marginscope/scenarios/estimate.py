"""The answer of every liquidation-probability method: the probability and its standard error."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ProbabilityEstimate"]


@dataclass(frozen=True)
class ProbabilityEstimate:
    """A liquidation probability with its Monte Carlo standard error (0 for the closed form).

    Unpacks as ``probability, standard_error = estimate``.
    """

    probability: float
    standard_error: float
    method: str
    paths: int = 0
    steps: int = 0
    corrected: bool = False
    barrier: float = float("nan")
    simulated_barrier: float = float("nan")

    def __iter__(self) -> Iterator[float]:
        return iter((self.probability, self.standard_error))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("barrier", "simulated_barrier"):
            if isinstance(out[key], float) and math.isnan(out[key]):
                out[key] = None
        return out
