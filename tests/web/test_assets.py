"""Static files: content-hashed URLs cached for a year, others revalidated, text gzipped."""

from __future__ import annotations

import gzip
import hashlib
import re

from marginscope.web.assets import FOREVER, STATIC


def test_pages_link_assets_by_content_hash(client):
    page = client.get("/liquidation").text
    urls = re.findall(r'(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]+)"', page)
    assert {name for name, _ in urls} >= {"/static/app.css", "/static/app.js"}
    for path, digest in urls:
        body = (STATIC / path.removeprefix("/static/")).read_bytes()
        assert hashlib.sha256(body).hexdigest().startswith(digest)
        response = client.get(f"{path}?v={digest}")
        assert response.headers["cache-control"] == FOREVER


def test_an_unhashed_or_stale_url_must_revalidate(client):
    for url in ("/static/app.js", "/static/app.js?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


def test_text_assets_are_gzipped(client):
    raw = (STATIC / "app.js").read_bytes()
    response = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == raw  # decoded by the client: the same bytes
    assert len(gzip.compress(raw)) < len(raw) / 2  # worth it: the script shrinks by over half
