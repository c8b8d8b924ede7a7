"""Anonymized calculation events: schema, anonymizer, sinks, ingest/export, retention.

Request path (web app)::

    from marginscope.telemetry import RequestMeta, Telemetry
    telemetry = Telemetry.from_settings()
    outcome = telemetry.record(RequestMeta(headers=dict(request.headers),
                                           client_ip=request.client.host,
                                           time_zone=beacon.time_zone),
                               "liquidation_price", {"venue": ..., "symbol": ..., "side": ...,
                                                     "margin_mode": ..., "leverage": ...,
                                                     "notional": ...})
    # outcome: concurrent.futures.Future (resolves when durable) or a Drop (counted)

Modules: ``schema`` (the canonical event, gathering ``vocabulary``, ``columns`` and ``event``),
``request``, ``device``, ``country``, ``salt``, ``pipeline`` (the named steps), ``writer``
(batching, acknowledgements), ``store`` (DuckDB), ``parquet_sink``, ``ingest`` (with
``ingest_readers`` and ``ingest_checks``), ``export``, ``retention``, ``service``, ``server``
(the web server's sink and writer; not imported here).
See docs/telemetry.md.
"""

from marginscope.telemetry.pipeline import STEPS, Drop, DropReason, Pipeline
from marginscope.telemetry.request import RequestMeta
from marginscope.telemetry.schema import COLUMNS, Event, tool_ids
from marginscope.telemetry.service import Telemetry

__all__ = [
    "COLUMNS", "STEPS", "Drop", "DropReason", "Event", "Pipeline", "RequestMeta", "Telemetry",
    "tool_ids",
]
