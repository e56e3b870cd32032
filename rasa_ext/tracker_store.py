"""A SQL tracker store that loads only a conversation's recent turns.

Rasa's SQLTrackerStore loads and replays every event of the session on each message, sends
them all to the action server, and featurizes them all for each prediction, so a long
conversation gets slower with every turn. Our policies look back only a few turns, so this
store loads the last `window_turns` turns plus a snapshot of the slots and active loop as
they were just before them. Every event is still stored (the full history stays available
through `retrieve_full_tracker` and the events table), and the snapshot is written in the
same transaction as the turn's events, so several Rasa processes (with the Redis lock
store) see one consistent conversation.

Nothing personal is kept in clear: user texts are stored masked (ID and mobile numbers
masked, six-character secrets blanked), so are the slots filled with what the citizen
typed (MASKED_SLOTS), and the originals of masked texts are sealed (encrypted with
SEAL_KEY, codes and last-six blanked) for the desk's audited reveal only.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, ConversationPaused, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot import fast_json
from bot.conversations import events_view
from bot.db import create_tables
from bot.conversations import metadata as _metadata
from bot.conversations import sealed_texts as _sealed
from bot.privacy import SEALED_PREFIX, blank_six, mask_personal, sealer

logger = logging.getLogger(__name__)

_snapshots = sa.Table(
    "tracker_windows",
    _metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("start_event_id", sa.Integer, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
)

#: Attribute on a retrieved tracker: the DB id of each of its events (None for the
#: snapshot's synthetic prefix and for events saved since), so `save` knows exactly
#: which events are new and where a window can start.
_IDS = "_govbot_event_ids"


#: Attribute on a tracker: it holds the conversation from its very first event.
_WHOLE = "_govbot_whole_conversation"


#: Slots filled with what the citizen typed (from_text, domain.yml), stored masked. No
#: later turn needs their full value: the callback number is sent to the desk in the
#: turn it is given, and a work order's message when it is given (actions/handoff.py).
MASKED_SLOTS = frozenset({"callback_phone", "work_order_message"})


def mask_stored_text(text: str) -> str:
    """ID and mobile numbers masked, and six-character secrets blanked (bot.privacy)."""
    return mask_personal(text)


def _slot_at_rest(name: str, value: Any) -> Any:
    return mask_stored_text(value) if name in MASKED_SLOTS and isinstance(value, str) else value


def masked_copy(data: Dict[str, Any]) -> Dict[str, Any]:
    """An event as stored. A user event: ID and mobile numbers (and an ID's last six or
    an SMS code) in its text, parse data and entity values masked; a SlotSet of
    MASKED_SLOTS: its value masked; every other event as it is (no regex runs for it).
    The running turn keeps the real values; only the stored copy (what later turns,
    exports and analysts read) is masked."""
    kind = data.get("event")
    if kind == "slot":
        if data.get("name") not in MASKED_SLOTS:
            return data
        return {**data, "value": _slot_at_rest(data["name"], data.get("value"))}
    if kind != "user":
        return data
    data = dict(data)
    if isinstance(data.get("text"), str):
        data["text"] = mask_stored_text(data["text"])
    parse = data.get("parse_data")
    if isinstance(parse, dict):
        parse = dict(parse)
        if isinstance(parse.get("text"), str):
            parse["text"] = mask_stored_text(parse["text"])
        if isinstance(parse.get("entities"), list):
            parse["entities"] = [
                {**e, "value": mask_stored_text(e["value"])}
                if isinstance(e, dict) and isinstance(e.get("value"), str) else e
                for e in parse["entities"]
            ]
        data["parse_data"] = parse
    return data


def state_prefix(tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
    """Events that recreate a tracker's slots, active loop and pause on an empty tracker.

    A form or a handoff to a person outlives the window of recent turns, so its state
    must travel in the prefix.
    """
    prefix: List[Event] = [
        SlotSet(name, _slot_at_rest(name, slot.value))
        for name, slot in tracker.slots.items()
        if slot.value != slot.initial_value
    ]
    loop = tracker.active_loop_name
    if loop:
        prefix.append(ActiveLoop(loop))
    if tracker.is_paused():
        prefix.append(ConversationPaused())
    return [event.as_dict() for event in prefix]


def window_start(events: List[Event], window_turns: int) -> Optional[int]:
    """Index of the `window_turns`-th latest action_listen, None if there are fewer."""
    listens = [
        i
        for i, e in enumerate(events)
        if e.type_name == "action" and getattr(e, "action_name", None) == ACTION_LISTEN_NAME
    ]
    if len(listens) < window_turns:
        return None
    return listens[-window_turns]


class _LockedMetadata:
    """Rasa's table metadata whose `create_all` holds bot.db's schema lock. Rasa's
    SQLTrackerStore creates its `events` table itself, unlocked: two instances starting at
    once on a fresh PostgreSQL database raced there (seen in CI), and the loser logged a
    UniqueViolation and waited 5 s before trying again."""

    def __init__(self, metadata: sa.MetaData) -> None:
        self._metadata = metadata

    def create_all(self, engine: sa.engine.Engine, **kwargs: Any) -> None:
        create_tables(self._metadata, engine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._metadata, name)


class _LockedBase:
    """What SQLTrackerStore.__init__ reads as `self.Base` (only for `.metadata`)."""

    metadata = _LockedMetadata(SQLTrackerStore.Base.metadata)


class WindowedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with bounded per-message work (see module docstring)."""

    Base = _LockedBase  # type: ignore[assignment]  # Rasa's create_all, under the lock

    def __init__(self, domain: Optional[Domain] = None, window_turns: int = 5, **kwargs: Any) -> None:
        super().__init__(domain, **kwargs)
        self.window_turns = max(2, int(window_turns))
        if self.engine.dialect.name == "sqlite":
            self._tune_sqlite()
        create_tables(_metadata, self.engine)
        self._sealer = sealer()  # refuses the start in production without SEAL_KEY
        resealed = reseal_clear_texts(self.engine)
        if resealed:
            logger.info("tracker store: sealed %d texts an earlier version kept in clear", resealed)
        self._prepare_statements()

    def _tune_sqlite(self) -> None:
        """One pooled connection instead of a new one per query (SQLAlchemy 1.4 gives a
        file database a NullPool), WAL so readers never wait for a writer, and normal
        sync so a turn is not held up by an fsync per commit."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            pool_size=1,
            max_overflow=4,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @sa.event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    # -- reading ----------------------------------------------------------------

    def _prepare_statements(self) -> None:
        """The statements of every turn, built once with bound parameters: building a
        statement and computing its cache key in SQLAlchemy cost as much as running it
        on SQLite, and the turn's queries go through a Core connection, not an ORM
        session."""
        events = self.SQLEvent.__table__
        self._select_snapshot = sa.select(_snapshots.c.start_event_id, _snapshots.c.prefix).where(
            _snapshots.c.sender_id == sa.bindparam("b_sender"))
        self._select_window = (
            sa.select(events.c.id, events.c.data)
            .where(events.c.sender_id == sa.bindparam("b_sender"),
                   events.c.id >= sa.bindparam("b_start"))
            .order_by(events.c.id)
        )
        self._insert_events = events.insert()
        self._insert_sealed = _sealed.insert()
        self._update_snapshot = _snapshots.update().where(
            _snapshots.c.sender_id == sa.bindparam("b_sender")
        ).values(start_event_id=sa.bindparam("b_start"), prefix=sa.bindparam("b_prefix"))
        self._insert_snapshot = _snapshots.insert().values(
            sender_id=sa.bindparam("b_sender"), start_event_id=sa.bindparam("b_start"),
            prefix=sa.bindparam("b_prefix"))

    def _rows_of_session(self, sender_id: Text):
        """No window yet (a conversation stored before this store, or none at all):
        Rasa's query for the current session."""
        with self.session_scope() as session:
            return (
                self._event_query(session, sender_id, False)
                .with_entities(self.SQLEvent.id, self.SQLEvent.data)
                .all()
            )

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        # Two reads without a transaction around them: the snapshot and a turn's events
        # are committed together, and rows from a newer commit after an older snapshot
        # only widen the window; the lock store keeps writers of one conversation apart.
        with self.engine.connect() as conn:
            snapshot = conn.execute(self._select_snapshot, {"b_sender": sender_id}).first()
            rows = None if snapshot is None else conn.execute(self._select_window, {
                "b_sender": sender_id, "b_start": snapshot.start_event_id}).all()
        if snapshot is None:
            rows = self._rows_of_session(sender_id)
        if not rows or self.domain is None:
            return None
        start_id = snapshot.start_event_id if snapshot is not None else None
        prefix = fast_json.loads(snapshot.prefix) if snapshot is not None else []
        events = prefix + [fast_json.loads(row.data) for row in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, _IDS, [None] * len(prefix) + [row.id for row in rows])
        setattr(tracker, _WHOLE, start_id == 0)
        return tracker

    # -- writing ----------------------------------------------------------------

    def _new_events(self, tracker: DialogueStateTracker) -> List[Event]:
        ids = getattr(tracker, _IDS, None)
        if ids is not None:
            return list(tracker.events)[len(ids):]
        # A tracker we did not load (a new conversation): Rasa's own count applies.
        with self.session_scope() as session:
            return list(self._additional_events(session, tracker))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        new_events = self._new_events(tracker)
        rows, sealed = [], []
        for event in new_events:
            original = event.as_dict()
            data = masked_copy(original)
            if data.get("text") != original.get("text"):  # a user text was masked
                kept = blank_six(original["text"])
                if kept != data["text"]:  # a number to reveal, not only a code
                    sealed.append({"sender_id": tracker.sender_id,
                                   "text": self._sealer.seal(kept),
                                   "timestamp": original.get("timestamp") or 0.0})
            rows.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": fast_json.dumps(data),
                }
            )
        ids = list(getattr(tracker, _IDS, None) or [])
        if len(ids) + len(rows) != len(tracker.events):
            ids = [None] * (len(tracker.events) - len(rows))  # stored, ids unknown
        # New events' ids are not needed: a window always starts at an older event.
        ids += [None] * len(rows)
        whole = getattr(tracker, _WHOLE, not hasattr(tracker, _IDS))  # new → whole
        snapshot = self._snapshot_values(tracker, ids, whole)
        with self.engine.begin() as conn:  # the turn's events and its snapshot together
            if rows:
                conn.execute(self._insert_events, rows)  # one executemany, no ORM objects
            if sealed:
                conn.execute(self._insert_sealed, sealed)
            if snapshot is not None:
                values = {"b_sender": tracker.sender_id, **snapshot}
                if not conn.execute(self._update_snapshot, values).rowcount:
                    conn.execute(self._insert_snapshot, values)
        setattr(tracker, _IDS, ids)
        setattr(tracker, _WHOLE, whole)

    def _snapshot_values(
        self, tracker: DialogueStateTracker, ids: List[Optional[int]], whole: bool
    ) -> Optional[Dict[str, Any]]:
        """Where the next read starts ("b_start", an event id) and the state before it
        ("b_prefix"); None to leave the snapshot as it is."""
        events = list(tracker.events)
        start = window_start(events, self.window_turns)
        if start is None or ids[start] is None:
            if not whole:
                return None  # a conversation stored before this store: Rasa's session query
            # A young conversation: "from its first event" (id 0), so reading it needs
            # no session subquery either.
            return {"b_start": 0, "b_prefix": "[]"}
        before = DialogueStateTracker.from_events(
            tracker.sender_id, events[:start], self.domain.slots if self.domain else None
        )
        return {"b_start": ids[start], "b_prefix": fast_json.dumps(state_prefix(before))}


