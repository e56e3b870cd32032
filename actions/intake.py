"""The permit intake interview (一业一证) as a Rasa form; logic in bot.intake.dialogue.

`permit_intake_form` has one required slot, `intake_reply`, filled from the message text
only while the form is active and asking for it (domain.yml mapping conditions). The
validation action reads the reply against the question that was asked (slot
`intake_question`) and either records it and empties `intake_reply` (so the form asks
the next question), or fills it with "confirmed" / "stopped", which ends the form; the
rule in data/rules/intake.yml then runs `action_intake_done`.

State lives in slots (industry code, answers dict, asked question), never in this
process, so any action server can serve the next turn.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.emit import emit, slot_changes, utter
from bot.backend.client import BackendClient
from bot.catalog import default_catalog
from bot.intake.store import DOWNLOAD_PLACEHOLDER, DocumentsStore, public_base_url
from bot.intake import build_documents, render_html, render_markdown, render_summary
from bot.intake.prefill import choose_enterprise, fetch_enterprises, form_values, should_prefill
from bot.intake.schema import Industry, load_industries
from bot.intake.dialogue import (
    ASKING,
    CONFIRMED,
    HANDOFF,
    STOPPED,
    IntakeState,
    Outcome,
    handle_reply,
    prompt,
    start,
)
from bot.dialogue import texts
from bot.dialogue.turn import Said, Turn
from bot.settings import ROOT

logger = logging.getLogger(__name__)
INDUSTRIES_DIR = ROOT / "data" / "industries"
SLOTS = ("intake_industry", "intake_answers", "intake_question", "intake_status", "intake_reply")
TEXTS = texts.load("intake", {
    "documents_title": ("industry",), "download": ("link", "hours"),
    "prefilled": ("enterprise",), "enterprises_unavailable": (), "documents_failed": (),
})


@lru_cache(maxsize=1)
def industries() -> Dict[str, Industry]:
    """The industry files, checked against the catalog once per process."""
    return load_industries(INDUSTRIES_DIR, default_catalog().index())


@lru_cache(maxsize=1)
def documents_store() -> DocumentsStore:
    return DocumentsStore.from_env()


def state_of(tracker: Tracker) -> IntakeState:
    answers = tracker.get_slot("intake_answers")
    return IntakeState(
        industry=tracker.get_slot("intake_industry"),
        answers=dict(answers) if isinstance(answers, Mapping) else {},
        asked=tracker.get_slot("intake_question"),
    )


class ValidatePermitIntakeForm(Action):
    """Reads each reply of the interview (and starts it on activation)."""

    def name(self) -> Text:
        return "validate_permit_intake_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        reply = Said.of(tracker.latest_message)
        activating = (
            tracker.get_slot("requested_slot") is None
            or tracker.get_slot("intake_status") != ASKING
        )
        if activating:
            outcome = start(industries(), reply)
        elif tracker.get_slot("intake_reply") is None:
            return []  # nothing new to read
        else:
            outcome = handle_reply(
                industries(), state_of(tracker), reply,
                index=default_catalog().index(), context_code=None,
            )
        utter(dispatcher, outcome.turn)
        return slot_changes(tracker, self._slots(outcome))

    @staticmethod
    def _slots(outcome: Outcome) -> Dict[str, Any]:
        finished = outcome.status in (CONFIRMED, STOPPED, HANDOFF)
        return {
            **outcome.turn.slots,
            "intake_industry": outcome.state.industry,
            "intake_answers": outcome.state.answers,
            "intake_question": outcome.state.asked,
            "intake_status": outcome.status,
            # Empty: the form asks again. Filled: the form is done.
            "intake_reply": outcome.status if finished else None,
        }


class ActionAskIntakeReply(Action):
    """Asks the one thing the interview needs now: the industry, the next question (with
    buttons), or the read-back of all answers for confirmation."""

    def name(self) -> Text:
        return "action_ask_intake_reply"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        turn, asked = prompt(industries(), state_of(tracker))
        utter(dispatcher, turn)
        return [SlotSet("intake_question", asked)]


class ActionIntakeDone(Action):
    """After the form: the documents when confirmed; after a stop, only a clean slate."""

    def name(self) -> Text:
        return "action_intake_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        state = state_of(tracker)
        industry = industries().get(state.industry or "")
        turn = Turn(slots={name: None for name in SLOTS})
        if tracker.get_slot("intake_status") == CONFIRMED and industry is not None:
            try:
                turn.say(await self._produce(tracker, industry, state))
            except Exception:  # noqa: BLE001 - the citizen gets an answer, the log the cause
                logger.exception("intake documents could not be produced")
                turn.say(TEXTS("documents_failed"))
        if tracker.get_slot("intake_status") == HANDOFF:
            turn.hand_over()
        return emit(turn, dispatcher, tracker)

    async def _produce(self, tracker: Tracker, industry: Industry, state: IntakeState) -> str:
        """The documents, stored for download; the summary with the links to say."""
        enterprise, note = await self._enterprise(tracker.get_slot("verified_person_id"), state)
        docs = build_documents(industry, state.answers, default_catalog().index(), enterprise)
        now = datetime.now(timezone.utc)
        generated = now.astimezone().strftime("%Y-%m-%d %H:%M")
        title = TEXTS("documents_title", industry=industry.name)
        html = render_html(docs, generated_at=generated, download_href=DOWNLOAD_PLACEHOLDER)
        text = render_markdown(docs, generated_at=generated)
        token = documents_store().save(tracker.sender_id, industry.code, title, html, text, now)
        link = f"{public_base_url()}/documents/{token}"
        summary = render_summary(docs, link)
        if note:
            summary += "\n" + note
        summary += "\n" + TEXTS("download", link=link, hours=self._hours())
        return summary

    @staticmethod
    def _hours() -> str:
        hours = documents_store().ttl.total_seconds() / 3600
        return f"{hours:g}"

    @staticmethod
    async def _enterprise(
        person_id: Optional[str], state: IntakeState
    ) -> tuple[Optional[Dict[str, str]], str]:
        """(form values, a line for the chat) for a verified citizen; (None, "") otherwise."""
        if not person_id or not should_prefill(state.answers):
            return None, ""
        client = BackendClient.from_env()
        try:
            enterprises = await fetch_enterprises(client, person_id)
        finally:
            await client.close()
        if enterprises is None:
            return None, TEXTS("enterprises_unavailable")
        chosen = choose_enterprise(enterprises)
        if chosen is None:
            return None, ""
        values = form_values(chosen)
        return values, TEXTS("prefilled", enterprise=values["enterprise_name"])
