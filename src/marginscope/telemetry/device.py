"""Device class from the User-Agent and Client Hints, decided at request time.

The class is one of ``mobile | desktop | tablet | unknown``; crawlers are reported as
:data:`BOT` so the pipeline can drop them. Viewport or screen width is never used (it fails
inside iframes and split screens: Plausible issue #1062, see reference/analytics_anchors.md
§1.8). Tablets are a class of their own, never folded into mobile or desktop.

The rule, first match wins (docs/telemetry.md, "Device class"):

1. No User-Agent and no Client Hints → ``unknown``.
2. ua-parser (uap-core regexes) says the device is a ``Spider`` (the usual crawlers:
   Googlebot, bingbot, GPTBot, AhrefsBot…), or the User-Agent starts with the product token of
   an HTTP library or command-line client (curl, Wget, python-requests, python-httpx,
   aiohttp, Go-http-client, okhttp, Apache-HttpClient, node-fetch, axios, undici, HTTPie,
   PostmanRuntime, libwww-perl… — :data:`CLIENT_LIBRARY`) → :data:`BOT`.
   Scripts that send a browser's User-Agent are not caught here; the per-client budget
   (:mod:`marginscope.telemetry.budget`) bounds what they add.
3. Client Hints, when the browser sent them (Chromium):
   ``Sec-CH-UA-Form-Factors`` containing ``Tablet`` / ``Mobile`` / ``Desktop`` → that class;
   ``Sec-CH-UA-Mobile: ?1`` → ``mobile``;
   ``?0`` with ``Sec-CH-UA-Platform: "Android"`` → ``tablet`` (Android tablets, including
   Chrome's "desktop site" mode whose User-Agent claims Linux: the posthog-js rule);
   ``?0`` with a desktop platform (Windows, macOS, Linux, Chrome OS) → ``desktop``.
4. User-Agent, through ua-parser:
   iPad, Kindle, ua-parser's generic tablets, and Android *without* the ``Mobile`` token
   (Google's convention for Android tablets) → ``tablet``;
   iPhone, iPod, Android with ``Mobile``, other phone systems (Windows Phone, KaiOS,
   BlackBerry, Firefox OS, Symbian, Tizen) → ``mobile``;
   a Mac User-Agent with ``navigator.maxTouchPoints > 1`` sent by the page → ``tablet``
   (iPadOS Safari asks for desktop sites by default and sends a Mac User-Agent);
   Windows, macOS, Linux distributions, Chrome OS, BSD → ``desktop``.
5. Anything else (unknown strings) → ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ua_parser import parse as ua_parse

from marginscope.telemetry.request import header_value

__all__ = ["BOT", "CLIENT_LIBRARY", "classify_device"]

BOT = "bot"

CLIENT_LIBRARY = re.compile(
    r"^(?:curl|libcurl|PycURL|Wget|python-requests|python-httpx|python-urllib3?|Python/"
    r"|aiohttp|httpx|urllib3|Go-http-client|Go |okhttp|Apache-HttpClient|Java/|Jakarta"
    r"|node-fetch|undici|axios|got |Deno|Bun/|HTTPie|PostmanRuntime|insomnia"
    r"|libwww-perl|LWP::|WWW-Mechanize|Mechanize|Ruby|Faraday|rest-client|Guzzle"
    r"|Dart/|reqwest|hyper/|Scrapy|colly)",
    re.IGNORECASE)
"""User-Agents of HTTP libraries and command-line clients (the product token at the start):
crawlers and scripts, not people. Headless Chromium is left a desktop browser (it drives the
browser tests); a script that sends a browser's User-Agent is bounded by the budget."""

_TABLET_FAMILIES = frozenset({"iPad", "Kindle", "Generic Tablet"})
_PHONE_FAMILIES = frozenset({"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"})
_PHONE_OS = frozenset({
    "Windows Phone", "KaiOS", "BlackBerry OS", "BlackBerry Tablet OS", "Firefox OS",
    "Symbian OS", "Tizen", "Windows Mobile", "webOS",
})
_DESKTOP_OS = frozenset({
    "Windows", "Mac OS X", "Linux", "Ubuntu", "Debian", "Fedora", "Red Hat", "SUSE",
    "Mint", "Arch Linux", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD", "Solaris",
})
_DESKTOP_PLATFORMS = frozenset({"windows", "macos", "linux", "chrome os", "chromium os"})
_MOBILE_TOKEN = re.compile(r"\bMobile\b")


def _from_client_hints(form_factors: str | None, mobile: str | None,
                       platform: str | None) -> str | None:
    if form_factors:
        factors = {part.strip().strip('"').lower() for part in form_factors.split(",")}
        for factor, device in (("tablet", "tablet"), ("mobile", "mobile"),
                               ("desktop", "desktop")):
            if factor in factors:
                return device
    if mobile == "?1":
        return "mobile"
    if mobile == "?0":
        platform = (platform or "").strip('"').lower()
        if platform == "android":
            return "tablet"
        if platform in _DESKTOP_PLATFORMS:
            return "desktop"
    return None


def classify_device(
    user_agent: str | None,
    headers: Mapping[str, str] | None = None,
    max_touch_points: int | None = None,
) -> str:
    """Device class of a request: ``mobile | desktop | tablet | unknown``, or :data:`BOT`.

    Parameters
    ----------
    user_agent : str or None
        The ``User-Agent`` header. Read here, never stored.
    headers : mapping, optional
        Request headers; the ``Sec-CH-UA-*`` Client Hints are read when present.
    max_touch_points : int, optional
        ``navigator.maxTouchPoints`` as sent by the page (tells iPadOS from macOS).

    Returns
    -------
    str
        The class, by the rule in the module docstring (ua-parser with the uap-core
        regexes; Client Hints per the WICG UA-CH draft; the Android ``Mobile`` token per
        Google's user-agent guidance).
    """
    headers = headers or {}
    return _classify((user_agent or "").strip(), header_value(headers, "Sec-CH-UA-Form-Factors"),
                     header_value(headers, "Sec-CH-UA-Mobile"),
                     header_value(headers, "Sec-CH-UA-Platform"),
                     max_touch_points if max_touch_points and max_touch_points > 1 else None)


@lru_cache(maxsize=4096)
def _classify(user_agent: str, form_factors: str | None, mobile: str | None,
              platform: str | None, max_touch_points: int | None) -> str:
    """:func:`classify_device` on the values it reads, remembered: real traffic repeats a
    few thousand browser strings, and parsing one costs more than the rest of the event."""
    if user_agent and CLIENT_LIBRARY.search(user_agent):
        return BOT
    parsed = ua_parse(user_agent) if user_agent else None
    device = parsed.device if parsed else None
    if device is not None and device.family == "Spider":
        return BOT
    hinted = _from_client_hints(form_factors, mobile, platform)
    if hinted is not None:
        return hinted
    if parsed is None:
        return "unknown"
    os_family = parsed.os.family if parsed.os else None
    family = device.family if device else None
    brand = device.brand if device else None
    if family in _TABLET_FAMILIES or brand == "Generic_Android_Tablet":
        return "tablet"
    if os_family == "Android":
        return "mobile" if _MOBILE_TOKEN.search(user_agent) else "tablet"
    if family in _PHONE_FAMILIES or os_family == "iOS" or os_family in _PHONE_OS:
        return "mobile"
    if os_family == "Mac OS X" and max_touch_points is not None:
        return "tablet"
    if os_family in _DESKTOP_OS:
        return "desktop"
    return "unknown"
