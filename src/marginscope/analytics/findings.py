"""Findings: the statistics turned into records of the report's JSON contract.

Every finding carries ``kind`` (``spike`` | ``share_shift`` | ``phase``), ``date`` (ISO day; for
spans also ``start``/``end``), ``tool`` (a tool id, or None for all tools), ``segment`` (``all``,
``device:mobile``, ``device:desktop``, ``region:US``, ``region:rest``), ``lift`` (a fraction:
0.72 means +72 %), ``lift_ci`` ([low, high]), ``observed`` and ``expected`` (checks), and for
share shifts ``share`` and ``normal_share`` (fractions). The market events it coincided with are
cited in ``market`` (kind, time, description, source, lag, wording).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marginscope.analytics.association import Association
from marginscope.analytics.formatting import day_text, signed_percent
from marginscope.analytics.names import SEGMENT_LABELS, SHARE_NAMES, tool_label
from marginscope.analytics.phases import Phase
from marginscope.analytics.shares import ShareTest
from marginscope.analytics.spikes import SeriesTest

__all__ = [
    "DETAIL_KINDS",
    "KINDS",
    "DetailFinding",
    "Finding",
    "phase_finding",
    "share_finding",
    "spike_finding",
]

KINDS = ("spike", "share_shift", "phase")
DETAIL_KINDS = (
    "contrast", "transition", "path", "session_position", "funnel", "hour_profile", "content",
    "lift_ratio",
)
"""Kinds added by issue 21 (segment contrasts, session transitions, hour profiles, setup
content, lift against lift): spans with ``start``/``end``, ``text``, ``q_value`` and their own fields
(:class:`DetailFinding`, ``docs/analytics.md``)."""

@dataclass
class Finding:
    """One finding (see the module docstring for the contract fields)."""

    kind: str
    date: str
    tool: str | None
    segment: str
    lift: float | None
    lift_ci: list[float] | None
    observed: int
    expected: float
    start: str | None = None
    end: str | None = None
    share: float | None = None
    normal_share: float | None = None
    normal_range: list[float] | None = None
    p_value: float | None = None
    q_value: float | None = None
    low_confidence: bool = False
    label: str | None = None
    theme: str | None = None
    dominant_tools: list[dict[str, Any]] = field(default_factory=list)
    comparisons: dict[str, float | None] = field(default_factory=dict)
    market: list[Association] = field(default_factory=list)

    @property
    def points(self) -> float | None:
        """Share change in percentage points (share shifts and phases)."""
        if self.share is None or self.normal_share is None:
            return None
        return 100.0 * (self.share - self.normal_share)

    def text(self, market: bool = True) -> str:
        """One sentence for the report: absolute numbers first, then the lift and interval;
        ``market=False`` leaves out the cited market event."""
        ci = (f" (95% CI {signed_percent(self.lift_ci[0])} to {signed_percent(self.lift_ci[1])})"
              if self.lift_ci else "")
        where = SEGMENT_LABELS.get(self.segment, self.segment)
        subject = f"{tool_label(self.tool)}{' ' + where if where else ''}"
        if self.kind == "spike":
            body = (f"{day_text(self.date)}: {subject} {self.observed:,} vs ~{self.expected:,.0f} "
                    f"expected, {signed_percent(self.lift)} above normal{ci}")
        elif self.kind == "share_shift":
            name = SHARE_NAMES.get(self.segment, self.segment)
            of = "all checks" if self.tool is None else tool_label(self.tool)
            ratio = 1.0 + (self.lift or 0.0)
            band = (f", 95% CI {1 + self.lift_ci[0]:.2f}–{1 + self.lift_ci[1]:.2f}×"
                    if self.lift_ci else "")
            total = round(self.observed / self.share) if self.share else 0
            body = (f"{day_text(self.date)}: {name} of {of} {self.share:.0%} vs a normal "
                    f"{self.normal_share:.0%} ({self.points:+.1f} pp; {ratio:.2f}× normal{band}; "
                    f"{self.observed:,} of {total:,})")
        else:
            lead = f"{day_text(self.start or self.date)}–{day_text(self.end or self.date)}: {self.label}"
            if self.tool is not None and self.share is not None:
                body = (f"{lead}; {tool_label(self.tool)} were {self.share:.0%} of checks vs a "
                        f"normal {self.normal_share:.0%}, {signed_percent(self.lift)}{ci}")
            else:
                body = lead
        if self.market and market:
            first = self.market[0]
            body += f"; {first.wording} {first.event.description} ({first.event.time[:10]})"
        return body + "."

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract form (floats rounded to 6 digits; None stays null)."""
        def number(value: float | None) -> float | None:
            return None if value is None or not np.isfinite(value) else round(float(value), 6)

        out: dict[str, Any] = {
            "kind": self.kind, "date": self.date, "tool": self.tool, "segment": self.segment,
            "lift": number(self.lift),
            "lift_ci": None if self.lift_ci is None else [number(v) for v in self.lift_ci],
            "observed": int(self.observed), "expected": number(self.expected),
        }
        if self.start is not None:
            out["start"], out["end"] = self.start, self.end
        if self.kind in ("share_shift", "phase") and self.share is not None:
            out["share"] = number(self.share)
            out["normal_share"] = number(self.normal_share)
            out["points"] = number(self.points)
        out["normal_range"] = (None if self.normal_range is None
                               else [number(v) for v in self.normal_range])
        out["p_value"] = number(self.p_value)
        out["q_value"] = number(self.q_value)
        out["low_confidence"] = self.low_confidence
        if self.kind == "phase":
            out["label"], out["theme"] = self.label, self.theme
            out["dominant_tools"] = self.dominant_tools
        if self.comparisons:
            out["comparisons"] = {k: number(v) for k, v in self.comparisons.items()}
        out["market"] = [a.to_dict() for a in self.market]
        out["text"] = self.text()
        return out


