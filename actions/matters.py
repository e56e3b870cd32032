"""Actions answering questions about service matters (logic in bot.catalog.dialogue)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.catalog import default_catalog
from bot.chitchat import chitchat_answer
from bot.catalog.dialogue import Context, Turn, answer_question, handle_inform, social_turn


# Build the search index when the action server starts, not on a citizen's first question.
default_catalog().index()

#: What a social intent gets when the matter it seemed to name was a chance word.
SOCIAL_RESPONSES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_thank",
    "bot_challenge": "utter_bot_challenge",
    "out_of_scope": "utter_out_of_scope",
    "affirm": "utter_ok",
    "deny": "utter_ok",
}


def end_of_turn() -> List[Dict[Text, Any]]:
    """After an answer the bot waits for the citizen. Saying so here lets Rasa skip a
    policy run per turn (its followup-action path) instead of asking the rules."""
    return [FollowupAction("action_listen")]


def context_of(tracker: Tracker) -> Context:
    """The matter slots of the conversation (bot.catalog.dialogue.Context)."""
    return Context.from_slots(tracker.get_slot)


def emit(
    turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker
) -> List[Dict[Text, Any]]:
    """Sends the turn's messages; sets only the slots whose value changes."""
    for message in turn.messages:
        dispatcher.utter_message(text=message["text"], buttons=message.get("buttons") or [])
    changes = [
        SlotSet(name, value)
        for name, value in turn.slots.items()
        if tracker.get_slot(name) != value
    ]
    return changes + end_of_turn()


class ActionAnswerMatter(Action):
    """Answers ask_materials, ask_fee … for the matter named now or earlier."""

    def name(self) -> Text:
        return "action_answer_matter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message
        context = context_of(tracker)
        turn = answer_question(
            default_catalog().index(),
            intent=message["intent"]["name"],
            entities=message.get("entities") or [],
            text=message.get("text") or "",
            context_code=context.matter_code,
            district=context.district,
            context=context,
        )
        return emit(turn, dispatcher, tracker)


class ActionHandleInform(Action):
    """A bare value from the citizen: usually the matter we asked for, or a matter or a
    situation to talk about."""

    def name(self) -> Text:
        return "action_handle_inform"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message
        context = context_of(tracker)
        turn = handle_inform(
            default_catalog().index(),
            entities=message.get("entities") or [],
            text=message.get("text") or "",
            pending_topic=context.pending_topic,
            district=context.district,
            context=context,
        )
        return emit(turn, dispatcher, tracker)


class ActionMatterFirst(Action):
    """A social intent (greet, thank, chitchat, yes/no, out of scope …) whose message NLU
    found a matter in (the rules send only those here): the matter's turn when the
    message names it clearly ("你好，护照"), else the intent's usual answer."""

    def name(self) -> Text:
        return "action_matter_first"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name") or ""
        text = message.get("text") or ""
        turn = social_turn(
            default_catalog().index(), intent, message.get("entities") or [], text,
            context_of(tracker),
        )
        if turn is not None:
            return emit(turn, dispatcher, tracker)
        if intent == "chitchat":
            dispatcher.utter_message(text=chitchat_answer(text))
        else:
            dispatcher.utter_message(response=SOCIAL_RESPONSES.get(intent, "utter_ok"))
        return end_of_turn()
