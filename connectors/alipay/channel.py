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

Secrets from the environment (connectors.common.settings; names overridable in
credentials.yml): ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY, ALIPAY_PUBLIC_KEY; gateway
ALIPAY_GATEWAY. Without them the webhook answers 503 saying what to set. The Rasa sender
id is "alipay_life:<user id>". The flow all platforms share is connectors.common.platform's;
this module holds Alipay's checks, message forms and replies.
"""
from __future__ import annotations

import codecs
import logging
import re
import time
from typing import Any, Dict, Tuple
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.dialogue import texts
from bot.kv import KeyValueStore
from connectors.alipay import sign as alipay_sign
from connectors.alipay.api import AlipayClient
from connectors.common import text as fit
from connectors.common.platform import (
    Answered,
    Delivery,
    NotConfigured,
    PlatformInput,
    PlatformOutput,
    delivery_key,
    refuse,
)
from connectors.common.safexml import MAX_BYTES, UnsafeXML, parse_flat
from connectors.common.settings import ALIPAY_VARIABLES, AlipaySettings
from connectors.common.turn import Incoming, PlatformMessage, event_incoming, said

logger = logging.getLogger(__name__)

CHANNEL = "alipay_life"
NOTIFY = "alipay.mobile.public.message.notify"
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk",
            "gb18030": "gb18030"}
DEFAULT_CHARSET = "gbk"  # Alipay's gateway default when none is declared
TEXT_LIMIT = 2000  # characters per custom-send text
WELCOME_EVENTS = {"follow", "enter"}
#: The reply to a message that is not text, and an image card's title (data/texts/channels.yml).
TEXTS = texts.load("channels", {"alipay_not_text": (), "image_card_title": ()})
NOT_TEXT_REPLY = TEXTS("alipay_not_text")
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


def declared_name(charset: str) -> str:
    """The charset as an answer declares it (Alipay's own form: GBK, UTF-8)."""
    return "GBK" if charset == "gbk" else charset.upper()


def signed_response(key, inner: str, charset: str) -> bytes:
    """The synchronous answer: `<response>` signed with the app's private key."""
    signed = f"<response>{inner}</response>"
    sign = alipay_sign.sign(key, signed, charset)
    declared = declared_name(charset)
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
        return said(biz.get("Text/Content") or biz.get("Content") or "")
    if kind == "event":
        return event_incoming(biz.get("EventType") or "", WELCOME_EVENTS,
                              biz.get("ActionParam") or "")
    return Incoming(reply=NOT_TEXT_REPLY)


def for_another_app(biz: Dict[str, str], service: str, app_id: str) -> bool:
    """True unless the message names our app; a message notification must name one (Alipay
    always does, and a validly signed one without it could be another app's, replayed)."""
    named = biz.get("AppId")
    if named is None:
        return service == NOTIFY
    return named != app_id


def dedup_key(biz: Dict[str, str]) -> str:
    return delivery_key(CHANNEL, biz.get("MsgId"), user_of(biz), biz.get("CreateTime", ""))


class AlipayOutput(PlatformOutput):
    """Sends the bot's messages to life-account users through custom.send;
    `{"alipay": {...}}` is sent as a native custom.send body, a matter card as text."""

    channel = CHANNEL
    native_key = "alipay"

    def __init__(self, client: AlipayClient, store: KeyValueStore) -> None:
        super().__init__(store)
        self.client = client

    async def send_native(self, user_id: str, body: Dict[str, Any]) -> None:
        await self.client.custom_send(user_id, body)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        user = self.user_id(recipient_id)
        for piece in fit.split_bytes(fit.links_as_plain(text), limit=TEXT_LIMIT * 3):
            await self.send_native(user, {"msg_type": "text", "text": {"content": piece}})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_native(self.user_id(recipient_id), {
            "msg_type": "image-text",
            "articles": [{"title": TEXTS("image_card_title"), "desc": "", "image_url": image,
                          "url": image}],
        })


class AlipayLifeInput(PlatformInput):
    """The life account's gateway."""

    channel = CHANNEL
    settings_class = AlipaySettings
    variables = ALIPAY_VARIABLES
    settings: AlipaySettings

    def connect(self) -> None:
        settings = self.settings
        try:
            self.private_key: rsa.RSAPrivateKey = alipay_sign.load_private_key(
                settings.private_key)
            self.alipay_key: rsa.RSAPublicKey = alipay_sign.load_public_key(
                settings.alipay_public_key)
        except alipay_sign.AlipayKeyError as error:
            raise NotConfigured(f"valid keys ({error})") from error
        self.client = AlipayClient(settings.app_id, self.private_key, self.alipay_key,
                                   settings.api_url)

    def output(self) -> AlipayOutput:
        return AlipayOutput(self.client, self.store)

    def _xml(self, inner: str, charset: str) -> HTTPResponse:
        declared = declared_name(charset)
        return response.raw(signed_response(self.private_key, inner, charset),
                            content_type=f"text/xml;charset={declared}")

    def _signed_form(self, request: Request) -> Tuple[Dict[str, str], Dict[str, str], str]:
        """The form's parameters, its biz_content and charset once the signature holds."""
        try:
            params, charset = parse_form(request.body or b"",
                                         request.headers.get("content-type", ""))
        except TooLarge as error:
            raise refuse(413, "body too large", log=f"refused a request: {error}") from error
        except BadRequest as error:
            raise refuse(400, "malformed request", log=f"malformed request: {error}") from error
        if not alipay_sign.verify_params(self.alipay_key, params, charset):
            raise refuse(403, "bad signature", log="refused a request with a bad signature")
        try:
            biz = parse_flat(params.get("biz_content", ""))
        except UnsafeXML as error:
            raise refuse(400, "malformed biz_content",
                         log=f"malformed biz_content: {error}") from error
        return params, biz, charset

    async def verify(self, request: Request) -> Delivery:
        params, biz, charset = self._signed_form(request)
        service = params.get("service", "")
        if for_another_app(biz, service, self.settings.app_id):
            raise refuse(403, "wrong app")
        if service == "alipay.service.check":
            inner = (f"<biz_content>{alipay_sign.public_key_base64(self.private_key)}"
                     f"</biz_content><success>true</success>")
            raise Answered(self._xml(inner, charset))
        if service != NOTIFY:
            raise refuse(400, f"unknown service {service[:60]}")

        user = user_of(biz)
        if not user:
            raise refuse(400, "no sender")
        try:
            age = abs(time.time() - int(biz.get("CreateTime", "0")) / 1000)
        except ValueError as error:
            raise refuse(400, "bad CreateTime") from error
        if age > self.settings.replay_window:
            raise refuse(403, "stale message")
        message = PlatformMessage(CHANNEL, user, interpret(biz), biz.get("MsgId"),
                                  biz.get("MsgType", ""))
        return Delivery(message, dedup_key(biz),
                        self._xml(ack_inner(user, self.settings.app_id), charset))
