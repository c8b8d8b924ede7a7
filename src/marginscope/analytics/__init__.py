"""Behavioural analytics over pre-trade setup events.

The heavy reduce runs in the engine (:mod:`.aggregate`, Ibis expressions, DuckDB by default);
the statistics run in Python on the small daily series (:mod:`.baseline`, :mod:`.lift`,
:mod:`.spikes`, :mod:`.shares`, :mod:`.phases`, :mod:`.association`), and :mod:`.analysis`
turns one month into :class:`~.findings.Finding` records. Method: ``docs/analytics.md``.

Entry points for other programs (the web dashboard, the report):

* :func:`daily` — daily checks for a date range, filtered and broken down, zero-filled and
  small-cell suppressed: ``daily(con, "2025-11-01", "2025-12-01", {"region": "US"},
  by=("tool",))``.
* :func:`aggregate` → :class:`DailyCube`, then :func:`analyze` → :class:`Analysis`.
"""

from marginscope.analytics.aggregate import (
    ENGINES,
    SEGMENTS,
    DailyCube,
    Reach,
    aggregate,
    daily,
    month_bounds,
    open_events,
)
from marginscope.analytics.analysis import Analysis, analyze
from marginscope.analytics.association import MarketContext, market_context
from marginscope.analytics.findings import Finding
from marginscope.analytics.phases import Phase, PhaseRules
from marginscope.analytics.shares import ShareRules
from marginscope.analytics.spikes import SpikeRules

__all__ = [
    "ENGINES", "SEGMENTS", "Analysis", "DailyCube", "Finding", "MarketContext", "Phase",
    "PhaseRules", "Reach", "ShareRules", "SpikeRules", "aggregate", "analyze", "daily",
    "market_context", "month_bounds", "open_events",
]
