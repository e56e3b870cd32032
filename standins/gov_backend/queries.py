"""The backend's questions to its database, one function each (blocking: the views run
them in a thread). A function answers in the JSON of docs/backend-openapi.yaml (`shapes`)
and None where the record asked about does not exist.

A `person` is an ID number or the opaque person_id of a verified citizen
(`ids.is_person_id` tells which): the assistant holds only the latter.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, NamedTuple, Optional

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from bot.privacy import mask_phone
from standins.gov_backend import models as m
from standins.gov_backend import shapes
from standins.gov_backend.ids import is_person_id, new_person_id
from standins.gov_backend.sms import SmsTarget

#: How long failed identity checks count towards the lock.
IDENTITY_WINDOW = timedelta(minutes=15)
_DUMMY_ID = "000000000000000000"


def ping(engine: Engine) -> None:
    """Raises unless the database answers."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def application(engine: Engine, number: str) -> Optional[Dict[str, Any]]:
    """The application in full (`shapes.application`)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(m.applications).where(m.applications.c.number == number)
        ).mappings().first()
        if row is None:
            return None
        applicant_name = conn.execute(
            select(m.people.c.name).where(m.people.c.id_number == row["applicant_id"])
        ).scalar()
        enterprise = None
        if row["enterprise_code"]:
            enterprise = conn.execute(
                select(m.enterprises.c.credit_code, m.enterprises.c.name)
                .where(m.enterprises.c.credit_code == row["enterprise_code"])
            ).mappings().first()
        missing = conn.execute(
            select(m.missing_materials)
            .where(m.missing_materials.c.application_number == number)
            .order_by(m.missing_materials.c.position)
        ).mappings().all()
        steps = conn.execute(
            select(m.application_steps)
            .where(m.application_steps.c.application_number == number)
            .order_by(m.application_steps.c.position)
        ).mappings().all()
    return shapes.application(row, applicant_name or "", enterprise, missing, steps)


def person_applications(engine: Engine, person: str) -> Optional[List[Dict[str, Any]]]:
    """The person's applications, newest first."""
    with engine.connect() as conn:
        id_number = _known_person(conn, person)
        if id_number is None:
            return None
        rows = conn.execute(
            select(m.applications)
            .where(m.applications.c.applicant_id == id_number)
            .order_by(m.applications.c.submitted_at.desc(), m.applications.c.number.desc())
        ).mappings().all()
    return [shapes.application_summary(r) for r in rows]


def enterprise(engine: Engine, credit_code: str) -> Optional[Dict[str, Any]]:
    with engine.connect() as conn:
        row = conn.execute(
            _enterprises().where(m.enterprises.c.credit_code == credit_code)
        ).mappings().first()
    return shapes.enterprise(row) if row else None


def person_enterprises(engine: Engine, person: str) -> Optional[List[Dict[str, Any]]]:
    """The enterprises the person legally represents, oldest first."""
    with engine.connect() as conn:
        id_number = _known_person(conn, person)
        if id_number is None:
            return None
        rows = conn.execute(
            _enterprises()
            .where(m.enterprises.c.legal_rep_id == id_number)
            .order_by(m.enterprises.c.registered_on)
        ).mappings().all()
    return [shapes.enterprise(r) for r in rows]


def licences(engine: Engine, holder: str, kind: str,
             licence_type: Optional[str]) -> Optional[List[Dict[str, Any]]]:
    """The licences of a holder ('person': an ID number, 'enterprise': a credit code),
    of one type or all, in the order they were issued."""
    today = datetime.now(m.CST).date()
    with engine.connect() as conn:
        key = m.people.c.id_number if kind == "person" else m.enterprises.c.credit_code
        if conn.execute(select(key).where(key == holder)).first() is None:
            return None
        query = select(m.licences).where(m.licences.c.holder == holder)
        if licence_type:
            query = query.where(m.licences.c.licence_type == licence_type)
        rows = conn.execute(
            query.order_by(m.licences.c.issued_on, m.licences.c.id)
        ).mappings().all()
    return [shapes.licence(r, today) for r in rows]


class IdentityVerdict(NamedTuple):
    outcome: str  # match | no_match | locked
    phone_masked: Optional[str] = None  # on a match
    person_id: Optional[str] = None  # on a match


