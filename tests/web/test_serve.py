"""``marginscope serve``: options and environment reach uvicorn; bad settings are one line."""

from __future__ import annotations

import pytest

from marginscope.cli import main


@pytest.fixture
def launched(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    return calls


def run(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code


def test_defaults_serve_the_app_factory_on_loopback(launched, monkeypatch):
    for name in ("MARGINSCOPE_HOST", "MARGINSCOPE_PORT", "MARGINSCOPE_WEB_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert run(["serve"]) == 0
    app, options = launched[0]
    assert app == "marginscope.web.app:create_app" and options["factory"] is True
    assert (options["host"], options["port"], options["workers"]) == ("127.0.0.1", 8000, 1)


def test_options_win_over_the_environment(launched, monkeypatch):
    monkeypatch.setenv("MARGINSCOPE_HOST", "0.0.0.0")
    monkeypatch.setenv("MARGINSCOPE_PORT", "9000")
    assert run(["serve", "--port", "8123"]) == 0
    _, options = launched[0]
    assert (options["host"], options["port"]) == ("0.0.0.0", 8123)


def test_a_bad_setting_is_one_line_and_exit_code_2(launched, monkeypatch, capsys):
    monkeypatch.setenv("MARGINSCOPE_PORT", "eighty")
    assert run(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: MARGINSCOPE_PORT") and err.count("\n") == 1
    assert launched == []
