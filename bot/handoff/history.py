"""A conversation's history as the agent desk shows it (pure functions over events).

Citizen messages are masked (ID and phone numbers; SMS codes and an ID's last six blanked)
unless the agent reveals one, which is audited by the desk; bot and agent messages are
shown as sent.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

from bot.dialogue import texts
from bot.privacy import mask_personal

TEXTS = texts.load("handoff", {"paused": (), "resumed": (), "pressed_unknown": ("what",)})

#: Rasa's text for intents triggered through its API (our accept timeout), not the citizen's.
EXTERNAL_PREFIX = "EXTERNAL: "
#: What masking leaves in a text (138****5678, 510107********0515, ******).
MASK_MARK = "****"


def _payload_words(payload: str) -> str:
    """A button payload nobody can map to its title, in words: `/ask_materials{"matter":
    "居住证"}` → "办事材料：居住证" (the intent's topic and the entities' values)."""
    from bot.handoff.summary import INTENT_TOPICS  # summary imports nothing from here

    body = payload[1:]
    name, _, entities = body.partition("{")
    values: List[str] = []
    if entities:
        try:
            parsed = json.loads("{" + entities)
            values = [str(v) for v in parsed.values() if v not in (None, "")] \
                if isinstance(parsed, dict) else []
        except ValueError:
            values = []
    topic = INTENT_TOPICS.get(name.strip(), "")
    words = "：".join(part for part in (topic, "、".join(values)) if part)
    return words or TEXTS("pressed_unknown", what=name.strip() or payload)


def button_title(payload: str, offered: Mapping[str, str]) -> Optional[str]:
    """What the citizen saw on the button they pressed: the title of the bot's button
    with this payload, else the payload in words; None for a typed text."""
    if not payload.startswith("/"):
        return offered.get(payload)  # a button whose payload is its own text
    return offered.get(payload) or _payload_words(payload)


def message_of(event: Mapping[str, Any],
               offered: Optional[Mapping[str, str]] = None) -> Dict[str, Any] | None:
    """One event as a desk message, None for events the agent need not see. `offered`
    maps the payloads of the buttons the bot showed last to their titles, so a press
    reads as the button, not as `/ask_materials{…}`."""
    kind = event.get("event")
    if kind == "user":
        text = event.get("text") or ""
        if text.startswith(EXTERNAL_PREFIX):
            return None
        pressed = button_title(text, offered or {}) if text.startswith("/") else None
        if pressed is not None:
            return {"id": event["_id"], "from": "citizen", "text": pressed, "pressed": True,
                    "masked": False, "at": event.get("timestamp")}
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


def offered_buttons(event: Mapping[str, Any]) -> Dict[str, str]:
    """payload → title of a bot message's buttons (payload-less buttons send their title)."""
    out: Dict[str, str] = {}
    for b in (event.get("data") or {}).get("buttons") or []:
        title = str(b.get("title") or "")
        out[str(b.get("payload") or title)] = title
    return out


def messages(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The desk's messages; a button press shows the title of the button pressed (the
    latest buttons the bot offered before it)."""
    out: List[Dict[str, Any]] = []
    offered: Dict[str, str] = {}
    for event in events:
        if event.get("event") == "bot" and (event.get("data") or {}).get("buttons"):
            offered = offered_buttons(event)
        message = message_of(event, offered)
        if message is not None:
            out.append(message)
    return out
