"""What a citizen leaves for a person when nobody can answer now: the content of a
complaint, the messages typed while waiting, and whether the order is a complaint.

Before, "我要投诉" alone became a complaint work order with "我要投诉" as its content, and
the content typed next was read as a wrong phone number and lost; and a citizen whose wait
ended was asked to type again what they had typed while waiting.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, List, Mapping

from bot.dialogue.cues import COMPLAINT_WORDS
from bot.handoff.waiting import MESSAGE as MESSAGE_FOR_AGENT
from bot.handoff.waiting import reading
from bot.text import normalize_text

#: Fewer characters than this, once the words of complaining are gone: no content.
MIN_CONTENT = 4
_FILLER = re.compile(r"[\s,，。.!！?？~、；;：:…]+")
COMPLAINT, MESSAGE = "complaint", "message"
#: How much of the waiting messages a work order keeps.
MAX_LEFT = 2000


def complaint_content(text: str) -> str:
    """The complaint itself ('窗口态度太差' of '我要投诉，窗口态度太差'); '' when the text only
    says that the citizen wants to complain."""
    rest = normalize_text(text or "")
    for word in COMPLAINT_WORDS:
        rest = rest.replace(word, " ")
    rest = _FILLER.sub("", rest)
    return text.strip() if len(rest) >= MIN_CONTENT else ""


def _since_latest_pause(events: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    events = list(events)
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "pause":
            return events[i + 1:]
    return []


def waited_messages(events: Iterable[Mapping[str, Any]]) -> str:
    """What the citizen typed for the agent while waiting for a person (after the latest
    pause), one message a line; button payloads, "人呢" and the like left out."""
    texts = [str(e.get("text") or "").strip() for e in _since_latest_pause(events)
             if reading(e) == MESSAGE_FOR_AGENT]
    return "\n".join(t for t in texts if t)[:MAX_LEFT]


def order_kind(events: Iterable[Mapping[str, Any]]) -> str:
    """COMPLAINT when the latest request for a person was a complaint (the intent of the
    latest user message that asked for one), else MESSAGE."""
    for event in reversed(list(events)):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == "complain":
            return COMPLAINT
        if intent == "request_human":
            return MESSAGE
    return MESSAGE
