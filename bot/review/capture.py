"""Capturing the turns the bot failed from Rasa's stored events, for supervisors' review.

Rasa's tracker store (rasa_ext/tracker_store.py) keeps every event of every conversation,
masked, in its `events` table. The web app reads the events added since its cursor every
few seconds (web/desk/app.py), outside any turn, so a citizen never waits for this;
`misses_in` decides which user messages failed and how, and `capture_new` stores them
with the day's counters and the cursor in one transaction (bot/review/store.py).

A user turn is a user message and what the bot did until it listened again. Turns
while a person had the conversation (paused) and messages nothing answered are not the
bot's turns: they count for nothing. The kinds of a failed turn (a message may have
several, one row each):

- fallback: NLU fell back (intent nlu_fallback) or action_fallback ran;
- out_of_scope: the intent was out_of_scope (the DomainGate's verdict included);
- unknown_matter: the turn set `unknown_matter` (a thing the catalog does not hold);
- low_confidence: neither of the first two, and the top intent's confidence was below
  LOW_CONFIDENCE or within AMBIGUITY of the second's (the bot guessed);
- handoff_after_miss: the citizen asked for a person (or action_handoff ran) in the
  failed turn itself or within HANDOFF_WINDOW user turns after it; the failed message is
  captured (the request for a person teaches nothing);
- poor_rating: a handoff was rated 1 or 2; the citizen's question that led to it (the
  last user message before action_handoff that was not the request for a person itself)
  is captured with the rating.

Button payloads ("/request_human") are turns but never captured messages: they are no
phrasing anyone typed.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot import fast_json
from bot.handoff.rating import score_from
from bot.handoff.records import local_day
from bot.privacy import mask_personal
from bot.review.store import COUNTERS, Counters, ReviewStore

logger = logging.getLogger(__name__)

#: Below this top-intent confidence a turn that did not fall back is a guess. The NLU
#: falls back below 0.7 (config.yml), so this catches the band just above it.
LOW_CONFIDENCE = 0.8
#: Top two intents this close: the bot could as well have chosen the other.
AMBIGUITY = 0.1
#: A request for a person this many user turns after a miss (or in its own turn) counts
#: as a handoff after that miss.
HANDOFF_WINDOW = 2
#: Earlier user texts kept with a miss, so a reviewer sees what came before.
CONTEXT_TEXTS = 3
#: Ranking entries kept.
TOP_INTENTS = 5
#: Events of a conversation read from before the cursor: the context, a miss a later
#: handoff refers to, the handoff a later rating refers to.
LOOKBACK_EVENTS = 300
#: PostgreSQL hands out event ids at insert and a transaction may commit after a later
#: one: a gap in the ids younger than this may still fill, so capture waits before it.
SETTLE_SECONDS = 60.0
#: Batches read per `capture_new` call while there is a backlog.
MAX_BATCHES = 20

#: Intents that ask for a person.
HUMAN_INTENTS = frozenset({"request_human", "complain"})
#: The kinds a turn has by itself (the other two need a later turn).
OWN_KINDS = ("fallback", "out_of_scope", "unknown_matter", "low_confidence")

# Rasa's events table, the columns read here (Rasa creates and writes it).
_events = sa.table("events", sa.column("id"), sa.column("sender_id"),
                   sa.column("timestamp"), sa.column("data"))


@dataclass
class Turn:
    """A user message and the events after it until the bot listened again."""

    event: Mapping[str, Any]
    #: A person had the conversation when the message came (the bot did not answer).
    paused: bool
    #: Earlier user texts of the conversation, masked, oldest first.
    context: List[str]
    #: The matter the conversation was about after this turn (None: no known matter).
    matter: Optional[str] = None
    events: List[Mapping[str, Any]] = field(default_factory=list)
    #: The bot listened again (action_listen) or the next message came.
    closed: bool = False

    @property
    def event_id(self) -> int:
        return int(self.event["_id"])

    @property
    def parse(self) -> Mapping[str, Any]:
        return self.event.get("parse_data") or {}

    @property
    def text(self) -> str:
        return self.event.get("text") or ""

    @property
    def intent(self) -> Optional[str]:
        return (self.parse.get("intent") or {}).get("name")

    @property
    def confidence(self) -> Optional[float]:
        value = (self.parse.get("intent") or {}).get("confidence")
        return float(value) if value is not None else None

    @property
    def ranking(self) -> List[Dict[str, Any]]:
        return [{"name": r.get("name"), "confidence": r.get("confidence")}
                for r in (self.parse.get("intent_ranking") or [])[:TOP_INTENTS]]

    @property
    def actions(self) -> List[str]:
        return [e.get("name") for e in self.events
                if e.get("event") == "action" and e.get("name") != "action_listen"]

    @property
    def answered(self) -> bool:
        """The bot's turn: not with a person, and an action ran for it."""
        return not self.paused and bool(self.actions)

    @property
    def payload(self) -> bool:
        return self.text.startswith("/")

    def slot_set(self, name: str) -> Tuple[bool, Any]:
        """(set in this turn, last value set)."""
        found, value = False, None
        for event in self.events:
            if event.get("event") == "slot" and event.get("name") == name:
                found, value = True, event.get("value")
        return found, value

    @property
    def unknown_matter(self) -> Optional[str]:
        found, value = self.slot_set("unknown_matter")
        return str(value) if found and value else None

    @property
    def asks_for_person(self) -> bool:
        return self.intent in HUMAN_INTENTS or "action_handoff" in self.actions

    @property
    def rating(self) -> Optional[int]:
        """The score of a rating the bot stored in this turn (action_rate_service cleared
        the pending rating), else None."""
        if "action_rate_service" not in self.actions:
            return None
        found, value = self.slot_set("rating_handoff")
        if not found or value is not None:
            return None
        return score_from(self.text, self.parse.get("entities") or [])


