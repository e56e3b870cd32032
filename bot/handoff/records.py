"""Durable handoff records in SQL: agents, handoffs, work orders, ratings, reveal audit.

Everything that must survive a desk restart is here (SQLite under var/ by default,
PostgreSQL with DATABASE_URL). State changes are conditional updates ("… WHERE status =
'waiting'"), so two desk processes racing for one conversation cannot both win.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.db import engine_for

#: Work order numbers and per-day statistics use the city's local date.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

metadata = sa.MetaData()

agents = sa.Table(
    "desk_agents",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # request | complaint
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("matter_code", sa.String(64)),
    sa.Column("matter_name", sa.String(255)),
    sa.Column("summary", sa.Text, nullable=False),
    # waiting → active → ended; waiting → timed_out; no_agent (never queued)
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("agent", sa.String(64)),
    sa.Column("work_order_number", sa.String(32)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("accepted_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("rating", sa.Integer),
    sa.Column("rated_at", sa.Float),
)

work_orders = sa.Table(
    "work_orders",
    metadata,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # message | complaint
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("callback_phone", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),  # open | closed | cancelled
    sa.Column("created_at", sa.Float, nullable=False),
)

reveals = sa.Table(
    "desk_reveal_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("handoff_id", sa.Integer),
    sa.Column("what", sa.String(255), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

ACTIVE_STATES = ("waiting", "active")


def local_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, LOCAL_TZ).strftime("%Y-%m-%d")


@dataclass
class Records:
    """The desk's SQL records; one instance per process (the engine pools connections)."""

    engine: Engine

    @classmethod
    def open(cls, url: str) -> "Records":
        engine = engine_for(url)
        metadata.create_all(engine)
        return cls(engine)

    # -- agents ----------------------------------------------------------------

    def add_agent(self, name: str, role: str, password_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                agents.insert().values(
                    name=name, role=role, password_hash=password_hash, created_at=time.time()
                )
            )

    def set_password(self, name: str, password_hash: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                agents.update().where(agents.c.name == name).values(password_hash=password_hash)
            )
        return result.rowcount == 1

    def agent(self, name: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(agents).where(agents.c.name == name)).mappings().first()
        return dict(row) if row else None

    def agent_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(agents)).scalar_one()

    # -- handoffs --------------------------------------------------------------

    def create_handoff(self, **values: Any) -> int:
        values.setdefault("created_at", time.time())
        with self.engine.begin() as conn:
            result = conn.execute(handoffs.insert().values(**values))
            return int(result.inserted_primary_key[0])

    def handoff(self, handoff_id: int) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(handoffs).where(handoffs.c.id == handoff_id)
            ).mappings().first()
        return dict(row) if row else None

    def open_handoff_for(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The conversation's waiting or active handoff, if any (a second 转人工 while
        waiting must not queue the citizen twice)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(handoffs)
                .where(
                    handoffs.c.conversation_id == conversation_id,
                    handoffs.c.status.in_(ACTIVE_STATES),
                )
                .order_by(handoffs.c.id.desc())
            ).mappings().first()
        return dict(row) if row else None

    def handoffs_in(self, status: str, agent: Optional[str] = None) -> List[Dict[str, Any]]:
        query = sa.select(handoffs).where(handoffs.c.status == status)
        if agent is not None:
            query = query.where(handoffs.c.agent == agent)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(handoffs.c.id)).mappings()]

    def transition(
        self, handoff_id: int, from_status: str, to_status: str,
        assigned_to: Optional[str] = None, **values: Any,
    ) -> bool:
        """Moves a handoff on only if it is still in `from_status` (and, when given, still
        assigned to `assigned_to`): True for exactly one of several racing processes."""
        query = handoffs.update().where(
            handoffs.c.id == handoff_id, handoffs.c.status == from_status
        )
        if assigned_to is not None:
            query = query.where(handoffs.c.agent == assigned_to)
        with self.engine.begin() as conn:
            result = conn.execute(query.values(status=to_status, **values))
        return result.rowcount == 1

    def reassign(self, handoff_id: int, from_agent: Optional[str], to_agent: str) -> bool:
        query = handoffs.update().where(handoffs.c.id == handoff_id, handoffs.c.status == "active")
        if from_agent is not None:
            query = query.where(handoffs.c.agent == from_agent)
        with self.engine.begin() as conn:
            return conn.execute(query.values(agent=to_agent)).rowcount == 1

    def rate(self, handoff_id: int, conversation_id: str, rating: int) -> bool:
        """Stores a rating once, for an ended handoff of that very conversation."""
        with self.engine.begin() as conn:
            result = conn.execute(
                handoffs.update()
                .where(
                    handoffs.c.id == handoff_id,
                    handoffs.c.conversation_id == conversation_id,
                    handoffs.c.status == "ended",
                    handoffs.c.rating.is_(None),
                )
                .values(rating=rating, rated_at=time.time())
            )
        return result.rowcount == 1

    # -- work orders -----------------------------------------------------------

    def create_work_order(self, **values: Any) -> str:
        """Stores a work order numbered GD-<local date>-<NNNN>; the day's sequence comes
        from the table itself, and a collision with another process just takes the next."""
        now = values.setdefault("created_at", time.time())
        values.setdefault("status", "open")
        prefix = "GD-" + datetime.fromtimestamp(now, LOCAL_TZ).strftime("%Y%m%d") + "-"
        for _ in range(20):
            with self.engine.connect() as conn:
                last = conn.execute(
                    sa.select(sa.func.max(work_orders.c.number)).where(
                        work_orders.c.number.like(prefix + "%")
                    )
                ).scalar()
            number = f"{prefix}{(int(last.rsplit('-', 1)[1]) if last else 0) + 1:04d}"
            try:
                with self.engine.begin() as conn:
                    conn.execute(work_orders.insert().values(number=number, **values))
                return number
            except IntegrityError:
                continue
        raise RuntimeError("could not number a work order")

    def work_order(self, number: str) -> Optional[Dict[str, Any]]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(work_orders).where(work_orders.c.number == number)
            ).mappings().first()
        return dict(row) if row else None

    def set_callback(self, number: str, conversation_id: str, phone: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                work_orders.update()
                .where(
                    work_orders.c.number == number,
                    work_orders.c.conversation_id == conversation_id,
                )
                .values(callback_phone=phone)
            )
        return result.rowcount == 1

    def cancel_message_order(self, number: str, conversation_id: str) -> bool:
        """Withdraws an open message's order of that conversation (the citizen cancelled
        at the callback number); a complaint's order is never withdrawn."""
        with self.engine.begin() as conn:
            return conn.execute(
                work_orders.update()
                .where(
                    work_orders.c.number == number,
                    work_orders.c.conversation_id == conversation_id,
                    work_orders.c.kind == "message",
                    work_orders.c.status == "open",
                )
                .values(status="cancelled")
            ).rowcount == 1

    def open_work_orders(self, limit: int = 100) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(work_orders)
                .where(work_orders.c.status == "open")
                .order_by(work_orders.c.created_at)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def close_work_order(self, number: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                work_orders.update()
                .where(work_orders.c.number == number, work_orders.c.status == "open")
                .values(status="closed")
            ).rowcount == 1

    # -- audit and statistics --------------------------------------------------

    def audit_reveal(self, agent: str, handoff_id: Optional[int], what: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                reveals.insert().values(
                    agent=agent, handoff_id=handoff_id, what=what, at=time.time()
                )
            )

    def reveal_log(self, limit: int = 100) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(reveals).order_by(reveals.c.id.desc()).limit(limit))
            return [dict(r) for r in rows.mappings()]

    def daily_stats(self, since: float) -> List[Dict[str, Any]]:
        """Handoffs, work orders and satisfaction per local day since `since`."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoffs.c.created_at, handoffs.c.status, handoffs.c.rating).where(
                    handoffs.c.created_at >= since
                )
            ).all()
            orders = conn.execute(
                sa.select(work_orders.c.created_at).where(work_orders.c.created_at >= since)
            ).all()
        days: Dict[str, Dict[str, Any]] = {}

        def day(ts: float) -> Dict[str, Any]:
            return days.setdefault(
                local_day(ts),
                {"handoffs": 0, "answered": 0, "timed_out": 0, "work_orders": 0, "ratings": []},
            )

        for created, status, rating in rows:
            entry = day(created)
            entry["handoffs"] += 1
            entry["answered"] += status in ("active", "ended")
            entry["timed_out"] += status == "timed_out"
            if rating is not None:
                entry["ratings"].append(rating)
        for (created,) in orders:
            day(created)["work_orders"] += 1
        out = []
        for name in sorted(days, reverse=True):
            entry = days[name]
            ratings = entry.pop("ratings")
            entry["ratings"] = len(ratings)
            entry["satisfaction"] = round(sum(ratings) / len(ratings), 2) if ratings else None
            out.append({"day": name, **entry})
        return out
