"""The web server's telemetry: sink in a child process, writer tuned for answers that wait.

    telemetry = server_telemetry()   # by marginscope.web.recording.install_telemetry

The server's answers wait for their events to be acknowledged, so its writer batches for
:data:`SERVER_FLUSH_SECONDS` (not the 0.5 s of batch use), and its DuckDB sink is a
:class:`~marginscope.telemetry.store.HeldDuckDBSink` (the file stays open while batches
follow each other). Not imported by ``marginscope.telemetry`` itself: the sink children run
``python -m marginscope.telemetry.handoff`` / ``process_sink``, which must not be imported
before they run.
"""

from __future__ import annotations

import os
from functools import partial

from marginscope import config
from marginscope.telemetry.handoff import HandoffWriter
from marginscope.telemetry.parquet_sink import ParquetDatasetSink
from marginscope.telemetry.pipeline import Pipeline
from marginscope.telemetry.process_sink import ProcessSink
from marginscope.telemetry.service import Telemetry
from marginscope.telemetry.store import HeldDuckDBSink
from marginscope.telemetry.writer import BatchingWriter, Writer

__all__ = ["SERVER_FLUSH_SECONDS", "server_telemetry"]

SERVER_FLUSH_SECONDS = 0.02
"""Batch window of the server's writer unless ``MARGINSCOPE_FLUSH_SECONDS`` is set: answers
wait for durability, so the 0.5 s default of batch use would be added to every answer."""


def server_telemetry() -> Telemetry:
    """:meth:`Telemetry.from_settings` for the web server.

    The sink (a :class:`HeldDuckDBSink`, or the Parquet dataset) runs in a child process, fed
    event by event and acknowledging at the hand-off (:class:`HandoffWriter`,
    ``MARGINSCOPE_ACK=handoff``, the default), or fed in batches that answers wait for
    (:class:`BatchingWriter` + :class:`ProcessSink`, ``durable``); batches close after
    :data:`SERVER_FLUSH_SECONDS` unless ``MARGINSCOPE_FLUSH_SECONDS`` is set.
    """
    flush = config.flush_seconds() if os.environ.get("MARGINSCOPE_FLUSH_SECONDS", "").strip() \
        else SERVER_FLUSH_SECONDS
    database = config.db_path()
    dataset = config.parquet_dir() if config.sink_kind() == "parquet" else None
    open_sink = partial(ParquetDatasetSink, dataset, config.writer_id()) if dataset else \
        partial(HeldDuckDBSink, database)
    writer: Writer = HandoffWriter(open_sink, flush_seconds=flush) \
        if config.ack_mode() == "handoff" else \
        BatchingWriter(ProcessSink(open_sink), max_queue=config.queue_size(),
                       flush_seconds=flush)
    retention = config.retention_days() if config.retention_auto() else None
    return Telemetry(Pipeline.from_settings(writer=writer), retention_days=retention,
                     db=database, dataset=dataset)
