"""The conversation's slots as the domain's context: what every action that may answer
a matter question needs to know of the conversation so far."""
from __future__ import annotations

from rasa_sdk import Tracker

from bot.catalog.dialogue import Context


def context_of(tracker: Tracker) -> Context:
    """The matter slots of the conversation (bot.catalog.dialogue.Context)."""
    return Context.from_slots(tracker.get_slot)
