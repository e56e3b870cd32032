"""Conversation-level actions: not understood twice → a person; small talk."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.matters import ActionHandleInform, end_of_turn
from bot.chitchat import chitchat_answer
from bot.matter_dialogue import fallback_streak


class ActionFallback(Action):
    """Says it did not understand; the second time in a row, hands over to a person.

    Unlike Rasa's default fallback it keeps the message in the tracker, so the streak can
    be counted from the conversation itself (shared by every server process).
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if tracker.get_slot("pending_topic"):
            # We just asked which matter: an unfamiliar reply is most likely its name.
            return await ActionHandleInform().run(dispatcher, tracker, domain)
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
