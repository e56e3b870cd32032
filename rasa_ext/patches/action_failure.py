"""A custom action that fails or hangs is said to the citizen, not swallowed.

Rasa 3.6 waits up to 300 s for the action server (`DEFAULT_REQUEST_TIMEOUT`) and, when
the call fails, logs the error and continues with no events: the citizen's message is
stored and nobody answers it (an empty 200 on the REST channel, silence elsewhere).
Here the wait is ACTION_TIMEOUT seconds (8) and a failed or timed-out call becomes the
`utter_system_busy` response and a wait for the citizen's next message; the message
itself stays in the conversation (the desk and a later turn see it).

A rejection (HTTP 400 from a form's validation) is Rasa's normal control flow and
passes through unchanged.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, List

from bot import settings
from rasa_ext.patches import require_rasa

logger = logging.getLogger(__name__)

BUSY_RESPONSE = "utter_system_busy"
#: Said when the domain has no `utter_system_busy` (it should have).
BUSY_TEXT = "系统繁忙，您的消息已收到，请稍后再发一次；急事请拨打12345热线。"


def action_timeout() -> float:
    """ACTION_TIMEOUT (bot/settings.py; 8 s unless set)."""
    return settings.load().action_timeout


async def busy_events(nlg: Any, tracker: Any, output_channel: Any) -> List[Any]:
    """The busy message (from the domain's response when it has one), then listen."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.events import BotUttered, FollowupAction

    message = None
    try:
        message = await nlg.generate(BUSY_RESPONSE, tracker, output_channel.name())
    except Exception:  # noqa: BLE001 - the fallback text below is said instead
        logger.exception("could not render %s", BUSY_RESPONSE)
    if message:
        message["utter_action"] = BUSY_RESPONSE
        utterance = create_bot_utterance(message)
    else:
        utterance = BotUttered(BUSY_TEXT, metadata={"utter_action": BUSY_RESPONSE})
    # Listening next is decided here, not predicted: a rule could otherwise call the
    # dead server again, up to Rasa's limit of predictions per turn.
    return [utterance, FollowupAction("action_listen")]


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
            return await busy_events(nlg, tracker, output_channel)

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
