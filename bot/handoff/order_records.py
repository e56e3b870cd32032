"""Storage of the 12345 cycle of work orders (bot/handoff/order_cycle.py decides, this
keeps): each order's cycle state (`work_order_cycle`), its whole history
(`work_order_steps`: every step with actor, note and time) and the department of each
department account (`desk_account_departments`).

New tables beside bot/handoff/records.py's (the work_orders table is not altered): an
existing database gets them by create_all on their first use (for_engine). An order from
before the cycle has no cycle row and counts as registered; its row is made on its first
step.
Every change is a conditional update ("… WHERE state = :seen"), with its step in the
same transaction, so of two agents acting on one order at once exactly one wins.
"""
from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.db import create_tables
from bot.handoff import order_cycle as cycle
from bot.handoff.records import work_orders
from bot.handoff.taxonomy import Taxonomy, load as load_taxonomy

metadata = sa.MetaData()

steps = sa.Table(
    "work_order_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(32), nullable=False, index=True),
    sa.Column("step", sa.String(16), nullable=False),  # registered, classify, dispatch, …
    sa.Column("actor", sa.String(64), nullable=False),  # an account, or "bot"
    sa.Column("note", sa.Text),
    sa.Column("at", sa.Float, nullable=False),
)

cycles = sa.Table(
    "work_order_cycle",
    metadata,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("category", sa.String(40)),
    sa.Column("department", sa.String(64), index=True),
    sa.Column("suggested_category", sa.String(40)),
    sa.Column("suggested_department", sa.String(64)),
    sa.Column("dispatched_at", sa.Float),
    sa.Column("due_at", sa.Float),
    sa.Column("solved", sa.Boolean),
    sa.Column("rating", sa.Integer),
    sa.Column("urged_at", sa.Float),
)

account_departments = sa.Table(
    "desk_account_departments",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("department", sa.String(64), nullable=False),
)

NOTE_MAX = 2000


