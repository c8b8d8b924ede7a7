"""Settings read from the environment, in one place (the telemetry ones: docs/telemetry.md; the
web ones: docs/web.md — the app sees them through :class:`marginscope.web.settings.WebSettings`).

| variable | meaning | default |
|---|---|---|
| ``MARGINSCOPE_DB`` | DuckDB file holding events and market context | ``./marginscope.duckdb`` |
| ``MARGINSCOPE_COUNTRY_HEADER`` | trusted proxy header carrying the visitor's ISO country (e.g. ``CF-IPCountry``); honoured only when set | unset (ignored) |
| ``MARGINSCOPE_GEOIP_DB`` | MaxMind-format country/city ``.mmdb`` file for IP → country | unset (no GeoIP) |
| ``MARGINSCOPE_CLIENT_IP_HEADER`` | trusted proxy header carrying the client IP (e.g. ``X-Forwarded-For``, leftmost address used) | unset (socket peer) |
| ``MARGINSCOPE_STATE_DIR`` | directory for the daily visitor-hash salts (0700, files 0600) | ``$XDG_STATE_HOME/marginscope`` or ``~/.local/state/marginscope`` |
| ``MARGINSCOPE_SITE`` | site identifier mixed into the visitor hash | ``marginscope`` |
| ``MARGINSCOPE_SINK`` | where live events go: ``duckdb`` or ``parquet`` | ``duckdb`` |
| ``MARGINSCOPE_PARQUET_DIR`` | root of the Hive-partitioned Parquet dataset (``date=YYYY-MM-DD/…``) | ``./events`` |
| ``MARGINSCOPE_WRITER_ID`` | name of this writer in Parquet part-file names | ``<host>-<pid>`` |
| ``MARGINSCOPE_QUEUE_SIZE`` | bound of the in-memory event queue (overflow is counted and reported) | ``100000`` |
| ``MARGINSCOPE_FLUSH_SECONDS`` | longest wait before a batch is made durable | ``0.5`` |
| ``MARGINSCOPE_RECORD_RATE`` | calculations per minute one client (keyed daily hash of its address) may add to the recorded numbers; beyond it the answer is still given and the event is dropped, counted as ``over_budget`` | ``60`` |
| ``MARGINSCOPE_RECORD_BURST`` | calculations one client may have recorded at once before ``MARGINSCOPE_RECORD_RATE`` applies | ``60`` |
| ``MARGINSCOPE_ACK`` | when the web server answers a recorded calculation: ``handoff`` (the event is held by the sink process, which survives the server) or ``durable`` (its batch is committed) | ``handoff`` |
| ``MARGINSCOPE_RETENTION_DAYS`` | days raw events are kept by ``retention run`` / the daily job | ``90`` |
| ``MARGINSCOPE_RETENTION_AUTO`` | ``1`` makes the server run retention daily | ``0`` (off) |
| ``MARGINSCOPE_MIN_CELL`` | k: aggregate cells under k events are suppressed or merged | ``10`` |
| ``MARGINSCOPE_CLI_TELEMETRY`` | ``1`` records CLI calculations too | ``0`` (off) |
| ``MARGINSCOPE_TELEMETRY`` | ``1`` records the web app's calculations (and serves the beacon ``POST /api/v1/events``); ``0`` turns it off | ``1`` under ``marginscope serve``/``demo``, ``0`` for a bare ``create_app()`` |
| ``MARGINSCOPE_HOST`` | interface ``marginscope serve`` binds when ``--host`` is not given | ``127.0.0.1`` |
| ``MARGINSCOPE_PORT`` | port ``marginscope serve`` listens on when ``--port`` is not given | ``8000`` |
| ``MARGINSCOPE_WEB_WORKERS`` | uvicorn worker processes for ``marginscope serve`` | ``1`` |
| ``MARGINSCOPE_MAX_BODY`` | largest request body accepted, bytes (larger: HTTP 413) | ``65536`` |
| ``MARGINSCOPE_ROOT_PATH`` | path prefix when served behind a proxy under a sub-path | empty |
| ``MARGINSCOPE_DASHBOARD_TOKEN`` | secret that opens ``/dashboard`` (Bearer header or login); unset: dashboard disabled (404) | unset |
| ``MARGINSCOPE_HEADER_TIMEOUT`` | seconds a client has to send a request's line and headers (then 408, closed) | ``10`` |
| ``MARGINSCOPE_BODY_TIMEOUT`` | seconds a client has to send a request's body once its headers are in (then 408) | ``30`` |
| ``MARGINSCOPE_KEEPALIVE_TIMEOUT`` | seconds an idle kept-alive connection stays open | ``5`` |
| ``MARGINSCOPE_MAX_HEADER_BYTES`` | largest request head (request line and headers), bytes (larger: 431) | ``16384`` |
| ``MARGINSCOPE_MAX_CONNECTIONS`` | concurrent connections and requests per worker (more: 503) | ``1000`` |
| ``MARGINSCOPE_TRUSTED_PROXIES`` | comma-separated addresses of reverse proxies whose ``X-Forwarded-Proto`` is believed (TLS → ``Secure`` cookies) | unset (none) |
| ``MARGINSCOPE_DASHBOARD_SESSION_HOURS`` | lifetime of a dashboard login | ``12`` |
| ``MARGINSCOPE_LOGIN_RATE`` | dashboard login attempts per minute per client (burst the same; 10× that for all clients together; then 429) | ``5`` |
| ``MARGINSCOPE_LIVE_PRICES`` | ``1`` lets the pages' "use current price" button ask the venue (through ccxt) for its mark price; ``0``: the pages say live prices are off | ``0`` (off) |
| ``MARGINSCOPE_CHROMIUM`` | the Chromium (or Chrome) executable for PDF reports and screenshots | ``chromium`` on the PATH |
| ``MARGINSCOPE_KEPT_MEMORY`` | bytes of freed memory the analytics keep for reuse instead of handing back to the system: DuckDB's block allocator, and glibc's heap untrimmed (docs/analytics.md, session 6); ``0``: none | an eighth of the machine's memory |
| ``MARGINSCOPE_SPARK_MASTER`` | Spark master URL for ``--engine spark`` (``spark://host:7077``, ``yarn``, ``k8s://…``, ``local[N]``); ``--spark-master`` overrides it | ``local[N]``, N = CPU count (loopback only) |
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

DEFAULT_DB = "marginscope.duckdb"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: ``--db`` if given, else ``MARGINSCOPE_DB``, else ``./marginscope.duckdb``."""
    return Path(explicit or os.environ.get("MARGINSCOPE_DB") or DEFAULT_DB)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _env_flag(name: str) -> bool:
    return (_env(name) or "0").lower() in {"1", "true", "yes", "on"}


