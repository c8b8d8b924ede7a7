"""The analytics keep freed memory for reuse (:mod:`marginscope.analytics.memory`): DuckDB's
block allocator set to the configured size, never reduced, and none with 0."""

from __future__ import annotations

import os
import platform

import duckdb
import pyarrow as pa
import pytest

from marginscope import config
from marginscope.analytics.memory import keep_heap, keep_memory
from marginscope.analytics.sources import open_events
from marginscope.errors import InputError


def _blocks(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_setting('block_allocator_memory')").fetchone()[0]


def test_the_block_allocator_keeps_the_configured_size(monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_KEPT_MEMORY", str(96 * 2**20))
    con = duckdb.connect()
    keep_memory(con)
    assert _blocks(con) == "96.0 MiB"
    monkeypatch.setenv("MARGINSCOPE_KEPT_MEMORY", str(64 * 2**20))
    keep_memory(con)  # a larger size already set is kept, not an error
    assert _blocks(con) == "96.0 MiB"


def test_zero_keeps_nothing(monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_KEPT_MEMORY", "0")
    con = duckdb.connect()
    keep_memory(con)
    assert _blocks(con) == "0 bytes"


def test_the_analytics_own_connections_keep_memory(monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_KEPT_MEMORY", str(80 * 2**20))
    events = open_events(pa.table({"ts": [1]}))  # an Arrow table: a connection of its own
    assert _blocks(events.get_backend().con) == "80.0 MiB"


def test_the_default_is_an_eighth_of_the_machine(monkeypatch):
    monkeypatch.delenv("MARGINSCOPE_KEPT_MEMORY", raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert config.kept_memory() == total // 8 > 0
    monkeypatch.setenv("MARGINSCOPE_KEPT_MEMORY", "-1")
    with pytest.raises(InputError, match="MARGINSCOPE_KEPT_MEMORY"):
        config.kept_memory()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_glibc_keeps_the_heap():
    assert keep_heap(2**30) is True
    assert pa.default_memory_pool().backend_name == "system"  # Arrow's arrays on that heap
