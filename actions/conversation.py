"""Conversation-level actions: not understood twice → a person; small talk."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.matters import context_of, emit, end_of_turn
from bot.catalog import default_catalog
from bot.chitchat import chitchat_answer
from bot.catalog.dialogue import fallback_streak, fallback_turn


class ActionFallback(Action):
    """Reads a message NLU did not understand matter-first (a matter or situation named,
    a question read from its wording, the name we asked for, a choice among the buttons);
    only when it still means nothing says so, and the second time in a row hands over to
    a person.

    Unlike Rasa's default fallback it keeps the message in the tracker, so the streak can
    be counted from the conversation itself (shared by every server process).
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        message = tracker.latest_message
        turn = fallback_turn(
            default_catalog().index(), message.get("entities") or [],
            message.get("text") or "", context_of(tracker),
        )
        if turn is not None:
            return emit(turn, dispatcher, tracker)
        if fallback_streak(tracker.events) >= 2:
            dispatcher.utter_message(response="utter_default_twice")
            return [FollowupAction("action_handoff")]
        dispatcher.utter_message(response="utter_default")
        return end_of_turn()


class ActionChitchat(Action):
    def name(self) -> Text:
        return "action_chitchat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=chitchat_answer(tracker.latest_message.get("text") or ""))
        return end_of_turn()
