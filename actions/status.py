"""Application status in conversation (logic in bot.status.dialogue)."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.emit import emit
from actions.handoff import work_order_reply
from actions.context import context_of
from bot import settings
from bot.audit import AuditLog
from bot.backend.client import BackendClient
from bot.catalog import default_catalog
from bot.catalog.dialogue import fallback_streak
from bot.db import engine_for
from bot.dialogue.turn import Said
from bot.kv import durable_store_from_env
from bot.status.bindings import BindingStore
from bot.status.dialogue import Citizen, State, StatusDialogue
from bot.status.followup import just_shown
from bot.status.guard import Guard, Limits
from connectors.widget.session import ROTATE

ACTION_NAME = "action_status"
_dialogue: Optional[StatusDialogue] = None


def dialogue() -> StatusDialogue:
    """The process's dialogue: backend client, the durable shared store (Redis, else the
    bot's SQL database: attempt limits must survive a restart), SQL bindings and audit."""
    global _dialogue
    if _dialogue is None:
        engine = engine_for(settings.load().database_url)
        _dialogue = StatusDialogue(
            BackendClient.from_env(), Guard(durable_store_from_env(), Limits.from_env()),
            BindingStore(engine), AuditLog(engine), default_catalog().index(),
        )
    return _dialogue


def bot_asked_last(events: Sequence[Mapping[str, Any]], action_name: str) -> bool:
    """Whether the bot's last action before the latest user message was `action_name`."""
    seen_user = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and kind == "action" and event.get("name") != "action_listen":
            return event.get("name") == action_name
    return False


def state_of(tracker: Tracker) -> State:
    """The slots of the check, and those a reply outside it needs."""
    return State(
        flow=tracker.get_slot("status_flow") or {},
        verified_person_id=tracker.get_slot("verified_person_id"),
        pending_topic=tracker.get_slot("pending_topic"),
        just_asked=bot_asked_last(tracker.events, ACTION_NAME),
        matters=context_of(tracker),
        not_understood=fallback_streak(tracker.events),
        just_shown=just_shown(tracker.events),
    )


def citizen_of(tracker: Tracker) -> Citizen:
    return Citizen(tracker.get_latest_input_channel() or "unknown", tracker.sender_id)


async def status_follow_up_reply(
    tracker: Tracker, dispatcher: CollectingDispatcher
) -> Optional[List[Dict[Text, Any]]]:
    """For the actions a question about the application just shown reaches ("那大概还要
    多久" is read as ask_processing_time): the answer about that application, emitted,
    or None when the message is not such a question."""
    state = state_of(tracker)
    if state.shown is None:
        return None
    turn = await dialogue().follow_up(Said.of(tracker.latest_message), state,
                                      citizen_of(tracker))
    return None if turn is None else emit(turn, dispatcher, tracker)


class ActionStatus(Action):
    """Every turn of a status check: the question, the ID last six, the code, consent."""

    def name(self) -> Text:
        return ACTION_NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        state = state_of(tracker)
        # "查一下工单GD-…": the hotline's work order, not an application (SH…)
        events = await work_order_reply(tracker, dispatcher, by_word=state.step is None)
        if events is not None:
            return events
        who = citizen_of(tracker)
        turn = await dialogue().handle(Said.of(tracker.latest_message), state, who)
        if (turn.slots.get("verified_person_id") and not state.verified_person_id
                and who.channel == "socketio"):
            # Identity proven in this turn: tokens of the widget session copied before
            # stop working (connectors/widget/session.py).
            turn.show(ROTATE)
        return emit(turn, dispatcher, tracker)
