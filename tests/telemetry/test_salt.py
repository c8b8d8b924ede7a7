"""Daily salts: rotated at UTC midnight, 0600 files, destroyed 48 h after their day began."""

from __future__ import annotations

import hashlib
import stat
from datetime import date

import pytest

from marginscope.telemetry.pipeline import Pipeline
from marginscope.telemetry.request import RequestMeta
from marginscope.telemetry.salt import DailyHashes, SaltStore, client_key, session_id, visitor_id

IP, UA = "203.0.113.7", "Mozilla/5.0 (synthetic test agent)"


def test_salt_is_random_kept_in_a_private_file_and_stable_within_the_day(tmp_path, clock):
    store = SaltStore(tmp_path / "state", clock=clock)
    first = store.current()
    clock.advance(hours=13)  # 2025-11-04 23:30
    assert store.current() == first and len(first) == 32
    (path,) = (tmp_path / "state").glob("salt-*.key")
    assert path.name == "salt-2025-11-04.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_salt_rotates_at_utc_midnight(tmp_path, clock):
    store = SaltStore(tmp_path, clock=clock)
    monday = store.current()
    clock.advance(hours=13, minutes=30)  # 2025-11-05 00:00 UTC
    tuesday = store.current()
    assert tuesday != monday
    assert store.days() == [date(2025, 11, 4), date(2025, 11, 5)]


def test_salt_is_destroyed_48_hours_after_its_day_began(tmp_path, clock):
    store = SaltStore(tmp_path, clock=clock)
    store.current()                                  # salt of 2025-11-04
    clock.advance(days=1)
    store.current()                                  # 2025-11-05: both kept (yesterday's too)
    assert store.days() == [date(2025, 11, 4), date(2025, 11, 5)]
    clock.advance(hours=13, minutes=29)              # 2025-11-05 23:59: 47 h 59 min old
    assert store.sweep() == [] and len(store.days()) == 2
    clock.advance(minutes=1)                         # 2025-11-06 00:00: 48 h
    store.current()
    assert store.days() == [date(2025, 11, 5), date(2025, 11, 6)]
    assert not (tmp_path / "salt-2025-11-04.key").exists()


def test_sweep_destroys_old_salts_even_without_traffic(tmp_path, clock):
    store = SaltStore(tmp_path, clock=clock)
    store.current()
    clock.advance(days=5)
    assert store.sweep() == [date(2025, 11, 4)]
    assert store.days() == []


def test_processes_sharing_the_directory_share_the_day_salt(tmp_path, clock):
    assert SaltStore(tmp_path, clock=clock).current() == SaltStore(tmp_path, clock=clock).current()


def test_visitor_id_is_keyed_daily_and_opaque(tmp_path, clock):
    store = SaltStore(tmp_path, clock=clock)
    today = visitor_id(store.current(), "marginscope", IP, UA)
    assert today == visitor_id(store.current(), "marginscope", IP, UA)
    assert len(today) == 16 and int(today, 16) >= 0
    assert today != visitor_id(store.current(), "marginscope", "203.0.113.8", UA)
    assert today != visitor_id(store.current(), "other-site", IP, UA)
    clock.advance(days=1)
    assert today != visitor_id(store.current(), "marginscope", IP, UA)


def test_session_token_is_hashed_and_malformed_tokens_dropped(tmp_path, clock):
    salt = SaltStore(tmp_path, clock=clock).current()
    hashed = session_id(salt, "tab-7f3a9c")
    assert hashed and hashed != "tab-7f3a9c" and len(hashed) == 16
    assert session_id(salt, "203.0.113.7") is None and session_id(salt, None) is None


def _recipe(salt: bytes, person: bytes, *parts: str) -> str:
    """The documented recipe, recomputed with hashlib alone: keyed BLAKE2b-64 (RFC 7693) under
    the salt with ``person``, each part UTF-8 after its length in 4 big-endian bytes."""
    digest = hashlib.blake2b(key=salt, digest_size=8, person=person)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(4, "big") + data)
    return digest.hexdigest()


SALT = bytes(range(32))
INPUTS = [("marginscope", IP, UA), ("other-site", "2001:db8::1", "Mozilla/5.0 (ünïcode)"),
          ("", "", ""), ("marginscope", "203.0.113.7\ud800", UA + "\udfff")]


@pytest.mark.parametrize(("site", "ip", "ua"), INPUTS)
def test_daily_hashes_give_the_recipes_digests(site, ip, ua):
    """The copied keyed states (DailyHashes) hash exactly as the functions and the recipe."""
    hashes = DailyHashes(SALT, site)
    for _ in range(2):  # a copy leaves the set-up state as it was
        assert hashes.visitor(ip, ua) == visitor_id(SALT, site, ip, ua) == \
            _recipe(SALT, b"ms-visitor", site, ip, ua)
        assert hashes.client(ip) == client_key(SALT, site, ip) == \
            _recipe(SALT, b"ms-client", site, ip)
    assert hashes.session("tab-7f3a9c") == session_id(SALT, "tab-7f3a9c") == \
        _recipe(SALT, b"ms-session", "tab-7f3a9c")
    assert hashes.session("203.0.113.7") is None and hashes.session(None) is None
    assert hashes.visitor(ip, ua) != DailyHashes(bytes(32), site).visitor(ip, ua)


@pytest.mark.parametrize("compact", [False, True])
def test_the_pipeline_stores_the_same_ids_and_a_new_days_salt_renews_them(tmp_path, clock,
                                                                          compact):
    """The stored visitor and session ids are the functions' for the day's salt, on both
    paths (the server's compact frame and process()); the next day's salt replaces the keyed
    states (a day's ids are never computed under another day's salt)."""
    store = SaltStore(tmp_path, clock=clock)
    pipeline = Pipeline(store, site="synthetic-site", clock=clock)
    meta = RequestMeta(headers={"User-Agent": UA}, client_ip=IP, session="tab-7f3a9c")
    context = {"venue": "bybit", "symbol": "BTCUSDT", "side": "long"}

    def ids() -> tuple[str, str]:
        out = pipeline._compact(meta, "stops", context) if compact else \
            pipeline.process(meta, "stops", context)
        return (out["visitor"], out["session"]) if compact else (out.visitor, out.session)

    for _ in range(2):
        first = ids()
        assert first == (visitor_id(store.current(), "synthetic-site", IP, UA),
                         session_id(store.current(), "tab-7f3a9c"))
    clock.advance(days=1)
    second = ids()
    assert second == (visitor_id(store.current(), "synthetic-site", IP, UA),
                      session_id(store.current(), "tab-7f3a9c"))
    assert second[0] != first[0] and second[1] != first[1]
    assert pipeline._day_hashes.salt == store.current()


def test_sweeping_forgets_the_pipelines_salt_and_keyed_states(tmp_path, clock):
    """The upkeep's sweep drops what the pipeline derived from the salt (even with no traffic
    after it); the next event derives it again, the same ids."""
    store = SaltStore(tmp_path, clock=clock)
    pipeline = Pipeline(store, site="synthetic-site", clock=clock)
    meta = RequestMeta(headers={"User-Agent": UA}, client_ip=IP)
    before = pipeline._compact(meta, "stops", {})["visitor"]
    assert pipeline._day_hashes is not None
    assert pipeline.sweep_salts() == [] and pipeline._day_hashes is None
    assert pipeline._salt_of_day == (-1, b"")
    assert pipeline._compact(meta, "stops", {})["visitor"] == before
    clock.advance(days=2)
    assert pipeline.sweep_salts() == [date(2025, 11, 4)] and pipeline._day_hashes is None
