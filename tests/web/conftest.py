"""Shared fixtures for the web tests: the app in-process, and a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from marginscope.web import create_app
from marginscope.web.background import serve_in_background

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """The app under uvicorn in a thread on a free loopback port; yields its base URL."""
    with serve_in_background(create_app()) as url:
        yield url
