"""Everything a server needs, wired from the settings: pipeline, writer, sink, upkeep.

    telemetry = Telemetry.from_settings()          # at start-up
    outcome = telemetry.record(request_meta, tool, context)   # per calculation
    telemetry.close()                              # at shutdown: flushes

An upkeep thread destroys salts past 48 h every hour (even when no traffic arrives) and,
when ``MARGINSCOPE_RETENTION_AUTO=1``, runs retention once per UTC day.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import date, datetime
from pathlib import Path
from typing import Any

from marginscope import config
from marginscope.telemetry.parquet_sink import ParquetDatasetSink
from marginscope.telemetry.pipeline import Drop, Pipeline
from marginscope.telemetry.request import RequestMeta
from marginscope.telemetry.retention import expire_dataset_partitions, run_retention
from marginscope.telemetry.salt import utc_now
from marginscope.telemetry.schema import Event
from marginscope.telemetry.store import DuckDBSink
from marginscope.telemetry.writer import BatchingWriter, Sink, Writer

__all__ = ["Telemetry"]

log = logging.getLogger("marginscope.telemetry")


class Telemetry:
    """A configured pipeline feeding a batching writer, plus the upkeep thread.

    Parameters
    ----------
    pipeline : Pipeline
        With its ``writer`` set.
    retention_days : int or None
        Run retention daily with this many days; None: never (the default unless
        ``MARGINSCOPE_RETENTION_AUTO=1``).
    db : path-like, optional
        The DuckDB store retention works on.
    dataset : path-like, optional
        The Parquet dataset whose old partitions retention folds into ``db`` and removes.
    upkeep_seconds : float
        Period of the upkeep thread.
    """

    def __init__(self, pipeline: Pipeline, *, retention_days: int | None = None,
                 db: str | os.PathLike[str] | None = None,
                 dataset: str | os.PathLike[str] | None = None,
                 upkeep_seconds: float = 3600.0,
                 clock: Callable[[], datetime] = utc_now) -> None:
        if pipeline.writer is None:
            raise ValueError("Telemetry needs a pipeline with a writer")
        self.pipeline = pipeline
        self.writer: Writer = pipeline.writer
        pipeline.salts.current()  # a salt directory that cannot be written fails at start-up
        self.retention_days = retention_days
        self.db = Path(db) if db else None
        self.dataset = Path(dataset) if dataset else None
        self.clock = clock
        self._last_retention: date | None = None
        self._stop = threading.Event()
        self._upkeep_lock = threading.Lock()
        self._upkeep_seconds = upkeep_seconds
        self._thread = threading.Thread(target=self._upkeep_loop, daemon=True,
                                        name="marginscope-telemetry-upkeep")
        self._thread.start()

    @classmethod
    def from_settings(cls, db: str | os.PathLike[str] | None = None,
                      clock: Callable[[], datetime] = utc_now) -> Telemetry:
        """Sink, writer, pipeline and upkeep from the ``MARGINSCOPE_*`` settings."""
        database = config.db_path(db)
        dataset = None
        sink: Sink
        if config.sink_kind() == "parquet":
            dataset = config.parquet_dir()
            sink = ParquetDatasetSink(dataset, config.writer_id())
        else:
            sink = DuckDBSink(database)
        writer = BatchingWriter(sink, max_queue=config.queue_size(),
                                flush_seconds=config.flush_seconds())
        pipeline = Pipeline.from_settings(writer=writer, clock=clock)
        retention = config.retention_days() if config.retention_auto() else None
        return cls(pipeline, retention_days=retention, db=database, dataset=dataset,
                   clock=clock)

    def record(self, request: RequestMeta | Mapping[str, Any], tool: str,
               context: Mapping[str, Any] | None = None) -> Future[None] | Drop:
        """Anonymize and enqueue: a future resolving once durable, or a counted Drop."""
        return self.pipeline.record(request, tool, context)

    def process(self, request: RequestMeta | Mapping[str, Any], tool: str,
                context: Mapping[str, Any] | None = None) -> Event | Drop:
        """Anonymize only (no storage): the event, or a counted Drop."""
        return self.pipeline.process(request, tool, context)

    def stats(self) -> dict[str, Any]:
        """Pipeline drops per reason and writer counters (overflow included)."""
        return self.pipeline.stats()

    def upkeep(self) -> None:
        """Destroy salts past 48 h; run retention if enabled and not yet run today."""
        with self._upkeep_lock:
            self._upkeep()

    def _upkeep(self) -> None:
        self.pipeline.sweep_salts()  # and the pipeline's remembered salt and keyed states
        today = self.clock().date()
        if self.retention_days is None or self.db is None or self._last_retention == today:
            return
        if self.dataset is not None:
            expire_dataset_partitions(self.dataset, self.db, self.retention_days, self.clock())
        else:
            self.writer.flush(timeout=30)
            run_retention(self.db, self.retention_days, self.clock())
        self._last_retention = today

    def close(self, timeout: float = 30.0) -> dict[str, Any]:
        """Stop upkeep, flush and close the writer (the counts of events not recorded are
        handed to the sink); returns the final stats."""
        self._stop.set()
        self._thread.join(timeout=5)
        deadline = time.monotonic() + timeout
        self.writer.flush(timeout)  # a sink process's death is counted (lost) at a flush
        self.writer.close(max(1.0, deadline - time.monotonic()))
        return self.stats()

    def _upkeep_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.upkeep()
            except Exception:  # upkeep must never take the server down
                log.exception("telemetry upkeep failed")
            self._stop.wait(self._upkeep_seconds)