def check_identity(engine: Engine, number: str, last6: str, max_failures: int,
                   requester: Optional[str] = None) -> IdentityVerdict:
    """Whether `last6` ends the ID number of the application's applicant.

    A wrong number and a wrong ID take the same path (same queries, one constant-time
    comparison, one failure row), so neither the answer nor its timing tells them apart.

    The lock counts per requester when the caller names one: `max_failures` failures of
    one requester on the number within IDENTITY_WINDOW lock that requester alone, so
    strangers failing on a number never lock out its applicant (who has the right ID),
    and the applicant's success clears only his own failures, never the strangers'. The
    caller (the assistant) limits each of its users and, once a number is under attack,
    answers every try alike, so this gives no brute force. A caller naming nobody shares
    one budget per number, counted over every failure on it.
    """
    now = m.now_cst()
    failures_table = m.identity_failures
    mine = failures_table.c.application_number == number
    if requester is not None:
        mine = mine & (failures_table.c.requester == requester)
    with engine.begin() as conn:
        conn.execute(
            delete(failures_table).where(
                failures_table.c.application_number == number,
                failures_table.c.at < now - IDENTITY_WINDOW,
            )
        )
        failures = conn.execute(
            select(func.count()).select_from(failures_table).where(mine)
        ).scalar()
        row = conn.execute(
            select(m.applications.c.applicant_id, m.people.c.phone)
            .select_from(m.applications.outerjoin(
                m.people, m.people.c.id_number == m.applications.c.applicant_id))
            .where(m.applications.c.number == number)
        ).first()
        expected = (row[0] if row else _DUMMY_ID)[-6:]
        match = hmac.compare_digest(expected.encode(), last6.encode()) and row is not None
        if failures >= max_failures:
            return IdentityVerdict("locked")
        if match:
            conn.execute(delete(failures_table).where(mine))
            return IdentityVerdict("match", mask_phone(row[1] or ""), _person_ref(conn, row[0]))
        conn.execute(insert(failures_table),
                     [{"application_number": number, "at": now, "requester": requester}])
        return IdentityVerdict("no_match")


@dataclass(frozen=True)
class Recipient:
    """Where a message goes: the phone, and the application it concerns when the caller
    named one (number, matter_name, status: what the status_notice template shows)."""

    phone: str
    application: Optional[Dict[str, Any]] = None

    @property
    def application_number(self) -> Optional[str]:
        return self.application["number"] if self.application else None


def sms_recipient(engine: Engine, target: SmsTarget) -> Optional[Recipient]:
    """The phone of a verified person or of an application's applicant (a phone given
    needs no lookup)."""
    if target.phone is not None:
        return Recipient(target.phone)
    with engine.connect() as conn:
        if target.person_id is not None:
            phone = conn.execute(
                select(m.people.c.phone)
                .select_from(m.person_refs.join(
                    m.people, m.people.c.id_number == m.person_refs.c.id_number))
                .where(m.person_refs.c.person_id == target.person_id)
            ).scalar()
            return Recipient(phone) if phone is not None else None
        row = conn.execute(
            select(m.applications.c.number, m.applications.c.matter_name,
                   m.applications.c.status, m.people.c.phone)
            .select_from(m.applications.join(
                m.people, m.people.c.id_number == m.applications.c.applicant_id))
            .where(m.applications.c.number == target.application_number)
        ).mappings().first()
    return Recipient(row["phone"], dict(row)) if row else None


def _known_person(conn: Connection, person: str) -> Optional[str]:
    """The ID number of `person` when the population library holds them, else None."""
    if is_person_id(person):
        query = (
            select(m.people.c.id_number)
            .select_from(m.person_refs.join(
                m.people, m.people.c.id_number == m.person_refs.c.id_number))
            .where(m.person_refs.c.person_id == person)
        )
    else:
        query = select(m.people.c.id_number).where(m.people.c.id_number == person)
    return conn.execute(query).scalar()


def _person_ref(conn: Connection, id_number: str) -> str:
    """The person's opaque id, made on first use (`ids.new_person_id`)."""
    found = conn.execute(
        select(m.person_refs.c.person_id).where(m.person_refs.c.id_number == id_number)
    ).scalar()
    if found:
        return found
    person_id = new_person_id()
    conn.execute(insert(m.person_refs), [{"person_id": person_id, "id_number": id_number}])
    return person_id


def _enterprises():
    """Enterprises with their legal representative's name as `rep_name`."""
    return select(m.enterprises, m.people.c.name.label("rep_name")).select_from(
        m.enterprises.outerjoin(m.people, m.people.c.id_number == m.enterprises.c.legal_rep_id)
    )

