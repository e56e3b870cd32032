"""The stream's statistics in the desk's database (DATABASE_URL, else var/bot.db as the
rest of the bot: bot.settings.Settings.database_url), with their read API.

Tables (their own MetaData, created on open):

- `stats_counts`: per (local day, model id, matter code or '') the user turns and how
  many fell back, were out of scope, named an unknown matter, were guessed, were handed
  over after a miss, and asked for a person (bot/stats/turns.py);
- `stats_seen`: the key of every event counted (sha-256 of sender, type, timestamp and
  body), unique: an event delivered again (a consumer that died between commit and ack,
  a broker that republished after a lost confirm) changes nothing. Pruned after
  KEEP_SECONDS;
- `stats_conversations`: each conversation's counting state between two events (no
  citizen's text: bot/stats/turns.py `reduced`).

An event's key, its conversation's state and the counts it closes are written in one
transaction (`apply`), so a crash leaves either all of them or none.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bot.db import create_tables, engine_for
from bot.handoff.records import local_day
from bot.review.store import ReviewStore, day_counts_table, measures_of
from bot.stats.turns import COUNTERS, ConversationState, Counters

logger = logging.getLogger(__name__)

#: Keys of counted events are kept this long: far longer than any redelivery (a message
#: is redelivered when its consumer's connection ends, within seconds of the event).
KEEP_SECONDS = 7 * 86400
#: A conversation silent this long loses its counting state (Rasa's sessions end long
#: before; its next message starts a new turn anyway).
IDLE_SECONDS = 7 * 86400

metadata = sa.MetaData()

counts_table = day_counts_table("stats_counts", metadata, COUNTERS)

seen_table = sa.Table(
    "stats_seen",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False, index=True),
)

conversations_table = sa.Table(
    "stats_conversations",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False, index=True),
)


def event_key(event: Mapping[str, Any]) -> str:
    """The event's identity: sender, type and timestamp, and the rest of its (masked)
    body, so two events of one turn created in the same microsecond stay apart."""
    identity = "\x1f".join([
        str(event.get("sender_id") or ""), str(event.get("event") or ""),
        repr(event.get("timestamp")),
        json.dumps(event, sort_keys=True, ensure_ascii=False, default=str),
    ])
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def _insert(conn: Connection, table: sa.Table):
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)


def _claim(conn: Connection, key: str, now: float) -> bool:
    """Records the key; False if it was already there (the event was counted)."""
    if conn.dialect.name in ("sqlite", "postgresql"):
        result = conn.execute(_insert(conn, seen_table).values(key=key, seen_at=now)
                              .on_conflict_do_nothing(index_elements=["key"]))
        return result.rowcount == 1
    if conn.execute(sa.select(seen_table.c.key).where(seen_table.c.key == key)).first():
        return False
    conn.execute(seen_table.insert().values(key=key, seen_at=now))
    return True


def _add_counts(conn: Connection, counters: Counters) -> None:
    for (day, model_id, matter), counts in counters.items():
        values = {"day": day, "model_id": model_id, "matter_code": matter,
                  **{name: int(counts.get(name, 0)) for name in COUNTERS}}
        if conn.dialect.name in ("sqlite", "postgresql"):
            insert = _insert(conn, counts_table).values(**values)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["day", "model_id", "matter_code"],
                set_={name: counts_table.c[name] + insert.excluded[name] for name in COUNTERS}))
            continue
        key = (counts_table.c.day == day, counts_table.c.model_id == model_id,
               counts_table.c.matter_code == matter)
        if not conn.execute(counts_table.update().where(*key).values(
                **{name: counts_table.c[name] + values[name] for name in COUNTERS})).rowcount:
            conn.execute(counts_table.insert().values(**values))


@dataclass
class StatsStore:
    """The stream's tables in one database; one instance per process (the engine pools)."""

    engine: Engine

    @classmethod
    def open(cls, url: str) -> "StatsStore":
        engine = engine_for(url)
        create_tables(metadata, engine)
        return cls(engine)

    # -- writing (the consumer) ------------------------------------------------

    def apply(self, events: Sequence[Mapping[str, Any]], now: Optional[float] = None) -> int:
        """Counts a batch of stream events (each Rasa's event dict with "sender_id", in
        the order they came) in one transaction; an event whose key is stored already is
        skipped. Returns how many were new."""
        now = time.time() if now is None else now
        new = 0
        with self.engine.begin() as conn:
            states: Dict[str, ConversationState] = {}
            counters: Counters = {}
            for event in events:
                if not _claim(conn, event_key(event), now):
                    continue
                new += 1
                sender = str(event.get("sender_id") or "")
                if sender not in states:
                    states[sender] = self._state(conn, sender)
                states[sender].apply(event, counters)
            for sender, state in states.items():
                self._save_state(conn, sender, state, now)
            _add_counts(conn, counters)
        return new

    @staticmethod
    def _state(conn: Connection, sender: str) -> ConversationState:
        raw = conn.execute(sa.select(conversations_table.c.state).where(
            conversations_table.c.sender_id == sender)).scalar()
        return ConversationState.from_dict(json.loads(raw) if raw else None)

    @staticmethod
    def _save_state(conn: Connection, sender: str, state: ConversationState, now: float) -> None:
        values = {"sender_id": sender, "state": json.dumps(state.as_dict(), ensure_ascii=False),
                  "updated_at": now}
        if conn.dialect.name in ("sqlite", "postgresql"):
            insert = _insert(conn, conversations_table).values(**values)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["sender_id"],
                set_={"state": insert.excluded.state, "updated_at": insert.excluded.updated_at}))
            return
        if not conn.execute(conversations_table.update().where(
                conversations_table.c.sender_id == sender).values(**values)).rowcount:
            conn.execute(conversations_table.insert().values(**values))

    def prune(self, now: Optional[float] = None) -> Tuple[int, int]:
        """Forgets keys older than KEEP_SECONDS and conversations idle IDLE_SECONDS;
        returns (keys, conversations) removed."""
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            keys = conn.execute(seen_table.delete().where(
                seen_table.c.seen_at < now - KEEP_SECONDS)).rowcount
            idle = conn.execute(conversations_table.delete().where(
                conversations_table.c.updated_at < now - IDLE_SECONDS)).rowcount
        return keys, idle

    def ping(self) -> None:
        """Raises unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    # -- reading (the desk) ----------------------------------------------------

    def rows(self, first_day: str, last_day: Optional[str] = None) -> List[Dict[str, Any]]:
        query = sa.select(counts_table).where(counts_table.c.day >= first_day)
        if last_day is not None:
            query = query.where(counts_table.c.day <= last_day)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def day(self, day: Optional[str] = None) -> Dict[str, Any]:
        """One local day (today by default): the turns, fallbacks, handoffs and the other
        counters, and the questions per matter code ({code: turns}, most asked first;
        turns about no known matter are not a matter's)."""
        day = day or local_day(time.time())
        totals = {name: 0 for name in COUNTERS}
        matters: Dict[str, int] = {}
        for row in self.rows(day, day):
            for name in COUNTERS:
                totals[name] += int(row[name] or 0)
            if row["matter_code"]:
                matters[row["matter_code"]] = matters.get(row["matter_code"], 0) + int(row["turns"])
        ordered = dict(sorted(matters.items(), key=lambda item: (-item[1], item[0])))
        return {"day": day, **totals, "matters": ordered}

    def measures(self, since: float) -> Dict[str, List[Dict[str, Any]]]:
        """The review's measures (bot.review.store.ReviewStore.measures, the same shape:
        "days", "matters", "models" with the counters, rates per turn and satisfaction)
        from the stream's counters; each entry also has `handoffs`."""
        return measures_of(self.rows(local_day(since)),
                           ReviewStore(self.engine)._ratings(since), COUNTERS)
