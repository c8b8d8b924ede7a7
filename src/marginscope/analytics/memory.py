"""Freed memory kept for reuse by the analytics' large, repeated allocations.

A report allocates and frees hundreds of megabytes per pass: DuckDB's hash tables and buffer
blocks, then Arrow and NumPy arrays. Handed back to the system and touched again, each page
is faulted in afresh; on a virtual machine whose freed pages go back to the host (free page
reporting, ballooning) that costs tens of µs per 4 KiB page — about 40 µs measured on the
bench machine, 100 MB/s — so a report spent seconds in page faults, more the longer the
machine had been idle. Two settings keep freed memory for reuse, up to
:func:`~marginscope.config.kept_memory` bytes (``MARGINSCOPE_KEPT_MEMORY``):

* DuckDB's block allocator (``block_allocator_memory``: buffer blocks, allocated on first
  use and never freed) on each database the analytics open;
* glibc's ``malloc`` for the process: large blocks from the heap instead of ``mmap`` (which
  unmaps each one when freed) and the heap not trimmed below the kept size;
* Arrow's arrays from that heap too (``pyarrow.system_memory_pool``): Arrow's default pool,
  mimalloc, hands freed pages back to the system shortly after they are freed (its
  ``purge_delay``).

On the bench month the report's warm runs took 10.5–11.6 s with the first two against
12.4–13.2 s without (docs/analytics.md, session 6), and Arrow on the heap took 0.5–0.9 s more
off (session 7). The price: the process keeps up to that much memory once it has used it.
DuckDB still trims the heap (``malloc_trim``) a few times a report.
"""

from __future__ import annotations

import ctypes
import platform
from functools import cache

import duckdb
import pyarrow as pa

from marginscope import config

__all__ = ["keep_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
"""glibc's ``mallopt`` parameters (``malloc.h``)."""


def keep_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Keep freed memory for ``con``'s database and this process (see the module); a larger
    block allocator already set on the database is left as it is."""
    kept = config.kept_memory()
    if not kept:
        return
    keep_heap(kept)
    try:
        con.execute(f"SET block_allocator_memory = '{kept // 2**20}MiB'")
    except duckdb.InvalidInputException as exc:  # the database already keeps more
        if "cannot be reduced" not in str(exc):
            raise


@cache
def keep_heap(kept: int) -> bool:
    """glibc's ``malloc`` keeps up to ``kept`` bytes of freed heap (capped at 2 GiB, a C
    ``int``) and serves large blocks from the heap, Arrow's among them; whether it was done
    (glibc only)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)  # the C library the process runs on
    trimmed = libc.mallopt(_M_TRIM_THRESHOLD, min(kept, 2**31 - 1))
    mapped = libc.mallopt(_M_MMAP_MAX, 0)
    if trimmed and mapped:
        pa.set_memory_pool(pa.system_memory_pool())
    return bool(trimmed and mapped)
