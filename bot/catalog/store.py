"""The catalog in SQL: one row per matter holding its checked document.

Search needs every alias in memory anyway, so the table keeps the entry as JSON plus the
columns worth querying; `version` lets every process notice a new import cheaply.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable, List, Mapping, Optional

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, insert, select
from sqlalchemy.engine import Engine

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


class CatalogStore:
    """Reads and replaces the catalog in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def replace_all(self, entries: Iterable[Mapping], source: str) -> int:
        """Replaces the whole catalog in one transaction; returns the new version."""
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
