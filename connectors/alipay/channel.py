"""Alipay life account (生活号) gateway: `alipay_life`, webhook `/webhooks/alipay_life/webhook`.

Alipay POSTs form data (`service, sign, sign_type, charset, biz_content`), often in GBK.
The raw body is parsed here in the declared charset (a framework's UTF-8 form parsing
would garble GBK text and the signature with it), the RSA2 signature is verified over the
other parameters in that charset, and `biz_content` (XML) is read without DTDs.
- `alipay.service.check` / `verifygw`: answered with the app's public key, signed;
- `alipay.mobile.public.message.notify`: naming our AppId, CreateTime within
  ALIPAY_REPLAY_WINDOW, de-duplicated by MsgId (events by sender and CreateTime) in the
  shared store (so a captured notification sent again is acknowledged, not run again),
  acknowledged with a signed ack at once, the turn run in the background; replies go out
  through `alipay.open.public.message.custom.send`.
Bodies over 64 KB are refused (413) before they are decoded, malformed ones with 400.

Secrets from the environment (names overridable in credentials.yml): ALIPAY_APP_ID,
ALIPAY_APP_PRIVATE_KEY, ALIPAY_PUBLIC_KEY; gateway ALIPAY_GATEWAY. Without them the
webhook answers 503 saying what to set. The Rasa sender id is "alipay_life:<user id>".
"""
from __future__ import annotations

import codecs
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl

from sanic import Blueprint, response
from sanic.request import Request

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from bot.kv import KeyValueStore, store_from_env
from connectors.alipay import sign as alipay_sign
from connectors.common import options
from connectors.common import text as fit
from connectors.alipay.api import AlipayClient
from connectors.common.background import TurnRunner, first_delivery
from connectors.common.turn import (
    Incoming,
    PlatformMessage,
    conversation_turn,
    submit_turn,
)
from connectors.common.safexml import MAX_BYTES, UnsafeXML, parse_flat

logger = logging.getLogger(__name__)

CHANNEL = "alipay_life"
NOTIFY = "alipay.mobile.public.message.notify"
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk",
            "gb18030": "gb18030"}
DEFAULT_CHARSET = "gbk"  # Alipay's gateway default when none is declared
TEXT_LIMIT = 2000  # characters per custom-send text
WELCOME = "/greet"
WELCOME_EVENTS = {"follow", "enter"}
NOT_TEXT_REPLY = "收到。我暂时只能看懂文字消息，请用文字描述您的问题，比如“居住证要什么材料”。"
_CHARSET_PARAM = re.compile(rb"(?:^|&)charset=([A-Za-z0-9_-]{1,20})(?:&|$)")


class BadRequest(ValueError):
    """A request that is not a well-formed Alipay notification."""


class TooLarge(BadRequest):
    """A body over the cap, refused before it is decoded."""


def declared_charset(body: bytes, content_type: str = "") -> str:
    """The charset the request declares (body parameter, then Content-Type), normalised."""
    match = _CHARSET_PARAM.search(body)
    name = match.group(1).decode("ascii") if match else ""
    if not name:
        found = re.search(r"charset=([A-Za-z0-9_-]+)", content_type or "")
        name = found.group(1) if found else DEFAULT_CHARSET
    charset = CHARSETS.get(name.lower())
    if charset is None:
        raise BadRequest(f"unsupported charset {name!r}")
    codecs.lookup(charset)
    return charset


def parse_form(body: bytes, content_type: str = "") -> Tuple[Dict[str, str], str]:
    """The form parameters decoded in the request's own charset, and that charset."""
    if len(body) > MAX_BYTES:
        raise TooLarge(f"body larger than {MAX_BYTES} bytes")
    if not body.strip():
        raise BadRequest("empty body")
    charset = declared_charset(body, content_type)
    try:
        text = body.decode(charset)  # raw (not percent-encoded) bytes are in it too
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          encoding=charset, errors="strict", max_num_fields=50)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"form is not valid {charset}: {error}") from error
    params: Dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise BadRequest(f"parameter {key} repeated")
        params[key] = value
    return params, charset


def signed_response(key, inner: str, charset: str) -> bytes:
    """The synchronous answer: `<response>` signed with the app's private key."""
    signed = f"<response>{inner}</response>"
    sign = alipay_sign.sign(key, signed, charset)
    declared = "GBK" if charset == "gbk" else charset.upper()
    document = (f'<?xml version="1.0" encoding="{declared}"?><alipay>{signed}'
                f"<sign>{sign}</sign><sign_type>RSA2</sign_type></alipay>")
    return document.encode(charset)


