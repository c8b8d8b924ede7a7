"""Behavioural phases: change points in the daily tool mix, each labelled by its dominant tools.

Method (``analytics_anchors.md`` §3.3 step 8; Killick, Fearnhead & Eckley 2012 for penalised
change-point search, whose PELT returns the same segmentation as the exact optimal
partitioning used here — with 30 days the exact dynamic programme costs nothing):

1. **Composition.** Each day's tool shares ``p_t`` (checks of a tool / all checks), on the
   square-root (Hellinger) scale, which makes multinomial noise about equal across tools
   (``Var √p̂ ≈ 1/(4n)``).
2. **Scale.** Each tool's column is divided by its noise level: 1.4826 · MAD of the first
   differences / √2 (robust to level shifts), floored at the multinomial ``1/(2√n)``.
3. **Robustness to one-day spikes.** A running median of width 5 (Tukey 1977) is taken per
   tool before segmenting: a surge lasting one or two days is a spike, not a phase, while a
   level shift keeps its edge.
4. **Segmentation.** The least-squares segmentation into ``K + 1`` segments of at least
   ``min_size`` (3) days, for ``K ≤ max_changes`` (3), chosen by a penalty per change
   *calibrated by simulation under the null* (:func:`null_penalty`): the ``1 − false_rate``
   (95 %) quantile, over seeded draws of independent unit-variance noise of the same shape
   (n days × p tools) put through the same running median, of the smallest penalty that
   leaves the draw undivided (``max_K gain_K / K``). A month without a change of mix is so
   divided with probability about ``false_rate`` (a Monte Carlo calibration of the
   penalty under the null, i.e. a parametric bootstrap, Efron & Tibshirani 1993 ch. 6, with
   the noise model of step 2). It replaces the BIC-type ``2 · p · log n``, which grows with every
   tool although a change of mix is usually carried by a few: with p = 10 tools it was 2.4 ×
   that quantile and missed changes the agents' truth shows (docs/sim.md, "Across seeds").
5. **Labels.** Each phase's mix is compared with the *normal* mix (the 28 days before the
   month when available, else the whole month). Dominant tools: share ≥ 2 % and at least
   ``min_ratio`` (1.15) times their normal share, ordered by excess share. The theme is the
   group of :data:`THEMES` with the largest summed excess — a naming convention for the
   narrative ("defensive checks → margin defense → repositioning"), documented as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from marginscope.analytics.baseline import MAD_SCALE
from marginscope.analytics.names import tool_name

__all__ = ["THEMES", "Phase", "PhaseRules", "change_points", "null_penalty", "running_median",
           "theme_tools", "tool_mix_phases"]

THEMES: dict[str, str] = {
    "defensive checks": "check", "margin defense": "defend", "repositioning": "rebuild",
}
"""Phase names by the stage of the trader's cycle their tools serve (``Calculator.stage``): a
reading aid; the dominant tools are the finding."""


def theme_tools() -> dict[str, tuple[str, ...]]:
    """Each theme's tool ids: the calculators declared with its stage."""
    from marginscope.calculators import TOOLS

    return {theme: tuple(tool for tool, calculator in TOOLS.items() if calculator.stage == stage)
            for theme, stage in THEMES.items()}


@dataclass(frozen=True)
class PhaseRules:
    """Parameters of the phase search (see the module docstring)."""

    min_size: int = 3
    max_changes: int = 3
    false_rate: float = 0.05
    null_draws: int = 1000
    smooth: int = 5
    min_ratio: float = 1.15
    min_share: float = 0.02


