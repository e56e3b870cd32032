"""The review store: messages the bot failed, kept for supervisors, and the counters the
measures are computed from, in the desk's database (HandoffConfig.database_url), next to
the handoff records whose ratings give the satisfaction.

Tables (their own MetaData, created on open):

- `review_misses`: one row per (Rasa event id, kind). A message can fail in more than
  one way (an unknown matter later handed to a person is also a handoff after a miss),
  and each way is its own row, so a supervisor sees every reason; the pair is unique,
  so capturing the same events twice, or by two web app instances, stores them once.
- `review_counts`: per (local day, model id, matter code or '') the user turns and how
  many of them failed in each way: the denominators of the rates, which misses alone
  cannot give.
- `review_cursor`: the id of the last Rasa event captured, advanced in the same
  transaction as the rows and counters it produced (bot/review/capture.py).

Texts are stored masked (bot.privacy.mask_personal) whatever the caller passes.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bot.db import create_tables, engine_for
from bot.handoff.records import handoffs, local_day
from bot.privacy import mask_personal

logger = logging.getLogger(__name__)

#: The ways a message fails, in the order a supervisor reads them.
KINDS = ("fallback", "out_of_scope", "unknown_matter", "low_confidence",
         "handoff_after_miss", "poor_rating")
#: A captured message is new until a supervisor labels or dismisses it.
STATUSES = ("new", "labelled", "dismissed")
#: The counters of `review_counts`, each a number of user turns.
COUNTERS = ("turns", "fallbacks", "out_of_scope", "unknown_matters", "low_confidence",
            "handoffs_after_miss")
#: The JSON columns (stored as text: readable in a dump, the same on SQLite and PostgreSQL).
JSON_COLUMNS = ("ranking", "entities", "context", "label")

metadata = sa.MetaData()

misses_table = sa.Table(
    "review_misses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    #: Rasa's events-table id of the user message.
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("timestamp", sa.Float, nullable=False, index=True),
    sa.Column("day", sa.String(10), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(64)),
    sa.Column("confidence", sa.Float),
    sa.Column("ranking", sa.Text),  # JSON [{name, confidence}], top 5
    sa.Column("entities", sa.Text),  # JSON [{entity, value, start, end}]
    sa.Column("matter_code", sa.String(64)),
    sa.Column("unknown_matter", sa.String(255)),
    sa.Column("channel", sa.String(64)),
    sa.Column("model_id", sa.String(64)),
    #: JSON list of up to 3 earlier user texts of the conversation (masked), oldest first.
    sa.Column("context", sa.Text),
    #: poor_rating: the 1–2 the citizen gave the handoff that followed this message.
    sa.Column("rating", sa.Integer),
    sa.Column("status", sa.String(16), nullable=False, index=True, default="new"),
    sa.Column("label", sa.Text),
    sa.Column("labelled_by", sa.String(64)),
    sa.Column("labelled_at", sa.Float),
    sa.Column("captured_at", sa.Float, nullable=False),
    sa.UniqueConstraint("event_id", "kind", name="uq_review_misses_event_kind"),
)

def day_counts_table(name: str, meta: sa.MetaData, counters: Sequence[str]) -> sa.Table:
    """A day's counters per model and matter: the capture here and the event stream's
    consumer (bot/stats/store.py) keep their counts in tables of this one shape, so the
    desk reads either through `measures_of`."""
    return sa.Table(
        name,
        meta,
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("matter_code", sa.String(64), primary_key=True),
        *(sa.Column(counter, sa.Integer, nullable=False, default=0) for counter in counters),
    )


counts_table = day_counts_table("review_counts", metadata, COUNTERS)

cursor_table = sa.Table(
    "review_cursor",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_event_id", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: The one cursor: Rasa's events table of this deployment.
CURSOR = "events"

CounterKey = Tuple[str, str, str]  # (day, model_id, matter_code or '')
Counters = Dict[CounterKey, Dict[str, int]]


def _dumps(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _row_out(row: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(row)
    for name in JSON_COLUMNS:
        if out.get(name) is not None:
            out[name] = json.loads(out[name])
    return out


def _insert_ignoring(conn: Connection, table: sa.Table, values: Dict[str, Any],
                     keys: Sequence[str]) -> bool:
    """Inserts a row unless one with the same `keys` exists; True if it was inserted.
    ON CONFLICT DO NOTHING on SQLite and PostgreSQL, so a racing process's row is
    no error (and does not abort a PostgreSQL transaction)."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)
        statement = insert.values(**values).on_conflict_do_nothing(index_elements=list(keys))
        result = conn.execute(statement)
        return result.rowcount == 1
    exists = conn.execute(sa.select(sa.func.count()).select_from(table).where(
        *(table.c[k] == values[k] for k in keys))).scalar_one()
    if exists:
        return False
    conn.execute(table.insert().values(**values))
    return True


