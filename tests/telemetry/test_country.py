"""Country sources: trusted header only when configured, GeoIP file, browser time zone."""

from __future__ import annotations

import pytest

from marginscope.telemetry.country import (
    CountryResolver,
    GeoIPCountry,
    country_from_code,
    country_from_time_zone,
)


@pytest.mark.parametrize(("zone", "country"), [
    ("Europe/Berlin", "DE"), ("America/New_York", "US"), ("Asia/Tokyo", "JP"),
    ("Europe/Amsterdam", "NL"),    # a link to Europe/Brussels in tzdata.zi, NL in zone.tab
    ("Europe/Oslo", "NO"),         # likewise (link to Europe/Berlin)
    ("Asia/Calcutta", "IN"),       # old name Chrome still reports; a link to Asia/Kolkata
    ("Europe/Kiev", "UA"), ("US/Eastern", "US"), ("Asia/Saigon", "VN"),
    ("UTC", None), ("Etc/GMT+3", None), ("Not/AZone", None), ("", None), (None, None),
])
def test_time_zone_maps_through_the_tz_database_zone_table(zone, country):
    assert country_from_time_zone(zone) == country


@pytest.mark.parametrize(("value", "code"), [
    ("US", "US"), (" de ", "DE"), ("XX", None), ("T1", None), ("ZZ", None), ("", None),
    (None, None), ("USA", None),
])
def test_header_values_are_iso_codes_or_nothing(value, code):
    assert country_from_code(value) == code


def test_country_header_is_ignored_unless_configured():
    headers = {"CF-IPCountry": "US"}
    assert CountryResolver().resolve(headers, "203.0.113.7", None) == "ZZ"
    assert CountryResolver(header="CF-IPCountry").resolve(headers, None, None) == "US"


def test_header_wins_then_geoip_then_time_zone(country_mmdb):
    resolver = CountryResolver(header="CF-IPCountry", geoip=GeoIPCountry(country_mmdb))
    assert resolver.resolve({"cf-ipcountry": "JP"}, "81.2.69.7", "Europe/Berlin") == "JP"
    assert resolver.resolve({"cf-ipcountry": "T1"}, "81.2.69.7", "Europe/Berlin") == "GB"
    assert resolver.resolve({}, "8.8.8.8", "Europe/Berlin") == "DE"
    assert resolver.resolve({}, "2001:db8::1", None) == "ZZ"


def test_geoip_reads_a_maxmind_format_file(country_mmdb):
    geoip = GeoIPCountry(country_mmdb)
    assert geoip.lookup("89.160.20.1") == "SE"
    assert geoip.lookup("216.160.83.200") == "US"
    assert geoip.lookup("not an ip") is None
    geoip.close()


def test_geoip_falls_back_to_the_registered_country():
    class Reader:
        def get(self, ip):
            return {"registered_country": {"iso_code": "FR"}}

    assert GeoIPCountry(reader=Reader()).lookup("192.0.2.1") == "FR"


def test_unreadable_geoip_file_is_an_input_error(tmp_path):
    from marginscope.errors import InputError

    bad = tmp_path / "broken.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(InputError) as raised:
        GeoIPCountry(bad)
    assert raised.value.field == "MARGINSCOPE_GEOIP_DB"
