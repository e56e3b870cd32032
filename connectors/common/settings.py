"""What the platform connectors read from the environment, read once per connector.

Every variable the WeChat and Alipay connectors (and their send APIs) use is named here,
with its default, so the environment is read in one place: when Rasa builds a connector
from credentials.yml. The file only names the variables (`token_env: MY_TOKEN` renames
one); the values never come from it. docs/channels.md lists what each variable means.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

#: The variables each connector reads its secrets from, unless credentials.yml renames them.
WECHAT_OA_VARIABLES: Mapping[str, str] = {
    "token": "WECHAT_OA_TOKEN", "appid": "WECHAT_OA_APPID",
    "secret": "WECHAT_OA_SECRET", "aes_key": "WECHAT_OA_AES_KEY"}
WECHAT_MP_VARIABLES: Mapping[str, str] = {
    "token": "WECHAT_MP_TOKEN", "appid": "WECHAT_MP_APPID",
    "secret": "WECHAT_MP_SECRET", "aes_key": "WECHAT_MP_AES_KEY"}
ALIPAY_VARIABLES: Mapping[str, str] = {
    "app_id": "ALIPAY_APP_ID", "private_key": "ALIPAY_APP_PRIVATE_KEY",
    "alipay_public_key": "ALIPAY_PUBLIC_KEY"}

DEFAULT_WECHAT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
#: Seconds a WeChat request's timestamp may be off (CHANNEL_REPLAY_WINDOW).
DEFAULT_WECHAT_REPLAY_WINDOW = "300"
#: Seconds an Alipay message's CreateTime may be old (ALIPAY_REPLAY_WINDOW).
DEFAULT_ALIPAY_REPLAY_WINDOW = "3600"
#: Turns one connector runs at once per process (CHANNEL_MAX_RUNNING_TURNS).
DEFAULT_MAX_RUNNING_TURNS = "8"

SettingsType = TypeVar("SettingsType", bound="PlatformSettings")


def variable_names(defaults: Mapping[str, str],
                   credentials: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """Field → the variable to read it from: credentials.yml's `<field>_env` or the default."""
    credentials = credentials or {}
    return {field: str(credentials.get(f"{field}_env") or default)
            for field, default in defaults.items()}


def _secrets(names: Mapping[str, str]) -> Dict[str, str]:
    """Field → its variable's value, stripped (unset: empty)."""
    return {field: os.environ.get(name, "").strip() for field, name in names.items()}


def _variable(name_and_default: Tuple[str, str]) -> str:
    name, default = name_and_default
    return os.environ.get(name, default)


@dataclass(frozen=True)
class PlatformSettings:
    """What every platform connector is configured with; subclasses add the secrets
    (their fields, named as in their variables' mapping) and say which variables hold
    the replay window and the API's URL."""

    names: Mapping[str, str]  # field → the variable it was read from (for "set …" texts)
    replay_window: float  # seconds a message's time may be off
    max_running_turns: int  # CHANNEL_MAX_RUNNING_TURNS
    api_url: str  # where the platform's send API is

    #: The fields without which the connector answers 503.
    required: ClassVar[Tuple[str, ...]] = ()
    #: (variable, default) of the replay window and of the API's URL.
    replay_window_variable: ClassVar[Tuple[str, str]] = ("", "")
    api_url_variable: ClassVar[Tuple[str, str]] = ("", "")

    @classmethod
    def from_env(cls: Type[SettingsType], names: Mapping[str, str]) -> SettingsType:
        """The settings with the secrets read from the variables `names` gives."""
        return cls(  # type: ignore[call-arg] - the secrets are the subclass's fields
            names=dict(names),
            replay_window=float(_variable(cls.replay_window_variable)),
            max_running_turns=int(_variable(("CHANNEL_MAX_RUNNING_TURNS",
                                             DEFAULT_MAX_RUNNING_TURNS))),
            api_url=_variable(cls.api_url_variable),
            **_secrets(names),
        )

    @classmethod
    def from_credentials(cls: Type[SettingsType], credentials: Optional[Mapping[str, Any]],
                         defaults: Mapping[str, str]) -> SettingsType:
        return cls.from_env(variable_names(defaults, credentials))

    @property
    def missing(self) -> List[str]:
        """The variables to set before the connector can work (empty: configured)."""
        return [self.names[field] for field in self.required if not getattr(self, field)]


@dataclass(frozen=True)
class WeChatSettings(PlatformSettings):
    """One WeChat app: an Official Account or a Mini Program. `api_url` is the send
    API's base URL (WECHAT_API_BASE)."""

    token: str
    appid: str
    secret: str
    aes_key: str  # empty: plain mode only

    required: ClassVar[Tuple[str, ...]] = ("token", "appid", "secret")
    replay_window_variable: ClassVar[Tuple[str, str]] = (
        "CHANNEL_REPLAY_WINDOW", DEFAULT_WECHAT_REPLAY_WINDOW)
    api_url_variable: ClassVar[Tuple[str, str]] = ("WECHAT_API_BASE", DEFAULT_WECHAT_API_BASE)


@dataclass(frozen=True)
class AlipaySettings(PlatformSettings):
    """The Alipay life account's app. `api_url` is the OpenAPI gateway (ALIPAY_GATEWAY)."""

    app_id: str
    private_key: str  # PEM or bare base64, read by connectors.alipay.sign
    alipay_public_key: str

    required: ClassVar[Tuple[str, ...]] = ("app_id", "private_key", "alipay_public_key")
    replay_window_variable: ClassVar[Tuple[str, str]] = (
        "ALIPAY_REPLAY_WINDOW", DEFAULT_ALIPAY_REPLAY_WINDOW)
    api_url_variable: ClassVar[Tuple[str, str]] = ("ALIPAY_GATEWAY", DEFAULT_ALIPAY_GATEWAY)
