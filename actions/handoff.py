"""Handoff to a person, work orders and the satisfaction rating (logic in bot/handoff/).

action_handoff asks the desk (web/desk.py) for an agent. Queued: the citizen
hears their place and the expected wait, and the conversation pauses
(ConversationPaused): Rasa keeps storing their messages, the agent reads them in the desk,
and the desk resumes the bot when the agent ends. No agent online: work_order_form takes
a message and a callback number. Every complaint becomes a work order first.

Full texts and numbers go to the desk in the turn the citizen gives them (a message
becomes its work order as soon as it is validated, the callback number joins it in the
next turn); the slots keep only masked copies, and the tracker store keeps the slots
masked at rest too (rasa_ext/tracker_store.py MASKED_SLOTS), so no later turn needs a value
the store no longer has.
"""
from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.interfaces import ACTION_LISTEN_NAME
from rasa_sdk.types import DomainDict

from actions.emit import FOLLOW_UP_ACTIONS, emit, utter
from bot.catalog import default_catalog
from bot.dialogue import texts
from bot.dialogue.cues import CANCEL_MESSAGE, DECLINE_PHONE, holds
from bot.dialogue.turn import FollowUp, Turn
from bot.handoff import config as handoff_config
from bot.handoff.config import office_hours
from bot.handoff import work_order_status
from bot.handoff.leaving import COMPLAINT, complaint_content, order_kind, waited_messages
from bot.handoff.client import DeskClient, DeskUnavailable
from bot.handoff.rating import score_from
from bot.handoff.summary import summarize
from bot.privacy import mask_personal, mask_phone

logger = logging.getLogger(__name__)

TEXTS = texts.load("handoff", {
    **{key: () for key in (
        "hotline", "desk_unavailable", "agent_active", "next_in_queue",
        "ask_message", "bad_phone", "message_not_saved", "anything_else",
        "message_cancelled", "ok", "thanks_feedback", "ask_score",
        "ask_work_order_message", "ask_complaint_message", "ask_callback_phone",
        "waited_message_kept",
    )},
    "nobody_online": ("hours",),
    "complaint_registered": ("number",), "ahead_in_queue": ("ahead",),
    "queued": ("ahead", "minutes"), "work_order_registered": ("number", "phone"),
    "work_order_no_phone": ("number",),
    "complaint_kept": ("number",), "rated": ("score",),
})
HOTLINE = TEXTS["hotline"]
CANCELLED = "__cancelled__"
#: The form's message could not be stored (desk unreachable): the form ends with an apology.
UNAVAILABLE = "__unavailable__"
#: The citizen declined to leave a callback number: the message's order stays without one.
DECLINED = "__declined__"
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")

_desk: Optional[DeskClient] = None
# The action server refuses to start in production without the desk's service token (or
# with the development one), rather than failing at a citizen's first 转人工.
handoff_config.service_token()


def desk() -> DeskClient:
    global _desk
    if _desk is None:
        _desk = DeskClient.from_env()
    return _desk


def _matter_name(code: Optional[str]) -> Optional[str]:
    matter = default_catalog().index().get(code) if code else None
    return matter.name if matter else None


def callback_number(text: str) -> Optional[str]:
    """A mobile or landline number in what the citizen typed (spaces and dashes allowed)."""
    match = _PHONE.search(re.sub(r"[\s\u3000]", "", text or ""))
    return match.group(1).replace("-", "") if match else None


async def work_order_reply(tracker: Tracker, dispatcher: CollectingDispatcher,
                           by_word: bool = True) -> Optional[List[Dict[Text, Any]]]:
    """When the message asks where a work order stands, whatever intent NLU read ("查一下
    工单GD-…", "我的工单处理得怎么样了"): the answer from the desk, for this conversation's
    own orders only (bot/handoff/work_order_status.py); else None, for the action's own
    answer. `by_word`: the word 工单 counts, not only a number."""
    asks, number = work_order_status.asked(tracker.latest_message.get("text") or "", by_word)
    if not asks:
        return None
    try:
        orders = await desk().orders_of(tracker.sender_id, number)
    except DeskUnavailable:
        logger.exception("work orders of %s not read", tracker.sender_id)
        orders = None
    return emit(work_order_status.answer(orders, number), dispatcher, tracker)


