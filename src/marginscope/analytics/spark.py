"""Spark as the aggregation engine: a SparkSession factory and the events as an Ibis table.

The queries in :mod:`.queries` are written once in Ibis; with ``engine="spark"`` it is
compiled by Ibis's PySpark backend and runs on a SparkSession over the telemetry's
Hive-partitioned Parquet dataset (``ROOT/date=YYYY-MM-DD/part-*.parquet``; Spark discovers
the ``date`` partitions itself). Nothing else changes: the statistics still run in Python on
the small daily series that comes back.

Masters
-------
* ``local[N]`` (default, N = CPU count): the driver and its executor threads in one JVM on
  this machine. All of Spark's traffic stays on loopback: ``SPARK_LOCAL_IP``,
  ``spark.driver.host`` and ``spark.driver.bindAddress`` are ``127.0.0.1`` and the web UI is
  off. Shuffles are small (:data:`LOCAL_SHUFFLE_PARTITIONS`).
* a cluster (``spark://host:7077``, ``yarn``, ``k8s://…``) from ``--spark-master`` or
  ``MARGINSCOPE_SPARK_MASTER``: networking, UI, memory and object-store credentials come from
  Spark's own configuration (``$SPARK_CONF_DIR/spark-defaults.conf``); see ``docs/deploy.md``.

PySpark is an optional dependency (``pip install 'marginscope[spark]'``) and needs Java 17+.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marginscope.errors import InputError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from pyspark.sql import SparkSession

__all__ = [
    "LOCAL_SHUFFLE_PARTITIONS", "LOOPBACK", "backend", "current", "default_master", "is_local",
    "java_available", "open_dataset", "release", "session", "stop",
]

LOOPBACK = "127.0.0.1"
LOCAL_SHUFFLE_PARTITIONS = 8
"""``spark.sql.shuffle.partitions`` in local mode (Spark's default, 200, is sized for
clusters); adaptive execution coalesces further. See ``docs/deploy.md`` for the measurements."""

_current: SparkSession | None = None
_backends: dict[int, Any] = {}


def default_master() -> str:
    """``local[N]``, N = this machine's CPU count."""
    return f"local[{os.cpu_count() or 1}]"


def is_local(master: str) -> bool:
    """Whether ``master`` runs Spark inside this process's JVM (``local``, ``local[N]``…)."""
    return master == "local" or master.startswith(("local[", "local-cluster["))


