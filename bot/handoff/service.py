"""The desk's handoff logic: queue, accept, read, reply, transfer, end, timeouts.

One `HandoffService` per desk process; all shared state is in `records` (SQL), `queue`
(Redis or memory) and `kv` (bot/kv.py), so several desk processes can run side by side.
Every state change is a conditional SQL update, and only its winner talks to the citizen.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from sqlalchemy.engine import Engine

from bot.dialogue import texts
from bot.handoff.config import HandoffConfig
from bot.handoff.history import messages
from bot.handoff.queue import HandoffQueue
from bot.handoff.rasa_api import RasaAPI, agent_message, resume_events
from bot.handoff.records import Records
from bot.handoff.summary import INTENT_TOPICS, channel_label
from bot.kv import KeyValueStore
from bot.privacy import mask_personal
from bot.conversations import conversation_event, conversation_events, sealed_text

logger = logging.getLogger(__name__)

MAX_REPLY = 2000
SWEEP_LOCK = "handoff:sweep-lock"
#: What the desk says to the citizen, and its refusals shown to the agent
#: (data/texts/handoff.yml).
TEXTS = texts.load("handoff", {
    "closing": (), "accepted": ("agent",), "transferred": ("agent",),
    **{key: () for key in (
        "desk_no_conversation", "desk_not_yours", "desk_ended", "desk_taken", "desk_no_message",
        "desk_empty_reply", "desk_offline", "desk_changed",
    )},
    "desk_reply_too_long": ("limit",),
})
CLOSING = TEXTS["closing"]
#: Timeout: the bot takes over again, listening (so the citizen's next message is a fresh
#: turn even when the timeout action below could not run).
HAND_BACK = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
#: What the bot does when nobody accepted in time: apologise and take a message
#: (actions/handoff.py ActionHandoffTimeout).
TIMEOUT_ACTION = "action_handoff_timeout"


class DeskError(Exception):
    """A refused desk request: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def expected_wait_minutes(position: int, agents_online: int, minutes_per_citizen: float) -> int:
    """Position 1 with one agent → one citizen's handling time; never below one minute."""
    return max(1, math.ceil(position * minutes_per_citizen / max(1, agents_online)))


