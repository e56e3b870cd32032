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

Secrets come from the environment; credentials.yml names the variables (defaults
WECHAT_OA_TOKEN/APPID/SECRET/AES_KEY and WECHAT_MP_…). A connector without its token,
appid and secret still registers, so `make run` works, and answers 503 saying what to set.
The Rasa sender id is "<channel>:<openid>" (an openid belongs to one appid).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

from sanic import Blueprint, response
from sanic.request import Request

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from bot.kv import KeyValueStore, store_from_env
from connectors.common import options
from connectors.common import text as fit
from connectors.common.background import TurnRunner, first_delivery, nonce_unused
from connectors.common.turn import (
    Incoming,
    PlatformMessage,
    conversation_turn,
    submit_turn,
)
from connectors.common.safexml import MAX_BYTES, UnsafeXML, parse_flat
from connectors.wechat.api import WeChatSender
from connectors.wechat.crypto import MessageCrypto, WeChatCryptoError, check_signature

logger = logging.getLogger(__name__)

WELCOME = "/greet"
NOT_TEXT_REPLY = {
    "image": "收到您的图片。我暂时还看不懂图片，请用文字描述您的问题，比如“居住证要什么材料”。",
    "voice": "收到您的语音。我暂时还听不懂语音，请用文字描述您的问题，比如“社保卡怎么补办”。",
    "video": "收到您的视频。我暂时只能看懂文字，请用文字描述您的问题。",
    "shortvideo": "收到您的视频。我暂时只能看懂文字，请用文字描述您的问题。",
    "location": "收到您的位置。请用文字告诉我您想办的事项，我来告诉您去哪里办。",
    "link": "收到您的链接。我暂时只能看懂文字，请用文字描述您的问题。",
    "file": "收到您的文件。我暂时只能看懂文字，请用文字描述您的问题。",
    "miniprogrampage": "收到您分享的页面。请用文字描述您的问题，我来帮您解答。",
}
OTHER_REPLY = "我暂时只能看懂文字消息，请用文字描述您的问题。"
WELCOME_EVENTS = {"subscribe", "user_enter_tempsession"}
DEDUP_MIN_TTL = 600.0


@dataclass(frozen=True)
class WeChatConfig:
    token: str
    appid: str
    secret: str
    aes_key: str  # empty: plain mode only
    replay_window: float

    @classmethod
    def from_env(cls, names: Dict[str, str]) -> "WeChatConfig":
        value = lambda field: os.environ.get(names[field], "").strip()  # noqa: E731
        return cls(
            token=value("token"), appid=value("appid"), secret=value("secret"),
            aes_key=value("aes_key"),
            replay_window=float(os.environ.get("CHANNEL_REPLAY_WINDOW", "300")),
        )

    def missing(self, names: Dict[str, str]) -> List[str]:
        return [names[f] for f in ("token", "appid", "secret") if not getattr(self, f)]


def interpret(message: Dict[str, str]) -> Incoming:
    """Maps a parsed WeChat message to what the bot does with it (a pure function)."""
    kind = (message.get("MsgType") or "").lower()
    if kind == "text":
        content = fit.bounded(message.get("Content") or "")
        return Incoming(text=content) if content else Incoming()
    if kind == "voice" and fit.bounded(message.get("Recognition") or ""):
        return Incoming(text=fit.bounded(message["Recognition"]))  # WeChat's transcription
    if kind == "event":
        event = (message.get("Event") or "")[:64].lower()
        if event in WELCOME_EVENTS:
            return Incoming(text=WELCOME)
        if event == "click" and fit.bounded(message.get("EventKey") or ""):
            return Incoming(text=fit.bounded(message["EventKey"]))
        return Incoming()  # unsubscribe, VIEW, template-send reports …: nothing to say
    return Incoming(reply=NOT_TEXT_REPLY.get(kind, OTHER_REPLY))


def dedup_key(channel: str, message: Dict[str, str]) -> str:
    if message.get("MsgId"):
        return f"{channel}:msg:{message['MsgId']}"
    return f"{channel}:evt:{message.get('FromUserName', '')}:{message.get('CreateTime', '')}"


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


