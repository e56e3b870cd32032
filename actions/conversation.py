"""Conversation-level actions: not understood twice → a person (small talk is answered by
action_matter_first, actions/matters.py)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.emit import emit
from actions.handoff import work_order_reply
from actions.context import context_of
from actions.status import status_follow_up_reply
from bot.catalog import default_catalog
from bot.catalog.dialogue import fallback_streak, not_understood
from bot.dialogue.turn import Said


class ActionFallback(Action):
    """Reads a message NLU did not understand matter-first (a matter or situation named,
    a question read from its wording, the name we asked for, a choice among the buttons);
    only when it still means nothing says so, and the second time in a row hands over to
    a person (bot.catalog.dialogue.not_understood).

    Unlike Rasa's default fallback it keeps the message in the tracker, so the streak can
    be counted from the conversation itself (shared by every server process).
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if (events := await work_order_reply(tracker, dispatcher)) is not None:
            return events  # "我的工单处理得怎么样了", not understood as anything else
        if (events := await status_follow_up_reply(tracker, dispatcher)) is not None:
            return events  # "那现在要我做什么" right after an application's status
        turn = not_understood(
            default_catalog().index(), Said.of(tracker.latest_message), context_of(tracker),
            fallback_streak(tracker.events),
        )
        return emit(turn, dispatcher, tracker)

