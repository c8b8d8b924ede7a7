"""Behavioural analytics over pre-trade setup events.

The heavy reduce runs in the engine: :mod:`.sources` opens the events as an Ibis table,
:mod:`.queries` holds the engine-agnostic Ibis expressions (DuckDB by default, Spark through
:mod:`.spark`), :mod:`.aggregate` runs them into a :class:`~.cube.DailyCube` (:mod:`.cube`) and
:mod:`.breakdown` into the dashboard's rows; :mod:`.periods` parses months and day ranges;
the statistics run in Python on the small daily series (:mod:`.baseline`, :mod:`.lift`,
:mod:`.spikes`, :mod:`.shares`, :mod:`.phases`, :mod:`.association`), and :mod:`.analysis`
turns one month into :class:`~.findings.Finding` records. Method: ``docs/analytics.md``.

Entry points for other programs (the web dashboard, the report):

* :func:`daily` — daily checks for a date range, filtered and broken down, zero-filled and
  small-cell suppressed: ``daily(con, "2025-11-01", "2025-12-01", {"region": "US"},
  by=("tool",))``.
* :func:`aggregate` → :class:`DailyCube`, then :func:`analyze` → :class:`Analysis`.
"""

from marginscope.analytics.aggregate import aggregate
from marginscope.analytics.analysis import Analysis, analyze
from marginscope.analytics.association import MarketContext, market_context
from marginscope.analytics.breakdown import daily
from marginscope.analytics.cube import SEGMENTS, DailyCube, Reach
from marginscope.analytics.findings import Finding
from marginscope.analytics.periods import day_range, month_bounds
from marginscope.analytics.phases import Phase, PhaseRules
from marginscope.analytics.shares import ShareRules
from marginscope.analytics.sources import ENGINES, open_events
from marginscope.analytics.spikes import SpikeRules

__all__ = [
    "ENGINES", "SEGMENTS", "Analysis", "DailyCube", "Finding", "MarketContext", "Phase",
    "PhaseRules", "Reach", "ShareRules", "SpikeRules", "aggregate", "analyze", "daily",
    "day_range", "market_context", "month_bounds", "open_events",
]
