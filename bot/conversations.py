"""Read-only access to stored conversations for processes other than Rasa (the desk in
the web app, the handoff service): plain SQL over the tables Rasa's tracker store
(rasa_ext/tracker_store.py) writes, so that these readers need no Rasa."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa

from bot import fast_json
from bot.privacy import SEALED_PREFIX, blank_six, sealer

metadata = sa.MetaData()

# The original text of a user message whose stored copy was masked, sealed (Fernet,
# SEAL_KEY) with its six-character secrets blanked. Only the agent desk reads it, for an
# agent who reveals a number in a conversation assigned to them (each reveal is
# audited); everything else (later turns, exports, analysts) sees the mask.
sealed_texts = sa.Table(
    "sealed_user_texts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)


# Rasa's own events table, the columns read here (Rasa creates and writes it).
events_view = sa.table(
    "events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"), sa.column("data")
)


def conversation_events(
    engine: sa.engine.Engine, sender_id: Text, after_id: int = 0, limit: int = 500
) -> List[Dict[str, Any]]:
    """A conversation's stored events with id > after_id, oldest first, each as its event
    dict plus "_id" (read-only; the agent desk follows a conversation with it). The
    newest `limit` events when more are stored; none while Rasa has not created the table."""
    table = events_view
    query = (
        sa.select(table.c.id, table.c.data)
        .where(table.c.sender_id == sender_id, table.c.id > after_id)
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return []  # no events table yet
    return [{**fast_json.loads(row.data), "_id": row.id} for row in reversed(rows)]


def conversation_event(
    engine: sa.engine.Engine, sender_id: Text, event_id: int
) -> Optional[Dict[str, Any]]:
    """One stored event of a conversation by its id (as `conversation_events` gives it),
    None if that id is not this conversation's: the desk reveals any message of a
    conversation the agent may read, and only of that one."""
    table = events_view
    query = sa.select(table.c.id, table.c.data).where(
        table.c.sender_id == sender_id, table.c.id == event_id
    )
    try:
        with engine.connect() as conn:
            row = conn.execute(query).first()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None  # no events table yet
    return {**fast_json.loads(row.data), "_id": row.id} if row else None


def sealed_text(engine: sa.engine.Engine, sender_id: Text, timestamp: float) -> Optional[str]:
    """The original of a masked user message (by its sender and timestamp), codes and
    last-six blanked; None if the message was stored unmasked or nothing but a code was
    masked. Only for the desk's audited reveal."""
    query = sa.select(sealed_texts.c.text).where(
        sealed_texts.c.sender_id == sender_id,
        sealed_texts.c.timestamp > timestamp - 1e-6, sealed_texts.c.timestamp < timestamp + 1e-6,
    )
    try:
        with engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None  # no table yet
    if row is None:
        return None
    if not row.text.startswith(SEALED_PREFIX):  # kept in clear before sealing; not resealed yet
        return blank_six(row.text)
    return sealer().unseal(row.text)