@dataclass(frozen=True)
class Phase:
    """A run of days with a stable tool mix.

    ``start``/``end`` are day indices into the analysed span (end exclusive). ``dominant`` lists
    ``(tool, share, normal_share)`` of the tools over-represented against the normal mix.
    """

    start: int
    end: int
    dominant: tuple[tuple[str, float, float], ...]
    theme: str | None
    shares: Mapping[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``theme (tool, tool)`` or ``usual mix``."""
        if not self.dominant:
            return "usual mix"
        tools = ", ".join(tool_name(t) for t, _, _ in self.dominant[:3])
        return f"{self.theme} ({tools})" if self.theme else tools


def running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Running median along axis 0 with a centred window, shrunk at the ends."""
    if width <= 1:
        return x.copy()
    half = width // 2
    out = np.empty_like(x, dtype=float)
    n = x.shape[0]
    for i in range(n):
        out[i] = np.median(x[max(0, i - half): min(n, i + half + 1)], axis=0)
    return out


def change_points(x: np.ndarray, *, penalty: float, min_size: int = 3,
                  max_changes: int = 3) -> list[int]:
    """Exact penalised least-squares segmentation of ``x`` (n × p); returns the change indices.

    Dynamic programme over segment counts (Bellman 1961; Jackson et al. 2005 "optimal
    partitioning"): ``C[k][j]`` is the least cost of ``x[:j]`` in ``k + 1`` segments; the answer
    minimises ``C[K][n] + K · penalty``. A change at index ``i`` means day ``i`` starts a new
    segment.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n < 2 * min_size:
        return []
    cumsum = np.vstack([np.zeros(x.shape[1]), np.cumsum(x, axis=0)])
    cumsq = np.concatenate([[0.0], np.cumsum((x**2).sum(axis=1))])

    def cost(a: int, b: int) -> float:
        length = b - a
        total = cumsum[b] - cumsum[a]
        return float(cumsq[b] - cumsq[a] - (total @ total) / length)

    most = min(max_changes, n // min_size - 1)
    inf = math.inf
    best = [[inf] * (n + 1) for _ in range(most + 1)]
    back = [[0] * (n + 1) for _ in range(most + 1)]
    for j in range(min_size, n + 1):
        best[0][j] = cost(0, j)
    for k in range(1, most + 1):
        for j in range((k + 1) * min_size, n + 1):
            for i in range(k * min_size, j - min_size + 1):
                if best[k - 1][i] == inf:
                    continue
                value = best[k - 1][i] + cost(i, j)
                if value < best[k][j]:
                    best[k][j], back[k][j] = value, i
    totals = [best[k][n] + k * penalty for k in range(most + 1)]
    k = int(np.argmin(totals))
    cuts: list[int] = []
    j = n
    while k > 0:
        i = back[k][j]
        cuts.append(i)
        j, k = i, k - 1
    return sorted(cuts)


def difference_scale(x: np.ndarray) -> np.ndarray:
    """Noise level of each column of ``x`` along axis 0: 1.4826 · MAD of the first differences
    / √2 (robust to level shifts and to a one-day spike)."""
    step = np.diff(x, axis=0)
    return MAD_SCALE * np.median(np.abs(step - np.median(step, axis=0)), axis=0) / math.sqrt(2.0)


def _best_costs(x: np.ndarray, min_size: int, max_changes: int) -> np.ndarray:
    """Least within-segment sum of squares of each draw in ``x`` (draws × n × p) with
    ``0 … max_changes`` changes (draws × K + 1), the dynamic programme of
    :func:`change_points` vectorised over draws and candidate starts.

    Segments ending at ``j`` are costed together, from the cumulative sums, just before the
    programme needs them: the draws × n × n × p table of every segment's sums is never
    built (its memory, not its arithmetic, was the cost).
    """
    draws, n, _ = x.shape
    cumsum = np.concatenate([np.zeros((draws, 1, x.shape[2])), np.cumsum(x, axis=1)], axis=1)
    cumsq = np.concatenate([np.zeros((draws, 1)), np.cumsum((x**2).sum(axis=2), axis=1)],
                           axis=1)
    most = min(max_changes, n // min_size - 1)
    best = np.full((most + 1, draws, n + 1), np.inf)
    for j in range(min_size, n + 1):
        total = cumsum[:, j:j + 1] - cumsum[:, :j]  # segments [i, j) for every start i < j
        cost = cumsq[:, j:j + 1] - cumsq[:, :j] - (total**2).sum(axis=2) / (j - np.arange(j))
        best[0, :, j] = cost[:, 0]
        for k in range(1, min(most, j // min_size - 1) + 1):
            starts = slice(k * min_size, j - min_size + 1)
            best[k, :, j] = (best[k - 1][:, starts] + cost[:, starts]).min(axis=1)
    return best[:, :, n].T


@lru_cache(maxsize=64)
def null_penalty(n: int, p: int, rules: PhaseRules | None = None, seed: int = 0) -> float:
    """Penalty per change that divides a month with no change of mix with probability
    ``rules.false_rate``: the quantile, over ``rules.null_draws`` seeded draws of independent
    N(0, 1) noise (n days × p tools, each column divided by its own estimated noise level
    (:func:`difference_scale`, as the data are) and put through the running median of width
    ``rules.smooth``), of ``max_K (cost_0 − cost_K) / K`` — the least penalty under which the
    draw stays one segment.

    The statistic does not depend on each column's scale, so unit-variance draws stand for a
    month whose mix does not change; estimating the noise level from 29 differences is part
    of the draw (without it the false-phase rate was 17–22 %). The calibration is checked on
    the planted null months and the simulator's calm counterfactual
    (``tests/analytics/test_phases_association.py``, ``docs/sim.md``).
    """
    rules = rules or PhaseRules()
    if n < 2 * rules.min_size or p == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, rules.null_draws, p))  # days first, as the data
    smoothed = running_median(noise / difference_scale(noise), rules.smooth).transpose(1, 0, 2)
    costs = _best_costs(smoothed, rules.min_size, rules.max_changes)
    changes = np.arange(1, costs.shape[1])
    if changes.size == 0:
        return 0.0
    least = ((costs[:, :1] - costs[:, 1:]) / changes).max(axis=1)
    return float(np.quantile(least, 1.0 - rules.false_rate))


def _normalized(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0)


def tool_mix_phases(matrix: np.ndarray, tools: Sequence[str],
                    reference: np.ndarray | None = None,
                    rules: PhaseRules | None = None) -> list[Phase]:
    """Phases of a (day × tool) count matrix; ``reference`` is the normal per-tool count total.

    Days without checks are carried by their neighbours' mix (they cannot define a phase).
    """
    rules = rules or PhaseRules()
    matrix = np.asarray(matrix, dtype=float)
    n = matrix.shape[0]
    if n == 0:
        return []
    used = matrix.sum(axis=0) > 0
    counts = matrix[:, used]
    names = [t for t, u in zip(tools, used, strict=True) if u]
    shares = _normalized(counts)
    hellinger = np.sqrt(shares)
    daily_total = counts.sum(axis=1)
    floor = 1.0 / (2.0 * math.sqrt(max(float(np.median(daily_total)), 1.0)))
    noise = difference_scale(hellinger) if n > 2 else np.full(len(names), floor)
    noise = np.maximum(noise, floor)
    standardized = running_median(hellinger / noise, rules.smooth)
    penalty = null_penalty(n, len(names), rules)
    cuts = change_points(standardized, penalty=penalty, min_size=rules.min_size,
                         max_changes=rules.max_changes)
    if reference is not None and np.asarray(reference, dtype=float)[used].sum() > 0:
        normal = np.asarray(reference, dtype=float)[used]
    else:
        normal = counts.sum(axis=0)
    normal = normal / normal.sum()
    phases = []
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        mix = counts[a:b].sum(axis=0)
        mix = mix / mix.sum() if mix.sum() > 0 else mix
        excess = mix - normal
        candidates = [i for i in np.argsort(-excess)
                      if mix[i] >= rules.min_share and mix[i] >= rules.min_ratio * normal[i]]
        dominant = tuple((names[i], float(mix[i]), float(normal[i])) for i in candidates)
        theme = None
        if dominant:
            scores = {name: sum(excess[names.index(t)] for t in group if t in names)
                      for name, group in theme_tools().items()}
            top = max(scores, key=lambda name: scores[name])
            theme = top if scores[top] > 0 else None
        phases.append(Phase(start=a, end=b, dominant=dominant, theme=theme,
                            shares={names[i]: float(mix[i]) for i in range(len(names))}))
    return phases
