"""One platform message as a Rasa turn, run in the background (WeChat and Alipay alike).

Both platforms want an answer to their webhook at once and take the bot's replies through
their send API, so a connector verifies and de-duplicates the message, then hands the
turn to the TurnRunner here: a numbered option ("回复1") is resolved to what it stands
for, the options are forgotten once the bot answers without offering new ones, and a turn
that fails gets an apology instead of silence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Collection, Optional

from rasa.core.channels.channel import UserMessage

from bot.dialogue import texts
from bot.kv import KeyValueStore
from connectors.common import options
from connectors.common import text as fit
from connectors.common.background import TurnRunner, forget_delivery

#: The apology for a turn that failed (data/texts/channels.yml).
FAILURE_REPLY = texts.load("channels", {"turn_failed": ()})("turn_failed")
#: What following the account or entering the chat says to the bot.
WELCOME = "/greet"


@dataclass(frozen=True)
class Incoming:
    """What a platform message asks of the bot: a text for Rasa, a fixed reply, or nothing."""

    text: Optional[str] = None
    reply: Optional[str] = None

    @property
    def asks_nothing(self) -> bool:
        """An event such as unsubscribing: acknowledged, no turn."""
        return self.text is None and self.reply is None


def said(text: str) -> Incoming:
    """The citizen's text for Rasa, bounded (MAX_MESSAGE_CHARS); nothing when it is blank."""
    content = fit.bounded(text)
    return Incoming(text=content) if content else Incoming()


def event_incoming(event: str, welcome_events: Collection[str], click_value: str) -> Incoming:
    """A platform event: following or entering is greeted, a menu click says its key,
    anything else (unsubscribing, reports) asks nothing."""
    event = event[:64].lower()
    if event in welcome_events:
        return Incoming(text=WELCOME)
    if event == "click":
        return said(click_value)
    return Incoming()


@dataclass(frozen=True)
class PlatformMessage:
    channel: str  # the connector's name, e.g. wechat_oa
    user: str  # the platform's user id (openid, Alipay user id)
    incoming: Incoming
    message_id: Optional[str]
    msg_type: str

    @property
    def sender_id(self) -> str:
        return f"{self.channel}:{self.user}"


def conversation_turn(
    on_new_message: Callable[[UserMessage], Awaitable[Any]], output: Any,
    store: KeyValueStore, message: PlatformMessage,
) -> Callable[[], Awaitable[None]]:
    """The turn to run in the background; `output` is the platform's output channel
    (it records whether the bot offered options this turn)."""

    async def run() -> None:
        incoming = message.incoming
        if incoming.reply is not None:
            await output.send_text_message(message.sender_id, incoming.reply)
            return
        text = incoming.text or ""
        chosen = await options.resolve(store, message.channel, message.user, text)
        await on_new_message(UserMessage(
            chosen or text, output, message.sender_id, input_channel=message.channel,
            message_id=message.message_id or None,
            metadata={"channel": message.channel, "msg_type": message.msg_type,
                      "chosen_option": bool(chosen)},
        ))
        if not output.offered_options:
            await options.forget(store, message.channel, message.user)

    return run


async def submit_turn(
    runner: TurnRunner, store: KeyValueStore, dedup_key: str, output: Any,
    message: PlatformMessage, turn: Callable[[], Awaitable[None]],
) -> bool:
    """Queues the turn; False (and the message forgotten, so the platform's retry is
    handled) when too many turns are waiting."""

    async def apologise() -> None:
        await output.send_text_message(message.sender_id, FAILURE_REPLY)

    incoming = message.incoming
    if runner.submit(turn, f"{message.sender_id}: {incoming.text or incoming.reply}",
                     on_error=apologise, user=message.sender_id):
        return True
    await forget_delivery(store, dedup_key)
    return False
