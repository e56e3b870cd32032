"""bot/settings.py: every variable read once per process, typed, blanks as unset. The
production checks of credentials are tested in tests/rasa_ext/test_api_guard.py."""
from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from bot import settings
from bot.status.guard import Limits


def test_the_environment_is_read_once_per_process(monkeypatch):
    monkeypatch.setenv("RASA_PORT", "6005")
    first = settings.load()
    assert settings.load() is first and first.rasa_port == 6005
    os.environ["RASA_PORT"] = "7005"  # a change behind the process's back is not seen
    try:
        assert settings.load().rasa_port == 6005
        settings.reset()
        assert settings.load().rasa_port == 7005
    finally:
        os.environ["RASA_PORT"] = "6005"  # monkeypatch restores the original


def test_blank_variables_count_as_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("BOT_DATABASE_URL", "  ")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    monkeypatch.setenv("WEB_PORT", "")
    monkeypatch.setenv("DESK_URL", " ")
    cfg = settings.load()
    assert cfg.database_url == f"sqlite:///{tmp_path / 'b.db'}" == cfg.tracker_database_url
    assert cfg.web_port == 8800 and cfg.desk_url == "http://127.0.0.1:8800"


def test_addresses_default_to_this_machines_ports():
    cfg = settings.Settings(rasa_port=1, action_port=2, web_port=3, backend_port=4)
    assert (cfg.rasa_url, cfg.action_endpoint_url, cfg.desk_url, cfg.backend_url) == (
        "http://127.0.0.1:1", "http://127.0.0.1:2/webhook", "http://127.0.0.1:3",
        "http://127.0.0.1:4")
    configured = settings.Settings(desk_url="https://desk.internal/", rasa_url="http://r:1/")
    assert (configured.desk_url, configured.rasa_url) == ("https://desk.internal", "http://r:1")


@pytest.mark.parametrize("name, value", [
    ("RASA_PORT", "five"), ("BACKEND_TIMEOUT", "soon"), ("INTAKE_DOCUMENTS_TTL_HOURS", "0"),
    ("STATUS_CODE_ATTEMPTS", "3.5"),
])
def test_a_value_not_of_its_type_stops_the_process_at_load(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        settings.load()


def test_only_one_asks_for_development_accounts(monkeypatch):
    for value, wanted in (("1", True), (" 1 ", True), ("true", False), ("0", False)):
        monkeypatch.setenv("DESK_DEV_ACCOUNTS", value)
        assert settings.load().desk_dev_accounts is wanted, value


def test_lists_are_written_with_commas_or_spaces(monkeypatch):
    monkeypatch.setenv("BACKEND_SERVICE_TOKENS", " first , second third,")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.gov.cn,https://b.gov.cn https://c.gov.cn")
    cfg = settings.load()
    assert [t.get_secret_value() for t in cfg.backend_service_tokens] == [
        "first", "second", "third"]
    assert cfg.cors_origins == ("https://a.gov.cn", "https://b.gov.cn", "https://c.gov.cn")


def test_credentials_are_not_shown_and_only_declared_ones_are_read(monkeypatch):
    monkeypatch.setenv("SEAL_KEY", "the-sealing-key-itself-0123456789")
    cfg = settings.load()
    assert "the-sealing-key" not in repr(cfg) and "the-sealing-key" not in str(cfg)
    assert cfg.credential("SEAL_KEY") == "the-sealing-key-itself-0123456789"
    with pytest.raises(KeyError, match="declare it"):
        settings.secret("NOT_A_DECLARED_TOKEN", "dev-value")
    with pytest.raises(KeyError):
        cfg.credential("BACKEND_SERVICE_TOKENS")  # a list, not one credential


def test_settings_are_frozen_and_misspelt_fields_refused():
    cfg = settings.Settings()
    with pytest.raises(TypeError):
        cfg.rasa_port = 1
    with pytest.raises(ValidationError):
        settings.Settings(rasa_prot=1)


def test_status_limits_take_only_the_overrides_set(monkeypatch):
    for name in ("CODE_TTL", "CODE_ATTEMPTS", "FAILURE_WINDOW", "FAILURES_PER_USER",
                 "FAILURES_PER_NUMBER", "RESEND_GAP", "SENDS_PER_WINDOW"):
        monkeypatch.delenv(f"STATUS_{name}", raising=False)
    assert Limits.from_env() == Limits()
    monkeypatch.setenv("STATUS_CODE_ATTEMPTS", "5")
    monkeypatch.setenv("STATUS_RESEND_GAP", "0.5")
    assert Limits.from_env() == Limits(code_attempts=5, resend_gap=0.5)


def test_the_public_address_is_required_in_production_and_checked(monkeypatch):
    """A link in a citizen's chat must lead somewhere: before, production sent
    http://127.0.0.1:8800/documents/… when PUBLIC_BASE_URL was forgotten (issue 15)."""
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("GOVBOT_ENV", "production")
    settings.reset()
    with pytest.raises(settings.InsecureConfiguration, match="PUBLIC_BASE_URL"):
        settings.public_base_url()
    monkeypatch.setenv("PUBLIC_BASE_URL", "javascript:alert(1)")
    settings.reset()
    with pytest.raises(settings.InsecureConfiguration, match="http"):
        settings.public_base_url()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://zwfw.example.gov.cn/")
    settings.reset()
    assert settings.public_base_url() == "https://zwfw.example.gov.cn"
    monkeypatch.setenv("GOVBOT_ENV", "development")
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("WEB_PORT", "8801")
    settings.reset()
    assert settings.public_base_url() == "http://127.0.0.1:8801"


def test_the_action_server_refuses_to_start_without_the_public_address(monkeypatch):
    from actions.server import create_app

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("GOVBOT_ENV", "production")
    for name in ("BACKEND_SERVICE_TOKEN", "ACTION_SERVER_TOKEN"):
        monkeypatch.setenv(name, "x" * 40)
    settings.reset()
    with pytest.raises(settings.InsecureConfiguration, match="PUBLIC_BASE_URL"):
        create_app(token="y" * 40)
