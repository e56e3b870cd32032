"""What the agent sees in the queue before accepting: the bot's summary of the request.

Pure functions over the tracker's events (dicts, as the action server receives them), so
they are tested without a server. Numbers are masked (and SMS codes or an ID's last six
blanked): the queue is visible to every agent.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from bot.dialogue import texts
from bot.dialogue.texts import Table
from bot.privacy import mask_personal

#: What the desk shows and the citizen hears around a handoff (data/texts/handoff.yml).
TEXTS = texts.load("handoff", {
    "intent_topics": Table((
        "ask_materials", "ask_processing_time", "ask_fee", "ask_where_to_apply", "ask_online",
        "ask_eligibility", "ask_procedure", "check_application_status", "start_permit_intake",
        "complain", "request_human", "nlu_fallback", "out_of_scope", "inform",
    )),
    "channel_labels": Table(("socketio", "rest", "wechat_oa", "wechat_mp", "alipay_life",
                             "wechat", "alipay", "widget", "unknown")),
    "summary_said": ("texts",), "summary_quote": ("text",), "summary_empty": (),
    "unknown_channel": (), "summary_asked_matter": ("matter", "topics"),
    "summary_asked": ("topics",), "summary_about": ("matter",),
    "summary_not_understood": ("count",), "summary_asked_person": (),
    "summary_complaint": (),
})

#: Contract intents (../shared/spec/nlu-contract.md) as an agent reads them.
INTENT_TOPICS: Dict[str, str] = TEXTS.table("intent_topics")

#: Channel names of the input channels (credentials.yml, connectors/).
CHANNEL_LABELS: Dict[str, str] = TEXTS.table("channel_labels")

MAX_TEXTS = 4
MAX_CHARS = 120


def user_turns(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, str]]:
    """The citizen's messages: text (masked) and intent."""
    turns = []
    for event in events:
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        if text.startswith(("/", "EXTERNAL: ")):  # a button or the desk: the intent says it
            text = ""
        turns.append({"text": mask_personal(text)[:MAX_CHARS], "intent": intent})
    return turns


def topic_of(kind: str, turns: List[Dict[str, str]]) -> str:
    """The latest substantive intent, as an agent reads it."""
    if kind == "complaint":
        return INTENT_TOPICS["complain"]
    for turn in reversed(turns):
        if turn["intent"] not in ("request_human", "nlu_fallback", "", "affirm", "deny"):
            return INTENT_TOPICS.get(turn["intent"], turn["intent"])
    return INTENT_TOPICS["request_human"]


#: Intents that say nothing about what the citizen wants (not named in a summary).
NOT_A_TOPIC = frozenset(("request_human", "nlu_fallback", "", "affirm", "deny", "greet",
                         "goodbye", "thank", "inform", "out_of_scope", "complain"))


def summarize(
    kind: str, events: Iterable[Mapping[str, Any]], matter_name: Optional[str] = None
) -> Dict[str, str]:
    """{"topic", "summary"}: what the citizen wanted, in plain sentences an agent reads at
    a glance ("市民问过「上海市居住证申领」的办事材料、办理时限。机器人有1句没听懂。…"),
    numbers masked; no intent names and no "未识别"."""
    turns = user_turns(events)
    said = [t["text"] for t in turns if t["text"]][-MAX_TEXTS:]
    sentences = []
    if kind == "complaint":
        sentences.append(TEXTS["summary_complaint"])
    topics = list(dict.fromkeys(
        INTENT_TOPICS[t["intent"]] for t in turns
        if t["intent"] not in NOT_A_TOPIC and t["intent"] in INTENT_TOPICS))[-MAX_TEXTS:]
    if topics and matter_name:
        sentences.append(TEXTS("summary_asked_matter", matter=matter_name, topics="、".join(topics)))
    elif topics:
        sentences.append(TEXTS("summary_asked", topics="、".join(topics)))
    elif matter_name:
        sentences.append(TEXTS("summary_about", matter=matter_name))
    missed = sum(1 for t in turns if t["intent"] == "nlu_fallback")
    if missed:
        sentences.append(TEXTS("summary_not_understood", count=missed))
    if said:
        quoted = " ".join(TEXTS("summary_quote", text=t) for t in said)
        sentences.append(TEXTS("summary_said", texts=quoted))
    elif any(t["intent"] == "request_human" for t in turns):
        sentences.append(TEXTS["summary_asked_person"])
    return {"topic": topic_of(kind, turns), "summary": "".join(sentences) or TEXTS("summary_empty")}


def channel_label(channel: Optional[str]) -> str:
    """A channel in words (网页、微信公众号、网页接口 …), never its internal name."""
    return CHANNEL_LABELS.get(channel or "unknown") or TEXTS("unknown_channel")
