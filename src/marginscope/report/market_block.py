"""The report's market block: origin, price series, the month's events, facts and the
usage–market correlations."""

from __future__ import annotations

from typing import Any

import numpy as np

from marginscope.analytics.analysis import Analysis
from marginscope.analytics.association import MarketContext


def _market(context: MarketContext | None, analysis: Analysis) -> dict[str, Any]:
    if context is None:
        return {"origin": None, "events": [], "facts": [], "correlations": []}
    first_day = analysis.month + "-01"
    return {
        "origin": context.origin,
        "price_series": context.price_series,
        "price_source": context.price_source,
        "events": [e.to_dict() for e in context.events if e.time[:10] >= first_day],
        "facts": [f.to_dict() for f in context.facts],
        "correlations": [
            {
                "usage": c.usage,
                "market": c.market,
                "lag": c.lag,
                "rho": None if not np.isfinite(c.rho) else round(c.rho, 4),
                "p_value": None if not np.isfinite(c.p_value) else round(c.p_value, 4),
                "days": c.days,
                "text": c.wording,
            }
            for c in analysis.correlations
        ],
    }