class OrderRecords:
    """The cycle's tables over the desk's engine (one per engine: `for_engine`)."""

    def __init__(self, engine: Engine, taxonomy: Optional[Taxonomy] = None) -> None:
        self.engine = engine
        self.taxonomy = taxonomy or load_taxonomy()
        create_tables(metadata, engine)

    # -- department accounts -----------------------------------------------------------

    def set_department(self, name: str, department: str) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(account_departments.update()
                                .where(account_departments.c.name == name)
                                .values(department=department)).rowcount:
                conn.execute(account_departments.insert().values(name=name, department=department))

    def department_of(self, name: str) -> Optional[str]:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(account_departments.c.department)
                                .where(account_departments.c.name == name)).scalar()

    # -- registering -----------------------------------------------------------------

    def _insert_cycle(self, conn: Connection, number: str, message: str, at: float) -> None:
        category, department = cycle.suggest(message, self.taxonomy)
        conn.execute(cycles.insert().values(
            number=number, state=cycle.REGISTERED, suggested_category=category,
            suggested_department=department))
        name = self.taxonomy.category(category)
        conn.execute(steps.insert().values(
            number=number, step="registered", actor="bot", at=at,
            note=f"建议分类：{name.name if name else category}；建议部门：{department}"))

    def register(self, number: str, message: str, at: Optional[float] = None) -> None:
        """受理: the order's cycle row with the bot's suggestion, and its first step
        (`message` masked or not: only its keywords are read, nothing of it is kept)."""
        try:
            with self.engine.begin() as conn:
                self._insert_cycle(conn, number, message, at if at is not None else time.time())
        except IntegrityError:
            pass  # registered already (a retried request)

    def _ensure(self, number: str) -> None:
        """An order from before the cycle gets its row (from its masked message)."""
        with self.engine.connect() as conn:
            present = conn.execute(sa.select(cycles.c.number)
                                   .where(cycles.c.number == number)).first()
            order = conn.execute(sa.select(work_orders.c.message, work_orders.c.created_at)
                                 .where(work_orders.c.number == number)).first()
        if present is None and order is not None:
            self.register(number, order.message, order.created_at)

    # -- reading ---------------------------------------------------------------------

    def _query(self):
        return (sa.select(work_orders.c.number, work_orders.c.kind, work_orders.c.channel,
                          work_orders.c.message, work_orders.c.callback_phone,
                          work_orders.c.status, work_orders.c.created_at,
                          work_orders.c.claimed_by,
                          *[c for c in cycles.c if c.name != "number"])
                .select_from(work_orders.outerjoin(cycles, cycles.c.number == work_orders.c.number)))

    def _public(self, row: Any, now: float) -> Dict[str, Any]:
        state = cycle.state_of(row["state"], row["status"])
        category = self.taxonomy.category(row["category"] or "")
        suggested_id, suggested_department = row["suggested_category"], row["suggested_department"]
        if row["state"] is None:  # an order from before the cycle: suggested now
            suggested_id, suggested_department = cycle.suggest(row["message"] or "", self.taxonomy)
        suggested = self.taxonomy.category(suggested_id or "")
        return {
            "number": row["number"], "kind": row["kind"], "channel": row["channel"],
            "message": row["message"], "callback_phone": row["callback_phone"],
            "status": row["status"], "created_at": row["created_at"],
            "state": state, "state_name": cycle.STATE_NAMES[state],
            "category": row["category"], "category_name": category.name if category else None,
            "department": row["department"],
            "suggested_category": suggested_id,
            "suggested_category_name": suggested.name if suggested else None,
            "suggested_department": suggested_department,
            "dispatched_at": row["dispatched_at"], "due_at": row["due_at"],
            "overdue": cycle.overdue(state, row["due_at"], now),
            "solved": row["solved"], "rating": row["rating"], "urged_at": row["urged_at"],
        }

    def order(self, number: str, now: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """One order with its cycle (masked texts, as work_orders keeps them)."""
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(work_orders.c.number == number)).mappings().first()
        return self._public(row, now if now is not None else time.time()) if row else None

    def history(self, number: str) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(steps.c.step, steps.c.actor, steps.c.note, steps.c.at)
                                .where(steps.c.number == number)
                                .order_by(steps.c.at, steps.c.id)).mappings()
            return [dict(r) for r in rows]

    def orders(self, *, state: Optional[str] = None, department: Optional[str] = None,
               overdue: bool = False, now: Optional[float] = None,
               limit: int = 200) -> List[Dict[str, Any]]:
        """Orders newest first, filtered by state (orders from before the cycle count as
        registered, or closed once closed), department and overdue."""
        now = now if now is not None else time.time()
        query = self._query()
        if state == cycle.CANCELLED:
            query = query.where(work_orders.c.status == "cancelled")
        elif state:
            query = query.where(work_orders.c.status != "cancelled")
            older = {cycle.REGISTERED: "open", cycle.CLOSED: "closed"}.get(state)
            query = query.where(
                sa.or_(cycles.c.state == state,
                       sa.and_(cycles.c.state.is_(None), work_orders.c.status == older))
                if older else cycles.c.state == state)
        if department is not None:
            query = query.where(cycles.c.department == department)
        if overdue:
            query = query.where(cycles.c.due_at < now,
                                cycles.c.state.notin_(tuple(cycle.FINISHED)),
                                work_orders.c.status != "cancelled")
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(work_orders.c.created_at.desc()).limit(limit)).mappings()
            return [self._public(r, now) for r in rows]

    def states_of(self, numbers: Sequence[str]) -> Dict[str, Dict[str, Any]]:
        """state, department and due_at of each order (for the citizen's question)."""
        if not numbers:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(cycles.c.number, cycles.c.state, cycles.c.department,
                                          cycles.c.due_at)
                                .where(cycles.c.number.in_(list(numbers)))).mappings()
            return {r["number"]: dict(r) for r in rows}

    # -- moving on -------------------------------------------------------------------

    def move(self, number: str, *, seen: str, to: str, step: str, actor: str,
             note: Optional[str] = None, at: Optional[float] = None,
             only_department: Optional[str] = None,
             values: Optional[Dict[str, Any]] = None) -> bool:
        """Moves the order from `seen` to `to` setting `values` (cycle columns), and
        records the step; False (nothing written) if its state is no longer `seen` (or,
        with `only_department`, it is no longer dispatched there)."""
        at = at if at is not None else time.time()
        if seen == cycle.REGISTERED:
            self._ensure(number)
        query = cycles.update().where(cycles.c.number == number, cycles.c.state == seen)
        if only_department is not None:
            query = query.where(cycles.c.department == only_department)
        with self.engine.begin() as conn:
            if conn.execute(query.values(state=to, **(values or {}))).rowcount != 1:
                return False
            conn.execute(steps.insert().values(
                number=number, step=step, actor=actor, at=at,
                note=(note or "")[:NOTE_MAX] or None))
            if to == cycle.CLOSED:  # the desk's older list of open orders no longer shows it
                conn.execute(work_orders.update()
                             .where(work_orders.c.number == number, work_orders.c.status == "open")
                             .values(status="closed"))
        return True


@lru_cache(maxsize=None)
def for_engine(engine: Engine) -> OrderRecords:
    """The one OrderRecords of an engine (its tables created on first use)."""
    return OrderRecords(engine)


def with_cycle(engine: Engine, orders: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """A conversation's orders (records.orders_of) with their cycle: state, department
    and due_at, for the citizen asking where an order stands."""
    found = for_engine(engine).states_of([o["number"] for o in orders])
    out = []
    for order in orders:
        row = found.get(order["number"], {})
        out.append({**order, "state": cycle.state_of(row.get("state"), order.get("status")),
                    "department": row.get("department"), "due_at": row.get("due_at")})
    return out
