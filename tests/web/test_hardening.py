"""Faults and abuse, each as the probe that found it (issue: hardening), all on loopback.

Every test here failed on the code before the fix: the server answered a forged ``Host`` with
a redirect to it, kept half-sent requests open for ever, logged a traceback per client that
hung up mid-body, read ``true`` as 1 and duplicate keys as the last one, let a login be guessed
at full speed with a cookie the same for every login, still valid after logout, and accepted
cross-site logins and logouts.
"""

from __future__ import annotations

import logging
import re
import socket
import time

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from marginscope.web import create_app
from marginscope.web.background import serve_in_background
from marginscope.web.dashboard import COOKIE, LOGIN_COOKIE
from marginscope.web.sessions import SessionStore, over_tls
from marginscope.web.settings import WebSettings

TOKEN = "hardening-token-8c1d"
HTML = {"accept": "text/html"}
LIQUIDATION = ('{"venue": "binance-usdm", "symbol": "BTCUSDT", "side": "long", "qty": 0.5, '
               '"entry_price": 95000, "leverage": 20}')


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MARGINSCOPE_DB", str(tmp_path / "none.duckdb"))
    return create_app(WebSettings(dashboard_token=TOKEN, login_rate=5,
                                  trusted_proxies=("testclient",)))


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False) as client:
        yield client


# --- redirects and headers ---------------------------------------------------------------

def test_a_forged_host_header_never_becomes_a_redirect_target(client):
    response = client.get("/static", headers={"Host": "evil.example"})
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/static/"


@pytest.mark.parametrize("path", ["/", "/liquidation", "/docs", "/api/v1/health", "/dashboard"])
def test_every_answer_forbids_framing_and_foreign_scripts(client, path):
    headers = client.get(path).headers
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_api_docs_page_has_no_inline_script(client):
    page = client.get("/docs").text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)


