"""The desk's handoff logic: queue, accept, read, reply, transfer, end, timeouts.

One `HandoffService` per desk process; all shared state is in `records` (SQL), `queue`
(Redis or memory) and `kv` (bot/kv.py), so several desk processes can run side by side.
Every state change is a conditional SQL update, and only its winner talks to the citizen.
"""
from __future__ import annotations

import asyncio
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
from bot.handoff.rasa_api import (RasaAPI, RasaUnavailable, agent_message, bot_message,
                                  resume_events)
from bot.handoff.records import Records, local_day
from bot.handoff.summary import INTENT_TOPICS, channel_label
from bot.handoff.waiting import (CANCEL, KEY_TTL, STRUCTURED_CHANNELS, Watch, cancelled,
                                 custom_message, paused_at, queue_payload, reading, replies,
                                 waiting_key)
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
        "desk_empty_reply", "desk_offline", "desk_changed", "desk_rasa_failed",
        "desk_nobody_else", "back_to_queue", "desk_not_active",
    )},
    "taken_over": ("agent",),
    "desk_reply_too_long": ("limit",), "accept_timeout": ("hours",),
    "wait_too_long": ("minutes",),
})
CLOSING = TEXTS["closing"]
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
            # what tells two chats apart at a glance: the conversation's last 4 characters
            "short": str(handoff["conversation_id"])[-4:],
        }

    def mine(self, agent: str) -> List[Dict[str, Any]]:
        """The agent's live chats, each with the ids of the citizen's latest messages
        (the desk counts those it has not shown as unread)."""
        return [self.public(h) | {"citizen_ids": self.citizen_ids(h)}
                for h in self.records.handoffs_in("active", agent=agent)]

    def citizen_ids(self, handoff: Dict[str, Any], recent: int = 30) -> List[int]:
        events = conversation_events(self.tracker_engine, handoff["conversation_id"], 0, recent)
        return [e["_id"] for e in events
                if e.get("event") == "user" and not str(e.get("text") or "").startswith("EXTERNAL: ")]

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
        """Atomic for the citizen: the chat is the agent's only once the citizen has been
        told. The conditional update wins the race against other agents; if the greeting
        cannot be delivered (Rasa down or slow), the handoff goes back to waiting, in its
        old place, and the agent gets 502 to retry."""
        if not self.records.transition(
            handoff_id, "waiting", "active", agent=agent, accepted_at=self.clock()
        ):
            raise DeskError(409, TEXTS("desk_taken"))
        await self.queue.remove(handoff_id)
        handoff = self.records.handoff(handoff_id)
        events = [agent_message(TEXTS("accepted", agent=agent), agent)]
        if handoff["channel"] in STRUCTURED_CHANNELS:  # the widget's queue bar goes
            events.insert(0, custom_message(queue_payload("accepted")))
        try:
            await self.rasa.append(handoff["conversation_id"], events)
        except (RasaUnavailable, asyncio.TimeoutError, OSError) as exc:
            logger.warning("accept of handoff %s rolled back: %s", handoff_id, exc)
            if self.records.transition(handoff_id, "active", "waiting", assigned_to=agent,
                                       agent=None, accepted_at=None):
                await self.queue.add(handoff_id, handoff["created_at"])
            raise DeskError(502, TEXTS("desk_rasa_failed")) from None
        await self.kv.delete(waiting_key(handoff_id))
        return self.public(handoff)

    def history(self, handoff: Dict[str, Any], after: int = 0) -> List[Dict[str, Any]]:
        """The messages after event `after`. A button pressed since then is shown by its
        title, which the bot's earlier message holds: then the whole conversation is read
        (rare, and conversations are short) and only the new messages are returned."""
        cid = handoff["conversation_id"]
        events = conversation_events(self.tracker_engine, cid, after)
        if after and any(e.get("event") == "user" and str(e.get("text") or "").startswith("/")
                         for e in events):
            return [m for m in messages(conversation_events(self.tracker_engine, cid, 0))
                    if m["id"] > after]
        return messages(events)

    def earlier(self, handoff: Dict[str, Any], limit: int = 10) -> List[Dict[str, Any]]:
        """The citizen's other handoffs (same conversation), newest first."""
        rows = self.records.other_handoffs(handoff["conversation_id"], handoff["id"], limit)
        return [self.public(r) | {"ended_at": r["ended_at"], "rating": r["rating"]} for r in rows]

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
        """To another online agent, or (`to_agent` "queue") back to the waiting line in
        its old place, for whoever is free next. The citizen is told first; if that
        fails nothing changes."""
        handoff = self.writable(handoff_id, agent)
        if to_agent == "queue":
            await self._tell(handoff, [agent_message(TEXTS["back_to_queue"], agent)])
            if not self.records.transition(handoff_id, "active", "waiting", assigned_to=agent,
                                           agent=None, accepted_at=None):
                raise DeskError(409, TEXTS("desk_changed"))
            await self.queue.add(handoff_id, handoff["created_at"])
            return
        online = await self.queue.online()
        if not [a for a in online if a != agent]:
            raise DeskError(409, TEXTS("desk_nobody_else"))
        if to_agent == agent or to_agent not in online:
            raise DeskError(409, TEXTS("desk_offline"))
        await self._tell(handoff, [agent_message(TEXTS("transferred", agent=to_agent), agent)])
        if not self.records.reassign(handoff_id, agent, to_agent):
            raise DeskError(409, TEXTS("desk_changed"))

    async def take_over(self, handoff_id: int, supervisor: str) -> Dict[str, Any]:
        """A supervisor takes an active chat from its agent: the citizen is told, then the
        chat is the supervisor's (conditional on the agent it had)."""
        handoff = self.records.handoff(handoff_id)
        if handoff is None:
            raise DeskError(404, TEXTS("desk_no_conversation"))
        if handoff["status"] != "active":
            raise DeskError(409, TEXTS("desk_not_active"))
        if handoff["agent"] == supervisor:
            return self.public(handoff)
        await self._tell(handoff, [agent_message(TEXTS("taken_over", agent=supervisor),
                                                 supervisor)])
        if not self.records.reassign(handoff_id, handoff["agent"], supervisor):
            raise DeskError(409, TEXTS("desk_changed"))
        return self.public(self.records.handoff(handoff_id))

    async def _tell(self, handoff: Dict[str, Any], events: List[Dict[str, Any]]) -> None:
        try:
            await self.rasa.append(handoff["conversation_id"], events)
        except (RasaUnavailable, asyncio.TimeoutError, OSError) as exc:
            logger.warning("could not tell %s: %s", handoff["conversation_id"], exc)
            raise DeskError(502, TEXTS("desk_rasa_failed")) from None

    async def end(self, handoff_id: int, agent: str, closing: Optional[str] = None) -> None:
        handoff = self.writable(handoff_id, agent)
        if not self.records.transition(
            handoff_id, "active", "ended", assigned_to=agent, ended_at=self.clock()
        ):
            raise DeskError(409, TEXTS("desk_ended"))
        events = resume_events(handoff_id, closing or CLOSING)
        if handoff["channel"] in STRUCTURED_CHANNELS:
            events.insert(1, custom_message(queue_payload("ended")))
        await self.rasa.append(handoff["conversation_id"], events)

    # -- the waiting line ---------------------------------------------------------

    async def sweep(self) -> int:
        """One pass over the waiting line, by one desk process at a time: the new
        messages of waiting citizens answered (bot/handoff/waiting.py), then the
        timeouts. Returns how many citizens were handed back to the bot."""
        if not await self.kv.set(SWEEP_LOCK, "1", ttl=30, only_if_new=True):
            return 0
        try:
            await self.watch_waiting()
            return await self.sweep_timeouts()
        finally:
            await self.kv.delete(SWEEP_LOCK)

    async def sweep_timeouts(self) -> int:
        """A citizen waits while someone can take the chat: handed back to the bot (which
        offers to take a message, a work order) only when nobody is online and they have
        waited the accept timeout, or when they have waited HANDOFF_MAX_WAIT anyway. The
        bot is told which, so the citizen hears the truth ("现在没有在线的工作人员", not
        "都在忙" while agents sit online)."""
        done = 0
        now = self.clock()
        waiting = await self.queue.waiting()
        nobody = not await self.queue.online() if waiting else False
        for handoff_id, joined in waiting:
            waited = now - joined
            if waited < self.cfg.accept_timeout or not (nobody or waited >= self.cfg.max_wait):
                continue
            await self.queue.remove(handoff_id)
            if not self.records.transition(handoff_id, "waiting", "timed_out", ended_at=now):
                continue
            conversation = self.records.handoff(handoff_id)["conversation_id"]
            reason = (TEXTS("accept_timeout", hours=self.cfg.office_hours) if nobody
                      else TEXTS("wait_too_long", minutes=math.ceil(waited / 60)))
            try:
                await self.rasa.append(conversation, [
                    {"event": "resume"}, bot_message(reason),
                    {"event": "action", "name": "action_listen"}])
                await self.rasa.execute(conversation, TIMEOUT_ACTION)
            except Exception:  # noqa: BLE001 - the next citizen must not wait on this one
                logger.exception("could not hand %s back after the timeout", conversation)
            await self.kv.delete(waiting_key(handoff_id))
            done += 1
        return done

    async def watch_waiting(self) -> None:
        """Answers what waiting citizens wrote since the last pass: 取消 leaves the line,
        a second 转人工 hears the place in line, other messages are acknowledged (at most
        once a minute in words; the widget gets each change as its queue bar)."""
        online = len(await self.queue.online())
        now = self.clock()
        for place, (handoff_id, _) in enumerate(await self.queue.waiting(), start=1):
            handoff = self.records.handoff(handoff_id)
            if handoff is None or handoff["status"] != "waiting":
                continue
            try:
                await self._watch_one(handoff, place, online, now)
            except Exception:  # noqa: BLE001 - one conversation must not stop the line
                logger.exception("waiting conversation %s not answered", handoff["conversation_id"])

    async def _watch_one(self, handoff: Dict[str, Any], place: int, online: int,
                         now: float) -> None:
        conversation = handoff["conversation_id"]
        key = waiting_key(handoff["id"])
        watch = Watch.of(await self.kv.get(key))
        if watch is None:  # first pass: start after the pause (what came before is history)
            recent = await asyncio.to_thread(conversation_events, self.tracker_engine,
                                             conversation, 0, 100)
            seen = paused_at(recent, handoff["created_at"])
            if seen is None:
                return  # the pause is not stored yet: the next pass starts there
            # place 0: a widget gets its queue bar on this first pass
            watch = Watch(seen=seen, place=0)
        events = await asyncio.to_thread(conversation_events, self.tracker_engine, conversation,
                                         watch.seen)
        if events:
            watch.seen = events[-1]["_id"]
        readings = [r for r in (reading(e) for e in events) if r]
        minutes = expected_wait_minutes(place, online, self.cfg.minutes_per_citizen)
        if CANCEL in readings:
            await self._cancel_wait(handoff)
            return
        answer = replies(readings, watch, now, handoff["channel"], place, minutes)
        if answer:
            await self.rasa.append(conversation, answer)
        await self.kv.set(key, watch.dumps(), ttl=KEY_TTL)

    async def _cancel_wait(self, handoff: Dict[str, Any]) -> None:
        """取消 while waiting: out of the line, the bot answers again."""
        await self.queue.remove(handoff["id"])
        if not self.records.transition(handoff["id"], "waiting", "cancelled",
                                       ended_at=self.clock()):
            return  # accepted meanwhile: the agent talks to the citizen now
        await self.kv.delete(waiting_key(handoff["id"]))
        await self.rasa.append(handoff["conversation_id"],
                               cancelled(handoff["channel"], self.cfg.office_hours))

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

    async def wallboard(self, agents: Dict[str, str]) -> Dict[str, Any]:
        """What a supervisor watches live: the waits against the SLA (over it marked),
        every live chat with its agent and duration, each agent's load (chats now,
        handled today, online or not). `agents`: name → role of every account."""
        now = self.clock()
        sla = self.cfg.accept_sla
        waiting = [item | {"over_sla": item["wait_seconds"] >= sla}
                   for item in await self.queue_view()]
        active = self.records.handoffs_in("active")
        live = [self.public(h) | {"duration_seconds": int(now - (h["accepted_at"] or now))}
                for h in active]
        online = set(await self.queue.online())
        today = local_day(now)
        handled: Dict[str, int] = {}
        for name, accepted in self.records.handled_since(now - 2 * 86400):
            if local_day(accepted) == today:
                handled[name] = handled.get(name, 0) + 1
        names = sorted(set(online) | {h["agent"] for h in active if h["agent"]} | set(handled))
        load = [{"agent": name, "role": agents.get(name, "agent"), "online": name in online,
                 "chats_now": sum(1 for h in active if h["agent"] == name),
                 "handled_today": handled.get(name, 0)} for name in names]
        return {
            "sla_seconds": int(sla), "waiting": waiting,
            "over_sla": sum(1 for w in waiting if w["over_sla"]),
            "longest_wait_seconds": max((w["wait_seconds"] for w in waiting), default=0),
            "live": live, "agents": load,
            "agents_online": sorted(a for a in online if agents.get(a, "agent") != "supervisor"),
            "now": now,
        }