class WeChatOutput(OutputChannel):
    """Sends the bot's messages to one WeChat app's users through the send API.

    Buttons become numbered options (remembered for "回复1"), markdown links become what
    the client shows, images a news card (Official Account) or link card (Mini Program),
    long texts several messages of at most 2048 bytes.
    """

    channel = "wechat"
    mini_program = False

    def __init__(self, sender: WeChatSender, store: KeyValueStore) -> None:
        self.sender = sender
        self.store = store
        self.offered_options = False

    @classmethod
    def name(cls) -> str:
        return cls.channel

    def openid(self, recipient_id: str) -> str:
        prefix = f"{self.channel}:"
        return recipient_id[len(prefix):] if recipient_id.startswith(prefix) else recipient_id

    def _links(self, text: str) -> str:
        return fit.links_as_plain(text) if self.mini_program else fit.links_as_anchors(text)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        openid = self.openid(recipient_id)
        for piece in fit.split_bytes(self._links(text)):
            await self.sender.send(
                {"touser": openid, "msgtype": "text", "text": {"content": piece}}
            )

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        if options.choosable(buttons):
            self.offered_options = True
            await options.remember(self.store, self.channel, self.openid(recipient_id), buttons)
        await self.send_text_message(recipient_id, options.numbered_text(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        openid = self.openid(recipient_id)
        if self.mini_program:
            card = {"touser": openid, "msgtype": "link", "link": {
                "title": "查看图片", "description": "", "url": image, "thumb_url": image}}
        else:
            card = {"touser": openid, "msgtype": "news", "news": {"articles": [
                {"title": "查看图片", "description": "", "url": image, "picurl": image}]}}
        await self.sender.send(card)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """`{"wechat": {...}}` is sent as a native message body; `{"text": …}` as text."""
        if isinstance(json_message.get("wechat"), dict):
            await self.sender.send({"touser": self.openid(recipient_id), **json_message["wechat"]})
        elif json_message.get("text"):
            await self.send_text_message(recipient_id, str(json_message["text"]))
        else:
            logger.info("%s: custom message without a WeChat form not sent", self.channel)


class WeChatOAOutput(WeChatOutput):
    channel = "wechat_oa"


class WeChatMPOutput(WeChatOutput):
    channel = "wechat_mp"
    mini_program = True


class WeChatInput(InputChannel):
    """The webhook for one WeChat app; subclasses fix the channel name and env names."""

    channel = "wechat"
    output_class = WeChatOutput
    env_defaults: Dict[str, str] = {}

    @classmethod
    def name(cls) -> str:
        return cls.channel

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]],
                         store: Optional[KeyValueStore] = None) -> "WeChatInput":
        """credentials.yml may rename the variables (`token_env: MY_TOKEN`); values never
        come from the file itself. `store` defaults to bot.kv's (Redis or in-process)."""
        credentials = credentials or {}
        names = {f: str(credentials.get(f"{f}_env") or default)
                 for f, default in cls.env_defaults.items()}
        return cls(WeChatConfig.from_env(names), names, store)

    def __init__(self, config: WeChatConfig, names: Dict[str, str],
                 store: Optional[KeyValueStore] = None) -> None:
        self.config = config
        self.names = names
        self.missing = config.missing(names)
        self._store = store
        self.runner = TurnRunner(self.channel, max_running=int(os.environ.get(
            "CHANNEL_MAX_RUNNING_TURNS", "8")))
        self.crypto: Optional[MessageCrypto] = None
        self.sender: Optional[WeChatSender] = None
        if self.missing:
            logger.warning("%s not configured (set %s): its webhook answers 503",
                           self.channel, ", ".join(self.missing))
            return
        if config.aes_key:
            self.crypto = MessageCrypto(config.token, config.aes_key, config.appid)
        self.sender = WeChatSender(config.appid, config.secret, store=self.store)

    @property
    def store(self) -> KeyValueStore:
        if self._store is None:
            self._store = store_from_env()
        return self._store

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sender is None:
            return None
        return self.output_class(self.sender, self.store)

    # --- checks (each returns an error text or None) ---

    def _check_request(self, args: Dict[str, str]) -> Optional[str]:
        token = self.config.token
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if not (timestamp and nonce) or not check_signature(
            args.get("signature"), token, timestamp, nonce
        ):
            return "bad signature"
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return "bad timestamp"
        if age > self.config.replay_window:
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
        if not check_signature(args.get("msg_signature"), self.config.token,
                               args["timestamp"], args["nonce"], encrypted):
            raise PermissionError("bad msg_signature")
        try:
            return parse_body(self.crypto.decrypt(encrypted).encode("utf-8"))
        except WeChatCryptoError as error:
            raise PermissionError(str(error)) from error

    # --- the webhook ---

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"{self.channel}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request):
            return response.json({"status": "ok" if not self.missing else "not configured"})

        @hook.route("/webhook", methods=["GET"])
        async def url_check(request: Request):
            if self.missing:
                return self._unconfigured()
            args = {k: request.args.get(k, "") for k in request.args}
            problem = self._check_request(args)
            if problem:
                return response.text(problem, status=403)
            return response.text(args.get("echostr", ""))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            if self.missing:
                return self._unconfigured()
            return await self._receive(request, on_new_message)

        return hook

    def _unconfigured(self):
        return response.text(
            f"{self.channel} is not configured on this server: set {', '.join(self.missing)}",
            status=503,
        )

    async def _receive(self, request: Request, on_new_message) -> Any:
        body = request.body or b""
        if len(body) > MAX_BYTES:
            return response.text("body too large", status=413)
        args = {k: request.args.get(k, "") for k in request.args}
        problem = self._check_request(args)
        if problem:
            logger.warning("%s: refused a request: %s", self.channel, problem)
            return response.text(problem, status=403)
        try:
            message = self._open(args, body)
        except PermissionError as error:
            logger.warning("%s: refused a message: %s", self.channel, error)
            return response.text("forbidden", status=403)
        except (UnsafeXML, ValueError, UnicodeDecodeError) as error:
            logger.warning("%s: malformed message: %s", self.channel, error)
            return response.text("malformed message", status=400)
        openid = (message.get("FromUserName") or "").strip()
        if not openid:
            return response.text("malformed message: no FromUserName", status=400)
        if args.get("openid") and args["openid"] != openid:
            return response.text("sender does not match", status=403)
        # a timestamp is good from window before to window after it: 2 windows apart
        if not await nonce_unused(self.store, nonce_key(self.config.appid, args["timestamp"],
                                                        args["nonce"]),
                                  fingerprint(message), 2 * self.config.replay_window):
            logger.warning("%s: refused a reused nonce carrying another message", self.channel)
            return response.text("replayed signature", status=403)

        key = dedup_key(self.channel, message)
        ttl = max(DEDUP_MIN_TTL, 2 * self.config.replay_window)
        if not await first_delivery(self.store, key, ttl):
            return response.text("success")  # WeChat's retry of a message being handled
        incoming = interpret(message)
        if incoming.text is None and incoming.reply is None:
            return response.text("success")
        output = self.output_class(self.sender, self.store)
        platform_message = PlatformMessage(self.channel, openid, incoming,
                                           message.get("MsgId"), message.get("MsgType", ""))
        turn = conversation_turn(on_new_message, output, self.store, platform_message)
        if not await submit_turn(self.runner, self.store, key, output, platform_message, turn):
            return response.text("busy, retry", status=503)
        return response.text("success")


class WeChatOfficialAccountInput(WeChatInput):
    channel = "wechat_oa"
    output_class = WeChatOAOutput
    env_defaults = {"token": "WECHAT_OA_TOKEN", "appid": "WECHAT_OA_APPID",
                    "secret": "WECHAT_OA_SECRET", "aes_key": "WECHAT_OA_AES_KEY"}


class WeChatMiniProgramInput(WeChatInput):
    channel = "wechat_mp"
    output_class = WeChatMPOutput
    env_defaults = {"token": "WECHAT_MP_TOKEN", "appid": "WECHAT_MP_APPID",
                    "secret": "WECHAT_MP_SECRET", "aes_key": "WECHAT_MP_AES_KEY"}

