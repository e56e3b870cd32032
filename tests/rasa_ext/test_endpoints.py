"""The endpoints `make run` writes for the environment it runs in."""
from __future__ import annotations

import importlib
import sys

import pytest

from rasa_ext import endpoints as runtime


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("DATABASE_URL", "TRACKER_DATABASE_URL", "REDIS_URL", "ACTION_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_embedded_defaults_need_no_servers(clean_env):
    out = runtime.endpoints()
    assert out["tracker_store"]["dialect"] == "sqlite"
    assert "lock_store" not in out
    assert out["action_endpoint"]["url"].endswith("/webhook")


def test_domain_is_sent_only_to_actions_that_ask_for_it(clean_env):
    # Sending every response text with each action call cost a tenth of an action call.
    assert runtime.endpoints()["action_endpoint"]["enable_selective_domain"] is True


def test_shared_servers_from_environment(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    out = runtime.endpoints()
    assert out["tracker_store"]["dialect"].startswith("postgresql")
    assert out["lock_store"]["type"] == "redis"


def test_rasa_sends_the_action_server_token_without_it_on_disk(tmp_path, monkeypatch):
    """The written file names ${ACTION_SERVER_TOKEN}; Rasa expands it when it reads."""
    from rasa.utils.endpoints import read_endpoint_config

    from rasa_ext import endpoints as runtime

    monkeypatch.setenv("ACTION_SERVER_TOKEN", "t" * 40)
    target = tmp_path / "endpoints.yml"
    monkeypatch.setattr(sys, "argv", ["runtime", str(target)])
    runtime.main()
    assert "t" * 40 not in target.read_text()
    endpoint = read_endpoint_config(str(target), "action_endpoint")
    assert endpoint.headers == {"Authorization": "Bearer " + "t" * 40}


def test_production_refuses_to_write_endpoints_without_the_action_token(monkeypatch):
    from bot import settings
    from rasa_ext import endpoints as runtime

    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    with pytest.raises(settings.InsecureConfiguration):
        runtime.endpoints()