# --- strict JSON ----------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["qty", "entry_price", "leverage"])
def test_a_boolean_is_not_a_number(client, field):
    body = LIQUIDATION.replace(f'"{field}": ', f'"{field}": true, "_was": ', 1)
    body = re.sub(r', "_was": [0-9.]+', "", body)
    response = client.post("/api/v1/liquidation", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_a_number_in_a_string_is_not_a_number(client):
    body = LIQUIDATION.replace('"qty": 0.5', '"qty": "0.5"')
    response = client.post("/api/v1/liquidation", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "qty"


def test_a_duplicate_key_is_refused_not_read_as_the_last(client):
    body = LIQUIDATION.replace('"qty": 0.5', '"qty": -1, "qty": 0.5')
    response = client.post("/api/v1/liquidation", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "'qty' more than once" in response.json()["detail"][0]["msg"]
    nested = ('{"venue": "binance-usdm", "mode": "cross", "wallet_balance": 1000, "positions": '
              '[{"symbol": "BTCUSDT", "side": "long", "qty": 1, "qty": 2, "entry_price": 100}]}')
    assert client.post("/api/v1/account", content=nested,
                       headers={"content-type": "application/json"}).status_code == 400


def test_malformed_json_is_400_on_every_calculator(client):
    for name in ("liquidation", "account", "funding", "cfd-margin"):
        response = client.post(f"/api/v1/{name}", content=b'{"qty": ',
                               headers={"content-type": "application/json"})
        assert response.status_code == 400, name
        assert response.json()["detail"][0]["field"] == "body"


def test_plain_numbers_still_work(client):
    response = client.post("/api/v1/liquidation", content=LIQUIDATION,
                           headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["liquidation_price"] > 0


# --- slow and vanishing clients (a real server on loopback) -----------------------------------

def _read_until_closed(sock: socket.socket, limit: float) -> bytes:
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return received + b"<still open>"
    return received


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_HEADER_TIMEOUT", "1")
    monkeypatch.setenv("MARGINSCOPE_BODY_TIMEOUT", "1")
    monkeypatch.setenv("MARGINSCOPE_STATE_DIR", str(tmp_path / "state"))
    with serve_in_background(create_app(WebSettings())) as base:
        yield int(base.rsplit(":", 1)[1])


def test_half_sent_headers_are_cut_off(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answer = _read_until_closed(sock, limit=10)
    assert answer.startswith(b"HTTP/1.1 408") and not answer.endswith(b"<still open>")


def test_a_partial_body_is_cut_off(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST /api/v1/liquidation HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"")
        answer = _read_until_closed(sock, limit=10)
    assert not answer.endswith(b"<still open>")


def test_an_endless_head_is_refused(server):
    padding = b"".join(b"X-Padding-%d: " % i + b"a" * 1000 + b"\r\n" for i in range(17))
    with socket.create_connection(("127.0.0.1", server)) as sock:
        # 17 KiB of head in one write, then nothing more: the server reads it all before it
        # refuses (a client still writing after the refusal would be reset, answer unread)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + padding)
        answer = _read_until_closed(sock, limit=10)
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_client_that_hangs_up_mid_body_costs_one_log_line(server, caplog):
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST /api/v1/liquidation HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"")
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            "disconnected" in r.getMessage() for r in caplog.records):
        time.sleep(0.05)
    related = [r for r in caplog.records if r.levelno >= logging.INFO
               and r.name.startswith(("uvicorn", "marginscope"))]
    assert len(related) == 1 and "disconnected" in related[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


# --- dashboard sessions ------------------------------------------------------------------------

def _csrf(client) -> str:
    page = client.get("/dashboard", headers=HTML)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _login(client, token: str = TOKEN):
    return client.post("/dashboard/login", data={"token": token, "csrf": _csrf(client)})


def _session(response) -> str:
    for name, value in response.headers.multi_items():
        if name == "set-cookie" and value.startswith(f"{COOKIE}="):
            return value.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError("no session cookie")


def test_each_login_gets_its_own_session_that_logout_ends(app):
    with TestClient(app, follow_redirects=False) as one, \
            TestClient(app, follow_redirects=False) as two:
        first, second = _session(_login(one)), _session(_login(two))
        assert first != second and TOKEN not in first
        page = one.get("/dashboard", headers=HTML)
        assert page.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert one.post("/dashboard/logout", data={"csrf": csrf}).status_code == 303
    with TestClient(app, follow_redirects=False, cookies={COOKIE: first}) as replay:
        assert replay.get("/dashboard").status_code == 401  # the old cookie opens nothing
    with TestClient(app, follow_redirects=False, cookies={COOKIE: second}) as other:
        assert other.get("/dashboard").status_code == 200  # the other login lives on


def test_a_session_expires_after_its_lifetime(tmp_path):
    store = SessionStore(tmp_path / "sessions.sqlite3", lifetime_seconds=0.2)
    session = store.create()
    assert store.valid(session)
    time.sleep(0.3)
    assert not store.valid(session)
    assert not store.valid("made-up") and not store.valid(None)


def test_a_cross_site_login_without_the_form_token_is_refused(app):
    with TestClient(app, follow_redirects=False) as client:
        response = client.post("/dashboard/login", data={"token": TOKEN})
        assert response.status_code == 403
        assert not any(v.startswith(f"{COOKIE}=") for k, v in response.headers.multi_items()
                       if k == "set-cookie")
        client.cookies.set(LOGIN_COOKIE, "other", path="/dashboard")
        forged = client.post("/dashboard/login", data={"token": TOKEN, "csrf": "guess"})
        assert forged.status_code == 403


def test_a_cross_site_logout_is_refused(app):
    with TestClient(app, follow_redirects=False) as client:
        session = _session(_login(client))
        assert client.post("/dashboard/logout").status_code == 403
        assert client.post("/dashboard/logout", data={"csrf": "x"}).status_code == 403
    with TestClient(app, follow_redirects=False, cookies={COOKIE: session}) as again:
        assert again.get("/dashboard").status_code == 200  # still logged in


def test_login_guessing_is_throttled_even_for_the_right_token(app):
    with TestClient(app, follow_redirects=False) as client:
        statuses = [_login(client, f"wrong-{i}").status_code for i in range(8)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        late = _login(client)
        assert late.status_code == 429 and int(late.headers["retry-after"]) >= 1


def _cookie_flags(response) -> list[str]:
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(f"{COOKIE}="))
    return [part.strip().lower() for part in cookie.split(";")]


def test_cookies_are_not_secure_over_plain_http(app):
    with TestClient(app, follow_redirects=False) as client:
        assert "secure" not in _cookie_flags(_login(client))


def test_cookies_are_secure_over_tls(app):
    with TestClient(app, follow_redirects=False, base_url="https://testserver") as client:
        assert "secure" in _cookie_flags(_login(client))


def _request(peer: str, headers: dict[str, str]) -> Request:
    return Request({"type": "http", "scheme": "http", "method": "GET", "path": "/",
                    "query_string": b"", "client": (peer, 5000), "server": ("s", 80),
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})


def test_tls_is_believed_from_trusted_proxies_only():
    https = {"x-forwarded-proto": "https"}
    assert over_tls(_request("10.0.0.2", https), ("10.0.0.2",))
    assert not over_tls(_request("10.0.0.9", https), ("10.0.0.2",))  # not a trusted proxy
    assert not over_tls(_request("10.0.0.2", {}), ("10.0.0.2",))
    assert not over_tls(_request("10.0.0.2", https), ())