class ActionHandoff(Action):
    """request_human and complain: a work order for a complaint, then a person."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        kind = "complaint" if intent == "complain" else "request"
        channel = tracker.get_latest_input_channel() or "unknown"
        text = tracker.latest_message.get("text") or ""
        # A number given in this message is the callback number, should a message be left
        # (the form does not ask for it again); none here clears an earlier one.
        turn = Turn(slots={"callback_phone": callback_number(text)})
        number = None
        try:
            if kind == "complaint" and complaint_content(text):
                number = await desk().create_work_order(
                    conversation_id=tracker.sender_id, channel=channel, kind="complaint",
                    message=text,
                )
                # The desk has the complaint; the slot only marks the form's message as
                # given (a complaint's form asks for the number alone).
                turn.slots.update(work_order_number=number,
                                  work_order_message=mask_personal(text))
                turn.say(TEXTS("complaint_registered", number=number))
            else:  # a fresh request, or "我要投诉" alone: its content is asked for (or told
                # to the agent); nothing from an earlier complaint carries over
                turn.slots.update(work_order_number=None, work_order_message=None)
            matter_code = tracker.get_slot("matter_code")
            matter_name = _matter_name(matter_code)
            request = summarize(kind, tracker.events, matter_name)
            answer = await desk().request_agent(
                conversation_id=tracker.sender_id, channel=channel, kind=kind,
                matter_code=matter_code, matter_name=matter_name, work_order_number=number,
                **request,
            )
        except DeskUnavailable:
            logger.exception("the desk could not be reached for %s", tracker.sender_id)
            turn.say(TEXTS("desk_unavailable") + HOTLINE)
            return emit(turn, dispatcher, tracker)
        if answer["status"] == "active":
            turn.say(TEXTS("agent_active")).hand_over(FollowUp.PAUSE)
        elif answer["status"] == "queued":
            position = answer["position"]
            ahead = (TEXTS("ahead_in_queue", ahead=position - 1) if position > 1
                     else TEXTS("next_in_queue"))
            turn.say(TEXTS("queued", ahead=ahead, minutes=answer["wait_minutes"]))
            turn.hand_over(FollowUp.PAUSE)
        else:
            turn.say(TEXTS("nobody_online", hours=office_hours())).hand_over(FollowUp.LEAVE_MESSAGE)
        return emit(turn, dispatcher, tracker)


def ask(slot: str, tracker: Tracker) -> Turn:
    """work_order_form's question for one of its slots (data/texts/handoff.yml ask_<slot>);
    a complaint's message is asked for as a complaint."""
    if slot == "work_order_message" and order_kind(tracker.events) == COMPLAINT:
        return Turn().say(TEXTS("ask_complaint_message"))
    return Turn().say(TEXTS(f"ask_{slot}"))


async def store_message(tracker: Tracker, text: str) -> Dict[Text, Any]:
    """A message left for a person becomes its work order at once (a complaint's as a
    complaint): the slots that say so, with a callback number written in it."""
    text = text[:2000]
    phone = {"callback_phone": found} if (found := callback_number(text)) else {}
    try:
        number = await desk().create_work_order(
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "unknown",
            kind=order_kind(tracker.events), message=text, **phone,
        )
    except DeskUnavailable:
        logger.exception("work order message for %s not stored", tracker.sender_id)
        return {"work_order_message": UNAVAILABLE, "callback_phone": UNAVAILABLE}
    return {"work_order_message": mask_personal(text), "work_order_number": number, **phone}


#: The form that takes a message and a callback number when no person can answer.
WORK_ORDER_FORM = FOLLOW_UP_ACTIONS[FollowUp.LEAVE_MESSAGE]