def ack_inner(user_id: str, app_id: str) -> str:
    return (f"<XML><ToUserId><![CDATA[{user_id}]]></ToUserId><AppId><![CDATA[{app_id}]]></AppId>"
            f"<CreateTime>{int(time.time() * 1000)}</CreateTime>"
            f"<MsgType><![CDATA[ack]]></MsgType></XML>")


def user_of(biz: Dict[str, str]) -> str:
    return (biz.get("FromAlipayUserId") or biz.get("FromUserId") or "").strip()


def interpret(biz: Dict[str, str]) -> Incoming:
    """What a life-account message asks of the bot (a pure function)."""
    kind = (biz.get("MsgType") or "").lower()
    if kind == "text":
        content = fit.bounded(biz.get("Text/Content") or biz.get("Content") or "")
        return Incoming(text=content) if content else Incoming()
    if kind == "event":
        event = (biz.get("EventType") or "")[:64].lower()
        if event in WELCOME_EVENTS:
            return Incoming(text=WELCOME)
        if event == "click" and fit.bounded(biz.get("ActionParam") or ""):
            return Incoming(text=fit.bounded(biz["ActionParam"]))
        return Incoming()
    return Incoming(reply=NOT_TEXT_REPLY)


def for_another_app(biz: Dict[str, str], service: str, app_id: str) -> bool:
    """True unless the message names our app; a message notification must name one (Alipay
    always does, and a validly signed one without it could be another app's, replayed)."""
    named = biz.get("AppId")
    if named is None:
        return service == NOTIFY
    return named != app_id


def dedup_key(biz: Dict[str, str]) -> str:
    if biz.get("MsgId"):
        return f"{CHANNEL}:msg:{biz['MsgId']}"
    return f"{CHANNEL}:evt:{user_of(biz)}:{biz.get('CreateTime', '')}"


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    private_key: str
    alipay_public_key: str
    replay_window: float

    @classmethod
    def from_env(cls, names: Dict[str, str]) -> "AlipayConfig":
        value = lambda field: os.environ.get(names[field], "").strip()  # noqa: E731
        return cls(value("app_id"), value("private_key"), value("alipay_public_key"),
                   float(os.environ.get("ALIPAY_REPLAY_WINDOW", "3600")))

    def missing(self, names: Dict[str, str]) -> List[str]:
        return [names[f] for f in ("app_id", "private_key", "alipay_public_key")
                if not getattr(self, f)]


