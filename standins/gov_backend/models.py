"""Tables of the stand-in government backend (its own database, not the catalog's).

- population library (人口库): `backend_people`
- legal-entity library (法人库): `backend_enterprises`
- electronic licence library (电子证照库): `backend_licences`
- applications (办件) with their missing materials and step history
- the SMS gateway's sent messages, and failed identity checks (for the attempt limit)

All names carry the `backend_` prefix so the backend may share a database with the
catalog without collisions. Times are China Standard Time (UTC+8) without a zone.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    Column,
    inspect,
    text,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from bot.db import engine_for
from standins.gov_backend.settings import default_database_url

CST = timezone(timedelta(hours=8), "CST")

metadata = MetaData()

people = Table(
    "backend_people",
    metadata,
    Column("id_number", String(18), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
)

enterprises = Table(
    "backend_enterprises",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("legal_rep_id", String(18), ForeignKey("backend_people.id_number"), nullable=False),
    Column("address", String(300), nullable=False),
    Column("district", String(50), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("status", String(20), nullable=False, default="存续"),
    Index("ix_backend_enterprises_rep", "legal_rep_id"),
)

licences = Table(
    "backend_licences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("holder", String(18), nullable=False),  # ID number or credit code
    Column("holder_type", String(20), nullable=False),  # person | enterprise
    Column("licence_type", String(100), nullable=False),
    Column("licence_number", String(100), nullable=False),
    Column("issuer", String(200), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("valid_until", Date, nullable=True),  # None: 长期有效
    Index("ux_backend_licences_number", "holder", "licence_type", "licence_number", unique=True),
    Index("ix_backend_licences_holder", "holder"),
)

applications = Table(
    "backend_applications",
    metadata,
    Column("number", String(16), primary_key=True),
    Column("matter_code", String(40), nullable=False),
    Column("matter_name", String(200), nullable=False),
    Column("applicant_id", String(18), ForeignKey("backend_people.id_number"), nullable=False),
    Column("enterprise_code", String(18), ForeignKey("backend_enterprises.credit_code")),
    Column("submitted_at", DateTime, nullable=False),
    Column("status", String(30), nullable=False),
    Column("department", String(200), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("result", String(20)),  # None | approved | rejected
    Column("result_reason", Text),
    Column("completed_at", DateTime),
    Index("ix_backend_applications_applicant", "applicant_id"),
)


def _application_part(name: str, index: str, *columns: Column) -> Table:
    """A table of rows that belong to one application in order (its missing materials,
    its step history): the application's number and the row's position, `columns`, and
    a note."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("application_number", String(16), ForeignKey("backend_applications.number"),
               nullable=False),
        Column("position", Integer, nullable=False),
        *columns,
        Column("note", Text),
        Index(index, "application_number"),
    )


missing_materials = _application_part(
    "backend_missing_materials",
    "ix_backend_missing_app",
    Column("name", String(200), nullable=False),
    Column("matter_code", String(40), nullable=False),
)

application_steps = _application_part(
    "backend_application_steps",
    "ix_backend_steps_app",
    Column("step", String(30), nullable=False),
    Column("department", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
)

sms_messages = Table(
    "backend_sms_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("phone", String(20), nullable=False),
    Column("template", String(40), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("text", Text, nullable=False),
    Column("application_number", String(16)),
    Column("sent_at", DateTime, nullable=False),
    # Who asked for it (the caller's opaque id of a channel account), so the per-phone
    # limit is counted per requester: strangers never spend the owner's quota.
    Column("requester", String(64)),
    Index("ix_backend_sms_phone", "phone", "sent_at"),
)

# Opaque person ids handed out on a successful identity check, so the assistant can refer
# to a verified citizen (bindings, "my applications", pre-filled forms) without ever
# holding the ID number. Created on first use; never reused for another person.
person_refs = Table(
    "backend_person_refs",
    metadata,
    Column("person_id", String(40), primary_key=True),
    Column("id_number", String(18), ForeignKey("backend_people.id_number"), nullable=False,
           unique=True),
)

identity_failures = Table(
    "backend_identity_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_number", String(16), nullable=False),
    Column("at", DateTime, nullable=False),
    # Who failed (opaque, named by the caller): a named requester is locked alone, so
    # strangers failing on a number never lock out its applicant.
    Column("requester", String(64)),
    Index("ix_backend_identity_failures", "application_number", "at"),
)

#: Nullable columns added after the first release, added to databases made before.
ADDED_COLUMNS = ((sms_messages, "requester"), (identity_failures, "requester"))

# Application status codes and their labels (the step the citizen sees).
STATUS_LABELS = {
    "accepted": "受理",
    "under_review": "审查中",
    "needs_supplement": "补正材料",
    "awaiting_pickup": "待领证",
    "completed": "办结",
}
RESULT_LABELS = {"approved": "准予办理", "rejected": "不予办理"}


def now_cst() -> datetime:
    """The current time in China Standard Time, without zone (as stored)."""
    return datetime.now(CST).replace(tzinfo=None, microsecond=0)


def create_schema(engine: Engine) -> None:
    """Creates missing tables and adds the columns of ADDED_COLUMNS that a database made
    by an earlier version lacks (safe to call repeatedly, and from two processes)."""
    metadata.create_all(engine)
    for table, name in ADDED_COLUMNS:
        if name in {c["name"] for c in inspect(engine).get_columns(table.name)}:
            continue
        kind = table.c[name].type.compile(engine.dialect)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
        except DBAPIError:  # added meanwhile by another process starting
            if name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                raise


def engine_and_schema(database_url: str | None = None) -> Engine:
    """The backend's engine (`database_url`, else BACKEND_DATABASE_URL or var/backend.db:
    what the commands use) with its tables created (safe to call repeatedly)."""
    engine = engine_for(database_url or default_database_url())
    create_schema(engine)
    return engine
