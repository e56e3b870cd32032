"""Prometheus metrics of Rasa's turns (docs/operations.md, "Health and metrics").

- `govbot_turns_total{channel}` and `govbot_turn_seconds`: `Agent.handle_message`, where
  every channel's message arrives (rasa/core/channels/channel.py `on_new_message`), is
  measured whole: the wait for the conversation's lock, NLU, the predictions, the action
  calls and the replies sent (pushing channels send during the turn; the REST channel
  answers with the collected replies right after it).
- `govbot_fallbacks_total`: turns whose message was `nlu_fallback` or in which
  `action_fallback` / `action_default_fallback` ran. Read from the turn's own events after
  `MessageProcessor._run_prediction_loop`, walking back to the user's message (a handful
  of events), only inside a measured turn (a ContextVar): `trigger_intent` and reminders
  run that loop too, and are no citizen's turn.
- `govbot_action_errors_total{action}`: a call to the action server that failed or timed
  out (`RemoteAction.run` raised, or rasa_ext/patches/action_failure.py turned the
  failure into the busy message); a form's validation rejection is control flow, not
  counted.
- `govbot_model_loaded`: set when /metrics is scraped (rasa_ext/health.py).

Per turn: two clock reads, a ContextVar set and reset, a few counters (prometheus-client
takes a lock per increment) and the walk over the turn's events. Labels are the channel's
name (at most 16 distinct, bot.metrics.BoundedLabel) and the domain's action names.
"""
from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any, Dict, List, Optional

from bot import metrics
from rasa_ext.patches import require_rasa

logger = logging.getLogger(__name__)

TURNS = metrics.counter("govbot_turns_total", "Citizens' messages handled, by input channel",
                        ["channel"])
TURN_SECONDS = metrics.histogram(
    "govbot_turn_seconds", "Seconds of a whole turn: from the user's message until the "
    "replies are sent (the conversation's lock, NLU, predictions, actions)")
FALLBACKS = metrics.counter(
    "govbot_fallbacks_total", "Turns not understood: intent nlu_fallback, or action_fallback "
    "or action_default_fallback ran")
ACTION_ERRORS = metrics.action_errors()
MODEL_LOADED = metrics.gauge("govbot_model_loaded", "1 when a model is loaded and serving")

#: Rasa's names (rasa.shared.nlu.constants DEFAULT_NLU_FALLBACK_INTENT_NAME,
#: rasa.shared.core.constants ACTION_DEFAULT_FALLBACK_NAME) and ours (domain.yml).
NLU_FALLBACK = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_fallback", "action_default_fallback"})

_channels = metrics.BoundedLabel(limit=16)
_actions = metrics.BoundedLabel(limit=300)
_turns_of: Dict[str, Any] = {}  # channel → its counter (a dict lookup, not .labels())
#: The turn being handled: [fell back?]; None outside a citizen's turn.
_turn: ContextVar[Optional[List[bool]]] = ContextVar("govbot_turn", default=None)


def _count_turn(channel: Any) -> None:
    name = _channels(channel)
    child = _turns_of.get(name)
    if child is None:
        child = _turns_of[name] = TURNS.labels(channel=name)
    child.inc()


def fell_back(events: Any) -> bool:
    """Whether the latest turn in `events` (a tracker's) was not understood."""
    for event in reversed(events):
        kind = event.type_name
        if kind == "user":
            return event.intent_name == NLU_FALLBACK
        if kind == "action" and event.action_name in FALLBACK_ACTIONS:
            return True
    return False


def _measuring(handle: Any) -> Any:
    async def handle_message_measured(self: Any, message: Any) -> Any:
        if not self.is_ready():  # Rasa ignores the message: no turn
            return await handle(self, message)
        turn = [False]
        reset = _turn.set(turn)
        started = time.perf_counter()
        try:
            return await handle(self, message)
        finally:
            TURN_SECONDS.observe(time.perf_counter() - started)
            _turn.reset(reset)
            _count_turn(message.input_channel)
            if turn[0]:
                FALLBACKS.inc()

    handle_message_measured._measured = True  # type: ignore[attr-defined]
    return handle_message_measured


def _watching_fallbacks(run_loop: Any) -> Any:
    async def run_prediction_loop_watched(self: Any, output_channel: Any, tracker: Any) -> Any:
        result = await run_loop(self, output_channel, tracker)
        turn = _turn.get()
        if turn is not None and fell_back(tracker.events):
            turn[0] = True
        return result

    run_prediction_loop_watched._measured = True  # type: ignore[attr-defined]
    return run_prediction_loop_watched


def _is_busy(events: Any) -> bool:
    """The answer rasa_ext/patches/action_failure.py gives for a failed call."""
    from bot.dialogue.turn import KIND_KEY
    from rasa_ext.patches.action_failure import BUSY

    if not events:
        return False
    metadata = getattr(events[0], "metadata", None)
    return isinstance(metadata, dict) and metadata.get(KIND_KEY) == BUSY


def _counting_errors(run: Any, outside: bool) -> Any:
    """`outside`: `run` already says failures (action_failure was applied first), so a
    failure arrives as the busy message rather than as an exception."""

    async def run_counting_errors(self: Any, output_channel: Any, nlg: Any, tracker: Any,
                                  domain: Any) -> Any:
        from rasa.core.actions.action import ActionExecutionRejection

        try:
            events = await run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception:
            ACTION_ERRORS.labels(action=_actions(self.name())).inc()
            raise
        if outside and _is_busy(events):
            ACTION_ERRORS.labels(action=_actions(self.name())).inc()
        return events

    run_counting_errors._measured = True  # type: ignore[attr-defined]
    if outside:
        run_counting_errors._says_failures = True  # type: ignore[attr-defined]
    return run_counting_errors


def _wrapped(function: Any, depth: int = 4) -> bool:
    """Whether `function`, or a function it wraps (held in its closure), is ours: another
    patch may have wrapped ours since, and counting twice is wrong."""
    if getattr(function, "_measured", False):
        return True
    if depth == 0:
        return False
    for cell in getattr(function, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(inner) and _wrapped(inner, depth - 1):
            return True
    return False


def apply() -> None:
    require_rasa(__name__)
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

    if not _wrapped(Agent.handle_message):
        Agent.handle_message = _measuring(Agent.handle_message)
    if not _wrapped(MessageProcessor._run_prediction_loop):
        MessageProcessor._run_prediction_loop = _watching_fallbacks(
            MessageProcessor._run_prediction_loop)
    if not _wrapped(RemoteAction.run):
        RemoteAction.run = _counting_errors(
            RemoteAction.run, outside=getattr(RemoteAction.run, "_says_failures", False))
