"""While a citizen waits for a person: what they write is acknowledged, 取消 works by word,
a second 转人工 is answered with their place in line, and the widget's queue bar follows
the line.

The bot is paused while a handoff waits (Rasa stores the citizen's messages and runs no
action), so nobody answered them: "人呢" and "算了" got silence and nothing said whether
anyone would read the rest. The desk watches its queue anyway (the sweep loop of
web/desk/app.py); here it also reads each waiting conversation's new messages and answers
through Rasa's API, like an agent's message. What it has seen and said per handoff is kept
in the shared key-value store, so any desk process may take the next pass (the sweep
holds a lock while it runs).

Acknowledgements are sparing on channels that push to a phone (WeChat, Alipay): one
"已转给工作人员" per minute at most. The widget gets a structured update with every change
instead (custom payload `handoff_queue`), which it shows as a bar with the place in line
and a cancel button, and as a delivered mark under the citizen's messages.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Mapping, Optional

from bot.dialogue import texts
from bot.dialogue.cues import CANCEL_WAIT, HUMAN_INTENT, STILL_THERE, holds
from bot.text import normalize_text

#: A cancel word counts only in a short message ("算了不等了"), not inside a question
#: ("取消预约要带什么").
MAX_CANCEL_CHARS = 8
#: At most one acknowledgement per this many seconds on a pushing channel.
ACK_EVERY = 60.0
#: Channels where the widget's structured queue updates are shown.
STRUCTURED_CHANNELS = ("socketio",)
#: The custom payload type the widget reads (connectors/widget/widget.js).
QUEUE_PAYLOAD = "handoff_queue"
KEY = "handoff:waiting:{id}"
#: Kept a little longer than anyone waits (HANDOFF_MAX_WAIT), then forgotten.
KEY_TTL = 4 * 3600

TEXTS = texts.load("handoff", {
    "wait_ack": ("place",), "wait_place": ("place", "minutes"), "wait_cancelled": ("hours",),
    "place_next": (), "place_ahead": ("ahead",),
})

CANCEL, HUMAN, MESSAGE = "cancel", "human", "message"


@dataclass
class Watch:
    """What the desk has seen and said of one waiting conversation."""

    seen: int = 0  # the last event id read
    acked_at: float = 0.0  # when the last text acknowledgement went out
    place: int = 0  # the place in line last told to the widget

    @classmethod
    def of(cls, raw: Optional[str]) -> Optional["Watch"]:
        if not raw:
            return None
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError):
            return None

    def dumps(self) -> str:
        return json.dumps(asdict(self))


def waiting_key(handoff_id: int) -> str:
    return KEY.format(id=handoff_id)


def paused_at(events: List[Mapping[str, Any]], since: float) -> Optional[int]:
    """The id of the pause that began this handoff (the latest one, stored at `since` or
    later): the citizen's messages after it are for the agent. None while Rasa has not
    stored it yet (the action asks the desk before its pause is stored), or when an
    earlier handoff's pause is the latest."""
    for event in reversed(events):
        if event.get("event") == "pause":
            stamp = float(event.get("timestamp") or 0)
            return int(event.get("_id") or 0) if stamp >= since - 1 else None
    return None


def reading(event: Mapping[str, Any]) -> Optional[str]:
    """What a citizen's message while waiting asks for: CANCEL, HUMAN (人呢, 转人工
    again), or MESSAGE (for the agent); None for anything that is not a citizen's text."""
    if event.get("event") != "user":
        return None
    text = normalize_text(str(event.get("text") or ""))
    if not text or text.startswith("/") and not text.startswith(f"/{HUMAN_INTENT}"):
        return None  # a button's payload (a rating, a chip) is no message for the agent
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    if len(text) <= MAX_CANCEL_CHARS and holds(text, CANCEL_WAIT):
        return CANCEL
    if intent == HUMAN_INTENT or (len(text) <= MAX_CANCEL_CHARS and holds(text, STILL_THERE)):
        return HUMAN
    return MESSAGE


def place_words(place: int) -> str:
    return TEXTS["place_next"] if place <= 1 else TEXTS("place_ahead", ahead=place - 1)


def queue_payload(state: str, place: int = 0, minutes: int = 0,
                  delivered: int = 0) -> Dict[str, Any]:
    """The widget's queue update: state waiting | cancelled | accepted | ended; the place
    (1 = next), the expected minutes, and how many of the citizen's messages so far
    reached the agents' queue."""
    return {"type": QUEUE_PAYLOAD, "state": state, "place": place, "minutes": minutes,
            "delivered": delivered}


def custom_message(payload: Mapping[str, Any]) -> Dict[str, Any]:
    """A bot event carrying only a payload for the channel (Rasa sends `custom`)."""
    return {"event": "bot", "text": None, "data": {"custom": dict(payload)}}


def replies(readings: List[str], watch: Watch, now: float, channel: str, place: int,
            minutes: int) -> List[Dict[str, Any]]:
    """The bot events that answer the new messages of a waiting citizen (CANCEL is the
    caller's: it ends the wait), and updates `watch`. A second 转人工 is always answered;
    other messages are acknowledged in words at most once per ACK_EVERY; the widget gets
    its structured update whenever something changed."""
    events: List[Dict[str, Any]] = []
    messages = sum(1 for r in readings if r in (HUMAN, MESSAGE))
    if HUMAN in readings:
        events.append({"event": "bot", "text": TEXTS("wait_place", place=place_words(place),
                                                      minutes=minutes)})
        watch.acked_at = now
    elif MESSAGE in readings and now - watch.acked_at >= ACK_EVERY:
        events.append({"event": "bot", "text": TEXTS("wait_ack", place=place_words(place))})
        watch.acked_at = now
    if channel in STRUCTURED_CHANNELS and (messages or place != watch.place):
        events.append(custom_message(queue_payload("waiting", place, minutes, messages)))
    watch.place = place
    return events


def cancelled(channel: str, hours: str) -> List[Dict[str, Any]]:
    """取消 while waiting: the bot answers again, says so (with the hours people answer),
    and the widget's bar goes; the bot listens for the next message as a fresh turn."""
    events: List[Dict[str, Any]] = [
        {"event": "resume"}, {"event": "bot", "text": TEXTS("wait_cancelled", hours=hours)}]
    if channel in STRUCTURED_CHANNELS:
        events.append(custom_message(queue_payload("cancelled")))
    return [*events, {"event": "action", "name": "action_listen"}]