def spike_finding(test: SeriesTest, comparisons: dict[str, float | None],
                  market: list[Association]) -> Finding:
    """A flagged :class:`~marginscope.analytics.spikes.SeriesTest` as a finding."""
    result = test.result
    return Finding(kind="spike", date=test.date, tool=test.tool, segment=test.segment,
                   lift=result.lift,
                   lift_ci=None if result.low is None else [result.low, result.high],
                   observed=result.observed, expected=result.expected,
                   normal_range=[test.baseline.normal_low, test.baseline.normal_high],
                   p_value=result.p_value, q_value=test.q_value,
                   low_confidence=test.baseline.low_confidence, comparisons=comparisons,
                   market=market)


def share_finding(test: ShareTest, market: list[Association]) -> Finding:
    """A flagged :class:`~marginscope.analytics.shares.ShareTest` as a finding.

    ``observed`` is the segment's checks, ``expected`` the normal share × the day's checks;
    ``lift`` = share / normal share − 1.
    """
    base = test.baseline
    return Finding(kind="share_shift", date=test.date, tool=test.tool, segment=test.segment,
                   lift=test.ratio - 1.0, lift_ci=[test.ratio_low - 1.0, test.ratio_high - 1.0],
                   observed=test.numerator, expected=base.share * test.denominator,
                   share=test.share, normal_share=base.share,
                   normal_range=[base.low, base.high], p_value=test.p_value,
                   q_value=test.q_value, low_confidence=base.low_confidence, market=market)


def phase_finding(phase: Phase, days: np.ndarray, matrix: np.ndarray, tools: list[str],
                  market: list[Association]) -> Finding:
    """A :class:`~marginscope.analytics.phases.Phase` as a finding.

    ``tool`` is the most over-represented tool (None for a "usual mix" phase); ``observed`` its
    checks in the phase and ``expected`` its normal share × the phase's checks; the interval of
    the share ratio comes from the day-to-day spread of its daily share within the phase.
    """
    start, end = str(days[phase.start]), str(days[phase.end - 1])
    block = matrix[phase.start:phase.end]
    total = float(block.sum())
    dominant = [{"tool": t, "share": round(s, 6), "normal_share": round(n, 6)}
                for t, s, n in phase.dominant]
    if not phase.dominant or total <= 0:
        return Finding(kind="phase", date=start, start=start, end=end, tool=None,
                       segment="all", lift=None, lift_ci=None, observed=int(total),
                       expected=total, label=phase.label, theme=phase.theme,
                       dominant_tools=dominant, market=market)
    tool, share, normal = phase.dominant[0]
    column = tools.index(tool)
    observed = float(block[:, column].sum())
    expected = normal * total
    daily_total = block.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = np.log(block[:, column] / daily_total / normal)
    daily = daily[np.isfinite(daily)]
    spread = float(np.std(daily, ddof=1)) if daily.size > 1 else 0.0
    se = np.sqrt(spread**2 / max(daily.size, 1) + 1.0 / max(observed, 1.0))
    ratio = observed / expected
    return Finding(kind="phase", date=start, start=start, end=end, tool=tool, segment="all",
                   lift=ratio - 1.0,
                   lift_ci=[ratio * float(np.exp(-1.96 * se)) - 1.0,
                            ratio * float(np.exp(1.96 * se)) - 1.0],
                   observed=int(observed), expected=expected, share=share,
                   normal_share=normal, label=phase.label, theme=phase.theme,
                   dominant_tools=dominant, market=market)


@dataclass
class DetailFinding:
    """A finding of one of :data:`DETAIL_KINDS` over a span of days (inclusive ISO days).

    ``fields`` holds the kind's own contract fields (e.g. for ``contrast``: ``tool``,
    ``dimension``, ``a``, ``b``, ``share_a``, ``share_b``, ``ratio``, ``ratio_ci``,
    ``normal_ratio``); ``date`` in the JSON is ``start``, so findings sort together.
    """

    kind: str
    start: str
    end: str
    text: str
    p_value: float
    q_value: float
    fields: dict[str, Any] = field(default_factory=dict)
    withheld: bool = False
    """True when publishing the finding would reveal a count under k (its cell or the
    complement of its share); the report leaves it out and counts it in
    ``metadata.withheld_findings`` (:mod:`~marginscope.analytics.disclosure`)."""

    @property
    def date(self) -> str:
        """The first day of the span."""
        return self.start

    @classmethod
    def of(cls, kind: str, test: Any, text: str, fields: dict[str, Any],
           withheld: bool = False) -> DetailFinding:
        """From a test record with ``start``, ``end``, ``p_value`` and ``q_value``."""
        return cls(kind=kind, start=test.start, end=test.end, text=text,
                   p_value=test.p_value, q_value=test.q_value, fields=fields,
                   withheld=withheld)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract form (floats rounded to 6 digits)."""
        def clean(value: Any) -> Any:
            if isinstance(value, float | np.floating):
                return None if not np.isfinite(value) else round(float(value), 6)
            if isinstance(value, dict):
                return {str(k): clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            if isinstance(value, np.integer):
                return int(value)
            return value

        out: dict[str, Any] = {"kind": self.kind, "date": self.start, "start": self.start,
                               "end": self.end, "segment": "all", "tool": None}
        out.update(clean(self.fields))
        out["p_value"] = clean(self.p_value)
        out["q_value"] = clean(self.q_value)
        out["market"] = []
        out["text"] = self.text
        return out