def _add_counts(conn: Connection, counters: Counters) -> None:
    """Adds to the day's counters (an upsert: the row exists after the first turn)."""
    dialect = conn.dialect.name
    for (day, model_id, matter), counts in counters.items():
        values = {"day": day, "model_id": model_id, "matter_code": matter,
                  **{name: int(counts.get(name, 0)) for name in COUNTERS}}
        if dialect in ("sqlite", "postgresql"):
            insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(counts_table)
            insert = insert.values(**values)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["day", "model_id", "matter_code"],
                set_={name: counts_table.c[name] + insert.excluded[name] for name in COUNTERS}))
            continue
        key = (counts_table.c.day == day, counts_table.c.model_id == model_id,
               counts_table.c.matter_code == matter)
        updated = conn.execute(counts_table.update().where(*key).values(
            **{name: counts_table.c[name] + values[name] for name in COUNTERS})).rowcount
        if not updated:
            conn.execute(counts_table.insert().values(**values))


def miss_values(row: Mapping[str, Any], now: Optional[float] = None) -> Dict[str, Any]:
    """A captured miss as stored: texts masked again (whatever the caller did), JSON
    columns serialized, day from the timestamp when missing, status 'new'."""
    if row.get("kind") not in KINDS:
        raise ValueError(f"unknown kind of miss: {row.get('kind')!r}")
    timestamp = float(row.get("timestamp") or 0.0)
    context = [mask_personal(t) for t in (row.get("context") or [])]
    return {
        "event_id": int(row["event_id"]),
        "kind": row["kind"],
        "sender_id": str(row.get("sender_id") or ""),
        "timestamp": timestamp,
        "day": row.get("day") or local_day(timestamp),
        "text": mask_personal(row.get("text") or ""),
        "intent": row.get("intent"),
        "confidence": row.get("confidence"),
        "ranking": _dumps(list(row.get("ranking") or [])),
        "entities": _dumps([{**e, "value": mask_personal(e["value"])}
                            if isinstance(e.get("value"), str) else dict(e)
                            for e in (row.get("entities") or [])]),
        "matter_code": row.get("matter_code") or None,
        "unknown_matter": (mask_personal(row["unknown_matter"])
                           if row.get("unknown_matter") else None),
        "channel": row.get("channel"),
        "model_id": row.get("model_id") or None,
        "context": _dumps(context),
        "rating": row.get("rating"),
        "status": "new",
        "captured_at": now if now is not None else time.time(),
    }


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def measures_of(rows: Sequence[Mapping[str, Any]], ratings: List[Tuple[str, str, int]],
                counters: Sequence[str]) -> Dict[str, List[Dict[str, Any]]]:
    """The measures (`ReviewStore.measures`) from per day × matter × model count rows with
    `counters` columns and the rated handoffs' (day, matter, rating): shared by the
    tracker's capture (here) and the event stream's counts (bot/stats/store.py)."""
    zero = {name: 0 for name in counters}
    days: Dict[str, Dict[str, Any]] = {}
    matters: Dict[str, Dict[str, Any]] = {}
    models: Dict[str, Dict[str, Any]] = {}
    for row in rows:
        for table, column in ((days, "day"), (matters, "matter_code"), (models, "model_id")):
            entry = table.setdefault(row[column], {column: row[column], **zero})
            for name in counters:
                entry[name] += int(row[name] or 0)
        model = models[row["model_id"]]
        model["first_day"] = min(model.get("first_day") or row["day"], row["day"])
        model["last_day"] = max(model.get("last_day") or row["day"], row["day"])
    for day, entry in days.items():
        entry.update(_satisfaction([r for d, _, r in ratings if d == day]))
    for matter, entry in matters.items():
        entry.update(_satisfaction([r for _, m, r in ratings if m == matter]))
    for entry in models.values():
        entry.update(_satisfaction([r for d, _, r in ratings
                                    if entry["first_day"] <= d <= entry["last_day"]]))
    return {
        "days": [_with_rates(days[d]) for d in sorted(days)],
        "matters": [_with_rates(e) for e in sorted(
            matters.values(), key=lambda e: (-e["turns"], e["matter_code"]))],
        "models": [_with_rates(e) for e in sorted(
            models.values(), key=lambda e: (e["first_day"], e["model_id"]))],
    }


def _with_rates(entry: Dict[str, Any]) -> Dict[str, Any]:
    """Rates per user turn: fallback, out-of-scope, unknown-matter, low-confidence and
    handoff-after-miss (None without turns)."""
    turns = entry["turns"]
    entry["fallback_rate"] = _rate(entry["fallbacks"], turns)
    entry["out_of_scope_rate"] = _rate(entry["out_of_scope"], turns)
    entry["unknown_matter_rate"] = _rate(entry["unknown_matters"], turns)
    entry["low_confidence_rate"] = _rate(entry["low_confidence"], turns)
    entry["handoff_after_miss_rate"] = _rate(entry["handoffs_after_miss"], turns)
    return entry


