"""Actions answering questions about service matters (logic in bot.matter_dialogue)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.catalog import default_catalog
from bot.matter_dialogue import Turn, answer_question, handle_inform


# Build the search index when the action server starts, not on a citizen's first question.
default_catalog().index()


def end_of_turn() -> List[Dict[Text, Any]]:
    """After an answer the bot waits for the citizen. Saying so here lets Rasa skip a
    policy run per turn (its followup-action path) instead of asking the rules."""
    return [FollowupAction("action_listen")]


def _emit(
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
        turn = answer_question(
            default_catalog().index(),
            intent=message["intent"]["name"],
            entities=message.get("entities") or [],
            text=message.get("text") or "",
            context_code=tracker.get_slot("matter_code"),
            district=tracker.get_slot("district"),
        )
        return _emit(turn, dispatcher, tracker)


class ActionHandleInform(Action):
    """A bare value from the citizen: usually the matter we asked for."""

    def name(self) -> Text:
        return "action_handle_inform"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message
        turn = handle_inform(
            default_catalog().index(),
            entities=message.get("entities") or [],
            text=message.get("text") or "",
            pending_topic=tracker.get_slot("pending_topic"),
            district=tracker.get_slot("district"),
        )
        return _emit(turn, dispatcher, tracker)
