"""WeChat Official Account (`wechat_oa`) and Mini Program customer-service (`wechat_mp`).

Webhook: `/webhooks/wechat_oa/webhook` and `/webhooks/wechat_mp/webhook` (GET: the
console's URL check; POST: messages). Each POST is checked (signature, timestamp within
the replay window, safe-mode msg_signature, AES and appid, openid), parsed as XML or JSON
without DTDs, its nonce used by one message only, de-duplicated by MsgId (events by
sender and CreateTime) in the shared store, answered `success` at once, and its turn
runs in the background; the bot's messages go out through the customer-service API
(connectors.wechat.api).

With an EncodingAESKey configured the connector is in safe mode only: a plaintext body
is refused (its content would be covered by no signature). Without one, plain mode only.

Secrets come from the environment (connectors.common.settings); credentials.yml names
the variables (defaults WECHAT_OA_TOKEN/APPID/SECRET/AES_KEY and WECHAT_MP_…). A connector
without its token, appid and secret still registers, so `make run` works, and answers 503
saying what to set. The Rasa sender id is "<channel>:<openid>" (an openid belongs to one
appid). The flow all platforms share is connectors.common.platform's; this module holds
WeChat's checks, message forms and replies.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.dialogue import texts
from bot.kv import KeyValueStore
from connectors.common import text as fit
from connectors.common.background import nonce_unused
from connectors.common.platform import (
    Delivery,
    PlatformInput,
    PlatformOutput,
    delivery_key,
    refuse,
)
from connectors.common.safexml import MAX_BYTES, UnsafeXML, parse_flat
from connectors.common.settings import WECHAT_MP_VARIABLES, WECHAT_OA_VARIABLES, WeChatSettings
from connectors.common.turn import Incoming, PlatformMessage, event_incoming, said
from connectors.wechat.api import WeChatSender
from connectors.wechat.crypto import MessageCrypto, WeChatCryptoError, check_signature

logger = logging.getLogger(__name__)

#: The replies to messages that are not text, by MsgType, else OTHER_REPLY, and an image
#: card's title (data/texts/channels.yml).
TEXTS = texts.load("channels", {
    "wechat_not_text": texts.Table(("image", "voice", "video", "shortvideo", "location", "link",
                                    "file", "miniprogrampage")),
    "wechat_other_not_text": (), "image_card_title": (),
})
NOT_TEXT_REPLY = TEXTS.table("wechat_not_text")
OTHER_REPLY = TEXTS("wechat_other_not_text")
WELCOME_EVENTS = {"subscribe", "user_enter_tempsession"}


def interpret(message: Dict[str, str]) -> Incoming:
    """Maps a parsed WeChat message to what the bot does with it (a pure function)."""
    kind = (message.get("MsgType") or "").lower()
    if kind == "text":
        return said(message.get("Content") or "")
    if kind == "voice" and fit.bounded(message.get("Recognition") or ""):
        return said(message["Recognition"])  # WeChat's transcription
    if kind == "event":  # unsubscribe, VIEW, template-send reports …: nothing to say
        return event_incoming(message.get("Event") or "", WELCOME_EVENTS,
                              message.get("EventKey") or "")
    return Incoming(reply=NOT_TEXT_REPLY.get(kind, OTHER_REPLY))


def dedup_key(channel: str, message: Dict[str, str]) -> str:
    return delivery_key(channel, message.get("MsgId"), message.get("FromUserName", ""),
                        message.get("CreateTime", ""))


def nonce_key(appid: str, timestamp: str, nonce: str) -> str:
    return f"wechat:nonce:{appid}:{timestamp}:{nonce}"


def fingerprint(message: Dict[str, str]) -> str:
    """One message's digest, the same for WeChat's retries of it (in safe mode each retry
    may be encrypted anew, so the plaintext is what identifies it)."""
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_body(body: bytes) -> Dict[str, str]:
    """An XML or JSON message body as a flat dict of strings (ValueError if it is not)."""
    stripped = body.lstrip()
    if stripped.startswith((b"{", b"[")):
        if len(body) > MAX_BYTES:
            raise UnsafeXML("body too large")
        try:
            data = json.loads(body.decode("utf-8"))
        except RecursionError as error:  # "[[[[…" within 64 KB: not a message, not a 500
            raise ValueError("JSON nested too deeply") from error
        if not isinstance(data, dict):
            raise ValueError("JSON body is not an object")
        return {str(k): v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list))
                else str(v) for k, v in data.items()}
    return parse_flat(body)


class WeChatOutput(PlatformOutput):
    """Sends the bot's messages to one WeChat app's users through the send API.

    Markdown links become what the client shows, images a news card (Official Account)
    or link card (Mini Program), long texts several messages of at most 2048 bytes;
    `{"wechat": {...}}` is sent as a native message body, a matter card as text.
    """

    channel = "wechat"
    native_key = "wechat"
    mini_program = False

    def __init__(self, sender: WeChatSender, store: KeyValueStore) -> None:
        super().__init__(store)
        self.sender = sender

    def _links(self, text: str) -> str:
        return fit.links_as_plain(text) if self.mini_program else fit.links_as_anchors(text)

    async def send_native(self, user_id: str, body: Dict[str, Any]) -> None:
        await self.sender.send({"touser": user_id, **body})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        openid = self.user_id(recipient_id)
        for piece in fit.split_bytes(self._links(text)):
            await self.send_native(openid, {"msgtype": "text", "text": {"content": piece}})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        if self.mini_program:
            card = {"msgtype": "link", "link": {
                "title": TEXTS("image_card_title"), "description": "", "url": image,
                "thumb_url": image}}
        else:
            card = {"msgtype": "news", "news": {"articles": [
                {"title": TEXTS("image_card_title"), "description": "", "url": image,
                 "picurl": image}]}}
        await self.send_native(self.user_id(recipient_id), card)


class WeChatOAOutput(WeChatOutput):
    channel = "wechat_oa"


class WeChatMPOutput(WeChatOutput):
    channel = "wechat_mp"
    mini_program = True


def query_args(request: Request) -> Dict[str, str]:
    return {k: request.args.get(k, "") for k in request.args}


class WeChatInput(PlatformInput):
    """The webhook for one WeChat app; subclasses fix the channel name and variables."""

    channel = "wechat"
    output_class = WeChatOutput
    settings_class = WeChatSettings
    settings: WeChatSettings
    crypto: Optional[MessageCrypto] = None  # set in safe mode
    sender: Optional[WeChatSender] = None  # set once configured

    def connect(self) -> None:
        settings = self.settings
        if settings.aes_key:
            self.crypto = MessageCrypto(settings.token, settings.aes_key, settings.appid)
        self.sender = WeChatSender(settings.appid, settings.secret, settings.api_url,
                                   store=self.store)

    def output(self) -> WeChatOutput:
        assert self.sender is not None, "only called once configured"
        return self.output_class(self.sender, self.store)

    # --- checks (each returns an error text or None) ---

    def _check_request(self, args: Dict[str, str]) -> Optional[str]:
        token = self.settings.token
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if not (timestamp and nonce) or not check_signature(
            args.get("signature"), token, timestamp, nonce
        ):
            return "bad signature"
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return "bad timestamp"
        if age > self.settings.replay_window:
            return "stale timestamp"
        return None

    def _open(self, args: Dict[str, str], body: bytes) -> Dict[str, str]:
        """The message, decrypted in safe mode. Raises PermissionError for a forged or
        foreign message, ValueError/UnsafeXML for a malformed one.

        The mode is the configuration's, never the request's: with an AES key only the
        encrypted form is read (a plaintext body would be covered by no signature but
        the query's, which a captured request carries), without one only plaintext.
        """
        envelope = parse_body(body)
        encrypt_type = args.get("encrypt_type") or "raw"
        if self.crypto is None:
            if encrypt_type != "raw":
                raise PermissionError(f"encrypt_type {encrypt_type[:16]!r} but no AES key "
                                      "is configured (plain mode)")
            return envelope
        if encrypt_type != "aes":
            raise PermissionError(f"encrypt_type {encrypt_type[:16]!r} but an AES key is "
                                  "configured (safe mode only)")
        encrypted = envelope.get("Encrypt")
        if not encrypted:
            raise PermissionError("safe-mode request without Encrypt")
        if not check_signature(args.get("msg_signature"), self.settings.token,
                               args["timestamp"], args["nonce"], encrypted):
            raise PermissionError("bad msg_signature")
        try:
            return parse_body(self.crypto.decrypt(encrypted).encode("utf-8"))
        except WeChatCryptoError as error:
            raise PermissionError(str(error)) from error

    async def verify(self, request: Request) -> Delivery:
        body = request.body or b""
        if len(body) > MAX_BYTES:
            raise refuse(413, "body too large")
        args = query_args(request)
        problem = self._check_request(args)
        if problem:
            raise refuse(403, problem, log=f"refused a request: {problem}")
        try:
            message = self._open(args, body)
        except PermissionError as error:
            raise refuse(403, "forbidden", log=f"refused a message: {error}") from error
        except (UnsafeXML, ValueError, UnicodeDecodeError) as error:
            raise refuse(400, "malformed message", log=f"malformed message: {error}") from error
        openid = (message.get("FromUserName") or "").strip()
        if not openid:
            raise refuse(400, "malformed message: no FromUserName")
        if args.get("openid") and args["openid"] != openid:
            raise refuse(403, "sender does not match")
        # a timestamp is good from window before to window after it: 2 windows apart
        if not await nonce_unused(self.store, nonce_key(self.settings.appid, args["timestamp"],
                                                        args["nonce"]),
                                  fingerprint(message), 2 * self.settings.replay_window):
            raise refuse(403, "replayed signature",
                         log="refused a reused nonce carrying another message")
        platform_message = PlatformMessage(self.channel, openid, interpret(message),
                                           message.get("MsgId"), message.get("MsgType", ""))
        return Delivery(platform_message, dedup_key(self.channel, message),
                        response.text("success"))

    def add_routes(self, hook: Blueprint) -> None:
        """The console's URL check: a signed GET echoing `echostr`."""

        @hook.route("/webhook", methods=["GET"])
        async def url_check(request: Request) -> HTTPResponse:
            if self.missing:
                return self.unconfigured()
            args = query_args(request)
            problem = self._check_request(args)
            if problem:
                return response.text(problem, status=403)
            return response.text(args.get("echostr", ""))


class WeChatOfficialAccountInput(WeChatInput):
    channel = "wechat_oa"
    output_class = WeChatOAOutput
    variables = WECHAT_OA_VARIABLES


class WeChatMiniProgramInput(WeChatInput):
    channel = "wechat_mp"
    output_class = WeChatMPOutput
    variables = WECHAT_MP_VARIABLES