def _satisfaction(ratings: List[int]) -> Dict[str, Any]:
    return {"ratings": len(ratings),
            "satisfaction": round(sum(ratings) / len(ratings), 2) if ratings else None}


@dataclass
class ReviewStore:
    """The review tables of one database; one instance per process (the engine pools)."""

    engine: Engine

    @classmethod
    def open(cls, url: str) -> "ReviewStore":
        engine = engine_for(url)
        create_tables(metadata, engine)
        store = cls(engine)
        with engine.begin() as conn:
            _insert_ignoring(conn, cursor_table, {"name": CURSOR, "last_event_id": 0,
                                                  "updated_at": time.time()}, ["name"])
        return store

    # -- capturing -------------------------------------------------------------

    def cursor(self) -> int:
        """The id of the last Rasa event captured (0 before the first)."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(cursor_table.c.last_event_id).where(
                cursor_table.c.name == CURSOR)).scalar()
        return int(value or 0)

    def add_misses(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Stores captured misses; a (event_id, kind) already stored is ignored. Returns
        how many rows are new."""
        with self.engine.begin() as conn:
            return self._add(conn, rows)

    @staticmethod
    def _add(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        now = time.time()
        return sum(_insert_ignoring(conn, misses_table, miss_values(row, now), ["event_id", "kind"])
                   for row in rows)

    def advance(self, after_id: int, upto_id: int, rows: Iterable[Mapping[str, Any]],
                counters: Counters) -> Optional[int]:
        """Moves the cursor from `after_id` to `upto_id` and stores what the events in
        between produced, in one transaction. The cursor moves first and only if it is
        still at `after_id`: of two processes capturing the same events one wins, the
        other gets None and its transaction stores nothing (no counter counted twice).
        Returns the number of new rows."""
        with self.engine.begin() as conn:
            moved = conn.execute(cursor_table.update().where(
                cursor_table.c.name == CURSOR, cursor_table.c.last_event_id == after_id,
            ).values(last_event_id=upto_id, updated_at=time.time())).rowcount
            if moved != 1:
                return None  # another process captured these events: nothing changed
            added = self._add(conn, rows)
            _add_counts(conn, counters)
        return added

    # -- reading and labelling -------------------------------------------------

    def misses(self, since: Optional[float] = None, status: Optional[str] = "new",
               limit: int = 5000) -> List[Dict[str, Any]]:
        """Captured misses, newest first (since a timestamp, of a status; None: any)."""
        query = sa.select(misses_table)
        if since is not None:
            query = query.where(misses_table.c.timestamp >= since)
        if status is not None:
            query = query.where(misses_table.c.status == status)
        query = query.order_by(misses_table.c.timestamp.desc(), misses_table.c.id.desc())
        query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row_out(r) for r in conn.execute(query).mappings()]

    def by_ids(self, ids: Iterable[int]) -> List[Dict[str, Any]]:
        """The misses with these row ids (in id order; unknown ids left out)."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return []
        query = (sa.select(misses_table).where(misses_table.c.id.in_(wanted))
                 .order_by(misses_table.c.id))
        with self.engine.connect() as conn:
            return [_row_out(r) for r in conn.execute(query).mappings()]

    def mark(self, ids: Iterable[int], status: str, label: Optional[Dict[str, Any]],
             by: str) -> int:
        """Sets the status (and label, who, when) of these misses; returns how many."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(misses_table.update().where(misses_table.c.id.in_(wanted)).values(
                status=status, label=_dumps(label), labelled_by=by, labelled_at=time.time(),
            )).rowcount

    # -- measures --------------------------------------------------------------

    def measures(self, since: float) -> Dict[str, List[Dict[str, Any]]]:
        """What supervisors follow, since `since` (local days):

        - "days": per day (oldest first) the turns, the counts and rates per turn of
          fallbacks, out-of-scope, unknown matters, low confidence and handoffs after a
          miss, and the satisfaction (average 1–5 rating of that day's handoffs);
        - "matters": the same per matter code ('' for turns about no known matter; most
          turns first), satisfaction from the handoffs about that matter;
        - "models": the same per model id with its first and last day (first published
          first), so the days before and after each published model compare; its
          satisfaction is that of the handoffs made from its first to its last day.
        """
        first_day = local_day(since)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(counts_table).where(
                counts_table.c.day >= first_day)).mappings().all()
        return measures_of(rows, self._ratings(since), COUNTERS)

    def _ratings(self, since: float) -> List[Tuple[str, str, int]]:
        """(local day, matter code or '', rating) of the handoffs rated since `since`,
        from bot.handoff.records' table in this database (none while it does not exist)."""
        query = sa.select(handoffs.c.created_at, handoffs.c.matter_code, handoffs.c.rating).where(
            handoffs.c.created_at >= since, handoffs.c.rating.is_not(None))
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            return []  # the desk's records were never opened on this database
        return [(local_day(created), matter or "", int(rating)) for created, matter, rating in rows]
