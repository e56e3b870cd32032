"""A status conversation against a real stand-in backend (aiohttp on a free port), the
real client, a real key-value store (in-process, and Redis with REDIS_URL) and real SQL
bindings and audit log (SQLite, and PostgreSQL with DATABASE_URL)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest

from bot.audit import AuditLog
from standins.gov_backend.sms import last_code
from bot.backend.client import BackendClient
from bot.catalog.dialogue import Context
from bot.db import engine_for
from bot.status.bindings import BindingStore
from bot.dialogue.turn import Said, Turn
from bot.status.dialogue import Citizen, State, StatusDialogue
from bot.status.guard import Guard, Limits
from tests.backend.conftest import TOKEN, _backend

#: Limits of the issue, with a short resend gap so tests need not wait a minute.
TEST_LIMITS = Limits(resend_gap=0.3)


@pytest.fixture
async def backend(tmp_path):
    runner, info = await _backend(f"sqlite:///{tmp_path / 'backend.db'}", tmp_path,
                                  identity_max_failures=1000)
    info.runner = runner
    yield info
    await runner.cleanup()


@pytest.fixture
async def make_dialogue(backend, kv_store, database_url, index):
    """make_dialogue(limits=…, backend_url=…, timeout=…) → a StatusDialogue; clients are
    closed at the end."""
    clients: List[BackendClient] = []
    engine = engine_for(database_url)
    prefix = f"status-test-{uuid.uuid4().hex[:8]}"  # one Redis serves many tests

    def make(limits: Limits = TEST_LIMITS, backend_url: Optional[str] = None,
             timeout: float = 2.0) -> StatusDialogue:
        client = BackendClient(backend_url or backend.url, TOKEN, timeout=timeout)
        clients.append(client)
        return StatusDialogue(client, Guard(kv_store, limits, prefix=prefix), BindingStore(engine),
                              AuditLog(engine), index)

    yield make
    for client in clients:
        await client.close()


@dataclass
class Chat:
    """One citizen's conversation, holding the slots Rasa would hold between turns."""

    dialogue: StatusDialogue
    channel: str = "rest"
    sender_id: str = field(default_factory=lambda: f"t-{uuid.uuid4().hex[:10]}")
    slots: Dict[str, Any] = field(default_factory=dict)
    last_was_status: bool = False

    @property
    def who(self) -> Citizen:
        return Citizen(self.channel, self.sender_id)

    async def say(self, text: str, intent: str = "inform", **slots: Any) -> Turn:
        self.slots.update(slots)
        state = State(flow=self.slots.get("status_flow") or {},
                      verified_person_id=self.slots.get("verified_person_id"),
                      pending_topic=self.slots.get("pending_topic"),
                      just_asked=self.last_was_status,
                      matters=Context.from_slots(self.slots.get))
        entities = []
        turn = await self.dialogue.handle(Said(intent, text, entities), state, self.who)
        self.slots.update(turn.slots)
        self.last_was_status = True  # action_status said it, whoever's words they were
        return turn

    def other_turn(self) -> None:
        """Another action answered (a matter question): the check waits."""
        self.last_was_status = False

    def new_session(self) -> "Chat":
        """Same channel account, new conversation session: slots start empty."""
        return Chat(self.dialogue, self.channel, self.sender_id)

    @property
    def step(self) -> Optional[str]:
        return (self.slots.get("status_flow") or {}).get("step")


def said(turn: Turn) -> str:
    return "\n".join(m.text for m in turn.messages)


def buttons(turn: Turn) -> List[Dict[str, str]]:
    return [b for m in turn.messages for b in m.buttons]


def code_for(backend, phone: str) -> str:
    code = last_code(backend.engine, phone)
    assert code, f"no code sent to {phone}"
    return code
