"""`rasa` with our fixes for per-turn costs found by profiling and our guards
(rasa_ext: the API token, failed actions said), then Rasa's own CLI.

    python -m bot.rasa_server run --enable-api ...   (same arguments as `rasa`)

Profiling a loaded server (py-spy, 50 concurrent conversations) showed almost half of the
Rasa process's time in `RemoteAction._validate_action_result`: it calls
`jsonschema.validate`, which checks the *schema itself* against the JSON-Schema
meta-schema on every action call before checking the response. The response is still
validated here, with validators built once, and each event checked only against the
branch of the schema's `oneOf` for its type (the same verdicts; 13 times faster).

With that gone, a tenth of the time went to `Event.resolve_by_type`, which walks every
subclass of Event for each stored event it deserialises; here the type names are looked
up in a table built once (and rebuilt if an unknown name appears, e.g. a new subclass).

Each action call also opened a new aiohttp ClientSession, so a new TCP connection to the
action server, per call (`EndpointConfig.session`); sessions are now kept per endpoint and
event loop, with keep-alive connections, writing and reading JSON with orjson.

RulePolicy computes a tracker's past states twice per prediction (to match on the text,
then on the intent), each time replaying the events into every prior tracker; the
states are now remembered on the tracker until an event is added.

Loading a model runs a training step to build DIET's graph; glibc keeps the freed
hundreds of megabytes mapped. `malloc_trim` after each model load (and once a minute)
hands them back: about 125 MB less resident memory per Rasa server. The loaded model's
objects are then frozen out of the cyclic garbage collector (`_settling_after`).
"""
from __future__ import annotations

import copy
import ctypes
import gc
import os
import sys
import threading
import time
from functools import lru_cache
from typing import Any, Dict, List, NamedTuple, Text, Tuple

from bot import fast_json


class _ActionResponseValidator:
    """Rasa's action-response schema, checked event by event against the one branch of
    its `oneOf` that the event's type names.

    Each branch of the schema's `oneOf` fixes `event` to a different constant and `event`
    is required, so "exactly one branch matches" is the same as "the branch of this type
    matches": the same verdicts, without trying all 23 branches on every event (about a
    millisecond per action call, 13 times the dispatch)."""

    def __init__(self, schema: Dict[Text, Any]) -> None:
        items = schema["properties"]["events"]["items"]
        outer = copy.deepcopy(schema)
        outer["properties"]["events"]["items"] = {
            key: value for key, value in items.items() if key != "oneOf"
        }
        self._outer = _validator(outer, dialect_of=schema)
        self._by_type = {
            branch["properties"]["event"]["const"]: _validator(branch, dialect_of=schema)
            for branch in items["oneOf"]
        }

    def validate(self, result: Any) -> None:
        from jsonschema import ValidationError

        self._outer.validate(result)  # events: objects with a string `event`
        for event in result.get("events") or []:
            branch = self._by_type.get(event["event"])
            if branch is None:
                raise ValidationError(f"{event['event']!r} is not an event type Rasa knows")
            branch.validate(event)


def _validator(schema: Dict[Text, Any], dialect_of: Dict[Text, Any]):
    """A jsonschema validator for `schema` in the draft `dialect_of` declares, the schema
    itself checked once here rather than on every call."""
    from jsonschema import Draft202012Validator, validators

    validator_class = validators.validator_for(dialect_of, default=Draft202012Validator)
    validator_class.check_schema(schema)
    return validator_class(schema)


@lru_cache(maxsize=1)
def _action_response_validator():
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    try:
        return _ActionResponseValidator(schema)
    except (KeyError, TypeError, AttributeError):  # another shape of schema: as a whole
        return _validator(schema, dialect_of=schema)


def _validate_action_result(self, result: Dict[Text, Any]) -> bool:
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _action_response_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, make sure your "
            f"response from the Action endpoint is valid. For more information about the "
            f"format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise e


_event_types: Dict[Text, Any] = {}


def _event_type_table() -> Dict[Text, Any]:
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    table: Dict[Text, Any] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)  # first match wins, as in Rasa's loop
    return table


def _resolve_by_type(type_name: Text, default: Any = None) -> Any:
    global _event_types
    cls = _event_types.get(type_name)
    if cls is None:
        _event_types = _event_type_table()
        cls = _event_types.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


class _KeptSession:
    """`async with` yields the shared session and leaves it open afterwards."""

    def __init__(self, session) -> None:
        self._session = session

    async def __aenter__(self):
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


_sessions: Dict[Any, Any] = {}


