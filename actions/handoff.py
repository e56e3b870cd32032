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
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.emit import end_of_turn
from bot.catalog import default_catalog
from bot.handoff import config as handoff_config
from bot.handoff.client import DeskClient, DeskUnavailable
from bot.handoff.rating import score_from
from bot.handoff.summary import summarize
from bot.privacy import MaskingFilter, mask_personal, mask_phone

logger = logging.getLogger(__name__)
logger.addFilter(MaskingFilter())

HOTLINE = "如需帮助，也可拨打12345市民服务热线（24小时）。"
CANCEL_WORDS = ("算了", "不用了", "取消", "不留了", "不需要了")
CANCELLED = "__cancelled__"
#: The form's message could not be stored (desk unreachable): the form ends with an apology.
UNAVAILABLE = "__unavailable__"
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
        events: List[Dict[Text, Any]] = []
        number = None
        try:
            if kind == "complaint":
                number = await desk().create_work_order(
                    conversation_id=tracker.sender_id, channel=channel, kind="complaint",
                    message=text,
                )
                # The desk has the complaint; the slot only marks the form's message as
                # given (a complaint's form asks for the number alone).
                events += [
                    SlotSet("work_order_number", number),
                    SlotSet("work_order_message", mask_personal(text)),
                ]
                dispatcher.utter_message(
                    text=f"您反映的情况已登记为工单，工单号 {number}，之后可凭此号查询处理进度。"
                )
            else:  # a fresh request: nothing from an earlier complaint carries over
                events += [SlotSet("work_order_number", None), SlotSet("work_order_message", None)]
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
            dispatcher.utter_message(text="抱歉，人工服务暂时无法接通。" + HOTLINE)
            return events + end_of_turn()
        if answer["status"] == "active":
            dispatcher.utter_message(text="工作人员正在为您服务，请直接说明您的问题。")
            return events + [ConversationPaused()]
        if answer["status"] == "queued":
            position = answer["position"]
            ahead = f"您前面还有{position - 1}位，" if position > 1 else "您是下一位，"
            dispatcher.utter_message(
                text=f"正在为您转接人工客服。{ahead}预计等待约{answer['wait_minutes']}分钟。"
                "等待期间您发的消息会直接转给工作人员。"
            )
            return events + [ConversationPaused()]
        dispatcher.utter_message(text="现在没有在线的工作人员。您可以留言并留下回拨电话，工作人员上班后会联系您。")
        return events + [FollowupAction("work_order_form")]


class ActionHandoffTimeout(Action):
    """The desk's external intent: nobody accepted within HANDOFF_ACCEPT_TIMEOUT."""

    def name(self) -> Text:
        return "action_handoff_timeout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(
            text="抱歉，工作人员暂时都在忙，没能及时接入。您可以留言并留下回拨电话，我们会尽快联系您。"
        )
        return [FollowupAction("work_order_form")]


class ValidateWorkOrderForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_work_order_form"

    async def validate_work_order_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A valid message becomes its work order at once (the callback number joins it
        in the next turn): the full text is never needed from a slot on a later turn."""
        text = str(value or "").strip()
        if any(word in text for word in CANCEL_WORDS) and len(text) <= 8:
            return {"work_order_message": CANCELLED, "callback_phone": CANCELLED}
        if len(text) < 2:
            dispatcher.utter_message(text="请简单说一下您要办的事或遇到的问题。")
            return {"work_order_message": None}
        text = text[:2000]
        if tracker.get_slot("work_order_number"):  # a complaint's order holds its message
            return {"work_order_message": mask_personal(text)}
        try:
            number = await desk().create_work_order(
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                kind="message", message=text,
            )
        except DeskUnavailable:
            logger.exception("work order message for %s not stored", tracker.sender_id)
            return {"work_order_message": UNAVAILABLE, "callback_phone": UNAVAILABLE}
        return {"work_order_message": mask_personal(text), "work_order_number": number}

    async def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = str(value or "")
        if value in (CANCELLED, UNAVAILABLE):
            return {"callback_phone": value}
        if (any(w in text for w in CANCEL_WORDS) and len(text) <= 8):
            return {"callback_phone": CANCELLED}
        number = callback_number(text)
        if number is None:
            dispatcher.utter_message(text="这个号码好像不对，请输入11位手机号，或带区号的固定电话。")
            return {"callback_phone": None}
        return {"callback_phone": number}


class ActionSubmitWorkOrder(Action):
    def name(self) -> Text:
        return "action_submit_work_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.get_slot("work_order_message")
        phone = tracker.get_slot("callback_phone")
        number = tracker.get_slot("work_order_number")
        clear = [SlotSet("work_order_message", None), SlotSet("callback_phone", None),
                 SlotSet("work_order_number", None)]
        if phone == UNAVAILABLE:
            dispatcher.utter_message(text="抱歉，留言暂时没能保存。" + HOTLINE)
            return clear + end_of_turn()
        if phone == CANCELLED:
            dispatcher.utter_message(text=await self._cancelled(number, tracker.sender_id)
                                     + "还有什么可以帮您？")
            return clear + end_of_turn()
        channel = tracker.get_latest_input_channel() or "unknown"
        try:
            if number:  # the message's (or the complaint's) order exists: the number joins it
                await desk().set_callback(number, tracker.sender_id, phone)
            else:  # a form begun before messages became orders at once
                number = await desk().create_work_order(
                    conversation_id=tracker.sender_id, channel=channel, kind="message",
                    message=message, callback_phone=phone,
                )
        except DeskUnavailable:
            logger.exception("work order for %s not stored", tracker.sender_id)
            dispatcher.utter_message(text="抱歉，留言暂时没能保存。" + HOTLINE)
            return clear + end_of_turn()
        dispatcher.utter_message(
            text=f"已为您登记工单，工单号 {number}。工作人员会尽快回电 {mask_phone(phone)}，"
            "请留意接听；之后可凭工单号查询。"
        )
        return clear + end_of_turn()


    @staticmethod
    async def _cancelled(number: Optional[str], conversation_id: str) -> str:
        """Cancelling at the number: a message's order is withdrawn, a complaint's stays."""
        if not number:
            return "好的，已取消留言。"
        try:
            withdrawn = await desk().cancel_work_order(number, conversation_id)
        except DeskUnavailable:
            logger.exception("work order %s not withdrawn", number)
            return "好的。"
        return "好的，已取消留言。" if withdrawn else f"好的。您的投诉工单 {number} 已登记，会按时处理。"


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
            dispatcher.utter_message(text="谢谢您的反馈！还有什么可以帮您？")
            return end_of_turn()
        if score is None:
            dispatcher.utter_message(text="请从1到5分中选一个分数（5分最满意）。")
            return end_of_turn()
        try:
            await desk().rate(pending, tracker.sender_id, score)
        except DeskUnavailable:
            logger.exception("rating for %s not stored", tracker.sender_id)
        dispatcher.utter_message(text=f"感谢您的评价（{score}分）！还有什么可以帮您？")
        return [SlotSet("rating_handoff", None)] + end_of_turn()