def reseal_clear_texts(engine: sa.engine.Engine) -> int:
    """Seals the texts an earlier version kept in clear (codes and last-six blanked), once
    at start; conditional updates, so processes starting together do no harm."""
    seal = sealer()
    with engine.begin() as conn:
        rows = conn.execute(sa.select(_sealed.c.id, _sealed.c.text).where(
            sa.not_(_sealed.c.text.startswith(SEALED_PREFIX, autoescape=True)))).all()
        for row in rows:
            conn.execute(_sealed.update()
                         .where(_sealed.c.id == row.id, _sealed.c.text == row.text)
                         .values(text=seal.seal(blank_six(row.text))))
    return len(rows)


def scrub_at_rest(engine: sa.engine.Engine) -> int:
    """Masks MASKED_SLOTS in the events and window prefixes an earlier version stored in
    clear (and seals clear texts); returns how many rows changed. A one-off for an
    existing database (`python -m rasa_ext.tracker_store scrub`), not part of any turn: it
    reads every stored SlotSet of those slots."""
    events = events_view
    names = [events.c.data.contains(f'"{name}"', autoescape=True) for name in MASKED_SLOTS]
    prefixes = [_snapshots.c.prefix.contains(f'"{name}"', autoescape=True) for name in MASKED_SLOTS]
    create_tables(_metadata, engine)
    changed = 0
    with engine.begin() as conn:
        for row in conn.execute(sa.select(events.c.id, events.c.data).where(
                events.c.type_name == "slot", sa.or_(*names))).all():
            original = fast_json.loads(row.data)
            data = masked_copy(original)
            if data != original:
                changed += conn.execute(events.update().where(
                    events.c.id == row.id, events.c.data == row.data,
                ).values(data=fast_json.dumps(data))).rowcount
        for row in conn.execute(sa.select(_snapshots.c.sender_id, _snapshots.c.prefix)
                                .where(sa.or_(*prefixes))).all():
            original = fast_json.loads(row.prefix)
            prefix = [masked_copy(event) for event in original]
            if prefix != original:
                changed += conn.execute(_snapshots.update().where(
                    _snapshots.c.sender_id == row.sender_id, _snapshots.c.prefix == row.prefix,
                ).values(prefix=fast_json.dumps(prefix))).rowcount
    return changed + reseal_clear_texts(engine)


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m rasa_ext.tracker_store scrub`: masks what an earlier version kept in clear
    in the tracker database (as rasa_ext/endpoints.py configures it for Rasa)."""
    import argparse

    from bot.db import engine_for
    from bot.handoff.config import tracker_database_url

    parser = argparse.ArgumentParser(prog="python -m rasa_ext.tracker_store")
    parser.add_argument("command", choices=["scrub"])
    parser.parse_args(argv)
    print(f"masked or sealed {scrub_at_rest(engine_for(tracker_database_url()))} stored rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