class AlipayOutput(OutputChannel):
    """Sends the bot's messages to life-account users through custom.send."""

    def __init__(self, client: AlipayClient, store: KeyValueStore) -> None:
        self.client = client
        self.store = store
        self.offered_options = False

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @staticmethod
    def user_id(recipient_id: str) -> str:
        prefix = f"{CHANNEL}:"
        return recipient_id[len(prefix):] if recipient_id.startswith(prefix) else recipient_id

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        user = self.user_id(recipient_id)
        for piece in fit.split_bytes(fit.links_as_plain(text), limit=TEXT_LIMIT * 3):
            await self.client.custom_send(user, {"msg_type": "text", "text": {"content": piece}})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        if options.choosable(buttons):
            self.offered_options = True
            await options.remember(self.store, CHANNEL, self.user_id(recipient_id), buttons)
        await self.send_text_message(recipient_id, options.numbered_text(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.client.custom_send(self.user_id(recipient_id), {
            "msg_type": "image-text",
            "articles": [{"title": "查看图片", "desc": "", "image_url": image, "url": image}],
        })

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """`{"alipay": {...}}` is sent as a native custom.send body; `{"text": …}` as text."""
        if isinstance(json_message.get("alipay"), dict):
            await self.client.custom_send(self.user_id(recipient_id), json_message["alipay"])
        elif json_message.get("text"):
            await self.send_text_message(recipient_id, str(json_message["text"]))


class AlipayLifeInput(InputChannel):
    env_defaults = {"app_id": "ALIPAY_APP_ID", "private_key": "ALIPAY_APP_PRIVATE_KEY",
                    "alipay_public_key": "ALIPAY_PUBLIC_KEY"}

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]],
                         store: Optional[KeyValueStore] = None) -> "AlipayLifeInput":
        """credentials.yml may rename the variables (`app_id_env: MY_APP_ID`)."""
        credentials = credentials or {}
        names = {f: str(credentials.get(f"{f}_env") or default)
                 for f, default in cls.env_defaults.items()}
        return cls(AlipayConfig.from_env(names), names, store)

    def __init__(self, config: AlipayConfig, names: Dict[str, str],
                 store: Optional[KeyValueStore] = None) -> None:
        self.config = config
        self.missing = config.missing(names)
        self._store = store
        self.runner = TurnRunner(CHANNEL, max_running=int(os.environ.get(
            "CHANNEL_MAX_RUNNING_TURNS", "8")))
        self.client: Optional[AlipayClient] = None
        if not self.missing:
            try:
                self.private_key = alipay_sign.load_private_key(config.private_key)
                self.alipay_key = alipay_sign.load_public_key(config.alipay_public_key)
            except alipay_sign.AlipayKeyError as error:
                self.missing = [f"valid keys ({error})"]
            else:
                self.client = AlipayClient(config.app_id, self.private_key, self.alipay_key)
        if self.missing:
            logger.warning("%s not configured (set %s): its webhook answers 503", CHANNEL,
                           ", ".join(self.missing))

    @property
    def store(self) -> KeyValueStore:
        if self._store is None:
            self._store = store_from_env()
        return self._store

    def get_output_channel(self) -> Optional[OutputChannel]:
        return AlipayOutput(self.client, self.store) if self.client else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"{CHANNEL}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok" if not self.missing else "not configured"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            if self.missing:
                return response.text(
                    f"{CHANNEL} is not configured on this server: set {', '.join(self.missing)}",
                    status=503)
            return await self._receive(request, on_new_message)

        return hook

    def _xml(self, inner: str, charset: str):
        declared = "GBK" if charset == "gbk" else charset.upper()
        return response.raw(signed_response(self.private_key, inner, charset),
                            content_type=f"text/xml;charset={declared}")

    async def _receive(self, request: Request, on_new_message) -> Any:
        try:
            params, charset = parse_form(request.body or b"",
                                         request.headers.get("content-type", ""))
        except TooLarge as error:
            logger.warning("%s: refused a request: %s", CHANNEL, error)
            return response.text("body too large", status=413)
        except BadRequest as error:
            logger.warning("%s: malformed request: %s", CHANNEL, error)
            return response.text("malformed request", status=400)
        if not alipay_sign.verify_params(self.alipay_key, params, charset):
            logger.warning("%s: refused a request with a bad signature", CHANNEL)
            return response.text("bad signature", status=403)
        try:
            biz = parse_flat(params.get("biz_content", ""))
        except UnsafeXML as error:
            logger.warning("%s: malformed biz_content: %s", CHANNEL, error)
            return response.text("malformed biz_content", status=400)
        service = params.get("service", "")
        if for_another_app(biz, service, self.config.app_id):
            return response.text("wrong app", status=403)

        if service == "alipay.service.check":
            inner = (f"<biz_content>{alipay_sign.public_key_base64(self.private_key)}"
                     f"</biz_content><success>true</success>")
            return self._xml(inner, charset)
        if service != NOTIFY:
            return response.text(f"unknown service {service[:60]}", status=400)

        user = user_of(biz)
        if not user:
            return response.text("no sender", status=400)
        try:
            age = abs(time.time() - int(biz.get("CreateTime", "0")) / 1000)
        except ValueError:
            return response.text("bad CreateTime", status=400)
        if age > self.config.replay_window:
            return response.text("stale message", status=403)
        key = dedup_key(biz)
        if not await first_delivery(self.store, key, max(600.0, 2 * self.config.replay_window)):
            return self._xml(ack_inner(user, self.config.app_id), charset)
        incoming = interpret(biz)
        if incoming.text is not None or incoming.reply is not None:
            output = AlipayOutput(self.client, self.store)
            platform_message = PlatformMessage(CHANNEL, user, incoming, biz.get("MsgId"),
                                               biz.get("MsgType", ""))
            turn = conversation_turn(on_new_message, output, self.store, platform_message)
            if not await submit_turn(self.runner, self.store, key, output, platform_message, turn):
                return response.text("busy, retry", status=503)
        return self._xml(ack_inner(user, self.config.app_id), charset)