@lru_cache(maxsize=1)
def _response_class():
    """aiohttp's response, reading JSON bodies (the action server's replies) with
    bot.fast_json."""
    import aiohttp

    class FastJSONResponse(aiohttp.ClientResponse):
        async def json(self, *, encoding=None, loads=fast_json.loads,
                       content_type="application/json"):
            return await super().json(encoding=encoding, loads=loads, content_type=content_type)

    return FastJSONResponse


def _endpoint_session(self):
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    key = (id(self), id(loop))
    session = _sessions.get(key)
    if session is None or session.closed:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            json_serialize=fast_json.dumps,
            response_class=_response_class(),
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=30),
        )
        _sessions[key] = session
    return _KeptSession(session)


_STATES = "_govbot_past_states"


class _KeptStates(NamedTuple):
    """Past states as computed for one version of a tracker and one set of arguments."""

    event_count: int
    last_event: Any
    domain: Any
    flags: Tuple[bool, bool]  # omit_unset_slots, ignore_rule_only_turns
    rule_only_data: Any
    states: List[Dict[Text, Any]]

    def serves(self, other: "_KeptStates") -> bool:
        """Same events (no event added since), same domain, same arguments."""
        return (
            self.event_count == other.event_count and self.last_event is other.last_event
            and self.domain is other.domain and self.flags == other.flags
            and (self.rule_only_data is other.rule_only_data
                 or self.rule_only_data == other.rule_only_data)
        )


def _copied(states):
    """Fresh state dicts: featurizers delete a user sub-state's text or intent in place."""
    return [{key: dict(sub) for key, sub in state.items()} for state in states]


def _remembering_past_states(past_states):
    """`DialogueStateTracker.past_states`, remembered on the tracker until an event is
    added. RulePolicy asks for the same states twice per prediction (once to match on
    the message text, once on its intent); each time replays the events into every prior
    tracker. States depend only on the events, the domain and the arguments."""

    def remembered(self, domain, omit_unset_slots=False, ignore_rule_only_turns=False,
                   rule_only_data=None):
        events = self.events
        asked = _KeptStates(len(events), events[-1] if events else None, domain,
                            (omit_unset_slots, ignore_rule_only_turns), rule_only_data, [])
        kept = self.__dict__.get(_STATES)
        if kept is not None and kept.serves(asked):
            return _copied(kept.states)
        states = past_states(self, domain, omit_unset_slots=omit_unset_slots,
                             ignore_rule_only_turns=ignore_rule_only_turns,
                             rule_only_data=rule_only_data)
        self.__dict__[_STATES] = asked._replace(states=_copied(states))
        return states

    remembered._remembers = True  # type: ignore[attr-defined]
    remembered.__wrapped__ = past_states  # type: ignore[attr-defined]
    return remembered


def release_free_memory() -> None:
    """Returns freed heap pages to the OS (glibc only; a no-op elsewhere)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _trim_periodically(seconds: float = 60.0) -> None:
    def loop() -> None:
        while True:
            time.sleep(seconds)
            release_free_memory()

    threading.Thread(target=loop, name="malloc-trim", daemon=True).start()


def apply_patches() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    RemoteAction._validate_action_result = _validate_action_result
    if not getattr(DialogueStateTracker.past_states, "_remembers", False):
        DialogueStateTracker.past_states = _remembering_past_states(
            DialogueStateTracker.past_states)
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    EndpointConfig.session = _endpoint_session

    if not getattr(Agent.load_model, "_settles", False):
        Agent.load_model = _settling_after(Agent.load_model)


def _settling_after(load_model):
    """`Agent.load_model`, then the loaded model's objects frozen out of the cyclic
    garbage collector and the freed heap handed back (`release_free_memory`).

    A loaded model is millions of long-lived objects (TensorFlow, spaCy, jieba's
    dictionary) that every full collection walked again, pausing the event loop; frozen,
    a collection walks only what turns allocate (open-load p95 129/109 → 109/61 ms in
    alternating runs). Freezing does not keep garbage alive that reference counting
    frees; before a reload the old model is unfrozen so that it can be collected."""

    def load_model_then_settle(self, *args: Any, **kwargs: Any) -> None:
        gc.unfreeze()
        load_model(self, *args, **kwargs)
        gc.collect()
        gc.freeze()
        release_free_memory()

    load_model_then_settle._settles = True  # type: ignore[attr-defined]
    return load_model_then_settle


def main() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    from rasa_ext import api_guard
    from rasa_ext.patches import action_failure

    apply_patches()
    api_guard.install()  # the API token, CORS origins and the body cap (before any app)
    action_failure.apply()  # a failed or slow action server is said, not swallowed
    _trim_periodically()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
