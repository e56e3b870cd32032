"""The backend's service credential: production refuses to start without a real one (the
backend's create_app and main, the client's from_env); development falls back to the
development token, on loopback only; BACKEND_SERVICE_TOKENS stays a rotation list."""
from __future__ import annotations

import sys

import aiohttp
import pytest

from bot import settings
from standins.gov_backend import DEV_TOKEN
from standins.gov_backend import app as backend_app
from standins.gov_backend.app import create_app
from standins.gov_backend.state import SETTINGS
from bot.backend.client import BackendClient
from tests.fixtures.gov_backend import start_server

REAL = "prod-token-7f3a9c2e5b8d1f4a6c0e"
NEXT = "prod-token-rotated-b1d2e3f4a5c6"


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    for name in ("BACKEND_SERVICE_TOKENS", "BACKEND_SERVICE_TOKEN", "BIND_HOST"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def development(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "development")
    for name in ("BACKEND_SERVICE_TOKENS", "BACKEND_SERVICE_TOKEN", "BIND_HOST"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'backend.db'}"


def test_production_without_a_token_refuses_to_start(production, tmp_path):
    with pytest.raises(settings.InsecureConfiguration):
        create_app(_db(tmp_path))
    with pytest.raises(settings.InsecureConfiguration):
        BackendClient.from_env()


@pytest.mark.parametrize("name", ["BACKEND_SERVICE_TOKENS", "BACKEND_SERVICE_TOKEN"])
def test_production_with_the_development_token_refuses_to_start(production, tmp_path, name):
    production.setenv(name, DEV_TOKEN)
    with pytest.raises(settings.InsecureConfiguration):
        create_app(_db(tmp_path))
    with pytest.raises(settings.InsecureConfiguration):
        BackendClient.from_env()


def test_production_refuses_a_development_or_short_token_anywhere_in_the_list(production, tmp_path):
    for tokens in (f"{REAL},{DEV_TOKEN}", f"{REAL},short"):
        production.setenv("BACKEND_SERVICE_TOKENS", tokens)
        with pytest.raises(settings.InsecureConfiguration):
            create_app(_db(tmp_path))
    with pytest.raises(settings.InsecureConfiguration):
        create_app(_db(tmp_path), [DEV_TOKEN])  # explicit credentials are checked too


async def test_production_with_real_tokens_starts_and_accepts_each_of_them(production, tmp_path):
    production.setenv("BACKEND_SERVICE_TOKENS", f" {REAL} , {NEXT} ")
    app = create_app(_db(tmp_path))
    assert app[SETTINGS].tokens == (REAL, NEXT) and not app[SETTINGS].using_dev_token
    production.setenv("BACKEND_SERVICE_TOKEN", REAL)
    assert BackendClient.from_env().token == REAL
    runner, port = await start_server(app)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/applications/SH20261105000123"
        for token, expected in ((REAL, 200), (NEXT, 200), (DEV_TOKEN, 401)):
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as s:
                async with s.get(url) as response:
                    assert response.status == expected, token
    finally:
        await runner.cleanup()


def test_production_backend_alone_may_use_backend_service_token(production, tmp_path):
    """One variable for both sides: without the list, the backend accepts the client's."""
    production.setenv("BACKEND_SERVICE_TOKEN", REAL)
    assert create_app(_db(tmp_path))[SETTINGS].tokens == (REAL,)


def test_development_defaults_to_the_development_token_on_loopback_only(development, tmp_path):
    app = create_app(_db(tmp_path))
    assert app[SETTINGS].tokens == (DEV_TOKEN,) and app[SETTINGS].using_dev_token
    assert BackendClient.from_env().token == DEV_TOKEN
    development.setenv("BIND_HOST", "0.0.0.0")
    with pytest.raises(settings.InsecureConfiguration):
        create_app(_db(tmp_path))
    with pytest.raises(settings.InsecureConfiguration):
        BackendClient.from_env()


def _run_main(monkeypatch, *argv: str) -> dict:
    """main() with web.run_app replaced: returns how it would have served."""
    served: dict = {}
    monkeypatch.setattr(sys, "argv", ["standins.gov_backend.app", *argv])
    monkeypatch.setattr(backend_app.web, "run_app",
                        lambda app, **kwargs: served.update(kwargs, app=app))
    backend_app.main()
    return served


def test_main_listens_on_bind_host_by_default(production, tmp_path):
    production.setenv("BACKEND_DATABASE_URL", _db(tmp_path))
    production.setenv("BACKEND_SERVICE_TOKENS", REAL)
    assert _run_main(production)["host"] == "127.0.0.1"
    production.setenv("BIND_HOST", "10.1.2.3")
    assert _run_main(production)["host"] == "10.1.2.3"
    assert _run_main(production, "--host", "127.0.0.1")["host"] == "127.0.0.1"


def test_main_refuses_without_a_token_in_production(production, tmp_path):
    production.setenv("BACKEND_DATABASE_URL", _db(tmp_path))
    with pytest.raises(settings.InsecureConfiguration):
        _run_main(production)


def test_main_never_serves_the_development_token_off_loopback(development, tmp_path):
    development.setenv("BACKEND_DATABASE_URL", _db(tmp_path))
    assert _run_main(development)["host"] == "127.0.0.1"
    with pytest.raises(settings.InsecureConfiguration):
        _run_main(development, "--host", "0.0.0.0")