def _env_number(name: str, default: float, minimum: float,
                maximum: float = float("inf"), integer: bool = False) -> float:
    """A number from the environment in ``[minimum, maximum]`` (an integer if asked)."""
    from marginscope.errors import InputError

    raw = _env(name)
    if raw is None:
        return default
    kind = "an integer" if integer else "a number"
    allowed = f"{kind} >= {minimum:g}" if maximum == float("inf") else \
        f"{kind} {minimum:g} … {maximum:g}"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise InputError(name, raw, allowed) from None
    if not minimum <= value <= maximum:
        raise InputError(name, raw, allowed)
    return value


def country_header() -> str | None:
    """Trusted proxy header with the ISO country (``MARGINSCOPE_COUNTRY_HEADER``); None: ignored."""
    return _env("MARGINSCOPE_COUNTRY_HEADER")


def geoip_db() -> Path | None:
    """MaxMind-format ``.mmdb`` file for IP → country (``MARGINSCOPE_GEOIP_DB``); None: no GeoIP."""
    value = _env("MARGINSCOPE_GEOIP_DB")
    return Path(value) if value else None


def client_ip_header() -> str | None:
    """Trusted proxy header with the client IP (``MARGINSCOPE_CLIENT_IP_HEADER``); None: peer."""
    return _env("MARGINSCOPE_CLIENT_IP_HEADER")


def state_dir() -> Path:
    """Directory for the daily salts (``MARGINSCOPE_STATE_DIR``, else the XDG state dir)."""
    value = _env("MARGINSCOPE_STATE_DIR")
    if value:
        return Path(value)
    base = _env("XDG_STATE_HOME")
    return (Path(base) if base else Path.home() / ".local" / "state") / "marginscope"


