"""Durable handoff records in SQL: agents, handoffs, work orders, ratings, reveal audit.

Everything that must survive a desk restart is here (SQLite under var/ by default,
PostgreSQL with DATABASE_URL). State changes are conditional updates ("… WHERE status =
'waiting'"), so two desk processes racing for one conversation cannot both win.

A work order keeps its message and callback number masked (`work_orders`, what every
agent sees) and their originals sealed apart (`sealed_work_orders`, Fernet with
SEAL_KEY), read only by the audited reveal of the agent who claimed the order or a
supervisor: a dump of the database shows no phone or ID number.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.clock import LOCAL_TZ
from bot.db import create_tables, engine_for
from bot.privacy import mask_personal, mask_phone, sealer

logger = logging.getLogger(__name__)

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
    # The agent who took the order on: only they (or a supervisor) reveal and close it.
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_at", sa.Float),
)

#: Columns added to work_orders since the table was first created (Records.open adds
#: them to an older table).
_ADDED_COLUMNS = {"claimed_by": "VARCHAR(64)", "claimed_at": "FLOAT"}

sealed_orders = sa.Table(
    "sealed_work_orders",
    metadata,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("message", sa.Text, nullable=False),  # Fernet tokens (bot.privacy.sealer)
    sa.Column("callback_phone", sa.Text),
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
        create_tables(metadata, engine)
        records = cls(engine)
        records._upgrade()
        return records

    def _upgrade(self) -> None:
        """An older work_orders table gets the claim columns, and the texts it kept in
        clear are sealed and masked; both idempotent, so desks starting together and
        every later start are harmless."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("work_orders")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in present:
                try:
                    with self.engine.begin() as conn:
                        conn.execute(sa.text(f"ALTER TABLE work_orders ADD COLUMN {name} {kind}"))
                except sa.exc.DBAPIError:  # another desk added it meanwhile
                    logger.info("work_orders.%s was added by another process", name)
        with self.engine.begin() as conn:
            clear = conn.execute(
                sa.select(work_orders.c.number, work_orders.c.message, work_orders.c.callback_phone)
                .select_from(work_orders.outerjoin(
                    sealed_orders, sealed_orders.c.number == work_orders.c.number))
                .where(sealed_orders.c.number.is_(None))
            ).all()
            for number, message, phone in clear:
                self._seal_order(conn, number, message, phone)
        if clear:
            logger.info("desk: sealed the texts of %d older work orders", len(clear))

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

    def other_handoffs(self, conversation_id: str, but: int, limit: int = 10) -> List[Dict[str, Any]]:
        """The conversation's handoffs other than `but`, newest first (the citizen's
        earlier chats, shown to the agent)."""
        query = (sa.select(handoffs)
                 .where(handoffs.c.conversation_id == conversation_id, handoffs.c.id != but)
                 .order_by(handoffs.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def handled_since(self, since: float) -> List[Tuple[str, float]]:
        """(agent, accepted at) of every handoff ended after being accepted since `since`."""
        query = sa.select(handoffs.c.agent, handoffs.c.accepted_at).where(
            handoffs.c.status == "ended", handoffs.c.accepted_at >= since,
            handoffs.c.agent.is_not(None))
        with self.engine.connect() as conn:
            return [(agent, accepted) for agent, accepted in conn.execute(query).all()]

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

    @staticmethod
    def _seal_order(
        conn: Connection, number: str, message: Optional[str], phone: Optional[str]
    ) -> None:
        """Seals an order's originals and leaves only their masks in work_orders
        (`message` None: only the callback number changes)."""
        seal = sealer()
        masked: Dict[str, Any] = {"callback_phone": mask_phone(phone) or None}
        sealed: Dict[str, Any] = {"callback_phone": seal.seal(phone) if phone else None}
        if message is not None:
            masked["message"] = mask_personal(message)
            sealed["message"] = seal.seal(message)
        conn.execute(work_orders.update().where(work_orders.c.number == number).values(**masked))
        if not conn.execute(
            sealed_orders.update().where(sealed_orders.c.number == number).values(**sealed)
        ).rowcount:
            conn.execute(sealed_orders.insert().values(
                number=number, **{"message": seal.seal(""), **sealed}))

    def create_work_order(
        self, *, conversation_id: str, channel: str, kind: str, message: str,
        callback_phone: Optional[str] = None, created_at: Optional[float] = None,
    ) -> str:
        """Stores a work order numbered GD-<local date>-<NNNN> (its texts masked, the
        originals sealed); the day's sequence comes from the table itself, and a
        collision with another process just takes the next."""
        now = created_at if created_at is not None else time.time()
        values = {"conversation_id": conversation_id, "channel": channel, "kind": kind,
                  "message": mask_personal(message), "callback_phone": mask_phone(callback_phone) or None,
                  "status": "open", "created_at": now}
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
                    self._seal_order(conn, number, message, callback_phone)
                return number
            except IntegrityError:
                continue
        raise RuntimeError("could not number a work order")

    def work_order(self, number: str) -> Optional[Dict[str, Any]]:
        """An order as stored: message and callback number masked."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(work_orders).where(work_orders.c.number == number)
            ).mappings().first()
        return dict(row) if row else None

    def reveal_work_order(self, number: str) -> Optional[Dict[str, Optional[str]]]:
        """The order's message and callback number in full (for the audited reveal)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sealed_orders).where(sealed_orders.c.number == number)
            ).mappings().first()
        if row is None:
            return None
        seal = sealer()
        return {"message": seal.unseal(row["message"]),
                "callback_phone": seal.unseal(row["callback_phone"]) if row["callback_phone"] else None}

    def set_callback(self, number: str, conversation_id: str, phone: str) -> bool:
        with self.engine.begin() as conn:
            mine = conn.execute(
                sa.select(work_orders.c.number).where(
                    work_orders.c.number == number,
                    work_orders.c.conversation_id == conversation_id,
                )
            ).first()
            if mine is not None:
                self._seal_order(conn, number, None, phone)
        return mine is not None

    def claim_work_order(self, number: str, agent: str) -> bool:
        """An open, unclaimed order becomes `agent`'s; False if someone was faster."""
        with self.engine.begin() as conn:
            return conn.execute(
                work_orders.update()
                .where(
                    work_orders.c.number == number,
                    work_orders.c.status == "open",
                    work_orders.c.claimed_by.is_(None),
                )
                .values(claimed_by=agent, claimed_at=time.time())
            ).rowcount == 1

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

    def orders_of(self, conversation_id: str, number: Optional[str] = None,
                  limit: int = 5) -> List[Dict[str, Any]]:
        """The state of the orders a conversation registered, newest first (one, with
        `number`): number, kind, status, created_at and whether an agent took it on. Only
        the conversation's own: a number alone tells nobody else anything."""
        query = sa.select(work_orders.c.number, work_orders.c.kind, work_orders.c.status,
                          work_orders.c.created_at, work_orders.c.claimed_by).where(
            work_orders.c.conversation_id == conversation_id)
        if number is not None:
            query = query.where(work_orders.c.number == number)
        with self.engine.connect() as conn:
            rows = conn.execute(
                query.order_by(work_orders.c.created_at.desc()).limit(limit)).mappings()
            return [{"number": r["number"], "kind": r["kind"], "status": r["status"],
                     "created_at": r["created_at"], "taken": r["claimed_by"] is not None}
                    for r in rows]

    def open_work_orders(self, limit: int = 100) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(work_orders)
                .where(work_orders.c.status == "open")
                .order_by(work_orders.c.created_at)
                .limit(limit)
            ).mappings()
            return [dict(r) for r in rows]

    def close_work_order(self, number: str, claimed_by: Optional[str] = None) -> bool:
        """Closes an open order; with `claimed_by`, only if that agent claimed it."""
        query = work_orders.update().where(
            work_orders.c.number == number, work_orders.c.status == "open"
        )
        if claimed_by is not None:
            query = query.where(work_orders.c.claimed_by == claimed_by)
        with self.engine.begin() as conn:
            return conn.execute(query.values(status="closed")).rowcount == 1

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
