"""The audit log: every identity check and status lookup — who, what, when, result.

Rows go to SQL (`audit_log`, in the bot's database: SQLite under var/ or PostgreSQL with
DATABASE_URL) so an auditor can query them across processes and restarts; each is also
written to the `bot.audit` logger. "Who" is the channel account and, once known, the
backend's opaque person id. Nothing here holds an ID or phone number: every free-text
field passes `bot.privacy.mask_text` before it is stored or logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import (Column, DateTime, Index, Integer, MetaData, String, Table, insert,
                        select)
from sqlalchemy.engine import Engine

from bot.db import create_tables
from bot.privacy import mask_text

logger = logging.getLogger("bot.audit")

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),  # UTC
    Column("channel", String(64), nullable=False),
    Column("sender_id", String(255), nullable=False),
    Column("person_id", String(40)),
    Column("event", String(40), nullable=False),
    Column("application_number", String(32)),
    Column("result", String(40), nullable=False),
    Index("ix_audit_log_sender", "channel", "sender_id", "at"),
    Index("ix_audit_log_number", "application_number", "at"),
)

#: What is audited (the `event` column).
EVENTS = (
    "identity_check",   # ID last six against an application: match / no_match / locked
    "code_sent",        # an SMS code sent: sent / wait / limit / unavailable
    "code_check",       # an SMS code typed: ok / wrong / spent / expired
    "status_lookup",    # one application shown: shown / unavailable
    "list_lookup",      # a person's applications listed: shown / unavailable
    "bind",             # the account bound to the person (consent given)
    "unbind",
    "review_label",     # a supervisor labelled reviewed messages: intent:X / alias:CODE / noise, with a count
    "model_retrain",    # a supervisor started a candidate training from the desk
    "model_publish",    # ... published the newest candidate: started / loaded / partly / refused
    "model_rollback",   # ... rolled back to the previous model: started / loaded / partly / refused
)


@dataclass(frozen=True)
class Entry:
    at: datetime
    channel: str
    sender_id: str
    person_id: Optional[str]
    event: str
    application_number: Optional[str]
    result: str


class AuditLog:
    """Appends entries; tables are created on construction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def record(self, channel: str, sender_id: str, event: str, result: str, *,
               person_id: Optional[str] = None,
               application_number: Optional[str] = None) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        row = {
            "at": datetime.now(timezone.utc).replace(tzinfo=None),
            "channel": mask_text(channel)[:64],
            "sender_id": mask_text(sender_id)[:255],
            "person_id": person_id,
            "event": event,
            "application_number": mask_text(application_number) if application_number else None,
            "result": mask_text(result)[:40],
        }
        with self.engine.begin() as conn:
            conn.execute(insert(audit_log), [row])
        logger.info("audit %s %s:%s person=%s number=%s result=%s", event, row["channel"],
                    row["sender_id"], person_id or "-", row["application_number"] or "-",
                    row["result"])

    def entries(self, channel: Optional[str] = None, sender_id: Optional[str] = None,
                limit: int = 1000) -> List[Entry]:
        query = select(audit_log).order_by(audit_log.c.id)
        if channel is not None:
            query = query.where(audit_log.c.channel == channel)
        if sender_id is not None:
            query = query.where(audit_log.c.sender_id == sender_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [Entry(r["at"], r["channel"], r["sender_id"], r["person_id"], r["event"],
                      r["application_number"], r["result"]) for r in rows]
