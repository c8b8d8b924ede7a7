"""Device class from real User-Agent strings (as browsers and crawlers send them) and Client
Hints; the rule is in ``marginscope.telemetry.device`` and docs/telemetry.md."""

from __future__ import annotations

import pytest

from marginscope.telemetry.device import BOT, classify_device

REAL_USER_AGENTS = [
    # (label, User-Agent, expected class)
    ("iPhone Safari",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "mobile"),
    ("Android Chrome phone (reduced UA)",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36", "mobile"),
    ("Pixel 8 Chrome",
     "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.6367.82 Mobile Safari/537.36", "mobile"),
    ("Firefox for Android phone",
     "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", "mobile"),
    ("iPad Safari",
     "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", "tablet"),
    ("iPad Chrome",
     "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", "tablet"),
    ("Android tablet Chrome (Galaxy Tab S9, no Mobile token)",
     "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", "tablet"),
    ("Android tablet Samsung Internet",
     "Mozilla/5.0 (Linux; Android 12; SM-T970) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36", "tablet"),
    ("Firefox for Android tablet",
     "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", "tablet"),
    ("Windows Chrome",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", "desktop"),
    ("Windows Edge",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67", "desktop"),
    ("macOS Safari",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Safari/605.1.15", "desktop"),
    ("Ubuntu Firefox",
     "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
     "desktop"),
    ("Chrome OS",
     "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36", "desktop"),
    ("headless Chromium (browser tests) is a desktop browser, not a crawler",
     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/124.0.0.0 Safari/537.36", "desktop"),
    ("Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
     BOT),
    ("Googlebot smartphone",
     "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; "
     "Googlebot/2.1; +http://www.google.com/bot.html)", BOT),
    ("bingbot",
     "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
     "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", BOT),
    ("GPTBot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
     "+https://openai.com/gptbot)", BOT),
    ("AhrefsBot", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", BOT),
    # HTTP libraries and command-line clients: scripts, not people (issue 15)
    ("curl", "curl/8.5.0", BOT),
    ("python-requests", "python-requests/2.31.0", BOT),
    ("Go-http-client", "Go-http-client/1.1", BOT),
    ("Wget", "Wget/1.21.4", BOT),
    ("python-httpx", "python-httpx/0.28.1", BOT),
    ("aiohttp", "Python/3.11 aiohttp/3.9.5", BOT),
    ("okhttp", "okhttp/4.12.0", BOT),
    ("Apache-HttpClient", "Apache-HttpClient/4.5.14 (Java/17.0.9)", BOT),
    ("node-fetch", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", BOT),
    ("axios", "axios/1.7.2", BOT),
    ("HTTPie (ua-parser alone calls it a phone)", "HTTPie/3.2.2", BOT),
    ("libwww-perl (ua-parser alone calls it a phone)", "libwww-perl/6.72", BOT),
    ("PostmanRuntime", "PostmanRuntime/7.39.0", BOT),
    ("a phone whose model name contains 'bot' (Cubot) stays a phone",
     "Mozilla/5.0 (Linux; Android 10; Cubot X30) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36", "mobile"),
    ("empty", "", "unknown"),
]


@pytest.mark.parametrize(("label", "user_agent", "expected"), REAL_USER_AGENTS,
                         ids=[row[0] for row in REAL_USER_AGENTS])
def test_real_user_agents_get_their_device_class(label, user_agent, expected):
    assert classify_device(user_agent) == expected


def test_missing_user_agent_is_unknown():
    assert classify_device(None) == "unknown"


ANDROID_TABLET_DESKTOP_MODE = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36")


def test_client_hints_tell_an_android_tablet_in_desktop_mode_from_a_linux_desktop():
    hints = {"Sec-CH-UA-Mobile": "?0", "Sec-CH-UA-Platform": '"Android"'}
    assert classify_device(ANDROID_TABLET_DESKTOP_MODE, hints) == "tablet"
    assert classify_device(ANDROID_TABLET_DESKTOP_MODE) == "desktop"


def test_client_hint_mobile_flag_wins_over_the_user_agent():
    assert classify_device(ANDROID_TABLET_DESKTOP_MODE, {"sec-ch-ua-mobile": "?1"}) == "mobile"


def test_form_factor_hint_is_read_when_sent():
    hints = {"Sec-CH-UA-Form-Factors": '"Tablet"', "Sec-CH-UA-Mobile": "?0"}
    assert classify_device(ANDROID_TABLET_DESKTOP_MODE, hints) == "tablet"


def test_windows_touch_laptop_stays_desktop_by_client_hints():
    hints = {"Sec-CH-UA-Mobile": "?0", "Sec-CH-UA-Platform": '"Windows"'}
    ua = REAL_USER_AGENTS[9][1]
    assert classify_device(ua, hints) == "desktop"


def test_ipados_with_a_mac_user_agent_is_a_tablet_only_with_touch_points():
    mac = REAL_USER_AGENTS[11][1]
    assert classify_device(mac, max_touch_points=5) == "tablet"
    assert classify_device(mac, max_touch_points=0) == "desktop"
    assert classify_device(mac) == "desktop"


def test_a_crawler_stays_a_bot_whatever_client_hints_say():
    assert classify_device(REAL_USER_AGENTS[15][1], {"Sec-CH-UA-Mobile": "?1"}) == BOT
