"""The stand-in backend reads its environment once, into `settings.BackendSettings`;
an argument given to `create_app` wins over its variable."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

from standins.gov_backend import app as backend_app
from standins.gov_backend import settings
from standins.gov_backend.app import create_app
from standins.gov_backend.state import DELAY, SETTINGS

VARIABLES = {
    "BACKEND_DATABASE_URL": "sqlite:///from-env.db",
    "BACKEND_SERVICE_TOKENS": "env-token-0123456789abcdef, env-token-rotated-0123456789",
    "BACKEND_DELAY_MS": "250",
    "BACKEND_SMS_OUTBOX": "/tmp/from-env-outbox.jsonl",
    "BACKEND_SMS_LIMIT": "3",
    "BACKEND_IDENTITY_MAX_FAILURES": "7",
}


def test_every_setting_comes_from_its_variable(monkeypatch):
    for name, value in VARIABLES.items():
        monkeypatch.setenv(name, value)
    assert settings.load() == settings.BackendSettings(
        database_url="sqlite:///from-env.db",
        tokens=("env-token-0123456789abcdef", "env-token-rotated-0123456789"),
        delay_ms=250,
        sms_outbox=Path("/tmp/from-env-outbox.jsonl"),
        sms_limit=3,
        identity_max_failures=7,
    )


def test_defaults_and_arguments_win(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVBOT_ENV", "development")
    for name in (*VARIABLES, "BACKEND_SERVICE_TOKEN", "BIND_HOST"):
        monkeypatch.delenv(name, raising=False)
    defaults = settings.load()
    assert (defaults.delay_ms, defaults.sms_limit, defaults.identity_max_failures) == (0, 10, 5)
    assert defaults.database_url.endswith("backend.db") and defaults.using_dev_token
    assert defaults.sms_outbox.name == "sms-outbox.jsonl"

    monkeypatch.setenv("BACKEND_SMS_LIMIT", "3")
    app = create_app(f"sqlite:///{tmp_path / 'b.db'}", ["arg-token-0123456789abcdef"],
                     delay_ms=0, sms_outbox=tmp_path / "o.jsonl", sms_limit=0,
                     identity_max_failures=1)
    assert app[SETTINGS] == settings.BackendSettings(
        f"sqlite:///{tmp_path / 'b.db'}", ("arg-token-0123456789abcdef",), 0,
        tmp_path / "o.jsonl", 0, 1)
    assert app[DELAY].ms == 0 and not app[SETTINGS].using_dev_token


def test_the_package_runs_as_the_backend(monkeypatch, tmp_path):
    """`python -m standins.gov_backend` is `python -m standins.gov_backend.app`."""
    monkeypatch.setenv("GOVBOT_ENV", "development")
    monkeypatch.setenv("BACKEND_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    monkeypatch.delenv("BIND_HOST", raising=False)
    monkeypatch.setattr(sys, "argv", ["standins.gov_backend", "--port", "8799"])
    served: dict = {}
    monkeypatch.setattr(backend_app.web, "run_app",
                        lambda app, **kwargs: served.update(kwargs, app=app))
    runpy.run_module("standins.gov_backend", run_name="__main__")
    assert served["port"] == 8799 and served["host"] == "127.0.0.1"
    assert served["app"][SETTINGS].database_url == f"sqlite:///{tmp_path / 'b.db'}"
