"""What happens to a position if the move goes on: liquidation probability and stress paths.

* :mod:`.probability` — the liquidation probability of a position, by one of:
  :mod:`.first_passage` (first-passage probability of the liquidation price under GBM, closed
  form; :mod:`.normal` its normal CDF), :mod:`.monte_carlo` (with the Broadie–Glasserman–Kou
  correction), :mod:`.bootstrap` (historical block bootstrap with funding, volatility
  estimation); each answers with an :mod:`.estimate`.
* :mod:`.paths` — the shipped November 2025 BTCUSDT bars and funding, any OHLC CSV, scripted
  paths ("-10% in 4 hours, then sideways").
* :mod:`.replay` — walk a path bar by bar: equity, margin ratio, funding, liquidation,
  margin-defense plan.
* :mod:`.plan` — the smallest top-up or cut that keeps the probability under a target.
* :mod:`.position` — the :class:`MarginModel` protocol these use, and
  :class:`EnginePosition`, which implements it with the risk engine for any venue and symbol.
* :mod:`.chart` — a replay's chart (matplotlib, imported only there and only when drawing).

NumPy only otherwise; method notes and benchmark figures in ``docs/scenarios.md``.
"""

from marginscope.scenarios.bootstrap import bootstrap_probability, estimate_volatility
from marginscope.scenarios.estimate import ProbabilityEstimate
from marginscope.scenarios.first_passage import DAYS_PER_YEAR, first_passage_probability
from marginscope.scenarios.monte_carlo import BGK_BETA, monte_carlo_probability
from marginscope.scenarios.paths import (
    FundingSeries,
    PricePath,
    as_path,
    load_funding,
    load_ohlc,
    november_2025,
    parse_legs,
    scripted_path,
)
from marginscope.scenarios.plan import MarginPlan, margin_plan
from marginscope.scenarios.position import EnginePosition, MarginModel
from marginscope.scenarios.probability import liquidation_probability
from marginscope.scenarios.replay import (
    DefensePlan,
    ReplayResult,
    ReplaySeries,
    ReplaySummary,
    TopUp,
    replay,
)

__all__ = [
    "BGK_BETA",
    "DAYS_PER_YEAR",
    "DefensePlan",
    "EnginePosition",
    "FundingSeries",
    "MarginModel",
    "MarginPlan",
    "PricePath",
    "ProbabilityEstimate",
    "ReplayResult",
    "ReplaySeries",
    "ReplaySummary",
    "TopUp",
    "as_path",
    "bootstrap_probability",
    "estimate_volatility",
    "first_passage_probability",
    "liquidation_probability",
    "load_funding",
    "load_ohlc",
    "margin_plan",
    "monte_carlo_probability",
    "november_2025",
    "parse_legs",
    "replay",
    "scripted_path",
]
