"""A conversation's history as the agent desk shows it (pure functions over events).

Citizen messages are masked (ID and phone numbers; SMS codes and an ID's last six blanked)
unless the agent reveals one, which is audited by the desk; bot and agent messages are
shown as sent.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

from bot.dialogue import texts
from bot.privacy import mask_personal

TEXTS = texts.load("handoff", {"paused": (), "resumed": ()})

#: Rasa's text for intents triggered through its API (our accept timeout), not the citizen's.
EXTERNAL_PREFIX = "EXTERNAL: "
#: What masking leaves in a text (138****5678, 510107********0515, ******).
MASK_MARK = "****"


def message_of(event: Mapping[str, Any]) -> Dict[str, Any] | None:
    """One event as a desk message, None for events the agent need not see."""
    kind = event.get("event")
    if kind == "user":
        text = event.get("text") or ""
        if text.startswith(EXTERNAL_PREFIX):
            return None
        masked = mask_personal(text)
        return {
            "id": event["_id"], "from": "citizen", "text": masked,
            # The tracker store keeps user texts masked already (their originals sealed
            # apart), so a mask in the stored text also means there is something to reveal.
            "masked": masked != text or MASK_MARK in masked, "at": event.get("timestamp"),
        }
    if kind == "bot":
        metadata = event.get("metadata") or {}
        buttons = [b.get("title", "") for b in (event.get("data") or {}).get("buttons") or []]
        if not event.get("text") and not buttons:
            return None  # an instruction to a channel (e.g. the widget's token rotation)
        return {
            "id": event["_id"], "from": "agent" if metadata.get("agent") else "bot",
            "agent": metadata.get("agent"), "text": event.get("text") or "",
            "buttons": buttons, "masked": False, "at": event.get("timestamp"),
        }
    if kind in ("pause", "resume"):
        return {
            "id": event["_id"], "from": "system", "masked": False, "at": event.get("timestamp"),
            "text": TEXTS["paused"] if kind == "pause" else TEXTS["resumed"],
        }
    return None


def messages(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    return [m for m in map(message_of, events) if m is not None]