def first_empty(required_slots: List[str], value_of: Callable[[str], Any]) -> Optional[str]:
    """The first of a form's slots not filled yet, the one its form would ask first (a
    complaint's work order has the message already: only the number is asked)."""
    return next((slot for slot in required_slots if value_of(slot) is None), None)


class ActionHandoffTimeout(Action):
    """The wait ended (nobody online after HANDOFF_ACCEPT_TIMEOUT, or HANDOFF_MAX_WAIT):
    the desk resumes the bot, says why, and runs this action in the conversation (Rasa's
    `POST /conversations/{id}/execute`, bot/handoff/rasa_api.py), which takes what the
    citizen typed while waiting as the message (not asked again) and starts
    work_order_form itself for what is still missing.

    No intent triggers it: an intent no citizen says has no NLU examples, which training's
    validation reports. An executed action is all Rasa runs (no FollowupAction, no
    prediction after it), so the events do what the form's activation would: the form is
    active, asks its first empty slot (as its action_ask_<slot> does), and the bot listens
    — the form validates only answers that follow an action_listen
    (FormAction._validate_if_required). A slot filled before (a complaint's message) is
    not validated again: it was when the complaint became a work order. The form's
    required slots come from the domain (`send_domain: true`)."""

    def name(self) -> Text:
        return "action_handoff_timeout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        # Why the wait ended the desk has said already (nobody online, or too long).
        turn, slots = Turn(), {}
        waited = waited_messages(tracker.events)
        if waited and tracker.get_slot("work_order_message") is None:
            # What the citizen typed while waiting is the message: not asked for again.
            slots = await store_message(tracker, waited)
            if slots.get("work_order_message") != UNAVAILABLE:
                turn.say(TEXTS("waited_message_kept"))

        def value_of(name: str) -> Any:
            return slots.get(name, tracker.get_slot(name))

        slot = first_empty(domain["forms"][WORK_ORDER_FORM]["required_slots"], value_of)
        if slot is None:  # all given (the number was in the messages): the order is done
            if value_of("work_order_message") is None:
                return emit(turn, dispatcher, tracker)  # nothing left: nothing to submit
            turn.then(await ActionSubmitWorkOrder.submit(tracker, value_of))
            return emit(turn, dispatcher, tracker)
        utter(dispatcher, turn.then(ask(slot, tracker)))
        return [*[SlotSet(name, value) for name, value in slots.items()],
                ActiveLoop(WORK_ORDER_FORM), SlotSet(REQUESTED_SLOT, slot),
                ActionExecuted(ACTION_LISTEN_NAME)]


class AskWorkOrderSlot(Action, ABC):
    """Asks for one slot of work_order_form. Rasa's form runs `action_ask_<slot>` when the
    domain lists it, before it would look for an `utter_ask_<slot>` response
    (rasa.core.actions.forms.FormAction._name_of_utterance): the questions' words stay in
    data/texts with the rest of the handoff's. (Abstract: the action server registers
    only its concrete subclasses.)"""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot asked for."""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        utter(dispatcher, ask(self.slot, tracker))  # the form goes on (it listens next), not the turn
        return []


class ActionAskWorkOrderMessage(AskWorkOrderSlot):
    slot = "work_order_message"


class ActionAskCallbackPhone(AskWorkOrderSlot):
    slot = "callback_phone"


class ValidateWorkOrderForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_work_order_form"

    async def validate_work_order_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A valid message becomes its work order at once (the callback number joins it
        in the next turn): the full text is never needed from a slot on a later turn."""
        text = str(value or "").strip()
        if holds(text, CANCEL_MESSAGE) and len(text) <= 8:
            return {"work_order_message": CANCELLED, "callback_phone": CANCELLED}
        if len(text) < 2:
            utter(dispatcher, Turn().say(TEXTS("ask_message")))
            return {"work_order_message": None}
        if tracker.get_slot("work_order_number"):  # a complaint's order holds its message
            phone = {"callback_phone": found} if (found := callback_number(text)) else {}
            return {"work_order_message": mask_personal(text[:2000]), **phone}
        return await store_message(tracker, text)

    async def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = str(value or "")
        if value in (CANCELLED, UNAVAILABLE, DECLINED):
            return {"callback_phone": value}
        if holds(text, DECLINE_PHONE) and callback_number(text) is None:
            return {"callback_phone": DECLINED}
        if holds(text, CANCEL_MESSAGE) and len(text) <= 8:
            return {"callback_phone": CANCELLED}
        number = callback_number(text)
        if number is None:
            utter(dispatcher, Turn().say(TEXTS("bad_phone")))
            return {"callback_phone": None}
        return {"callback_phone": number}