@dataclass
class HandoffService:
    cfg: HandoffConfig
    records: Records
    queue: HandoffQueue
    rasa: RasaAPI
    tracker_engine: Engine
    kv: KeyValueStore
    clock: Callable[[], float] = time.time

    async def restore(self) -> int:
        """Puts every handoff SQL says is waiting back in the queue (a restarted desk
        without Redis starts with an empty one); adding twice is harmless."""
        waiting = self.records.handoffs_in("waiting")
        for handoff in waiting:
            await self.queue.add(handoff["id"], handoff["created_at"])
        return len(waiting)

    # -- the citizen's side (called by the action server) --------------------------

    async def request(self, request: Dict[str, Any]) -> Dict[str, Any]:
        conversation_id = str(request["conversation_id"])
        existing = self.records.open_handoff_for(conversation_id)
        if existing is not None:  # asked again while waiting: same place in line
            return await self._queued_answer(existing)
        values = {
            "conversation_id": conversation_id,
            "channel": str(request.get("channel") or "unknown")[:32],
            "kind": "complaint" if request.get("kind") == "complaint" else "request",
            "topic": str(request.get("topic") or INTENT_TOPICS["request_human"])[:64],
            # Masked by the action server already; masked again because it is stored
            # and every agent sees it (an older action server may not blank codes).
            "summary": mask_personal(str(request.get("summary") or "")[:2000]),
            "matter_code": request.get("matter_code"),
            "matter_name": request.get("matter_name"),
            "work_order_number": request.get("work_order_number"),
            "created_at": self.clock(),
        }
        if not await self.queue.online():
            self.records.create_handoff(status="no_agent", **values)
            return {"status": "no_agent"}
        handoff_id = self.records.create_handoff(status="waiting", **values)
        await self.queue.add(handoff_id, values["created_at"])
        return await self._queued_answer(self.records.handoff(handoff_id))

    async def _queued_answer(self, handoff: Dict[str, Any]) -> Dict[str, Any]:
        if handoff["status"] == "active":
            return {"status": "active", "handoff_id": handoff["id"], "agent": handoff["agent"]}
        position = await self.queue.position(handoff["id"]) or 1
        online = len(await self.queue.online())
        return {
            "status": "queued",
            "handoff_id": handoff["id"],
            "position": position,
            "wait_minutes": expected_wait_minutes(position, online, self.cfg.minutes_per_citizen),
        }

    # -- the agents' side ----------------------------------------------------------

    async def queue_view(self) -> List[Dict[str, Any]]:
        now = self.clock()
        out = []
        for position, (handoff_id, joined) in enumerate(await self.queue.waiting(), start=1):
            handoff = self.records.handoff(handoff_id)
            if handoff is None or handoff["status"] != "waiting":
                await self.queue.remove(handoff_id)  # settled elsewhere: tidy up
                continue
            wait = int(now - joined)
            out.append(self.public(handoff) | {"position": position, "wait_seconds": wait})
        return out

    def public(self, handoff: Dict[str, Any]) -> Dict[str, Any]:
        """A handoff as the desk shows it (the summary is masked already)."""
        return {
            "id": handoff["id"], "status": handoff["status"], "kind": handoff["kind"],
            "topic": handoff["topic"], "summary": handoff["summary"],
            "channel": handoff["channel"], "channel_label": channel_label(handoff["channel"]),
            "matter_code": handoff["matter_code"], "matter_name": handoff["matter_name"],
            "agent": handoff["agent"], "work_order_number": handoff["work_order_number"],
            "created_at": handoff["created_at"], "accepted_at": handoff["accepted_at"],
        }

    def mine(self, agent: str) -> List[Dict[str, Any]]:
        return [self.public(h) for h in self.records.handoffs_in("active", agent=agent)]

    def readable(self, handoff_id: int, agent: str, supervisor: bool) -> Dict[str, Any]:
        """The handoff if this agent may read it: assigned to them, or a supervisor."""
        handoff = self.records.handoff(handoff_id)
        if handoff is None:
            raise DeskError(404, TEXTS("desk_no_conversation"))
        if not supervisor and handoff["agent"] != agent:
            raise DeskError(403, TEXTS("desk_not_yours"))
        return handoff

    def writable(self, handoff_id: int, agent: str) -> Dict[str, Any]:
        """Only the assigned agent talks in a conversation, and only while it is active."""
        handoff = self.records.handoff(handoff_id)
        if handoff is None:
            raise DeskError(404, TEXTS("desk_no_conversation"))
        if handoff["agent"] != agent:
            raise DeskError(403, TEXTS("desk_not_yours"))
        if handoff["status"] != "active":
            raise DeskError(409, TEXTS("desk_ended"))
        return handoff

    async def accept(self, handoff_id: int, agent: str) -> Dict[str, Any]:
        if not self.records.transition(
            handoff_id, "waiting", "active", agent=agent, accepted_at=self.clock()
        ):
            raise DeskError(409, TEXTS("desk_taken"))
        await self.queue.remove(handoff_id)
        handoff = self.records.handoff(handoff_id)
        await self.rasa.append(
            handoff["conversation_id"],
            [agent_message(TEXTS("accepted", agent=agent), agent)],
        )
        return self.public(handoff)

    def history(self, handoff: Dict[str, Any], after: int = 0) -> List[Dict[str, Any]]:
        return messages(conversation_events(self.tracker_engine, handoff["conversation_id"], after))

    def reveal(self, handoff: Dict[str, Any], event_id: int, agent: str) -> str:
        """The unmasked text of one citizen message; who, what and when is recorded."""
        event = conversation_event(self.tracker_engine, handoff["conversation_id"], event_id)
        if event is None or event.get("event") != "user":
            raise DeskError(404, TEXTS("desk_no_message"))
        self.records.audit_reveal(agent, handoff["id"], f"message {event_id}")
        original = sealed_text(
            self.tracker_engine, handoff["conversation_id"], event.get("timestamp") or 0.0
        )
        return original or event.get("text") or ""

    async def reply(self, handoff_id: int, agent: str, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise DeskError(400, TEXTS("desk_empty_reply"))
        if len(text) > MAX_REPLY:
            raise DeskError(400, TEXTS("desk_reply_too_long", limit=MAX_REPLY))
        handoff = self.writable(handoff_id, agent)
        await self.rasa.append(handoff["conversation_id"], [agent_message(text, agent)])

    async def transfer(self, handoff_id: int, agent: str, to_agent: str) -> None:
        handoff = self.writable(handoff_id, agent)
        if to_agent == agent or to_agent not in await self.queue.online():
            raise DeskError(409, TEXTS("desk_offline"))
        if not self.records.reassign(handoff_id, agent, to_agent):
            raise DeskError(409, TEXTS("desk_changed"))
        await self.rasa.append(
            handoff["conversation_id"],
            [agent_message(TEXTS("transferred", agent=to_agent), agent)],
        )

    async def end(self, handoff_id: int, agent: str, closing: Optional[str] = None) -> None:
        handoff = self.writable(handoff_id, agent)
        if not self.records.transition(
            handoff_id, "active", "ended", assigned_to=agent, ended_at=self.clock()
        ):
            raise DeskError(409, TEXTS("desk_ended"))
        events = resume_events(handoff_id, closing or CLOSING)
        await self.rasa.append(handoff["conversation_id"], events)

    # -- timeouts ----------------------------------------------------------------

    async def sweep_timeouts(self) -> int:
        """Citizens waiting longer than the accept timeout are handed back to the bot,
        which offers to take a message (a work order). One desk process at a time."""
        if not await self.kv.set(SWEEP_LOCK, "1", ttl=30, only_if_new=True):
            return 0
        done = 0
        try:
            cutoff = self.clock() - self.cfg.accept_timeout
            for handoff_id, joined in await self.queue.waiting():
                if joined > cutoff:
                    break
                await self.queue.remove(handoff_id)
                if not self.records.transition(
                    handoff_id, "waiting", "timed_out", ended_at=self.clock()
                ):
                    continue
                conversation = self.records.handoff(handoff_id)["conversation_id"]
                try:
                    await self.rasa.append(conversation, HAND_BACK)
                    await self.rasa.execute(conversation, TIMEOUT_ACTION)
                except Exception:  # noqa: BLE001 - the next citizen must not wait on this one
                    logger.exception("could not hand %s back after the timeout", conversation)
                done += 1
        finally:
            await self.kv.delete(SWEEP_LOCK)
        return done

    # -- supervisor ----------------------------------------------------------------

    async def overview(self, days: int = 7) -> Dict[str, Any]:
        waiting = await self.queue.waiting()
        now = self.clock()
        return {
            "queue_length": len(waiting),
            "longest_wait_seconds": int(now - waiting[0][1]) if waiting else 0,
            "agents_online": await self.queue.online(),
            "active": [self.public(h) for h in self.records.handoffs_in("active")],
            "days": self.records.daily_stats(now - days * 86400),
            "open_work_orders": len(self.records.open_work_orders()),
        }
