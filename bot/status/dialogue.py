"""The decisions of the status conversation, one turn at a time, without Rasa.

State between turns is the slot `status_flow` ({"step", "number", "phone"}, and "shown":
the number last shown, for the questions about it, bot/status/followup.py) plus
`verified_person_id`; the pending code and its target live in the shared key-value
store (`guard`). Steps: ask_number → ask_last6 → ask_code (→ code_spent) → ask_consent.

Enumeration: a wrong application number and a wrong identity take the same path and get
the same words; nothing about a number is fetched before the identity check matches, and
the attempt limits count per user and per number whether the number exists or not.

Lockout: only users are locked. A number many strangers failed on is "under attack"
(`Guard.under_attack`): every last-six try on it then hears the same quiet words, right
or wrong, and only a right one sends the code, so strangers can neither lock the owner
out nor learn anything (bot/status/guard.py says why this opens no brute force).

A message that answers nothing the check asked gets the reply it would get outside the
check (`_elsewhere`: the matter dialogue's, the not-understood one, or an acknowledgement),
and the check waits.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.audit import AuditLog
from bot.backend.client import (BackendClient, BackendError, BadRequest, NotFound,
                                RateLimited)
from bot.catalog.dialogue import Context, handle_inform, not_understood
from bot.catalog.search import MatterIndex
from bot.clock import today
from bot.dialogue.cues import HUMAN_BUTTON
from bot.dialogue.turn import Button, Said, Turn
from bot.status import followup, parse, render
from bot.status.bindings import BindingStore
from bot.status.guard import Guard, Target, requester_ref

logger = logging.getLogger(__name__)

#: Intents that may carry the answer to the step's question.
ANSWER_INTENTS = ("inform", "nlu_fallback", "check_application_status", "resend_code")


@dataclass(frozen=True)
class Citizen:
    """The channel account talking (a WeChat/Alipay user, a widget visitor…)."""

    channel: str
    sender_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.sender_id}"


@dataclass(frozen=True)
class State:
    """The slots this conversation holds."""

    flow: Mapping[str, Any] = field(default_factory=dict)
    verified_person_id: Optional[str] = None
    pending_topic: Optional[str] = None
    #: The bot's previous turn was this conversation's (the consent question must be
    #: answered right away, never by a 'yes' meant for something else later).
    just_asked: bool = True
    #: The matter slots, for a message the matter dialogue answers meanwhile.
    matters: Context = field(default_factory=Context)
    #: How many messages in a row were not understood (bot.catalog.dialogue.fallback_streak).
    not_understood: int = 0
    #: The bot's previous reply showed an application (followup.just_shown).
    just_shown: bool = False

    @property
    def step(self) -> Optional[str]:
        return (self.flow or {}).get("step")

    @property
    def number(self) -> Optional[str]:
        return (self.flow or {}).get("number")

    @property
    def shown(self) -> Optional[str]:
        """The application the previous reply showed, when it did."""
        return (self.flow or {}).get(followup.SHOWN_KEY) if self.just_shown else None


def _flow(step: Optional[str], **values: Any) -> Dict[str, Any]:
    if step is None:
        return {"status_flow": None, "status_active": False}
    flow = {"step": step, **{k: v for k, v in values.items() if v is not None}}
    return {"status_flow": flow, "status_active": True}


def _turn(key: Optional[str] = None, step: Optional[str] = None,
          buttons: Optional[List[Button]] = None,
          fields: Optional[Mapping[str, Any]] = None, **flow: Any) -> Turn:
    """Says TEXTS[key] (with `fields`) and moves the conversation to `step` (None: done)."""
    turn = Turn()
    if key:
        turn.say(render.text(key, **(fields or {})), buttons)
    turn.slots.update(_flow(step, **flow))
    return turn


def _shown_turn(number: str) -> Turn:
    """A turn that shows an application: the check is over, the number is kept for the
    questions about it (followup)."""
    turn = _turn()
    turn.slots["status_flow"] = {followup.SHOWN_KEY: number}
    return turn


def _locked(number: Optional[str]) -> Turn:
    """Too many failures: the check stays at its question, so a further try hears the
    same (no backend call), and the words are the same whether the number exists."""
    return _turn("locked", step="ask_last6", buttons=[HUMAN_BUTTON], number=number)


class StatusDialogue:
    """One instance per process; every call is independent (state comes in, goes out)."""

    def __init__(self, backend: BackendClient, guard: Guard, bindings: BindingStore,
                 audit: AuditLog, index: MatterIndex) -> None:
        self.backend = backend
        self.guard = guard
        self.bindings = bindings
        self.audit = audit
        self.index = index

    def matter_info(self, code: str) -> Optional[Tuple[str, str]]:
        """A matter's name and online link from the catalog (render.MatterInfo)."""
        matter = self.index.get(code) if code else None
        return (matter.name, matter.online_url or "") if matter else None

    # -- entry --------------------------------------------------------------------

    async def handle(self, said: Said, state: State, who: Citizen) -> Turn:
        number = said.entity("application_number") or parse.application_number(said.text)
        if number:
            number = parse.application_number(number) or number.upper()
        if state.step and number is None:
            turn = await self._reply(said, state, who)
            if turn is not None:
                return turn
        if number is None:
            turn = await self.follow_up(said, state, who)
            if turn is not None:
                return turn
        if said.intent == "unbind_account":
            return await self._unbind(who)
        if said.intent == "check_application_status" or number:
            return await self.start(number, said, state, who)
        if said.intent == "resend_code" or (said.intent in ANSWER_INTENTS
                                            and parse.asks_resend(said.text)):
            return _turn("no_pending")
        if parse.looks_like_bad_number(said.text):
            return _turn("bad_number", step="ask_number")
        turn = self._elsewhere(said, state)
        if state.step == "ask_consent":  # moved on: a later 'yes' must not bind
            turn.slots.update(_flow(None))
        return turn

    def _elsewhere(self, said: Said, state: State) -> Turn:
        """The reply a message gets outside the check: a bare value is the matter
        dialogue's, a message NLU did not understand is read matter-first, anything else
        is acknowledged (the domain's utter_ok)."""
        if said.intent == "inform":
            return handle_inform(self.index, list(said.entities), said.text,
                                 state.matters.pending_topic, state.matters.district,
                                 context=state.matters)
        if said.intent == "nlu_fallback":
            return not_understood(self.index, said, state.matters, state.not_understood)
        return Turn().respond("utter_ok")

    async def start(self, number: Optional[str], said: Said, state: State,
                    who: Citizen) -> Turn:
        """A status question, with or without a number."""
        if number is None and parse.looks_like_bad_number(said.text):
            return _turn("bad_number", step="ask_number")
        if number is not None and parse.never_issued(number):
            return _turn("no_such_number", step="ask_number", fields={"number": number})
        try:
            if number is None:
                if state.verified_person_id:
                    return await self._list(state.verified_person_id, who)
                binding = await asyncio.to_thread(self.bindings.get, who.channel, who.sender_id)
                if binding:
                    return await self._send_code(
                        Target(binding.person_id, binding.phone_masked, None, bound=True), who)
                return _turn("ask_number", step="ask_number")
            if state.verified_person_id and await self._owns(state.verified_person_id, number):
                return await self._show(number, state.verified_person_id, who)
            binding = await asyncio.to_thread(self.bindings.get, who.channel, who.sender_id)
            if (binding and binding.person_id != state.verified_person_id
                    and await self._owns(binding.person_id, number)):
                return await self._send_code(
                    Target(binding.person_id, binding.phone_masked, number, bound=True), who)
        except BackendError as exc:
            return await self._down(exc, who, "status_lookup", number,
                              step="ask_number" if number is None else None)
        last6 = parse.id_last6(said.text)
        if last6:
            return await self._identity(number, last6, who)
        if await self.guard.locked(who.key):
            return _locked(number)
        return _turn("ask_last6", step="ask_last6", number=number)

    # -- replies to the step's question ---------------------------------------------

    async def _reply(self, said: Said, state: State, who: Citizen) -> Optional[Turn]:
        """The answer to the step's question, or None when the message is about something
        else (the caller then decides)."""
        step, text = state.step, said.text
        if step == "ask_consent":
            if not state.just_asked:
                return None
            if said.intent == "affirm":
                return await self._bind(state, who)
            if said.intent == "deny" or parse.asks_stop(text):
                return _turn("not_bound")
            return None
        if said.intent == "deny" or parse.asks_stop(text):
            await self.guard.forget(who.key)
            return _turn("stopped")
        if said.intent == "resend_code" or parse.asks_resend(text):
            if step in ("ask_code", "code_spent"):
                return await self._resend(state, who)
            return None
        parsed = None
        if step == "ask_last6":
            parsed = parse.id_last6(text)
            if parsed:
                return await self._identity(state.number, parsed, who)
        elif step in ("ask_code", "code_spent"):
            parsed = parse.sms_code(text)
            if parsed:
                return await self._code(parsed, state, who)
        if parse.looks_like_bad_number(text):
            return _turn("bad_number", step=step, number=state.number,
                         phone=state.flow.get("phone"))
        answering = said.intent in ANSWER_INTENTS and not said.entity("matter")
        if not answering or (state.pending_topic and said.intent != "check_application_status"):
            return None
        reprompt = {"ask_number": ("ask_number", None), "ask_last6": ("reask_last6", None),
                    "ask_code": ("reask_code", [render.RESEND_BUTTON]),
                    "code_spent": ("code_spent", [render.RESEND_BUTTON])}.get(step)
        if reprompt is None:
            return None
        return _turn(reprompt[0], step=step, buttons=reprompt[1], number=state.number,
                     phone=state.flow.get("phone"))

    # -- identity check and codes ---------------------------------------------------

    async def _identity(self, number: str, last6: str, who: Citizen) -> Turn:
        """ID last six against the application: same words for a wrong number and a
        wrong ID; the code goes to the applicant's phone on file. Under attack, the same
        words whether the last six is right or wrong (`_quiet_identity`)."""
        if not number:
            return _turn("ask_number", step="ask_number")
        if await self.guard.locked(who.key):
            await self._audit(who, "identity_check", "locked", number=number)
            return _locked(number)
        quiet = await self.guard.under_attack(number)
        try:
            verdict = await self.backend.check_identity(number, last6,
                                                        requester=requester_ref(who.key))
        except RateLimited:
            await self._audit(who, "identity_check", "locked", number=number)
            return _locked(number)
        except BadRequest:  # the backend's own rules for a number, stricter than ours
            return _turn("no_such_number", step="ask_number", fields={"number": number})
        except BackendError as exc:
            return await self._down(exc, who, "identity_check", number, step="ask_last6")
        if quiet:
            return await self._quiet_identity(number, verdict, who)
        if not verdict.get("match"):
            await self.guard.record_failure(who.key, number=number)
            await self._audit(who, "identity_check", "no_match", number=number)
            if await self.guard.locked(who.key):
                return _locked(number)
            return _turn("mismatch", step="ask_last6", number=number)
        await self._audit(who, "identity_check", "match", number=number,
                    person=verdict.get("person_id"))
        return await self._send_code(
            Target(verdict["person_id"], verdict.get("phone_masked") or "", number), who)

    async def _quiet_identity(self, number: str, verdict: Mapping[str, Any],
                              who: Citizen) -> Turn:
        """The number is under attack: a right last six sends the code, a wrong one gets
        a decoy; both hear the same and both count against the user (so the user's lock
        tells nothing either); only a wrong one counts against the number."""
        matched = bool(verdict.get("match"))
        await self.guard.record_failure(who.key, number=None if matched else number)
        if matched:
            await self._audit(who, "identity_check", "match", number=number,
                              person=verdict.get("person_id"))
            target = Target(verdict["person_id"], verdict.get("phone_masked") or "", number,
                            quiet=True)
        else:
            await self._audit(who, "identity_check", "no_match", number=number)
            target = Target.decoy_for(number)
        return await self._send_code(target, who)

    async def _send_code(self, target: Target, who: Citizen, resend: bool = False) -> Turn:
        why = await self.guard.may_send(who.key)
        if why == "limit" or (why == "wait" and resend):
            await self._audit(who, "code_sent", why, number=target.number, person=target.person_id)
            if why == "limit":
                return _turn("send_limit", buttons=[HUMAN_BUTTON])
            return _turn("send_wait", step="ask_code", number=target.number,
                         phone=None if target.quiet else target.phone_masked)
        code = await self.guard.issue(who.key, target)
        if target.decoy:
            await self._audit(who, "code_sent", "decoy", number=target.number)
            return self._code_sent(target, resend)
        requester = requester_ref(who.key)
        try:
            if target.bound:
                await self.backend.send_sms("verification_code", {"code": code},
                                            person_id=target.person_id, requester=requester)
            else:
                await self.backend.send_sms("verification_code", {"code": code},
                                            application_number=target.number,
                                            requester=requester)
        except RateLimited:
            await self._audit(who, "code_sent", "limit", number=target.number, person=target.person_id)
            if target.quiet and target.number:  # what a decoy would hear
                await self.guard.make_decoy(who.key, target.number)
                return self._code_sent(target, resend)
            await self.guard.forget(who.key)
            return _turn("send_limit", buttons=[HUMAN_BUTTON])
        except BackendError as exc:
            await self.guard.forget(who.key)
            return await self._down(exc, who, "code_sent", target.number, person=target.person_id)
        await self._audit(who, "code_sent", "sent", number=target.number, person=target.person_id)
        return self._code_sent(target, resend)

    @staticmethod
    def _code_sent(target: Target, resend: bool) -> Turn:
        """'Code sent' in words that, for a quiet target, are the same for a decoy."""
        if target.quiet:
            key = "code_resent_quiet" if resend else "code_sent_quiet"
            buttons = [render.RESEND_BUTTON] if resend else None
            return _turn(key, step="ask_code", buttons=buttons, number=target.number)
        if resend:
            return _turn("code_resent", step="ask_code", buttons=[render.RESEND_BUTTON],
                         number=target.number, phone=target.phone_masked,
                         fields={"phone": target.phone_masked})
        whose = render.text("whose_bound" if target.bound else "whose_registered")
        return _turn("code_sent", step="ask_code", number=target.number,
                     phone=target.phone_masked,
                     fields={"phone": target.phone_masked, "whose": whose})

    async def _resend(self, state: State, who: Citizen) -> Turn:
        target = await self.guard.target(who.key)
        if target is None:
            return _turn("no_pending")
        if await self.guard.target_locked(who.key, target):
            return _turn("locked", buttons=[HUMAN_BUTTON])
        return await self._send_code(target, who, resend=True)

    async def _code(self, code: str, state: State, who: Citizen) -> Turn:
        target = await self.guard.target(who.key)
        if target is None:
            await self._audit(who, "code_check", "expired", number=state.number)
            return _turn("no_pending")
        if await self.guard.target_locked(who.key, target):
            await self._audit(who, "code_check", "locked", number=target.number,
                        person=target.person_id)
            await self.guard.forget(who.key)
            return _turn("locked", buttons=[HUMAN_BUTTON])
        keep = {"number": target.number, "phone": None if target.quiet else target.phone_masked}
        if state.step == "code_spent":  # the void code, or a guess: a new code is needed
            return _turn("code_spent", step="code_spent", buttons=[render.RESEND_BUTTON], **keep)
        verdict = await self.guard.check(who.key, code)
        if target.decoy and verdict == "ok":  # cannot happen (no digest matches); never verify
            verdict = "wrong"
        await self._audit(who, "code_check", verdict, number=target.number, person=target.person_id)
        if verdict == "expired":
            return _turn("code_expired", step="ask_code", buttons=[render.RESEND_BUTTON], **keep)
        if verdict == "wrong":
            left = await self.guard.tries_left(who.key)
            return _turn("wrong_code", step="ask_code", fields={"left": left}, **keep)
        if verdict == "spent":
            await self.guard.record_failure(who.key, target=target)
            if await self.guard.target_locked(who.key, target):
                await self.guard.forget(who.key)
                return _turn("locked", buttons=[HUMAN_BUTTON])
            return _turn("code_spent", step="code_spent", buttons=[render.RESEND_BUTTON], **keep)
        await self.guard.forget(who.key)
        await self.guard.clear_failures(target)
        return await self._verified(target, who)

    async def _verified(self, target: Target, who: Citizen) -> Turn:
        try:
            if target.number:
                turn = await self._show(target.number, target.person_id, who)
            else:
                turn = await self._list(target.person_id, who)
        except BackendError as exc:
            turn = await self._down(exc, who, "status_lookup", target.number, person=target.person_id)
        turn.slots["verified_person_id"] = target.person_id
        if not target.bound:
            binding = await asyncio.to_thread(self.bindings.get, who.channel, who.sender_id)
            if binding is None or binding.person_id != target.person_id:
                turn.say(render.text("ask_consent"), render.CONSENT_BUTTONS)
                turn.slots.update(_flow("ask_consent", phone=target.phone_masked,
                                        **{followup.SHOWN_KEY: target.number}))
        return turn

    # -- questions about the application just shown -----------------------------------

    async def follow_up(self, said: Said, state: State, who: Citizen) -> Optional[Turn]:
        """'那现在要我做什么' / '那大概还要多久' right after an application was shown:
        answered about it, fetched again for its verified owner; None when the message
        is not such a question (it names a matter, or nothing was just shown)."""
        topic = followup.topic_of(said.text)
        number, person_id = state.shown, state.verified_person_id
        if topic is None or not number or not person_id or said.entity("matter"):
            return None
        try:
            if not await self._owns(person_id, number):
                return None
            app = await self.backend.get_application(number)
        except NotFound:
            return None
        except BackendError as exc:
            return await self._down(exc, who, "status_lookup", number, person=person_id)
        await self._audit(who, "status_lookup", "follow_up", number=number, person=person_id)
        turn = _shown_turn(number)
        if topic == followup.TODO:
            text, buttons = render.todo_answer(app, self.matter_info)
        else:
            text, overdue = render.time_answer(app, today())
            buttons = [HUMAN_BUTTON] if overdue else []
        turn.say(text, buttons, kind=followup.SHOWN)
        return turn

    # -- answers -------------------------------------------------------------------

    async def _owns(self, person_id: str, number: str) -> bool:
        try:
            apps = await self.backend.verified_applications(person_id)
        except NotFound:
            return False
        return any(a["number"] == number for a in apps)

    async def _show(self, number: str, person_id: str, who: Citizen) -> Turn:
        try:
            app = await self.backend.get_application(number)
            others = [a for a in await self.backend.verified_applications(person_id)
                      if a["number"] != number]
        except NotFound:
            await self._audit(who, "status_lookup", "not_found", number=number, person=person_id)
            return _turn("no_applications")
        except BackendError as exc:
            return await self._down(exc, who, "status_lookup", number, person=person_id)
        await self._audit(who, "status_lookup", "shown", number=number, person=person_id)
        text, buttons = render.application(app, self.matter_info)
        turn = _shown_turn(number)
        turn.say(text, buttons, kind=followup.SHOWN)
        if others:
            turn.say(render.text("verified_other"), [
                render.status_button(a["number"], f"{a['number']} {a['matter_name']}")
                for a in others[:render.MAX_LIST_BUTTONS]])
        return turn

    async def _list(self, person_id: str, who: Citizen) -> Turn:
        try:
            apps = await self.backend.verified_applications(person_id)
        except NotFound:
            apps = []
        except BackendError as exc:
            return await self._down(exc, who, "list_lookup", None, person=person_id)
        await self._audit(who, "list_lookup", "shown", person=person_id)
        turn = _turn()
        turn.say(*render.application_list(apps))
        return turn

    # -- binding ---------------------------------------------------------------------

    async def _bind(self, state: State, who: Citizen) -> Turn:
        person_id = state.verified_person_id
        phone = state.flow.get("phone") or ""
        if not person_id:
            return _turn("no_pending")
        await asyncio.to_thread(self.bindings.bind, who.channel, who.sender_id, person_id, phone)
        await self._audit(who, "bind", "bound", person=person_id)
        return _turn("bound", fields={"phone": phone})

    async def _unbind(self, who: Citizen) -> Turn:
        removed = await asyncio.to_thread(self.bindings.unbind, who.channel, who.sender_id)
        await self._audit(who, "unbind", "unbound" if removed else "none")
        return _turn("unbound" if removed else "nothing_to_unbind")

    # -- helpers ---------------------------------------------------------------------

    async def _down(self, exc: BackendError, who: Citizen, event: str, number: Optional[str],
              person: Optional[str] = None, step: Optional[str] = None) -> Turn:
        logger.warning("status %s: backend error %s (%s)", event, type(exc).__name__, exc)
        await self._audit(who, event, "unavailable", number=number, person=person)
        return _turn("backend_down", step=step, number=number).hand_over()

    async def _audit(self, who: Citizen, event: str, result: str, *,
                     number: Optional[str] = None, person: Optional[str] = None) -> None:
        try:
            await asyncio.to_thread(self.audit.record, who.channel, who.sender_id, event,
                                    result, person_id=person, application_number=number)
        except Exception:  # noqa: BLE001 - a failing audit store is logged, never silent
            logger.exception("audit record failed (%s %s)", event, result)
