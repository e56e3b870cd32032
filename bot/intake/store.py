"""Produced intake documents, kept in SQL under an unguessable, expiring token.

The chat shows a link `/documents/{token}`; the web app (another process) serves the page
from here, so the store is the database both share (SQLite under var/ by default,
PostgreSQL with DATABASE_URL), never one process's memory.

Only a SHA-256 of the token is stored: a copy of the table does not give working links.
The page and the text file are rendered when the documents are produced and kept as
they were shown, so a later catalog import never changes what a citizen received.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine

from bot import settings
from bot.db import create_tables, engine_for

#: Stands in the stored page for the download link, which needs the token; the web app
#: puts the link in when serving, so the token itself is never stored.
DOWNLOAD_PLACEHOLDER = "__DOWNLOAD_HREF__"
TOKEN_BYTES = 24  # 192 random bits, 32 URL-safe characters

metadata = MetaData()
documents = Table(
    "intake_documents",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("industry", String(64), nullable=False),
    Column("title", String(255), nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


@dataclass(frozen=True)
class StoredDocuments:
    sender_id: str
    industry: str
    title: str
    html: str
    text: str
    created_at: datetime
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ttl_from_env() -> timedelta:
    """INTAKE_DOCUMENTS_TTL_HOURS (default 24; bot/settings.py refuses one not positive)."""
    return timedelta(hours=settings.load().intake_documents_ttl_hours)


def public_base_url() -> str:
    """Where citizens reach the web app (bot.settings.public_base_url)."""
    return settings.public_base_url()


class DocumentsStore:
    def __init__(self, engine: Engine, ttl: Optional[timedelta] = None) -> None:
        self.engine = engine
        self.ttl = ttl or ttl_from_env()
        create_tables(metadata, engine)

    @classmethod
    def from_env(cls) -> "DocumentsStore":
        return cls(engine_for(settings.load().database_url))

    def save(
        self, sender_id: str, industry: str, title: str, html: str, text: str,
        now: Optional[datetime] = None,
    ) -> str:
        """Stores one document set; returns its token (shown once, in the link)."""
        now = now or datetime.now(timezone.utc)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.engine.begin() as conn:
            conn.execute(delete(documents).where(documents.c.expires_at < now))
            conn.execute(
                insert(documents).values(
                    token_hash=_hash(token), sender_id=sender_id, industry=industry,
                    title=title, html=html, text=text, created_at=now,
                    expires_at=now + self.ttl,
                )
            )
        return token

    def get(
        self, token: str, sender_id: Optional[str] = None, now: Optional[datetime] = None
    ) -> Optional[StoredDocuments]:
        """The documents of a live token; None when unknown, expired, or (with sender_id)
        produced in someone else's conversation."""
        if not token or len(token) > 128:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(documents).where(documents.c.token_hash == _hash(token))
            ).mappings().first()
        if row is None:
            return None
        stored = StoredDocuments(
            sender_id=row["sender_id"], industry=row["industry"], title=row["title"],
            html=row["html"], text=row["text"], created_at=_utc(row["created_at"]),
            expires_at=_utc(row["expires_at"]),
        )
        if stored.expires_at <= (now or datetime.now(timezone.utc)):
            return None
        if sender_id is not None and sender_id != stored.sender_id:
            return None
        return stored
