"""Which routes of Rasa's server need the API token (rasa_ext/api_guard.py), the REST
channel's sender namespace (connectors/rest.py) and the production checks of
bot/settings.py. The guard's effect on the running server is tested in tests/security."""
from __future__ import annotations

import pytest
from sanic.exceptions import InvalidUsage

from bot import settings
from connectors.rest import conversation_id
from rasa_ext.api_guard import bearer_matches, is_public


@pytest.mark.parametrize("method, path", [
    ("GET", "/"), ("POST", "/webhooks/wechat_oa/webhook"), ("GET", "/webhooks/alipay_life/"),
    ("GET", "/socket.io/"), ("POST", "/socket.io/?EIO=4"),
])
def test_public_channels_need_no_token(method, path):
    assert is_public(method, path, development=False)


@pytest.mark.parametrize("method, path", [
    ("GET", "/status"), ("GET", "/version"), ("GET", "/conversations/x/tracker"),
    ("POST", "/conversations/x/tracker/events"), ("POST", "/conversations/x/execute"),
    ("PUT", "/model"), ("DELETE", "/model"), ("POST", "/model/train"), ("GET", "/domain"),
    ("POST", "/model/parse"), ("POST", "/webhooks/rest/webhook"), ("GET", "/socket.iox"),
])
def test_everything_else_needs_the_token_in_production(method, path):
    assert not is_public(method, path, development=False)


def test_development_keeps_rest_and_parse_open_and_nothing_more():
    assert is_public("POST", "/model/parse", development=True)
    assert is_public("POST", "/webhooks/rest/webhook", development=True)
    assert not is_public("GET", "/conversations/x/tracker", development=True)
    assert not is_public("GET", "/model/parse", development=True)


def test_bearer_token_compared_whole():
    assert bearer_matches("Bearer abc", "abc")
    assert bearer_matches("bearer abc", "abc")
    for header in (None, "", "abc", "Bearer ab", "Bearer abcd", "Basic abc", "Bearer"):
        assert not bearer_matches(header, "abc"), header


def test_rest_senders_live_in_their_own_namespace():
    assert conversation_id("demo") == "rest:demo"
    assert conversation_id("wechat_oa:o6_bmjrPTlm6") == "rest:wechat_oa:o6_bmjrPTlm6"
    for bad in (None, "", 7, "a" * 65, "a b", "x\n"):
        with pytest.raises(InvalidUsage):
            conversation_id(bad)


def test_production_refuses_missing_short_and_development_secrets(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    with pytest.raises(settings.InsecureConfiguration):
        settings.secret("RASA_API_TOKEN", "dev-value")
    monkeypatch.setenv("RASA_API_TOKEN", "dev-value")
    with pytest.raises(settings.InsecureConfiguration):
        settings.secret("RASA_API_TOKEN", "dev-value")
    monkeypatch.setenv("RASA_API_TOKEN", "short")
    with pytest.raises(settings.InsecureConfiguration):
        settings.secret("RASA_API_TOKEN", "dev-value")
    monkeypatch.setenv("RASA_API_TOKEN", "k" * 40)
    assert settings.secret("RASA_API_TOKEN", "dev-value") == "k" * 40


def test_production_is_the_default(monkeypatch):
    monkeypatch.delenv("GOVBOT_ENV", raising=False)
    assert not settings.is_development()
    monkeypatch.setenv("GOVBOT_ENV", "Development ")  # only the exact word counts
    assert not settings.is_development()


def test_development_secrets_stay_on_loopback(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "development")
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    monkeypatch.delenv("BIND_HOST", raising=False)
    assert settings.secret("RASA_API_TOKEN", "dev-value") == "dev-value"
    monkeypatch.setenv("BIND_HOST", "0.0.0.0")
    with pytest.raises(settings.InsecureConfiguration):
        settings.secret("RASA_API_TOKEN", "dev-value")


def test_production_cors_names_origins(monkeypatch):
    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.setenv("CORS_ORIGINS", "*")
    with pytest.raises(settings.InsecureConfiguration):
        settings.cors_origins()
    monkeypatch.setenv("CORS_ORIGINS", "https://a.gov.cn, https://b.gov.cn")
    assert settings.cors_origins() == ["https://a.gov.cn", "https://b.gov.cn"]


def test_the_action_server_refuses_to_start_on_development_credentials(monkeypatch):
    from actions.server import create_app

    monkeypatch.setenv("GOVBOT_ENV", "production")
    for name in ("ACTION_SERVER_TOKEN", "BACKEND_SERVICE_TOKEN", "BACKEND_SERVICE_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(settings.InsecureConfiguration):
        create_app()
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "a" * 40)
    with pytest.raises(settings.InsecureConfiguration):  # the backend's token is missing
        create_app()


def test_rasa_refuses_to_start_without_its_api_token(monkeypatch):
    import rasa.core.run

    from rasa_ext import api_guard

    monkeypatch.setenv("GOVBOT_ENV", "production")
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    with pytest.raises(settings.InsecureConfiguration):
        api_guard.install()
