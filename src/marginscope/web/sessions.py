"""Dashboard logins as OWASP's Session Management and CSRF Prevention cheat sheets describe.

* **A random session id per login**, kept server-side: 256 random bits in the cookie; the
  server stores only their SHA-256 with an expiry (a SQLite file in the state directory, so
  every worker process sees the same sessions and a restart keeps them). A session ends at
  logout or after ``MARGINSCOPE_DASHBOARD_SESSION_HOURS``; a copied cookie is then worthless.
* **CSRF tokens**: the login form carries a random token that must equal the value of a
  ``SameSite=Strict`` cookie set with the form (double submit), so a cross-site POST cannot
  log anyone in; the logout form carries a token derived from the session id, which another
  site cannot read, so a cross-site POST cannot log anyone out.
* **Throttling**: login attempts are rate-limited per client and for all clients together
  (429 with ``Retry-After``), so a token cannot be guessed at speed.
* **Secure cookies** when the request came over TLS: directly, or through a proxy listed in
  ``MARGINSCOPE_TRUSTED_PROXIES`` that says so in ``X-Forwarded-Proto``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from fastapi import Request

from marginscope.web.limits import TokenBuckets

__all__ = ["LoginThrottle", "SessionStore", "csrf_token", "over_tls", "same_token"]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time equality of two tokens; False when either is missing or empty."""
    return bool(given) and bool(expected) and hmac.compare_digest(
        given.encode(), expected.encode())  # type: ignore[union-attr]


def csrf_token(session_id: str) -> str:
    """The logout form's CSRF token: derived from the (HttpOnly) session id."""
    return hmac.new(session_id.encode(), b"marginscope.dashboard.csrf/1",
                    hashlib.sha256).hexdigest()


class SessionStore:
    """Server-side dashboard sessions: ``create`` at login, ``valid`` on each request,
    ``end`` at logout. Only the SHA-256 of each session id is stored."""

    def __init__(self, path: Path, lifetime_seconds: float) -> None:
        self.path = path
        self.lifetime = lifetime_seconds
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS sessions "
                       "(digest TEXT PRIMARY KEY, expires REAL NOT NULL)")
        path.chmod(0o600)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def create(self) -> str:
        """A new session id (valid for the lifetime); expired sessions are purged."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock, self._connect() as db:
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            db.execute("INSERT INTO sessions VALUES (?, ?)",
                       (_digest(session_id), now + self.lifetime))
        return session_id

    def valid(self, session_id: str | None) -> bool:
        """Whether ``session_id`` is a live session."""
        if not session_id or len(session_id) > 128:
            return False
        with self._lock, self._connect() as db:
            row = db.execute("SELECT expires FROM sessions WHERE digest = ?",
                             (_digest(session_id),)).fetchone()
        return row is not None and row[0] > time.time()

    def end(self, session_id: str | None) -> None:
        """Forget ``session_id`` (logout); unknown ids are ignored."""
        if session_id:
            with self._lock, self._connect() as db:
                db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(session_id),))


class LoginThrottle:
    """``per_minute`` login attempts per client (the same as a burst), and ten times that for
    all clients together."""

    def __init__(self, per_minute: int) -> None:
        self.client = TokenBuckets(per_minute / 60.0, per_minute)
        self.everyone = TokenBuckets(10 * per_minute / 60.0, 10 * per_minute)

    def wait(self, client: str | None) -> float:
        """0.0 if this attempt may go on, else the seconds to wait (for ``Retry-After``)."""
        return self.client.wait(client) or self.everyone.wait(None)


def over_tls(request: Request, trusted_proxies: tuple[str, ...]) -> bool:
    """Whether the request came over HTTPS: directly, or via a trusted proxy that says so."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return peer in trusted_proxies and forwarded == "https"