def site_id() -> str:
    """Site identifier mixed into the visitor hash (``MARGINSCOPE_SITE``)."""
    return _env("MARGINSCOPE_SITE") or "marginscope"


def sink_kind() -> str:
    """Live-event sink, ``duckdb`` or ``parquet`` (``MARGINSCOPE_SINK``)."""
    from marginscope.errors import InputError

    value = (_env("MARGINSCOPE_SINK") or "duckdb").lower()
    if value not in {"duckdb", "parquet"}:
        raise InputError("MARGINSCOPE_SINK", value, "duckdb | parquet")
    return value


def ack_mode() -> str:
    """When the web server answers a recorded calculation (``MARGINSCOPE_ACK``): ``handoff``,
    once a sink process holds the event; ``durable``, once its batch is committed."""
    from marginscope.errors import InputError

    value = (_env("MARGINSCOPE_ACK") or "handoff").lower()
    if value not in {"handoff", "durable"}:
        raise InputError("MARGINSCOPE_ACK", value, "handoff | durable")
    return value


def parquet_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Root of the Hive-partitioned Parquet dataset (``MARGINSCOPE_PARQUET_DIR``)."""
    return Path(explicit or _env("MARGINSCOPE_PARQUET_DIR") or "events")


def writer_id() -> str:
    """This process's name in Parquet part files (``MARGINSCOPE_WRITER_ID``, else host-pid)."""
    return _env("MARGINSCOPE_WRITER_ID") or f"{socket.gethostname()}-{os.getpid()}"


def queue_size() -> int:
    """Bound of the in-memory event queue (``MARGINSCOPE_QUEUE_SIZE``)."""
    return int(_env_number("MARGINSCOPE_QUEUE_SIZE", 100_000, 1))


def flush_seconds() -> float:
    """Longest wait before a batch is written and made durable (``MARGINSCOPE_FLUSH_SECONDS``)."""
    return _env_number("MARGINSCOPE_FLUSH_SECONDS", 0.5, 0.001)


def retention_days() -> int:
    """Days raw events are kept (``MARGINSCOPE_RETENTION_DAYS``)."""
    return int(_env_number("MARGINSCOPE_RETENTION_DAYS", 90, 1))


def retention_auto() -> bool:
    """Whether the server runs retention daily (``MARGINSCOPE_RETENTION_AUTO``)."""
    return _env_flag("MARGINSCOPE_RETENTION_AUTO")


def min_cell() -> int:
    """k for small-cell suppression of published aggregates (``MARGINSCOPE_MIN_CELL``)."""
    return int(_env_number("MARGINSCOPE_MIN_CELL", 10, 1))


def cli_telemetry() -> bool:
    """Whether CLI calculations are recorded (``MARGINSCOPE_CLI_TELEMETRY``)."""
    return _env_flag("MARGINSCOPE_CLI_TELEMETRY")


def web_telemetry() -> bool:
    """Whether the web app records calculations (``MARGINSCOPE_TELEMETRY``; ``serve`` and
    ``demo`` default it to ``1``, a bare ``create_app()`` to ``0``)."""
    return _env_flag("MARGINSCOPE_TELEMETRY")


def kept_memory() -> int:
    """Bytes of freed memory the analytics keep for reuse (``MARGINSCOPE_KEPT_MEMORY``;
    default an eighth of the machine's physical memory; 0: none)."""
    try:
        default = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 8
    except (ValueError, OSError):  # no such sysconf names on this platform: keep none
        default = 0
    return int(_env_number("MARGINSCOPE_KEPT_MEMORY", default, 0, integer=True))


def spark_master(explicit: str | None = None) -> str | None:
    """Spark master URL: ``--spark-master``, else ``MARGINSCOPE_SPARK_MASTER``; None: local."""
    return (explicit or "").strip() or _env("MARGINSCOPE_SPARK_MASTER")


def web_host() -> str:
    """Interface ``marginscope serve`` binds (``MARGINSCOPE_HOST``)."""
    return _env("MARGINSCOPE_HOST") or "127.0.0.1"


def web_port() -> int:
    """Port ``marginscope serve`` listens on (``MARGINSCOPE_PORT``)."""
    return int(_env_number("MARGINSCOPE_PORT", 8000, 1, 65535, integer=True))


