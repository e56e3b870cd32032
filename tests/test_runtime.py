"""The endpoints `make run` writes for the environment it runs in."""
from __future__ import annotations

import importlib

import pytest

from bot import runtime


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
