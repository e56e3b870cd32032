"""From a conversation's events, one at a time, to the day's counters.

The stream brings a conversation's events one by one, in order; the review's capture
(bot/review/capture.py) reads them in bulk. Both count the same way: a user turn is a
user message and what the bot did until it listened again, counted once it is closed
(action_listen, or the next user message), with the kinds `own_kinds` gives it and the
matter the conversation was about after it. So the state a conversation needs between
two events is small and kept beside the counts (`ConversationState`, JSON):

- whether a person has the conversation (pause/resume) and its matter (`matter_code`);
- the open turn's events, reduced to what counting reads: the user message's intent
  ranking and model id (not its text: only whether it was a button payload), action
  names, and the slots `matter_code`, `unknown_matter` (set or not) and `rating_handoff`;
- the kinds of the last HANDOFF_WINDOW answered turns, for handoffs after a miss.

What is counted per (local day, model id, matter code or ''): `turns` (the bot's user
turns), `fallbacks`, `out_of_scope`, `unknown_matters`, `low_confidence`,
`handoffs_after_miss` (bot.review.store.COUNTERS) and `handoffs` (turns in which the
citizen asked for a person or the bot handed over). A matter's questions are the turns
counted under its code: the matter the turn answered about (the `matter_code` slot after
the turn, set by the matter actions from the `matter` entity, kept for follow-ups).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.handoff.records import local_day
from bot.review.capture import HANDOFF_WINDOW, HUMAN_INTENTS, TOP_INTENTS, own_kinds, turns_of
from bot.review.store import COUNTERS as REVIEW_COUNTERS

#: The counters of a (day, model id, matter) row.
COUNTERS: Tuple[str, ...] = (*REVIEW_COUNTERS, "handoffs")

CounterKey = Tuple[str, str, str]  # (day, model_id, matter_code or '')
Counters = Dict[CounterKey, Dict[str, int]]

#: Slots counting reads; everything else of a turn is left out of the state.
_SLOTS = frozenset({"matter_code", "unknown_matter", "rating_handoff"})
_STATE_EVENTS = frozenset({"pause", "resume", "session_started", "restart"})


def reduced(event: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """What counting keeps of an event (None: nothing). No citizen's text: a user
    message keeps only whether it was a button payload ("/…")."""
    kind = event.get("event")
    if kind == "user":
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        ranking = [{"name": r.get("name"), "confidence": r.get("confidence")}
                   for r in (parse.get("intent_ranking") or [])[:TOP_INTENTS]
                   if isinstance(r, Mapping)]
        return {
            "event": "user",
            "text": "/" if str(event.get("text") or "").startswith("/") else "",
            "timestamp": event.get("timestamp"),
            "parse_data": {"intent": {"name": intent.get("name"),
                                      "confidence": intent.get("confidence")},
                           "intent_ranking": ranking},
            "metadata": {"model_id": (event.get("metadata") or {}).get("model_id")},
        }
    if kind == "action":
        return {"event": "action", "name": event.get("name")}
    if kind == "slot" and event.get("name") in _SLOTS:
        value = event.get("value")
        if event.get("name") != "matter_code":  # a name the citizen used; an id
            value = "1" if value else None
        return {"event": "slot", "name": event.get("name"), "value": value}
    if kind in _STATE_EVENTS:
        return {"event": kind}
    return None


@dataclass
class ConversationState:
    """What counting remembers of a conversation between two events."""

    paused: bool = False
    matter: Optional[str] = None
    #: The open turn: {"paused", "matter"} as the user message found them and its
    #: reduced events (the user message first); None between turns.
    turn: Optional[Dict[str, Any]] = None
    #: The last HANDOFF_WINDOW answered turns: {"kinds": [...], "handed": bool}.
    recent: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "ConversationState":
        data = data or {}
        return cls(paused=bool(data.get("paused")), matter=data.get("matter"),
                   turn=data.get("turn"), recent=list(data.get("recent") or []))

    def as_dict(self) -> Dict[str, Any]:
        return {"paused": self.paused, "matter": self.matter, "turn": self.turn,
                "recent": self.recent}

    # -- events ---------------------------------------------------------------

    def apply(self, event: Mapping[str, Any], counters: Counters) -> None:
        """Takes the conversation's next event; a turn it closes is added to `counters`."""
        event = reduced(event)
        if event is None:
            return
        kind = event["event"]
        if kind == "user":
            self._close(counters)
            self.turn = {"paused": self.paused, "matter": self.matter, "events": [event]}
            return
        if self.turn is not None:
            self.turn["events"].append(event)
        if kind == "slot" and event["name"] == "matter_code":
            self.matter = event["value"] or None
        elif kind in ("session_started", "restart"):
            self.matter = None
        elif kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused = False
        elif kind == "action" and event["name"] == "action_listen":
            self._close(counters)

    def _close(self, counters: Counters) -> None:
        if self.turn is None:
            return
        opened, self.turn = self.turn, None
        before: List[Dict[str, Any]] = []
        if opened.get("paused"):
            before.append({"event": "pause"})
        if opened.get("matter"):
            before.append({"event": "slot", "name": "matter_code", "value": opened["matter"]})
        turns = turns_of(before + list(opened.get("events") or []))
        if not turns or not turns[0].answered:
            return  # a person had the conversation, or nothing answered the message
        turn = turns[0]
        kinds = own_kinds(turn)
        entry = {"kinds": kinds, "handed": False}
        window = [e for e in self.recent[-HANDOFF_WINDOW:] if e.get("kinds")]
        if kinds and turn.intent not in HUMAN_INTENTS:
            window.append(entry)  # the bot handed over after this very miss
        after_miss = False
        if turn.asks_for_person:
            fresh = [e for e in window if not e.get("handed")]
            after_miss = bool(fresh)
            for e in fresh:
                e["handed"] = True
        key = (local_day(float(turn.event.get("timestamp") or 0.0)),
               str((turn.event.get("metadata") or {}).get("model_id") or ""),
               turn.matter or "")
        counts = counters.setdefault(key, {name: 0 for name in COUNTERS})
        counts["turns"] += 1
        counts["fallbacks"] += "fallback" in kinds
        counts["out_of_scope"] += "out_of_scope" in kinds
        counts["unknown_matters"] += "unknown_matter" in kinds
        counts["low_confidence"] += "low_confidence" in kinds
        counts["handoffs_after_miss"] += after_miss
        counts["handoffs"] += turn.asks_for_person
        self.recent = (self.recent + [entry])[-HANDOFF_WINDOW:]


def add(into: Counters, more: Counters) -> None:
    for key, counts in more.items():
        entry = into.setdefault(key, {name: 0 for name in COUNTERS})
        for name in COUNTERS:
            entry[name] += int(counts.get(name, 0))