def web_workers() -> int:
    """Uvicorn worker processes for ``marginscope serve`` (``MARGINSCOPE_WEB_WORKERS``)."""
    return int(_env_number("MARGINSCOPE_WEB_WORKERS", 1, 1, 64, integer=True))


def max_body_bytes() -> int:
    """Largest request body accepted, bytes (``MARGINSCOPE_MAX_BODY``)."""
    return int(_env_number("MARGINSCOPE_MAX_BODY", 65536, 1024, 16 * 1024 * 1024, integer=True))


def root_path() -> str:
    """Path prefix behind a proxy (``MARGINSCOPE_ROOT_PATH``), without a trailing slash."""
    return (_env("MARGINSCOPE_ROOT_PATH") or "").rstrip("/")


def dashboard_token() -> str | None:
    """Secret that opens ``/dashboard`` (``MARGINSCOPE_DASHBOARD_TOKEN``); None: disabled."""
    return _env("MARGINSCOPE_DASHBOARD_TOKEN")


def header_timeout() -> int:
    """Seconds for a request's line and headers (``MARGINSCOPE_HEADER_TIMEOUT``)."""
    return int(_env_number("MARGINSCOPE_HEADER_TIMEOUT", 10, 1, 300, integer=True))


def body_timeout() -> int:
    """Seconds for a request's body once its head is in (``MARGINSCOPE_BODY_TIMEOUT``)."""
    return int(_env_number("MARGINSCOPE_BODY_TIMEOUT", 30, 1, 600, integer=True))


def keep_alive_timeout() -> int:
    """Seconds an idle kept-alive connection stays open (``MARGINSCOPE_KEEPALIVE_TIMEOUT``)."""
    return int(_env_number("MARGINSCOPE_KEEPALIVE_TIMEOUT", 5, 1, 300, integer=True))


def max_header_bytes() -> int:
    """Largest request head, bytes (``MARGINSCOPE_MAX_HEADER_BYTES``)."""
    return int(_env_number("MARGINSCOPE_MAX_HEADER_BYTES", 16384, 1024, 1 << 20, integer=True))


def max_connections() -> int:
    """Concurrent connections and requests per worker (``MARGINSCOPE_MAX_CONNECTIONS``)."""
    return int(_env_number("MARGINSCOPE_MAX_CONNECTIONS", 1000, 1, 100_000, integer=True))


def trusted_proxies() -> tuple[str, ...]:
    """Proxies whose ``X-Forwarded-Proto`` is believed (``MARGINSCOPE_TRUSTED_PROXIES``)."""
    return tuple(a.strip() for a in (_env("MARGINSCOPE_TRUSTED_PROXIES") or "").split(",")
                 if a.strip())


def session_hours() -> int:
    """Lifetime of a dashboard login (``MARGINSCOPE_DASHBOARD_SESSION_HOURS``)."""
    return int(_env_number("MARGINSCOPE_DASHBOARD_SESSION_HOURS", 12, 1, 720, integer=True))


def login_rate() -> int:
    """Dashboard login attempts per minute per client (``MARGINSCOPE_LOGIN_RATE``)."""
    return int(_env_number("MARGINSCOPE_LOGIN_RATE", 5, 1, 1000, integer=True))


def record_rate() -> float:
    """Recorded calculations per minute per client (``MARGINSCOPE_RECORD_RATE``)."""
    return _env_number("MARGINSCOPE_RECORD_RATE", 60.0, 0.001, 1e9)


def record_burst() -> int:
    """Recorded calculations per client at once (``MARGINSCOPE_RECORD_BURST``)."""
    return int(_env_number("MARGINSCOPE_RECORD_BURST", 60, 1, 1e9, integer=True))


def live_prices() -> bool:
    """Whether the pages may fetch a live mark price (``MARGINSCOPE_LIVE_PRICES``)."""
    return _env_flag("MARGINSCOPE_LIVE_PRICES")


def chromium() -> str | None:
    """The Chromium executable given by ``MARGINSCOPE_CHROMIUM`` (None: look on the PATH)."""
    return _env("MARGINSCOPE_CHROMIUM")


def settings_names() -> list[str]:
    """Every environment variable read here (from the table above), for docs and checks."""
    import re

    return re.findall(r"^\| ``(MARGINSCOPE_[A-Z_]+)``", __doc__ or "", re.MULTILINE)