def own_kinds(turn: Turn) -> List[str]:
    """The ways this turn failed by itself (OWN_KINDS order); none for a turn the bot
    did not answer or a button payload."""
    if not turn.answered or turn.payload:
        return []
    kinds = []
    if turn.intent == "nlu_fallback" or "action_fallback" in turn.actions:
        kinds.append("fallback")
    if turn.intent == "out_of_scope":
        kinds.append("out_of_scope")
    if turn.unknown_matter:
        kinds.append("unknown_matter")
    if not kinds or kinds == ["unknown_matter"]:
        if _guessed(turn):
            kinds.append("low_confidence")
    return kinds


def _guessed(turn: Turn) -> bool:
    confidence = turn.confidence
    if confidence is None:
        return False
    if confidence < LOW_CONFIDENCE:
        return True
    ranking = [r.get("confidence") or 0.0 for r in turn.ranking]
    return len(ranking) >= 2 and ranking[0] - ranking[1] < AMBIGUITY


def turns_of(events: Iterable[Mapping[str, Any]]) -> List[Turn]:
    """A conversation's events (oldest first) cut into user turns, each knowing whether
    a person had the conversation, what came before and the matter after it."""
    turns: List[Turn] = []
    texts: List[str] = []
    matter: Optional[str] = None
    paused = False
    current: Optional[Turn] = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if current is not None:
                current.closed = True
            current = Turn(event, paused=paused, context=texts[-CONTEXT_TEXTS:], matter=matter)
            turns.append(current)
            texts.append(mask_personal(event.get("text") or ""))
            continue
        if kind == "slot" and event.get("name") == "matter_code":
            matter = event.get("value") or None
        elif kind in ("session_started", "restart"):
            matter = None
        elif kind == "pause":
            paused = True
        elif kind == "resume":
            paused = False
        if current is not None and not current.closed:
            current.events.append(event)
            current.matter = matter
            if kind == "action" and event.get("name") == "action_listen":
                current.closed = True
    return turns