def java_available() -> bool:
    """Whether a Java runtime is reachable (``JAVA_HOME/bin/java`` or ``java`` on PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return True
    return shutil.which("java") is not None


def _alive(spark: SparkSession | None) -> bool:
    return spark is not None and getattr(spark.sparkContext, "_jsc", None) is not None


def session(master: str | None = None, *, shuffle_partitions: int | None = None,
            driver_memory: str | None = None, conf: Mapping[str, str] | None = None,
            app_name: str = "marginscope") -> SparkSession:
    """The SparkSession the analytics run on (created once, then reused).

    Parameters
    ----------
    master : str, optional
        Spark master URL. None: the running session if there is one, else
        ``MARGINSCOPE_SPARK_MASTER``, else :func:`default_master`. A different master than the
        running session's stops that session first.
    shuffle_partitions : int, optional
        ``spark.sql.shuffle.partitions`` (default: :data:`LOCAL_SHUFFLE_PARTITIONS` in local
        mode, Spark's own setting on a cluster). Applied to a running session too.
    driver_memory : str, optional
        ``spark.driver.memory`` (e.g. ``"4g"``; in local mode the executors live in the driver
        JVM). Takes effect only when the JVM starts.
    conf : mapping, optional
        Further Spark settings for a new session.

    Raises
    ------
    InputError
        When PySpark is not installed or no Java runtime is found.
    """
    global _current
    from marginscope import config

    if _alive(_current) and (master is None or master == _current.sparkContext.master):
        if shuffle_partitions is not None:
            _current.conf.set("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
        return _current
    stop()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError("engine", "spark", "duckdb, or install PySpark: "
                         "pip install 'marginscope[spark]'") from None
    if not java_available():
        raise InputError("engine", "spark", "duckdb, or install Java 17+ (set JAVA_HOME or "
                         "put java on PATH)")
    url = master or config.spark_master() or default_master()
    settings: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "marginscope-spark"),
    }
    if is_local(url):
        os.environ["SPARK_LOCAL_IP"] = LOOPBACK  # read by the JVM at launch: loopback only
        settings.update({
            "spark.driver.host": LOOPBACK, "spark.driver.bindAddress": LOOPBACK,
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": str(LOCAL_SHUFFLE_PARTITIONS),
        })
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    if driver_memory:
        settings["spark.driver.memory"] = driver_memory
    settings.update(conf or {})
    builder = SparkSession.builder.master(url).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    _current = builder.getOrCreate()
    _current.sparkContext.setLogLevel("ERROR")
    return _current


def current() -> SparkSession | None:
    """The running session :func:`session` made, if any."""
    return _current if _alive(_current) else None


def stop() -> None:
    """Stop the session :func:`session` made (the JVM stays up for a later one)."""
    global _current
    if _current is not None:
        _backends.pop(id(_current), None)
        if _alive(_current):
            _current.stop()
    _current = None


def backend(spark: SparkSession | None = None) -> Any:
    """The Ibis PySpark backend over ``spark`` (default: :func:`session`)."""
    import ibis

    spark = spark or session()
    if id(spark) not in _backends:
        _backends[id(spark)] = ibis.pyspark.connect(spark)
    return _backends[id(spark)]


def _is_url(text: str) -> bool:
    return "://" in text


def open_dataset(source: Any, *, table: str = "events") -> ir.Table:
    """The events on Spark as an Ibis table.

    Parameters
    ----------
    source
        A Hive-partitioned Parquet dataset: a local directory, or a URL Spark's Hadoop
        file systems read (``s3a://bucket/events``, ``gs://…``, ``hdfs://…``); a single
        ``.parquet`` file; an Ibis PySpark backend (its ``table``); or a SparkSession.
    table : str
        Table name when ``source`` is a backend or a session.
    """
    if hasattr(source, "sparkContext"):  # a SparkSession
        return backend(source).table(table)
    if getattr(source, "name", None) == "pyspark" and hasattr(source, "table"):
        return source.table(table)
    if not isinstance(source, str | os.PathLike):
        raise InputError("source", type(source).__name__,
                         "a Parquet dataset directory or URL, or an Ibis PySpark backend "
                         "(Spark does not read DuckDB files or in-memory tables)")
    text = os.fspath(source)
    if not _is_url(text):
        path = Path(text)
        if path.is_file() and path.suffix != ".parquet":
            raise InputError("source", text, "a Parquet dataset directory (Spark reads "
                             "Parquet, not DuckDB files)")
        if not path.exists():
            raise InputError("source", text, "an existing Parquet dataset directory "
                             "(date=YYYY-MM-DD/*.parquet)")
    try:
        return backend().read_parquet(text)
    except Exception as exc:  # e.g. an empty directory: Spark cannot infer a schema
        if type(exc).__name__ not in {"AnalysisException", "Py4JJavaError"}:
            raise
        java = getattr(exc, "java_exception", None)  # py4j: the JVM's own message
        detail = str(java.toString() if java is not None else exc).splitlines()[0][:200]
        raise InputError("source", text, "a Parquet dataset directory with event files",
                         detail) from None


def release(events: ir.Table) -> None:
    """Drop the temporary view :func:`open_dataset` registered; the session stays up."""
    import ibis.expr.operations as ops

    op = events.op()
    if isinstance(op, ops.DatabaseTable) and op.name.startswith("ibis_read_parquet_"):
        events.get_backend()._session.catalog.dropTempView(op.name)
