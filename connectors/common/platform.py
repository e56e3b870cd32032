"""The shape the WeChat and Alipay connectors share, as Rasa input and output channels.

A platform POSTs each message to our webhook, wants an answer within seconds (WeChat
sends the message again after 5 s) and takes the bot's replies through its send API. So
every platform connector, whatever its signatures look like:

1. registers even when its variables are unset (so `make run` works) and then answers
   503 naming the variables to set;
2. verifies the request and parses it within bounds (the subclass's `verify`): anything
   forged, stale, foreign or malformed is answered at once and runs no turn;
3. de-duplicates by the platform's message key in the shared store, for twice the replay
   window (the platform retries, and a captured request sent again must not run again);
4. acknowledges at once in the platform's form, and runs the turn in the background
   (TurnRunner), the replies going out through the platform's output channel; when too
   many turns wait it answers 503 instead, so the platform retries later.

Subclasses (connectors/wechat/channel.py, connectors/alipay/channel.py) supply what is
their platform's: `verify` (checks, parsing, the message, its key and acknowledgement),
`connect` (their API clients), `output` (their output channel) and, for WeChat, an extra
route. Rasa's own connectors (rasa/core/channels/) have the same outline: `name`,
`from_credentials`, `blueprint`, `get_output_channel`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Dict, List, Mapping, Optional, Type

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from bot.kv import KeyValueStore, store_from_env
from connectors.common import options
from connectors.common import text as fit
from connectors.common.background import TurnRunner, first_delivery
from connectors.common.settings import PlatformSettings
from connectors.common.turn import PlatformMessage, conversation_turn, submit_turn

logger = logging.getLogger(__name__)

#: A delivery is remembered at least this long (seconds), whatever the replay window.
DEDUP_MIN_TTL = 600.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class Answered(Exception):
    """The request is answered with `answer` and runs no turn: a refusal (4xx), or a
    request the check answers itself (Alipay's gateway check). `log`, when given, is
    written to the log as a warning (what was wrong, for the operator)."""

    def __init__(self, answer: HTTPResponse, log: str = "") -> None:
        super().__init__(log or answer.status)
        self.answer = answer
        self.log = log


class NotConfigured(Exception):
    """Settings that are present but unusable; the text names what to set."""


def refuse(status: int, text: str, log: str = "") -> Answered:
    """The refusal to raise: `text` with `status` to the platform, `log` to the operator."""
    return Answered(response.text(text, status=status), log)


def delivery_key(channel: str, message_id: Optional[str], sender: str, created: str) -> str:
    """The key one message is de-duplicated by: its id, or (events have none) its sender
    and creation time."""
    if message_id:
        return f"{channel}:msg:{message_id}"
    return f"{channel}:evt:{sender}:{created}"


def strip_channel(channel: str, recipient_id: str) -> str:
    """The platform's user id in a Rasa sender id "<channel>:<user id>"."""
    prefix = f"{channel}:"
    return recipient_id[len(prefix):] if recipient_id.startswith(prefix) else recipient_id


@dataclass(frozen=True)
class Delivery:
    """A request that passed every check: the message, its de-duplication key and the
    platform's acknowledgement of it."""

    message: PlatformMessage
    dedup_key: str
    ack: HTTPResponse


class PlatformOutput(OutputChannel):
    """Sends the bot's messages to one platform's users through its send API.

    Buttons become numbered options (remembered for "回复1"); `{"<native_key>": {...}}`
    custom messages go out as the platform's own message body. Subclasses send texts,
    images and native bodies.
    """

    channel: ClassVar[str] = ""
    #: The custom-JSON key whose value is sent as the platform's own message body.
    native_key: ClassVar[str] = ""

    def __init__(self, store: KeyValueStore) -> None:
        self.store = store
        self.offered_options = False  # read by the turn: options to forget or keep

    @classmethod
    def name(cls) -> str:
        return cls.channel

    def user_id(self, recipient_id: str) -> str:
        return strip_channel(self.channel, recipient_id)

    async def send_native(self, user_id: str, body: Dict[str, Any]) -> None:
        """Sends one message body in the platform's own form to the user."""
        raise NotImplementedError

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """A matter card as text (connectors/common/text.py card_as_text): the answer, its
        links, the hotline, and its follow-up questions as numbered options; the card's
        message is sent once, not as its text and then its payload."""
        shown = fit.card_as_text(message, fit.web_base_url())
        if shown is None:
            await super().send_response(recipient_id, message)
            return
        text, buttons = shown
        await self.send_text_with_buttons(recipient_id, text, buttons)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        if options.choosable(buttons):
            self.offered_options = True
            await options.remember(self.store, self.channel, self.user_id(recipient_id), buttons)
        await self.send_text_message(recipient_id, options.numbered_text(text, buttons))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """The platform's native body is sent as it is; `{"text": …}` as text."""
        native = json_message.get(self.native_key)
        if isinstance(native, dict):
            await self.send_native(self.user_id(recipient_id), native)
        elif json_message.get("text"):
            await self.send_text_message(recipient_id, str(json_message["text"]))
        else:
            logger.info("%s: custom message without a %s form not sent", self.channel,
                        self.native_key)


class PlatformInput(InputChannel):
    """A platform's webhook: configured-or-503, verify, de-duplicate, acknowledge, and
    the turn in the background (see the module's docstring for why)."""

    channel: ClassVar[str] = ""
    settings_class: ClassVar[Type[PlatformSettings]] = PlatformSettings
    #: field → the environment variable it is read from unless credentials.yml renames it
    variables: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def name(cls) -> str:
        return cls.channel

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]],
                         store: Optional[KeyValueStore] = None) -> "PlatformInput":
        """credentials.yml may rename the variables (`token_env: MY_TOKEN`); values never
        come from the file itself. `store` defaults to bot.kv's (Redis or in-process)."""
        return cls(cls.settings_class.from_credentials(credentials, cls.variables), store)

    def __init__(self, settings: PlatformSettings,
                 store: Optional[KeyValueStore] = None) -> None:
        self.settings = settings
        self._store = store
        self.runner = TurnRunner(self.channel, max_running=settings.max_running_turns)
        self.missing: List[str] = settings.missing
        if not self.missing:
            try:
                self.connect()
            except NotConfigured as error:
                self.missing = [str(error)]
        if self.missing:
            logger.warning("%s not configured (set %s): its webhook answers 503",
                           self.channel, ", ".join(self.missing))

    @property
    def store(self) -> KeyValueStore:
        if self._store is None:
            self._store = store_from_env()
        return self._store

    # --- the platform's hooks ---

    def connect(self) -> None:
        """Builds the platform's clients from complete settings; raises NotConfigured
        when the settings cannot be used (an unreadable key)."""

    def output(self) -> PlatformOutput:
        """The platform's output channel (only called once configured)."""
        raise NotImplementedError

    async def verify(self, request: Request) -> Delivery:
        """The request's message once every check passed; raises Answered otherwise."""
        raise NotImplementedError

    def add_routes(self, hook: Blueprint) -> None:
        """Routes of the platform's own besides the health check and the webhook."""

    # --- the shared flow ---

    def get_output_channel(self) -> Optional[OutputChannel]:
        return None if self.missing else self.output()

    def unconfigured(self) -> HTTPResponse:
        return response.text(
            f"{self.channel} is not configured on this server: set {', '.join(self.missing)}",
            status=503,
        )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint(f"{self.channel}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if not self.missing else "not configured"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.missing:
                return self.unconfigured()
            return await self.receive(request, on_new_message)

        self.add_routes(hook)
        return hook

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        try:
            delivery = await self.verify(request)
        except Answered as answered:
            if answered.log:
                logger.warning("%s: %s", self.channel, answered.log)
            return answered.answer
        return await self.deliver(delivery, on_new_message)

    async def deliver(self, delivery: Delivery, on_new_message: OnNewMessage) -> HTTPResponse:
        """Acknowledges a verified message, its turn queued unless it was delivered before
        (the platform's retry, or a replay) or asks nothing of the bot."""
        ttl = max(DEDUP_MIN_TTL, 2 * self.settings.replay_window)
        if not await first_delivery(self.store, delivery.dedup_key, ttl):
            return delivery.ack
        message = delivery.message
        if message.incoming.asks_nothing:
            return delivery.ack
        output = self.output()
        turn = conversation_turn(on_new_message, output, self.store, message)
        if not await submit_turn(self.runner, self.store, delivery.dedup_key, output,
                                 message, turn):
            return response.text("busy, retry", status=503)
        return delivery.ack
