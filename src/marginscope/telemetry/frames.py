"""A calculation's coarse context and the event's wire forms, shared by the two ends of the
hand-off: the request path (:mod:`.pipeline`) and the sink process (:mod:`.handoff_sink`),
which builds and checks the event of each compact frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from marginscope.errors import InputError
from marginscope.telemetry.schema import (
    COLUMNS,
    Event,
    leverage_bucket,
    new_event_id,
    normalize_margin_mode,
    normalize_side,
    normalize_symbol,
    normalize_venue,
    notional_bucket,
)

__all__ = ["event_of_frame", "normalized_context", "utc_second", "wire_row_of"]


def utc_second(second: int) -> datetime:
    """The aware UTC time of whole POSIX seconds."""
    return datetime.fromtimestamp(second, UTC)


def normalized_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """A calculation's coarse context → the event's coarse columns (allow-lists, buckets);
    an unusable value raises :class:`~marginscope.errors.InputError` naming the field."""
    leverage = _number(context.get("leverage"), "leverage")
    notional = _number(context.get("notional"), "notional")
    return {
        "venue": normalize_venue(context.get("venue")),
        "symbol": normalize_symbol(context.get("symbol")),
        "side": normalize_side(context.get("side")),
        "margin_mode": normalize_margin_mode(context.get("margin_mode")),
        "leverage": None if leverage is None else leverage_bucket(leverage),
        "notional_bucket": None if notional is None else notional_bucket(notional),
    }


def event_of_frame(frame: Mapping[str, Any]) -> Event:
    """The event of a compact frame (:meth:`~marginscope.telemetry.pipeline.Pipeline._compact`), built and checked where it is
    stored (the sink process): the context normalized, a new event id, ``ts`` from the POSIX
    second, every other key of the frame taken as the column of that name, and the whole
    validated against the schema (:data:`~marginscope.telemetry.schema.Event`: closed
    vocabularies, patterns, no field that could hold a raw IP or User-Agent, no unknown key).

    Raises
    ------
    InputError
        The context has an unusable value (counted ``invalid_context``).
    ValueError, KeyError, TypeError
        Not a frame (counted ``malformed_frame``).
    """
    derived = dict(frame)
    context = derived.pop("context")
    ts = derived.pop("ts")
    if type(ts) is not int:
        raise TypeError("frame ts is not whole POSIX seconds")
    return Event.model_validate({**derived, **normalized_context(context),
                                 "event_id": new_event_id(), "ts": utc_second(ts)})


_COLUMN_VALUES = itemgetter(*COLUMNS)


def wire_row_of(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """:func:`~marginscope.telemetry.schema.wire_row` of ``built_event(**values)``, read from
    the values (the columns in :data:`~marginscope.telemetry.schema.COLUMNS` order, ``ts`` as
    POSIX seconds) without building the event."""
    return _COLUMN_VALUES({**values, "ts": values["ts"].timestamp()})


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(field, value, "a finite number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, "a finite number") from None
    if not math.isfinite(number):
        raise InputError(field, value, "a finite number")
    return number
