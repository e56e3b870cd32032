"""The connectors' settings: every variable name and default as documented in
docs/channels.md, read once, renamable in credentials.yml."""
from __future__ import annotations

import pytest

from connectors.common.settings import (
    ALIPAY_VARIABLES,
    WECHAT_MP_VARIABLES,
    WECHAT_OA_VARIABLES,
    AlipaySettings,
    WeChatSettings,
)

PLATFORM_VARIABLES = [
    "WECHAT_OA_TOKEN", "WECHAT_OA_APPID", "WECHAT_OA_SECRET", "WECHAT_OA_AES_KEY",
    "WECHAT_MP_TOKEN", "WECHAT_MP_APPID", "WECHAT_MP_SECRET", "WECHAT_MP_AES_KEY",
    "ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY", "WECHAT_API_BASE",
    "ALIPAY_GATEWAY", "CHANNEL_REPLAY_WINDOW", "ALIPAY_REPLAY_WINDOW",
    "CHANNEL_MAX_RUNNING_TURNS",
]


@pytest.fixture
def clean_env(monkeypatch):
    for name in PLATFORM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env):
    oa = WeChatSettings.from_credentials({}, WECHAT_OA_VARIABLES)
    assert oa.missing == ["WECHAT_OA_TOKEN", "WECHAT_OA_APPID", "WECHAT_OA_SECRET"]
    assert (oa.replay_window, oa.max_running_turns, oa.api_url) == (
        300.0, 8, "https://api.weixin.qq.com")
    assert oa.aes_key == ""
    ali = AlipaySettings.from_credentials(None, ALIPAY_VARIABLES)
    assert ali.missing == ["ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"]
    assert (ali.replay_window, ali.max_running_turns, ali.api_url) == (
        3600.0, 8, "https://openapi.alipay.com/gateway.do")


def test_values_are_read_stripped_and_limits_from_their_variables(clean_env):
    for name, value in {"WECHAT_MP_TOKEN": " t ", "WECHAT_MP_APPID": "wx1",
                        "WECHAT_MP_SECRET": "s", "WECHAT_MP_AES_KEY": "k\n",
                        "CHANNEL_REPLAY_WINDOW": "60", "CHANNEL_MAX_RUNNING_TURNS": "3",
                        "WECHAT_API_BASE": "http://127.0.0.1:9/",
                        "ALIPAY_REPLAY_WINDOW": "120"}.items():
        clean_env.setenv(name, value)
    mp = WeChatSettings.from_credentials({}, WECHAT_MP_VARIABLES)
    assert (mp.token, mp.appid, mp.secret, mp.aes_key) == ("t", "wx1", "s", "k")
    assert mp.missing == []
    assert (mp.replay_window, mp.max_running_turns) == (60.0, 3)
    assert mp.api_url.rstrip("/") == "http://127.0.0.1:9"
    assert AlipaySettings.from_credentials({}, ALIPAY_VARIABLES).replay_window == 120.0


def test_credentials_rename_a_variable_never_give_its_value(clean_env):
    clean_env.setenv("MY_TOKEN", "from-env")
    oa = WeChatSettings.from_credentials({"token_env": "MY_TOKEN", "secret": "in-file"},
                                         WECHAT_OA_VARIABLES)
    assert oa.token == "from-env" and oa.names["token"] == "MY_TOKEN"
    assert oa.secret == ""  # a value written in credentials.yml is not read
    assert oa.missing == ["WECHAT_OA_APPID", "WECHAT_OA_SECRET"]
