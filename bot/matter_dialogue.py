"""What the bot says to a matter question, given what NLU found and what came before.

Kept apart from Rasa so the decisions (which matter is meant, when to ask back, when to
offer candidates, when to admit it does not know) are plain functions with tests. The
actions only translate a `Turn` into dispatcher messages and slot events.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional

from bot.catalog.answers import TOPIC_BY_INTENT, TOPIC_LABELS, answer
from bot.catalog.schema import Matter
from bot.catalog.search import Hit, MatterIndex, Resolution

INTENT_BY_TOPIC = {topic: intent for intent, topic in TOPIC_BY_INTENT.items()}
#: Extractors in the order their matter spans are trusted.
EXTRACTOR_PRIORITY = {"CatalogEntityRuler": 0, "DIETClassifier": 1}
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
#: A match found in the whole message (no entity) must be at least a full-length alias
#: with one typo; weaker ones could be chance hits in follow-ups like "那要多久？".
WHOLE_TEXT_CONFIDENT = 0.7
#: DIET's less certain matter spans are more often stray words ("提供") than names.
MIN_ENTITY_CONFIDENCE = 0.8


@dataclass
class Turn:
    """The bot's reply and the slots to set."""

    messages: List[Dict[str, Any]] = field(default_factory=list)
    slots: Dict[str, Any] = field(default_factory=dict)

    def say(self, text: str, buttons: Optional[List[Dict[str, str]]] = None) -> None:
        message: Dict[str, Any] = {"text": text}
        if buttons:
            message["buttons"] = buttons
        self.messages.append(message)


def matter_mentions(entities: Iterable[Mapping[str, Any]]) -> List[str]:
    """The matter spans NLU found, most trusted first, without repeats."""
    found = [
        e
        for e in entities
        if e.get("entity") == "matter"
        and len(str(e.get("value") or "")) >= 2
        and float(e.get("confidence_entity") or 1.0) >= MIN_ENTITY_CONFIDENCE
    ]
    found.sort(key=lambda e: (EXTRACTOR_PRIORITY.get(e.get("extractor", ""), 9), -len(str(e["value"]))))
    out: List[str] = []
    for e in found:
        value = str(e["value"])
        if value not in out:
            out.append(value)
    return out


def first_entity(entities: Iterable[Mapping[str, Any]], kind: str) -> Optional[str]:
    return next((str(e["value"]) for e in entities if e.get("entity") == kind), None)


def understand_matter(
    index: MatterIndex, entities: List[Mapping[str, Any]], text: str
) -> Resolution:
    """Which matter the message names: from the entity spans, else from the whole text.

    The whole text is searched too because DIET may miss a typo'd or new name; its result
    is used only when confident, so "那要多久？" does not match some matter by accident.
    """
    resolutions = [index.resolve(mention) for mention in matter_mentions(entities)]
    for resolution in resolutions:
        if resolution.kind == "unique":
            return resolution
    whole = index.resolve(text)
    if whole.kind == "unique" and whole.hits[0].score >= WHOLE_TEXT_CONFIDENT:
        return whole
    for resolution in resolutions:
        if resolution.kind == "ambiguous":
            return resolution
    if resolutions:
        return Resolution("none", ())
    if whole.kind == "ambiguous" and whole.hits[0].score >= 0.6:
        return whole
    return Resolution("none", ())


def _not_found(name: str) -> str:
    return (
        f"抱歉，事项目录里没有找到「{name[:20]}」，我不想给您不准确的答复。"
        "您可以换个说法（比如事项的全称），或者转人工咨询。"
    )


def candidate_buttons(hits: Iterable[Hit], topic: Optional[str]) -> List[Dict[str, str]]:
    intent = INTENT_BY_TOPIC.get(topic or "", "inform")
    return [
        {"title": h.matter.name, "payload": f'/{intent}{{"matter": "{h.matter.name}"}}'}
        for h in hits
    ]


def topic_buttons(matter: Matter) -> List[Dict[str, str]]:
    return [
        {"title": label, "payload": f'/{INTENT_BY_TOPIC[topic]}{{"matter": "{matter.name}"}}'}
        for topic, label in TOPIC_LABELS.items()
    ]


def _answer_for(turn: Turn, matter: Matter, topic: str, district: Optional[str]) -> Turn:
    for text in answer(matter, topic, district):
        turn.say(text)
    turn.slots.update(matter_code=matter.code, pending_topic=None)
    return turn


def answer_question(
    index: MatterIndex,
    intent: str,
    entities: List[Mapping[str, Any]],
    text: str,
    context_code: Optional[str],
    district: Optional[str],
) -> Turn:
    """A reply to one of the ask_* intents."""
    topic = TOPIC_BY_INTENT[intent]
    district = first_entity(entities, "district") or district
    turn = Turn()
    resolution = understand_matter(index, entities, text)
    if resolution.kind == "unique":
        return _answer_for(turn, resolution.hits[0].matter, topic, district)
    if resolution.kind == "ambiguous":
        turn.say(
            "您问的是下面哪一项？",
            candidate_buttons(resolution.hits, topic),
        )
        turn.slots["pending_topic"] = topic
        return turn
    mentions = matter_mentions(entities)
    if mentions:
        turn.say(_not_found(mentions[0]), [HUMAN_BUTTON])
        return turn
    context = index.get(context_code) if context_code else None
    if context is not None:
        return _answer_for(turn, context, topic, district)
    turn.say("请问您想了解哪个事项呢？比如：居住证、社保卡补办、护照、公积金提取、开办企业。")
    turn.slots["pending_topic"] = topic
    return turn


def handle_inform(
    index: MatterIndex,
    entities: List[Mapping[str, Any]],
    text: str,
    pending_topic: Optional[str],
    district: Optional[str],
) -> Turn:
    """A bare value: a matter name answering our question, or a matter to talk about."""
    turn = Turn()
    resolution = understand_matter(index, entities, text)
    district = first_entity(entities, "district") or district
    if resolution.kind == "unique":
        matter = resolution.hits[0].matter
        if pending_topic in TOPIC_LABELS:
            return _answer_for(turn, matter, pending_topic, district)
        turn.say(f"关于「{matter.name}」，您想了解哪方面？", topic_buttons(matter))
        turn.slots["matter_code"] = matter.code
        return turn
    if resolution.kind == "ambiguous":
        turn.say("您指的是下面哪一项？", candidate_buttons(resolution.hits, pending_topic))
        return turn
    named = matter_mentions(entities) or ([text.strip()] if pending_topic in TOPIC_LABELS else [])
    if named and named[0]:
        # we asked which matter, and this is not one the catalog holds
        turn.say(_not_found(named[0]), [HUMAN_BUTTON])
        return turn
    if first_entity(entities, "district") and pending_topic is None:
        turn.say(f"好的，{district}。请问您想咨询哪个事项？")
        return turn
    turn.say("收到。请问您想办理或咨询哪个事项？也可以直接问，比如“居住证要什么材料”。")
    return turn


def fallback_streak(events: Iterable[Mapping[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood."""
    streak = 0
    for event in reversed(list(events)):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        streak += 1
    return streak
