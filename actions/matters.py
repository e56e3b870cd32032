"""Actions answering questions about service matters (logic in bot.catalog.dialogue)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import context_of
from actions.emit import emit
from actions.handoff import work_order_reply
from actions.status import status_follow_up_reply
from bot.catalog import default_catalog
from bot.catalog.dialogue import TEXTS as MATTER_TEXTS
from bot.catalog.dialogue import Context, answer_question, handle_inform, social_turn
from bot.chitchat import chitchat_answer
from bot.dialogue.turn import Said, Turn

# Build the search index when the action server starts, not on a citizen's first question.
default_catalog().index()

#: What a social intent gets when the matter it seemed to name was a chance word.
SOCIAL_RESPONSES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_thank",
    "bot_challenge": "utter_bot_challenge",
    "affirm": "utter_ok",
    "deny": "utter_ok",
}


def inform_turn(said: Said, context: Context) -> Turn:
    """A bare value from the citizen, as the matter dialogue reads it."""
    return handle_inform(
        default_catalog().index(), entities=list(said.entities), text=said.text,
        pending_topic=context.pending_topic, district=context.district, context=context,
    )


class ActionAnswerMatter(Action):
    """Answers ask_materials, ask_fee … for the matter named now or earlier."""

    def name(self) -> Text:
        return "action_answer_matter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        said = Said.of(tracker.latest_message)
        if (events := await work_order_reply(tracker, dispatcher)) is not None:
            return events  # "工单怎么还没人处理" read as ask_procedure
        if (events := await status_follow_up_reply(tracker, dispatcher)) is not None:
            return events  # "那大概还要多久" right after an application's status
        context = context_of(tracker)
        turn = answer_question(
            default_catalog().index(),
            intent=said.intent,
            entities=list(said.entities),
            text=said.text,
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
        if (events := await work_order_reply(tracker, dispatcher)) is not None:
            return events  # a bare "GD-20261206-0003"
        turn = inform_turn(Said.of(tracker.latest_message), context_of(tracker))
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
        said = Said.of(tracker.latest_message)
        turn = social_turn(
            default_catalog().index(), said.intent, list(said.entities), said.text,
            context_of(tracker),
        )
        if turn is None:
            turn = Turn()
            if said.intent == "chitchat":
                turn.say(chitchat_answer(said.text))
            elif said.intent == "out_of_scope":
                turn.say(MATTER_TEXTS["out_of_scope"])
            else:
                turn.respond(SOCIAL_RESPONSES.get(said.intent, "utter_ok"))
        return emit(turn, dispatcher, tracker)
