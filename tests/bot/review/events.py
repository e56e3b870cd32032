"""Hand-built Rasa events as the tracker store keeps them (rasa_ext/tracker_store.py),
for the review tests."""
from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa

from bot.db import engine_for

#: 2026-12-05 10:00 in Shanghai.
T0 = 1796436000.0


def user(text: str, intent: str, confidence: float = 0.97, second: float = 0.01,
         entities: Sequence[Dict[str, Any]] = (), channel: str = "rest",
         model_id: Optional[str] = "model-a") -> Dict[str, Any]:
    ranking = [{"name": intent, "confidence": confidence},
               {"name": "chitchat" if intent != "chitchat" else "greet", "confidence": second},
               {"name": "greet", "confidence": 0.005}, {"name": "thank", "confidence": 0.004},
               {"name": "affirm", "confidence": 0.003}, {"name": "deny", "confidence": 0.002}]
    return {"event": "user", "text": text, "input_channel": channel,
            "metadata": {"model_id": model_id, "assistant_id": "govbot-zh"} if model_id else {},
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence},
                           "intent_ranking": ranking, "entities": list(entities)}}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def bot(text: str) -> Dict[str, Any]:
    return {"event": "bot", "text": text}


LISTEN = action("action_listen")


def answered(text: str, intent: str, *events: Dict[str, Any],
             **kwargs: Any) -> List[Dict[str, Any]]:
    """A user message and the bot's turn: `events`, then action_listen."""
    return [user(text, intent, **kwargs), *events, LISTEN]


def stored(conversations: Dict[str, Iterable[Dict[str, Any]]], first_id: int = 1,
           t0: float = T0) -> List[Dict[str, Any]]:
    """The conversations' events with "_id", "_sender" and timestamps, in id order
    (conversation after conversation)."""
    out, next_id = [], first_id
    for sender, events in conversations.items():
        for event in events:
            out.append({**event, "timestamp": t0 + next_id, "_id": next_id, "_sender": sender})
            next_id += 1
    return out


def events_db(path) -> str:
    """A SQLite tracker database with Rasa's events table."""
    url = f"sqlite:///{path}"
    with engine_for(url).begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
            "timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"))
    return url


def insert(url: str, events: Iterable[Dict[str, Any]]) -> None:
    """Stores events as the tracker store does (their "_id", "_sender" as columns)."""
    with engine_for(url).begin() as conn:
        for event in events:
            data = {k: v for k, v in event.items() if not k.startswith("_")}
            conn.execute(sa.text(
                "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, "
                "action_name, data) VALUES (:id, :s, :t, :ts, :i, :a, :d)"),
                {"id": event["_id"], "s": event["_sender"], "t": event["event"],
                 "ts": event.get("timestamp"),
                 "i": ((event.get("parse_data") or {}).get("intent") or {}).get("name"),
                 "a": event.get("name"), "d": json.dumps(data, ensure_ascii=False)})
