"""The one way an action says what the domain decided: a `Turn` (bot/dialogue/turn.py)
becomes dispatcher messages and Rasa events.

Every action ends its turn itself (`end_of_turn`): Rasa then skips a policy run per turn
(its followup-action path) instead of asking the rules. A turn that hands over to a
person follows with action_handoff instead. Form actions (validation, asking) must not end
the turn, the form does: they use `utter` and `slot_changes` alone.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.turn import KIND_KEY, FollowUp, Message, Turn

Events = List[Dict[Text, Any]]

#: The action each follow-up of a turn runs next (PAUSE runs none: Rasa stops answering).
FOLLOW_UP_ACTIONS = {FollowUp.HANDOFF: "action_handoff", FollowUp.LEAVE_MESSAGE: "work_order_form"}


def end_of_turn() -> Events:
    """After an answer the bot waits for the citizen."""
    return [FollowupAction("action_listen")]


def marker(message: Message) -> Dict[Text, Any]:
    """The extra key of a marked message: Rasa keeps it in the bot event's metadata
    (rasa.core.actions.action.create_bot_utterance), where later turns find it."""
    return {KIND_KEY: message.kind} if message.kind else {}


def utter(dispatcher: CollectingDispatcher, turn: Turn) -> None:
    """The turn's messages, in order: texts with buttons, domain responses, payloads.
    A text with a payload (a matter card) is one message with both: Rasa's channels send
    the text and then the payload (`custom`), so a client that reads only texts still
    gets the answer, and the conversation's record holds the text."""
    for message in turn.messages:
        if message.response:
            dispatcher.utter_message(response=message.response)
        elif message.custom is not None and not message.text:
            dispatcher.utter_message(json_message=dict(message.custom))
        elif message.custom is not None:
            dispatcher.utter_message(text=message.text, buttons=list(message.buttons),
                                     json_message=dict(message.custom), **marker(message))
        else:
            dispatcher.utter_message(text=message.text, buttons=list(message.buttons),
                                     **marker(message))


def slot_changes(tracker: Tracker, slots: Mapping[str, Any]) -> Events:
    """SlotSet only for the slots whose value changes (fewer events to store and send)."""
    return [SlotSet(name, value) for name, value in slots.items()
            if tracker.get_slot(name) != value]


def ending(turn: Turn) -> Events:
    """What comes after the turn's messages: the citizen's next message, unless the turn
    follows up (a person, a pause for the person, a message to leave)."""
    if turn.follow_up is FollowUp.PAUSE:
        return [ConversationPaused()]
    if turn.follow_up is not None:
        return [FollowupAction(FOLLOW_UP_ACTIONS[turn.follow_up])]
    return end_of_turn()


def emit(turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """Says the turn, sets the slots that change, and ends the turn (or follows up)."""
    utter(dispatcher, turn)
    return slot_changes(tracker, turn.slots) + ending(turn)
