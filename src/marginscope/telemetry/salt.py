"""Daily random salts for the visitor hash, rotated at UTC midnight and destroyed after 48 h.

The recipe is Plausible's (``lib/plausible/session/salts.ex``) and PostHog's cookieless mode:
a keyed hash of (site, IP, User-Agent) under a *random* salt that exists for one UTC day and
is then deleted, so nobody (us included) can recompute an old id from a guessed IP and
User-Agent. Not a date-derived salt (Umami) and not an unkeyed hash (Shynet): see
reference/analytics_anchors.md §1.

Storage: one file per UTC day, ``salt-YYYY-MM-DD.key`` (32 random bytes), mode 0600 in a
0700 directory (``MARGINSCOPE_STATE_DIR``), so the processes of one host (or hosts sharing
the directory) hash alike. The salt of day D is used from D 00:00 UTC to D 24:00 and destroyed
(overwritten, then unlinked) once the clock passes D + 48 h: today's and yesterday's salts
exist at most.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from marginscope.telemetry.schema import ID_PATTERN

__all__ = ["SALT_BYTES", "SALT_LIFETIME", "DailyHashes", "SaltStore", "client_key", "session_id",
           "utc_now", "visitor_id"]

SALT_BYTES = 32
SALT_LIFETIME = timedelta(hours=48)
_NAME = re.compile(r"^salt-(\d{4}-\d{2}-\d{2})\.key$")
_ID_RE = re.compile(ID_PATTERN)


def utc_now() -> datetime:
    """The current time, aware, in UTC (the default clock; tests inject their own)."""
    return datetime.now(UTC)


class SaltStore:
    """Today's salt, created on first use of a UTC day; salts past 48 h destroyed.

    Parameters
    ----------
    directory : path-like
        Where the salt files live (created 0700).
    clock : callable, optional
        Returns the current aware datetime; :func:`utc_now` by default.
    """

    def __init__(self, directory: str | os.PathLike[str],
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self._lock = threading.Lock()
        self._day: date | None = None
        self._salt: bytes = b""

    def current(self) -> bytes:
        """The salt of the current UTC day (rotating, and sweeping old salts, at midnight)."""
        day = self.clock().astimezone(UTC).date()
        if day != self._day:
            with self._lock:
                if day != self._day:
                    self._prepare_directory()
                    self.sweep()
                    self._salt = self._load_or_create(day)
                    self._day = day
        return self._salt

    def sweep(self) -> list[date]:
        """Destroy every salt whose day started 48 h or more ago; returns their days."""
        now = self.clock().astimezone(UTC)
        destroyed = []
        if not self.directory.is_dir():
            return destroyed
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if not match:
                continue
            day = date.fromisoformat(match.group(1))
            born = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if now - born >= SALT_LIFETIME:
                _destroy(path)
                destroyed.append(day)
                if day == self._day:
                    self._day, self._salt = None, b""
        return sorted(destroyed)

    def days(self) -> list[date]:
        """Days whose salt exists on disk (at most today and yesterday after a sweep)."""
        if not self.directory.is_dir():
            return []
        return sorted(date.fromisoformat(m.group(1)) for p in self.directory.iterdir()
                      if (m := _NAME.match(p.name)))

    def _prepare_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)

    def _load_or_create(self, day: date) -> bytes:
        path = self.directory / f"salt-{day.isoformat()}.key"
        if not path.exists():
            temporary = self.directory / f".salt-{day.isoformat()}.{secrets.token_hex(4)}.tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(descriptor, secrets.token_bytes(SALT_BYTES))
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            try:
                os.link(temporary, path)  # fails if another process won the race: use theirs
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
            _fsync_directory(self.directory)
        os.chmod(path, 0o600)
        salt = path.read_bytes()
        if len(salt) != SALT_BYTES:
            raise OSError(f"{path}: a salt file must hold {SALT_BYTES} bytes")
        return salt


def _destroy(path: Path) -> None:
    try:
        with open(path, "r+b") as handle:
            handle.write(b"\0" * SALT_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    except FileNotFoundError:
        pass  # another process destroyed it first
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _update(digest: Any, parts: tuple[str, ...]) -> Any:
    """Feed ``parts`` to ``digest``, each UTF-8 and prefixed by its length (4 bytes, big
    endian: no two part lists give the same bytes); returns ``digest``."""
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(4, "big"))
        digest.update(data)
    return digest


def _keyed_state(salt: bytes, person: bytes, parts: tuple[str, ...] = ()) -> Any:
    """Keyed BLAKE2b-64 (RFC 7693) under ``salt`` with ``person``, ``parts`` already fed."""
    return _update(hashlib.blake2b(key=salt, digest_size=8, person=person), parts)


def _keyed_hash(salt: bytes, person: bytes, parts: tuple[str, ...]) -> str:
    return _keyed_state(salt, person, parts).hexdigest()


def visitor_id(salt: bytes, site: str, ip: str, user_agent: str) -> str:
    """Opaque daily visitor id: keyed BLAKE2b-64 of (site, IP, User-Agent) under ``salt``.

    Parameters
    ----------
    salt : bytes
        The day's random salt (:meth:`SaltStore.current`), used as the BLAKE2b key.
    site, ip, user_agent : str
        Hashed, length-prefixed, never stored.

    Returns
    -------
    str
        16 hex digits. The same person on the same site and day gets the same id; after the
        salt is destroyed the id cannot be linked back (RFC 7693 keyed BLAKE2b; the recipe of
        Plausible's ``generate_user_id`` with BLAKE2b in place of SipHash).
    """
    return _keyed_hash(salt, b"ms-visitor", (site, ip, user_agent))


def client_key(salt: bytes, site: str, ip: str) -> str:
    """Opaque daily key of a client address alone: keyed BLAKE2b-64 of (site, IP) under ``salt``.

    What the recording budget is kept per (:mod:`marginscope.telemetry.budget`): like
    :func:`visitor_id` but without the User-Agent, so a client that varies its User-Agent
    still spends one budget. Never stored; a different personalization from the visitor id's,
    so the two cannot be matched.
    """
    return _keyed_hash(salt, b"ms-client", (site, ip))


def session_id(salt: bytes, token: str | None) -> str | None:
    """Keyed BLAKE2b-64 of the page's per-tab session token, or None if absent or malformed."""
    return _keyed_hash(salt, b"ms-session", (token,)) if _token(token) else None


def _token(token: str | None) -> bool:
    """Whether the page's session token is there and an opaque id (``ID_PATTERN``: 1–64 of
    ``A–Z a–z 0–9 _ -``, so no IP address fits)."""
    return bool(token) and isinstance(token, str) and _ID_RE.match(token) is not None


class DailyHashes:
    """:func:`visitor_id`, :func:`client_key` and :func:`session_id` under one salt and site:
    the same digests, from keyed BLAKE2b states set up once (the site already fed in) and
    copied per call — a state's ``copy()`` costs a fifth of a keyed set-up.

    The states are derived from the salt: hold an instance no longer than the salt itself
    (the pipeline keeps one beside the day's salt and replaces it with the salt, at the first
    event of a new UTC day).

    Parameters
    ----------
    salt : bytes
        The day's random salt (:meth:`SaltStore.current`).
    site : str
        Mixed into the visitor and client hashes (``MARGINSCOPE_SITE``).
    """

    __slots__ = ("_client", "_session", "_visitor", "salt", "site")

    def __init__(self, salt: bytes, site: str) -> None:
        self.salt = salt
        self.site = site
        self._visitor = _keyed_state(salt, b"ms-visitor", (site,))
        self._client = _keyed_state(salt, b"ms-client", (site,))
        self._session = _keyed_state(salt, b"ms-session")

    def visitor(self, ip: str, user_agent: str) -> str:
        """:func:`visitor_id` ``(salt, site, ip, user_agent)``."""
        return _update(self._visitor.copy(), (ip, user_agent)).hexdigest()

    def client(self, ip: str) -> str:
        """:func:`client_key` ``(salt, site, ip)``."""
        return _update(self._client.copy(), (ip,)).hexdigest()

    def session(self, token: str | None) -> str | None:
        """:func:`session_id` ``(salt, token)``: None if absent or malformed."""
        return _update(self._session.copy(), (token,)).hexdigest() if _token(token) else None
