"""Internal notes and wrap-up tags on a handoff: what agents write for each other and for
the statistics, never sent to the citizen.

One table, `handoff_notes` (handoff_id, agent, kind note|tag, text, at), in the desk's
database beside bot/handoff/records.py's tables; created on first use. The tags an agent
may choose are data: data/reference/wrap_up_tags.yml.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.db import create_tables
from bot.privacy import mask_personal

ROOT = Path(__file__).resolve().parents[2]
TAGS_FILE = ROOT / "data" / "reference" / "wrap_up_tags.yml"
MAX_NOTE = 1000
KINDS = ("note", "tag")

metadata = sa.MetaData()

handoff_notes = sa.Table(
    "handoff_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.Integer, nullable=False, index=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # note | tag
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)


def load_tags(path: Path = TAGS_FILE) -> List[str]:
    """The wrap-up tags, in the file's order."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(t) for t in data.get("tags", [])]


class Notes:
    """The notes of one database; `Notes.of(engine)` creates the table once per engine."""

    _made: Dict[int, "Notes"] = {}

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    @classmethod
    def of(cls, engine: Engine) -> "Notes":
        notes = cls._made.get(id(engine))
        if notes is None or notes.engine is not engine:
            notes = cls._made[id(engine)] = cls(engine)
        return notes

    def add(self, handoff_id: int, agent: str, kind: str, text: str,
            at: Optional[float] = None) -> Dict[str, Any]:
        """A note (numbers masked: notes are read by every agent of the conversation)
        or a tag; a tag already on the handoff is not added twice."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        text = mask_personal(text.strip())[:MAX_NOTE]
        row = {"handoff_id": handoff_id, "agent": agent, "kind": kind, "text": text,
               "at": at if at is not None else time.time()}
        with self.engine.begin() as conn:
            if kind == "tag" and conn.execute(
                sa.select(handoff_notes.c.id).where(
                    handoff_notes.c.handoff_id == handoff_id, handoff_notes.c.kind == "tag",
                    handoff_notes.c.text == text)).first():
                return row
            row["id"] = int(conn.execute(handoff_notes.insert().values(**row))
                            .inserted_primary_key[0])
        return row

    def remove_tag(self, handoff_id: int, text: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(handoff_notes.delete().where(
                handoff_notes.c.handoff_id == handoff_id, handoff_notes.c.kind == "tag",
                handoff_notes.c.text == text)).rowcount > 0

    def of_handoff(self, handoff_id: int) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(handoff_notes)
                                .where(handoff_notes.c.handoff_id == handoff_id)
                                .order_by(handoff_notes.c.id)).mappings()
            return [dict(r) for r in rows]