def miss_row(turn: Turn, sender_id: str, kind: str, rating: Optional[int] = None) -> Dict[str, Any]:
    """What is kept of a failed message (bot/review/store.py masks the texts again)."""
    event = turn.event
    timestamp = float(event.get("timestamp") or 0.0)
    return {
        "event_id": turn.event_id,
        "kind": kind,
        "sender_id": sender_id,
        "timestamp": timestamp,
        "day": local_day(timestamp),
        "text": mask_personal(turn.text),
        "intent": turn.intent,
        "confidence": turn.confidence,
        "ranking": turn.ranking,
        "entities": [{"entity": e.get("entity"), "value": e.get("value"),
                      "start": e.get("start"), "end": e.get("end")}
                     for e in (turn.parse.get("entities") or []) if isinstance(e, Mapping)],
        "matter_code": turn.matter,
        "unknown_matter": turn.unknown_matter,
        "channel": event.get("input_channel"),
        "model_id": (event.get("metadata") or {}).get("model_id"),
        "context": list(turn.context),
        "rating": rating,
    }


def _counter_key(turn: Turn) -> Tuple[str, str, str]:
    event = turn.event
    return (local_day(float(event.get("timestamp") or 0.0)),
            str((event.get("metadata") or {}).get("model_id") or ""),
            turn.matter or "")


def _conversation_misses(
    sender_id: str, events: Sequence[Mapping[str, Any]], after_id: int, counters: Counters,
) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    answered: List[Tuple[Turn, List[str]]] = []  # the bot's turns and their own kinds
    handed: Set[int] = set()  # misses a handoff already followed
    question: Optional[Turn] = None  # what the latest handoff was about
    for turn in turns_of(events):
        if not turn.answered:
            continue
        kinds = own_kinds(turn)
        new = turn.event_id > after_id
        window = [(t, k) for t, k in answered[-HANDOFF_WINDOW:] if k]
        if kinds and turn.intent not in HUMAN_INTENTS:
            window.append((turn, kinds))  # the bot handed over after this very miss
        handoff_after_miss = False
        if turn.asks_for_person:
            fresh = [t for t, _ in window if t.event_id not in handed]
            handoff_after_miss = bool(fresh)
            handed.update(t.event_id for t in fresh)
            if new:
                rows.extend(miss_row(t, sender_id, "handoff_after_miss") for t in fresh)
            question = _question(turn, answered)
        if new:
            rows.extend(miss_row(turn, sender_id, kind) for kind in kinds)
            rating = turn.rating
            if rating is not None and rating <= 2 and question is not None:
                rows.append(miss_row(question, sender_id, "poor_rating", rating=rating))
            entry = counters.setdefault(_counter_key(turn), {name: 0 for name in COUNTERS})
            entry["turns"] += 1
            entry["fallbacks"] += "fallback" in kinds
            entry["out_of_scope"] += "out_of_scope" in kinds
            entry["unknown_matters"] += "unknown_matter" in kinds
            entry["low_confidence"] += "low_confidence" in kinds
            entry["handoffs_after_miss"] += handoff_after_miss
        answered.append((turn, kinds))
    return rows


def _question(handoff: Turn, before: Sequence[Tuple[Turn, List[str]]]) -> Optional[Turn]:
    """The message a handoff was about: its own (a complaint, a misunderstood question),
    else the latest earlier typed message that was not a request for a person."""
    for turn in [handoff, *(t for t, _ in reversed(before))]:
        if not turn.payload and turn.intent != "request_human" and turn.text.strip():
            return turn
    return None


def misses_in(
    events: Iterable[Mapping[str, Any]], after_id: int = 0,
) -> Tuple[List[Dict[str, Any]], Counters]:
    """The failed messages and the day's counters in stored Rasa events.

    `events` are event dicts as Rasa stores them, each with "_id" (the events-table id)
    and "_sender" (the conversation), in id order. Events with an id up to `after_id`
    are history already captured: they give context, the miss a later handoff refers to
    and the handoff a later rating refers to, but are neither captured nor counted
    again. Returns (rows for ReviewStore, counters per (day, model id, matter code))."""
    conversations: Dict[str, List[Mapping[str, Any]]] = {}
    for event in events:
        conversations.setdefault(str(event["_sender"]), []).append(event)
    rows: List[Dict[str, Any]] = []
    counters: Counters = {}
    for sender_id, conversation in conversations.items():
        rows.extend(_conversation_misses(sender_id, conversation, after_id, counters))
    return rows, counters


