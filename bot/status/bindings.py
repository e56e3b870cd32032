"""Channel accounts bound to a verified person, with the citizen's consent, in SQL.

A bound account (a WeChat or Alipay user, a widget visitor) proves identity for a later
status check with the SMS code alone. Only the backend's opaque `person_id` and the
masked phone are kept, never an ID or phone number. Unbinding deletes the row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.db import create_tables

metadata = MetaData()

bindings = Table(
    "status_bindings",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("sender_id", String(255), primary_key=True),
    Column("person_id", String(40), nullable=False),
    Column("phone_masked", String(20), nullable=False),
    Column("bound_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class Binding:
    person_id: str
    phone_masked: str


class BindingStore:
    """Reads and writes bindings; tables are created on construction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def get(self, channel: str, sender_id: str) -> Optional[Binding]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(bindings.c.person_id, bindings.c.phone_masked).where(
                    bindings.c.channel == channel, bindings.c.sender_id == sender_id
                )
            ).first()
        return Binding(row.person_id, row.phone_masked) if row else None

    def bind(self, channel: str, sender_id: str, person_id: str, phone_masked: str) -> None:
        """Binds (or re-binds) the account to the person."""
        values = {"person_id": person_id, "phone_masked": phone_masked,
                  "bound_at": datetime.now(timezone.utc).replace(tzinfo=None)}
        key = (bindings.c.channel == channel) & (bindings.c.sender_id == sender_id)
        with self.engine.begin() as conn:
            if conn.execute(update(bindings).where(key).values(**values)).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(insert(bindings).values(channel=channel, sender_id=sender_id,
                                                         **values))
            except IntegrityError:  # bound at the same moment by another process
                conn.execute(update(bindings).where(key).values(**values))

    def unbind(self, channel: str, sender_id: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(bindings).where(
                bindings.c.channel == channel, bindings.c.sender_id == sender_id)).rowcount)
