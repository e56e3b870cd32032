"""A custom action that fails or hangs is said to the citizen, not swallowed.

Rasa 3.6 waits up to 300 s for the action server (`DEFAULT_REQUEST_TIMEOUT`) and, when
the call fails, logs the error and continues with no events: the citizen's message is
stored and nobody answers it (an empty 200 on the REST channel, silence elsewhere).
Here the wait is ACTION_TIMEOUT seconds (8) and a failed or timed-out call becomes the
busy message (data/texts/system.yml `busy`, marked `kind: system_busy` in the event's
metadata) and a wait for the citizen's next message; the message itself stays in the
conversation (the desk and a later turn see it).

The words are the bot's texts, not a domain response: Rasa says them, no rule or story
does, so a response would only be one that training's validation reports as unused.

A rejection (HTTP 400 from a form's validation) is Rasa's normal control flow and
passes through unchanged.
"""
from __future__ import annotations

import logging
from typing import Any, List

from bot import settings
from bot.dialogue import texts
from bot.dialogue.turn import KIND_KEY
from rasa_ext.patches import require_rasa

logger = logging.getLogger(__name__)

TEXTS = texts.load("system", {"busy": ()})
#: The kind of the busy message in its event's metadata (as bot.dialogue.turn marks texts).
BUSY = "system_busy"


def action_timeout() -> float:
    """ACTION_TIMEOUT (bot/settings.py; 8 s unless set)."""
    return settings.load().action_timeout


def busy_events() -> List[Any]:
    """The busy message, then listen."""
    from rasa.shared.core.events import BotUttered, FollowupAction

    # Listening next is decided here, not predicted: a rule could otherwise call the
    # dead server again, up to Rasa's limit of predictions per turn.
    return [BotUttered(TEXTS["busy"], metadata={KIND_KEY: BUSY}),
            FollowupAction("action_listen")]


def _saying_failures(run):
    async def run_or_say_busy(self, output_channel, nlg, tracker, domain):
        from rasa.core.actions.action import ActionExecutionRejection

        try:
            return await run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure gets the same answer
            logger.error("custom action %s failed (%s): told the citizen the system is busy",
                         self.name(), type(exc).__name__)
            return busy_events()

    run_or_say_busy._says_failures = True  # type: ignore[attr-defined]
    return run_or_say_busy


def apply() -> None:
    require_rasa(__name__)
    import rasa.core.actions.action as action_module
    from rasa.core.actions.action import RemoteAction

    # RemoteAction.run reads the module's constant at call time.
    action_module.DEFAULT_REQUEST_TIMEOUT = action_timeout()
    if not getattr(RemoteAction.run, "_says_failures", False):
        RemoteAction.run = _saying_failures(RemoteAction.run)