# -- reading Rasa's events ------------------------------------------------------------


def _event(row: Any) -> Dict[str, Any]:
    return {**fast_json.loads(row.data), "_id": int(row.id), "_sender": row.sender_id}


def settled_upto(rows: Sequence[Any], after_id: int, now: float) -> int:
    """The id up to which `rows` (id order) can be captured: before the first gap in the
    ids whose next event is younger than SETTLE_SECONDS (a transaction that took those
    ids may not have committed yet), else the last id."""
    last = after_id
    for row in rows:
        young = row.timestamp is not None and now - float(row.timestamp) < SETTLE_SECONDS
        if last and row.id != last + 1 and young:
            return last
        last = row.id
    return last


def complete_upto(events: Sequence[Mapping[str, Any]], after_id: int, upto: int) -> int:
    """In a full batch the newest turns may continue past it: the id before the first
    new turn that is not closed, unless that would capture nothing (then `upto`)."""
    conversations: Dict[str, List[Mapping[str, Any]]] = {}
    for event in events:
        conversations.setdefault(str(event["_sender"]), []).append(event)
    open_ids = [turn.event_id for conversation in conversations.values()
                for turn in turns_of(conversation)
                if turn.event_id > after_id and not turn.closed]
    if not open_ids or min(open_ids) - 1 <= after_id:
        return upto
    return min(upto, min(open_ids) - 1)


def read_new(engine: Engine, after_id: int, batch: int) -> Optional[List[Any]]:
    """Up to `batch` events after `after_id` (id order); None while Rasa has not
    created its events table."""
    query = (sa.select(_events.c.id, _events.c.sender_id, _events.c.timestamp, _events.c.data)
             .where(_events.c.id > after_id).order_by(_events.c.id).limit(batch))
    try:
        with engine.connect() as conn:
            return conn.execute(query).all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None  # no events table yet


def read_history(engine: Engine, senders: Iterable[str], after_id: int) -> List[Dict[str, Any]]:
    """The latest LOOKBACK_EVENTS events of each conversation up to `after_id`."""
    events: List[Dict[str, Any]] = []
    with engine.connect() as conn:
        for sender in sorted(set(senders)):
            rows = conn.execute(
                sa.select(_events.c.id, _events.c.sender_id, _events.c.data)
                .where(_events.c.sender_id == sender, _events.c.id <= after_id)
                .order_by(_events.c.id.desc()).limit(LOOKBACK_EVENTS)).all()
            events.extend(_event(row) for row in reversed(rows))
    return events


def capture_batch(tracker_engine: Engine, store: ReviewStore, batch: int = 2000,
                  now: Optional[float] = None) -> Tuple[int, bool]:
    """Captures one batch of events after the cursor: (rows added, more may be waiting)."""
    after = store.cursor()
    rows = read_new(tracker_engine, after, batch)
    if not rows:
        return 0, False
    full = len(rows) == batch
    upto = settled_upto(rows, after, time.time() if now is None else now)
    new = [_event(row) for row in rows if row.id <= upto]
    if full:
        upto = complete_upto(new, after, upto)
        new = [event for event in new if event["_id"] <= upto]
    if upto <= after:
        return 0, False
    history = read_history(tracker_engine, {e["_sender"] for e in new}, after)
    misses, counters = misses_in(sorted(history + new, key=lambda e: e["_id"]), after_id=after)
    added = store.advance(after, upto, misses, counters)
    if added is None:  # another web app instance captured these events
        return 0, False
    return added, full


def capture_new(tracker_engine: Engine, store: ReviewStore, batch: int = 2000) -> int:
    """Captures the events added since the cursor (several batches if there is a
    backlog, at most MAX_BATCHES); returns the misses stored. Blocking: the web app runs
    it in a thread."""
    total = 0
    for _ in range(MAX_BATCHES):
        added, more = capture_batch(tracker_engine, store, batch)
        total += added
        if not more:
            break
    return total
