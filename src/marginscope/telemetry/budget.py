"""Per-client limits without keeping who the client is: token buckets and the recording budget.

:class:`TokenBuckets` (also used by the web layer: the beacon's rate limit, the dashboard
login) keeps a bucket per keyed hash of a client key, in memory only. The pipeline's
``budget`` step (:mod:`marginscope.telemetry.pipeline`) takes one token per calculation from
the bucket of the client's **address key** — a keyed daily hash of the client address alone
(:func:`~marginscope.telemetry.salt.client_key`; no User-Agent, so varying it does not give a
client a fresh budget, and never the raw IP), which is the bucket's id as it is
(:meth:`TokenBuckets.allow_keyed`: already keyed, under the day's secret salt) — and drops the
event as ``over_budget`` when the bucket is empty: the calculation is answered, only not added
to the month's numbers.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """Token buckets keyed by a keyed hash of the client key, held in memory only.

    ``burst`` tokens at once, refilled at ``rate`` per second. The key of the hash (random per
    process) makes the bucket ids useless to anyone who reads memory later; a key that is
    already a keyed hash (:meth:`allow_keyed`) is its own id. At most ``max_keys`` buckets are
    kept (least recently used evicted). ``clock``: seconds, monotonic.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self.limited = 0
        self._key = secrets.token_bytes(32)
        self._buckets: OrderedDict[bytes | str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client: str | None) -> float:
        """Take one token for ``client``: 0.0 if there was one, else the seconds until there
        is (the refusal is counted in :attr:`limited`)."""
        # keyed BLAKE2b (RFC 7693) in one C call: hmac.new's Python wrapper cost 3x as much
        return self._take(hashlib.blake2b((client or "").encode(), key=self._key,
                                          digest_size=16).digest())

    def allow(self, client: str | None) -> bool:
        """Take one token for ``client``; False (counted) when its bucket is empty."""
        return self.wait(client) == 0.0

    def allow_keyed(self, key: str) -> bool:
        """:meth:`allow` for a client whose ``key`` is already a keyed hash under a secret
        key (the pipeline's :func:`~marginscope.telemetry.salt.client_key`, under the day's
        salt): the key is the bucket's id as it is, with no second keyed hash. Never pass a
        raw address or anything a reader of memory could invert without a secret key."""
        return self._take(key) == 0.0

    def _take(self, ident: bytes | str) -> float:
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(ident, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[ident] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if allowed:
                return 0.0
            self.limited += 1
            return (1.0 - tokens) / self.rate
