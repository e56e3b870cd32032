"""Questions about the application just shown ("那现在要我做什么", "那大概还要多久").

After a status answer the check is over, and such a question names no matter, so NLU
reads it as a matter question (ask_procedure, ask_processing_time) or not at all, and the
matter dialogue asked "which matter?": the application was lost. These questions are
answered about the application instead, but only right after it was shown (the bot's
previous turn holds a message marked SHOWN) and only for the verified owner (the
dialogue fetches it again with the owner's id), so nothing is answered from memory that
the backend would not tell that person now.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from bot.dialogue.cues import STATUS_TIME, STATUS_TODO, holds
from bot.dialogue.turn import KIND_KEY
from bot.text import normalize_text

#: The marker of a message that showed one application (Message.kind).
SHOWN = "application_shown"
#: The key of the status flow slot holding the number shown.
SHOWN_KEY = "shown"
TODO, TIME = "todo", "time"
#: Longer than a follow-up question: a message this long is about something else.
MAX_FOLLOW_UP = 40


def topic_of(text: str) -> Optional[str]:
    """TODO or TIME when a short message asks what to do now or how long it takes."""
    if not text or len(text) > MAX_FOLLOW_UP:
        return None
    text = normalize_text(text)
    if holds(text, STATUS_TIME):
        return TIME
    if holds(text, STATUS_TODO):
        return TODO
    return None


def just_shown(events: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the bot's reply to the message before the latest one showed an
    application (one of its messages is marked SHOWN)."""
    seen_user = False
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and kind == "bot":
            if (event.get("metadata") or {}).get(KIND_KEY) == SHOWN:
                return True
    return False
