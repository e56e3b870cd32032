"""The catalog in SQL: one row per matter holding its checked document.

Search needs every alias in memory anyway, so the table keeps the entry as JSON plus the
columns worth querying; `version` lets every process notice a new import cheaply.
Aliases that supervisors add in review (catalog_reviewed_aliases) live beside the
imported documents, not in them: a government's re-import replaces the documents and
keeps what review taught; adding one bumps the version too, so every process's search
learns it within its recheck interval.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Mapping, Optional

from sqlalchemy import (Column, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        delete, insert, select, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.db import create_tables
from bot.catalog.search import clean
from bot.text import normalize_text

metadata = MetaData()

matters_table = Table(
    "catalog_matters",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("service_object", String(20), nullable=False),
    Column("department", String(200), nullable=False),
    Column("position", Integer, nullable=False),
    Column("document", Text, nullable=False),
)

meta_table = Table(
    "catalog_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(400), nullable=False),
)

reviewed_aliases_table = Table(
    "catalog_reviewed_aliases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(40), nullable=False, index=True),
    Column("alias", String(100), nullable=False),
    Column("added_by", String(100), nullable=False),
    Column("added_at", String(40), nullable=False),
    UniqueConstraint("code", "alias", name="uq_catalog_reviewed_alias"),
)

#: The longest alias review may add (a matter's name is at most 200; an alias is a phrase).
MAX_ALIAS_CHARS = 100


def _bump_version(conn: Connection) -> int:
    old = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "version")).scalar()
    version = int(old or 0) + 1
    if old is None:
        conn.execute(insert(meta_table).values(key="version", value=str(version)))
    else:
        conn.execute(update(meta_table).where(meta_table.c.key == "version").values(value=str(version)))
    return version


class CatalogStore:
    """Reads and replaces the catalog in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def replace_all(self, entries: Iterable[Mapping], source: str) -> int:
        """Replaces the whole catalog in one transaction; returns the new version.

        Reviewed aliases stay: they are the city's own knowledge, not the export's (one
        whose matter is gone waits unused until the matter comes back)."""
        rows = [
            {
                "code": e["code"],
                "name": e["name"],
                "service_object": e["service_object"],
                "department": e["department"],
                "position": i,
                "document": json.dumps(e, ensure_ascii=False, default=str),
            }
            for i, e in enumerate(entries)
        ]
        with self.engine.begin() as conn:
            old = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == "version")
            ).scalar()
            version = int(old or 0) + 1
            conn.execute(delete(matters_table))
            if rows:
                conn.execute(insert(matters_table), rows)
            conn.execute(delete(meta_table))
            conn.execute(
                insert(meta_table),
                [
                    {"key": "version", "value": str(version)},
                    {"key": "source", "value": source[-400:]},
                    {"key": "imported_at", "value": datetime.now(timezone.utc).isoformat()},
                    {"key": "count", "value": str(len(rows))},
                ],
            )
        return version

    def add_alias(self, code: str, alias: str, by: str, at: Optional[datetime] = None) -> bool:
        """Adds a reviewed alias to a stored matter and bumps the catalog version.

        False when the code is unknown or the matter already answers to the alias (its
        name, an imported alias or a reviewed one, compared as search compares them).
        """
        alias = normalize_text(alias).strip()
        if len(clean(alias)) < 2 or len(alias) > MAX_ALIAS_CHARS:
            raise ValueError(f"an alias has 2 to {MAX_ALIAS_CHARS} characters: {alias!r}")
        at = at or datetime.now(timezone.utc)
        try:
            with self.engine.begin() as conn:
                value = conn.execute(
                    select(matters_table.c.document).where(matters_table.c.code == code)
                ).scalar()
                if value is None:
                    return False
                document = json.loads(value)
                reviewed = conn.execute(
                    select(reviewed_aliases_table.c.alias).where(reviewed_aliases_table.c.code == code)
                ).scalars().all()
                known = [document.get("name", ""), *(document.get("aliases") or []), *reviewed]
                if clean(alias) in {clean(k) for k in known}:
                    return False
                conn.execute(insert(reviewed_aliases_table).values(
                    code=code, alias=alias, added_by=by[:100], added_at=at.isoformat()))
                _bump_version(conn)
        except IntegrityError:  # another process added the same alias a moment ago
            return False
        return True

    def reviewed_aliases(self) -> Dict[str, List[str]]:
        """code → aliases added in review, in the order they were added."""
        out: Dict[str, List[str]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reviewed_aliases_table.c.code, reviewed_aliases_table.c.alias)
                .order_by(reviewed_aliases_table.c.id)
            ).all()
        for code, alias in rows:
            out.setdefault(code, []).append(alias)
        return out

    def version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == "version")
            ).scalar()
        return int(value or 0)

    def all_documents(self) -> List[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(matters_table.c.document).order_by(matters_table.c.position)
            ).scalars()
            return [json.loads(r) for r in rows]

    def document(self, code: str) -> Optional[dict]:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(matters_table.c.document).where(matters_table.c.code == code)
            ).scalar()
        return json.loads(value) if value else None
