"""The request path: a short list of named steps from a calculation to an anonymized event.

    validate → classify_device → resolve_country → hash_visitor → budget → drop_raw_fields
    → enqueue

Each step may drop the event with a typed :class:`DropReason`; drops are counted per reason,
never silent (the shape of Plausible's ``lib/plausible/ingestion/event.ex`` pipeline), and
handed to the writer per UTC day (``Writer.count``), which persists them next to the events
(the ``telemetry_counts`` table) for the report's methodology. The ``budget`` step caps what
one client adds to the numbers (:mod:`marginscope.telemetry.budget`): the calculation is
still answered, the event beyond the budget is dropped as ``over_budget``. The raw
IP, User-Agent, headers and page hints exist only inside one :meth:`Pipeline.process` call:
``drop_raw_fields`` builds the :class:`~marginscope.telemetry.schema.Event`, which has no
field that could hold them.

What the web app calls::

    pipeline = Pipeline.from_settings(writer=writer)
    outcome = pipeline.record(RequestMeta(headers=..., client_ip=...), "liquidation_price",
                              {"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long",
                               "margin_mode": "isolated", "leverage": 20, "notional": 5000})
    # outcome: a Future (resolves when durable) or a Drop (counted)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from marginscope import config
from marginscope.errors import InputError
from marginscope.telemetry.budget import TokenBuckets
from marginscope.telemetry.country import CountryResolver, GeoIPCountry
from marginscope.telemetry.device import BOT, classify_device
from marginscope.telemetry.frames import normalized_context, utc_second, wire_row_of
from marginscope.telemetry.request import RequestMeta, header_value, resolve_client_ip
from marginscope.telemetry.salt import DailyHashes, SaltStore, utc_now
from marginscope.telemetry.schema import SEQ_MAX, Event, built_event, new_event_id, tool_ids, tools
from marginscope.telemetry.writer import QueueFull, Writer, WriterClosed

__all__ = ["CONTEXT_KEYS", "STEPS", "Drop", "DropReason", "Pipeline"]

STEPS: tuple[str, ...] = (
    "validate", "classify_device", "resolve_country", "hash_visitor", "budget",
    "drop_raw_fields", "enqueue",
)

CONTEXT_KEYS: tuple[str, ...] = (
    "venue", "symbol", "side", "margin_mode", "leverage", "notional",
)
"""Context keys read from a calculation; every other key is ignored (never stored)."""


class DropReason(StrEnum):
    """Why an event was not recorded."""

    UNKNOWN_TOOL = "unknown_tool"          # validate: tool id not registered
    INVALID_CONTEXT = "invalid_context"    # validate: a coarse field had an unusable value
    BOT = "bot"                            # classify_device: a crawler's User-Agent
    BUDGET = "over_budget"                 # budget: the client's recording budget is spent
    QUEUE_FULL = "queue_full"              # enqueue: bounded queue full (overflow)
    WRITER_CLOSED = "writer_closed"        # enqueue: shutting down


@dataclass(frozen=True, slots=True)
class Drop:
    """An event the pipeline dropped: the step, the typed reason, a short detail.

    The detail never contains the IP, User-Agent or header values.
    """

    step: str
    reason: DropReason
    detail: str = ""


@dataclass(slots=True)
class _Draft:
    """The event under construction; raw fields are cleared by ``drop_raw_fields``."""

    tool: str
    context: Mapping[str, Any]
    ts: datetime
    headers: Mapping[str, str] | None
    client_ip: str | None
    user_agent: str | None
    time_zone: str | None
    session_token: str | None
    max_touch_points: int | None
    coarse: dict[str, Any] = field(default_factory=dict)
    device: str = "unknown"
    country: str = "ZZ"
    country_source: str | None = None
    visitor: str | None = None
    session: str | None = None
    salt: bytes = b""  # the day's salt, read once by the first step that needs it
    seq: int | None = None


def _seq(value: int | str | None) -> int | None:
    """The page's counter as stored: an integer ``0 … SEQ_MAX``, else None (never a drop:
    the calculation is still counted, only its in-session order is unknown)."""
    if isinstance(value, str):
        value = int(value) if value.isdigit() and len(value) <= 5 else None
    return value if type(value) is int and 0 <= value <= SEQ_MAX else None


class Pipeline:
    """The named steps, their drop counters, and (optionally) the writer they feed.

    Parameters
    ----------
    salts : SaltStore
        Daily salts for the visitor and session hashes.
    site : str
        Mixed into the visitor hash (``MARGINSCOPE_SITE``).
    country : CountryResolver, optional
        Configured country sources; default: time zone only.
    client_ip_header : str, optional
        Trusted proxy header with the client IP (``MARGINSCOPE_CLIENT_IP_HEADER``).
    writer : Writer, optional
        Where :meth:`record` enqueues; :meth:`process` works without one.
    budget : TokenBuckets, optional
        Recorded calculations per client (keyed on :func:`~marginscope.telemetry.salt.client_key`
        of the address); None: no budget (:meth:`from_settings` sets one from
        ``MARGINSCOPE_RECORD_RATE``/``MARGINSCOPE_RECORD_BURST``).
    clock : callable, optional
        Current aware datetime (event time when the request carries none).
    """

    def __init__(self, salts: SaltStore, *, site: str = "marginscope",
                 country: CountryResolver | None = None, client_ip_header: str | None = None,
                 writer: Writer | None = None, budget: TokenBuckets | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.salts = salts
        self.site = site
        self.country = country or CountryResolver()
        self.client_ip_header = client_ip_header
        self.writer = writer
        self.budget = budget
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {"processed": 0, "events": 0}
        self._drops: dict[DropReason, int] = dict.fromkeys(DropReason, 0)
        self._tools = tools()  # the live registry: a lookup, not tool_ids()'s tuple per call
        self._salt_of_day: tuple[int, bytes] = (-1, b"")  # (POSIX day, its salt): _salt
        self._day_hashes: DailyHashes | None = None  # the salt's keyed states: _hashes

    @classmethod
    def from_settings(cls, writer: Writer | None = None,
                      clock: Callable[[], datetime] = utc_now) -> Pipeline:
        """A pipeline configured from the environment (see :mod:`marginscope.config`)."""
        geoip_path = config.geoip_db()
        return cls(
            SaltStore(config.state_dir(), clock=clock),
            site=config.site_id(),
            country=CountryResolver(config.country_header(),
                                    GeoIPCountry(geoip_path) if geoip_path else None),
            client_ip_header=config.client_ip_header(),
            writer=writer, clock=clock,
            budget=TokenBuckets(config.record_rate() / 60.0, config.record_burst()),
        )

    # --- public ----------------------------------------------------------------------------

    def process(self, request: RequestMeta | Mapping[str, Any], tool: str,
                context: Mapping[str, Any] | None = None) -> Event | Drop:
        """Run every step except ``enqueue``: the anonymized event, or why it was dropped."""
        values = self._anonymized(request, tool, context)
        return values if isinstance(values, Drop) else built_event(**values)

    def record(self, request: RequestMeta | Mapping[str, Any], tool: str,
               context: Mapping[str, Any] | None = None) -> Future[None] | Drop:
        """:meth:`process`, then ``enqueue`` on the writer: a durability future or a Drop.

        A writer with ``record_row`` (the server's
        :class:`~marginscope.telemetry.handoff.HandoffWriter`) is handed the event's
        :func:`~marginscope.telemetry.schema.wire_row` built straight from its values, without
        the :class:`Event` object in between (4 µs less on the request path).

        A writer with ``record_frame`` (the same writer, issue 19's third pass) is handed less:
        the request's *compact frame* (:meth:`_compact`: the keyed hashes, the derived fields,
        the POSIX second and the calculation's raw coarse context), and its sink process builds
        and checks the event (:func:`event_of_frame`); the drops that decide the answer's
        ``X-Marginscope-Event`` (unknown tool, crawler, budget, queue full) are still decided
        here. A context the sink finds invalid is counted there (``invalid_context``)."""
        writer = self.writer
        record_frame = getattr(writer, "record_frame", None)
        if record_frame is not None:
            frame = self._compact(request, tool, context)
            if isinstance(frame, Drop):
                return frame
            future = record_frame(frame)
            if future is getattr(writer, "acknowledged", None):  # handed off: nothing to ask
                return future
            return self._handed(future, frame["ts"])
        values = self._anonymized(request, tool, context)
        if isinstance(values, Drop):
            return values
        record_row = getattr(self.writer, "record_row", None)
        if record_row is None:
            return self.enqueue(built_event(**values))
        return self._handed(record_row(wire_row_of(values)), values["ts"])

    def header_names(self) -> frozenset[str]:
        """The (lower-case) request headers this pipeline reads besides the Client Hints
        (``sec-ch-*``, :func:`~marginscope.telemetry.request.is_client_hint`): the
        User-Agent, the country header and the client-IP header when configured. A caller
        may hand over only these (``web.recording`` does: one decode per header read instead
        of every header's)."""
        return frozenset(name.lower() for name in
                         ("User-Agent", self.country.header, self.client_ip_header) if name)

    def sweep_salts(self) -> list[date]:
        """Destroy the salts past 48 h (:meth:`SaltStore.sweep`) and forget the day's salt this
        pipeline remembers and its keyed states (the next event asks the store again), so
        nothing derived from a salt outlives it, traffic or none (the telemetry's hourly
        upkeep calls this); returns the days destroyed."""
        self._salt_of_day = (-1, b"")
        self._day_hashes = None
        return self.salts.sweep()

    def drop_counts(self) -> dict[str, int]:
        """Events dropped so far, per reason (every reason listed, zeros included)."""
        with self._lock:
            return {reason.value: count for reason, count in self._drops.items()}

    def stats(self) -> dict[str, Any]:
        """Processed and produced counts, drops per reason, and the writer's counters."""
        with self._lock:
            result: dict[str, Any] = dict(self._counts)
        result["dropped"] = self.drop_counts()
        if self.writer is not None:
            result["writer"] = self.writer.stats().as_dict()
        return result

    # --- the steps -------------------------------------------------------------------------

    def validate(self, draft: _Draft) -> Drop | None:
        """Tool registered; coarse context normalized (allow-lists, buckets)."""
        if draft.tool not in tool_ids():
            return Drop("validate", DropReason.UNKNOWN_TOOL, f"tool {draft.tool!r}")
        try:
            draft.coarse = normalized_context(draft.context)
        except InputError as exc:
            return Drop("validate", DropReason.INVALID_CONTEXT, exc.field)
        return None

    def classify_device(self, draft: _Draft) -> Drop | None:
        """Device class from User-Agent and Client Hints; crawlers dropped."""
        device = classify_device(draft.user_agent, draft.headers, draft.max_touch_points)
        if device == BOT:
            return Drop("classify_device", DropReason.BOT, "crawler User-Agent")
        draft.device = device
        return None

    def resolve_country(self, draft: _Draft) -> Drop | None:
        """ISO country from the configured sources and which source it was (never drops:
        ``ZZ`` and no source when unknown)."""
        draft.country, draft.country_source = self.country.locate(
            draft.headers or {}, draft.client_ip, draft.time_zone)
        return None

    def hash_visitor(self, draft: _Draft) -> Drop | None:
        """Keyed daily hashes: visitor of (site, IP, UA); session of the page's token."""
        hashes = self._hashes(self.salts.current())
        draft.salt = hashes.salt
        if draft.client_ip and draft.user_agent:
            draft.visitor = hashes.visitor(draft.client_ip, draft.user_agent)
        draft.session = hashes.session(draft.session_token)
        return None

    def spend_budget(self, draft: _Draft) -> Drop | None:
        """The ``budget`` step: one token from the client's bucket, keyed on the daily keyed
        hash of its address alone (so a varied User-Agent is the same client; requests with
        no address share one bucket), itself the bucket's id (``TokenBuckets.allow_keyed``);
        none left → dropped as ``over_budget``."""
        if self.budget is None:
            return None
        key = self._hashes(draft.salt or self.salts.current()).client(draft.client_ip or "")
        if not self.budget.allow_keyed(key):
            return Drop("budget", DropReason.BUDGET, "recording budget spent for this client")
        return None

    def drop_raw_fields(self, draft: _Draft) -> dict[str, Any]:
        """Forget IP, User-Agent, headers and page hints; the canonical event's values (every
        field of :class:`Event`, each from this pipeline's own normalizers: no second
        validation)."""
        draft.headers = draft.client_ip = draft.user_agent = None
        draft.time_zone = draft.session_token = draft.max_touch_points = None
        draft.salt = b""
        draft.context = {}
        return {"event_id": new_event_id(), "ts": draft.ts, "tool": draft.tool,
                "device": draft.device, "country": draft.country,
                "country_source": draft.country_source, "visitor": draft.visitor,
                "session": draft.session,
                "seq": draft.seq if draft.session is not None else None, **draft.coarse}

    def enqueue(self, event: Event) -> Future[None] | Drop:
        """Hand the event to the writer; a full queue or a closed writer is a counted drop."""
        return self._handed(self._writer().record(event), event.ts)

    # --- helpers ---------------------------------------------------------------------------

    def _anonymized(self, request: RequestMeta | Mapping[str, Any], tool: str,
                    context: Mapping[str, Any] | None) -> dict[str, Any] | Drop:
        """Every step before ``enqueue``: the event's values, or the counted Drop."""
        draft = self._draft(request, tool, context)
        for step in (self.validate, self.classify_device, self.resolve_country,
                     self.hash_visitor, self.spend_budget):
            drop = step(draft)
            if drop is not None:
                return self._dropped(drop, draft.ts)
        values = self.drop_raw_fields(draft)
        with self._lock:
            self._counts["events"] += 1
        return values

    def _compact(self, request: RequestMeta | Mapping[str, Any], tool: str,
                 context: Mapping[str, Any] | None) -> dict[str, Any] | Drop:
        """The request path's part of an event, in one function (no draft, no step calls):
        the unknown-tool, crawler and budget decisions, the keyed hashes and the derived small
        fields, as a JSON-ready dict — the frame :func:`event_of_frame` turns into the event.
        The raw IP, User-Agent, headers and hints are read here and never put in it; the
        context is the calculator's coarse context (``Calculator.context``), normalized and
        bucketed in the sink."""
        if type(request) is not RequestMeta:
            request = RequestMeta.from_mapping(request)
        ts = int(time.time()) if request.ts is None and self.clock is utc_now else \
            self._posix_second(request.ts)
        if tool not in self._tools:
            return self._dropped(Drop("validate", DropReason.UNKNOWN_TOOL, f"tool {tool!r}"),
                                 utc_second(ts), processed=True)
        headers = request.headers or {}
        client_ip = resolve_client_ip(headers, request.client_ip, self.client_ip_header)
        user_agent = header_value(headers, "User-Agent")
        touch = request.max_touch_points
        device = classify_device(user_agent, headers, touch if isinstance(touch, int) else None)
        if device == BOT:
            return self._dropped(Drop("classify_device", DropReason.BOT, "crawler User-Agent"),
                                 utc_second(ts), processed=True)
        time_zone = request.time_zone if isinstance(request.time_zone, str) else None
        country, source = self.country.locate(headers, client_ip, time_zone)
        hashes = self._hashes(self._salt(ts) if request.ts is None else self.salts.current())
        if self.budget is not None and not self.budget.allow_keyed(hashes.client(client_ip or "")):
            return self._dropped(Drop("budget", DropReason.BUDGET,
                                      "recording budget spent for this client"), utc_second(ts),
                                 processed=True)
        with self._lock:
            self._counts["processed"] += 1
            self._counts["events"] += 1
        session = hashes.session(request.session)
        context = context or {}
        return {"ts": ts, "tool": tool, "device": device, "country": country,
                "country_source": source,
                "visitor": hashes.visitor(client_ip, user_agent)
                if client_ip and user_agent else None,
                "session": session, "seq": _seq(request.seq) if session is not None else None,
                "context": {key: context.get(key) for key in CONTEXT_KEYS}}

    def _salt(self, second: int) -> bytes:
        """The day's salt (:meth:`SaltStore.current`), remembered for the UTC day of
        ``second`` (the clock's, just read) when both clocks are the system's: ``current``
        reads the clock as an aware datetime on every call; a new day asks it again (it
        rotates the salt then)."""
        day = second // 86_400
        remembered, salt = self._salt_of_day
        if day == remembered:
            return salt
        salt = self.salts.current()
        if self.clock is utc_now and self.salts.clock is utc_now:
            self._salt_of_day = (day, salt)
        return salt

    def _hashes(self, salt: bytes) -> DailyHashes:
        """The keyed hashes under ``salt`` (the day's) and this pipeline's site: their keyed
        states set up once per salt and site, replaced with the salt (a new day) — never kept
        beyond the salt they come from."""
        hashes = self._day_hashes
        if hashes is None or hashes.salt != salt or hashes.site != self.site:
            hashes = self._day_hashes = DailyHashes(salt, self.site)
        return hashes

    def _posix_second(self, ts: datetime | None) -> int:
        """The event's time as whole POSIX seconds (the events' resolution): the request's
        ``ts``, else the clock — ``time.time()`` for the default clock (a tenth of
        ``datetime.now``'s cost)."""
        if ts is None:
            if self.clock is utc_now:
                return int(time.time())
            ts = self.clock()
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return math.floor(ts.timestamp())

    def _writer(self) -> Writer:
        if self.writer is None:
            raise RuntimeError("Pipeline.record needs a writer; use process() without one")
        return self.writer

    def _handed(self, future: Future[None], ts: datetime | int) -> Future[None] | Drop:
        """A writer's answer: a full queue or a closed writer is a counted drop."""
        if future.done() and future.exception() is not None:
            error = future.exception()
            reason = DropReason.QUEUE_FULL if isinstance(error, QueueFull) else \
                DropReason.WRITER_CLOSED if isinstance(error, WriterClosed) else None
            if reason is not None:
                return self._dropped(Drop("enqueue", reason, str(error)),
                                     utc_second(ts) if isinstance(ts, int) else ts)
        return future

    def _draft(self, request: RequestMeta | Mapping[str, Any], tool: str,
               context: Mapping[str, Any] | None) -> _Draft:
        if not isinstance(request, RequestMeta):
            request = RequestMeta.from_mapping(request)
        with self._lock:
            self._counts["processed"] += 1
        headers = request.headers or {}
        ts = request.ts or self.clock()
        ts = ts.replace(microsecond=0) if ts.tzinfo is UTC else \
            ts.astimezone(UTC).replace(microsecond=0) if ts.tzinfo else \
            ts.replace(tzinfo=UTC, microsecond=0)
        touch = request.max_touch_points
        return _Draft(
            tool=tool, context=context or {}, ts=ts, headers=headers,
            client_ip=resolve_client_ip(headers, request.client_ip, self.client_ip_header),
            user_agent=header_value(headers, "User-Agent"),
            time_zone=request.time_zone if isinstance(request.time_zone, str) else None,
            session_token=request.session,
            max_touch_points=touch if isinstance(touch, int) else None,
            seq=_seq(request.seq),
        )

    def _dropped(self, drop: Drop, ts: datetime, *, processed: bool = False) -> Drop:
        """Count ``drop`` here and, per UTC day of the event, with the writer (persisted);
        ``processed``: count the event as processed too (one lock for both)."""
        with self._lock:
            self._drops[drop.reason] += 1
            self._counts["processed"] += processed
        if self.writer is not None:
            self.writer.count(ts.date(), drop.reason.value)
        return drop