class ActionSubmitWorkOrder(Action):
    def name(self) -> Text:
        return "action_submit_work_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        return emit(await self.submit(tracker, tracker.get_slot), dispatcher, tracker)

    @classmethod
    async def submit(cls, tracker: Tracker, value_of: Callable[[str], Any]) -> Turn:
        """The form's slots (as `value_of` reads them) become the work order: the turn
        that says its number, with the slots cleared for the next one."""
        message = value_of("work_order_message")
        phone = value_of("callback_phone")
        number = value_of("work_order_number")
        turn = Turn(slots={"work_order_message": None, "callback_phone": None,
                           "work_order_number": None})
        if phone == UNAVAILABLE:
            return turn.say(TEXTS("message_not_saved") + HOTLINE)
        if phone == CANCELLED:
            said = await cls._cancelled(number, tracker.sender_id) + TEXTS("anything_else")
            return turn.say(said)
        channel = tracker.get_latest_input_channel() or "unknown"
        # Declined: the order stays without a number (nothing to join, none to create with).
        callback = {} if phone == DECLINED else {"callback_phone": phone}
        try:
            if not number:  # a form begun before messages became orders at once
                number = await desk().create_work_order(
                    conversation_id=tracker.sender_id, channel=channel,
                    kind=order_kind(tracker.events), message=message, **callback,
                )
            elif callback:  # the message's (or the complaint's) order exists: the number joins it
                await desk().set_callback(number, tracker.sender_id, phone)
        except DeskUnavailable:
            logger.exception("work order for %s not stored", tracker.sender_id)
            return turn.say(TEXTS("message_not_saved") + HOTLINE)
        if callback:
            return turn.say(TEXTS("work_order_registered", number=number, phone=mask_phone(phone)))
        return turn.say(TEXTS("work_order_no_phone", number=number))

    @staticmethod
    async def _cancelled(number: Optional[str], conversation_id: str) -> str:
        """Cancelling at the number: a message's order is withdrawn, a complaint's stays."""
        if not number:
            return TEXTS("message_cancelled")
        try:
            withdrawn = await desk().cancel_work_order(number, conversation_id)
        except DeskUnavailable:
            logger.exception("work order %s not withdrawn", number)
            return TEXTS("ok")
        return TEXTS("message_cancelled") if withdrawn else TEXTS("complaint_kept", number=number)


class ActionRateService(Action):
    """Stores the citizen's 1–5 rating, only when the desk left one pending."""

    def name(self) -> Text:
        return "action_rate_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        pending = tracker.get_slot("rating_handoff")
        message = tracker.latest_message
        score = score_from(message.get("text") or "", message.get("entities") or [])
        if not pending:
            return emit(Turn().say(TEXTS("thanks_feedback")), dispatcher, tracker)
        if score is None:
            return emit(Turn().say(TEXTS("ask_score")), dispatcher, tracker)
        try:
            await desk().rate(pending, tracker.sender_id, score)
        except DeskUnavailable:
            logger.exception("rating for %s not stored", tracker.sender_id)
        turn = Turn(slots={"rating_handoff": None}).say(TEXTS("rated", score=score))
        return emit(turn, dispatcher, tracker)
