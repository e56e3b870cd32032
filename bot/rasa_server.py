"""`rasa` with our fixes for per-turn costs found by profiling, then Rasa's own CLI.

    python -m bot.rasa_server run --enable-api ...   (same arguments as `rasa`)

Profiling a loaded server (py-spy, 50 concurrent conversations) showed almost half of the
Rasa process's time in `RemoteAction._validate_action_result`: it calls
`jsonschema.validate`, which checks the *schema itself* against the JSON-Schema
meta-schema on every action call before checking the response. The response is still
validated here, with a validator built once for the (constant) schema.

With that gone, a tenth of the time went to `Event.resolve_by_type`, which walks every
subclass of Event for each stored event it deserialises; here the type names are looked
up in a table built once (and rebuilt if an unknown name appears, e.g. a new subclass).

Each action call also opened a new aiohttp ClientSession, so a new TCP connection to the
action server, per call (`EndpointConfig.session`); sessions are now kept per endpoint and
event loop, with keep-alive connections.

Loading a model runs a training step to build DIET's graph; glibc keeps the freed
hundreds of megabytes mapped. `malloc_trim` after each model load (and once a minute)
hands them back: about 125 MB less resident memory per Rasa server.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from functools import lru_cache
from typing import Any, Dict, Text


@lru_cache(maxsize=1)
def _action_response_validator():
    from jsonschema import Draft202012Validator, validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema, default=Draft202012Validator)
    validator_class.check_schema(schema)  # once, not per call
    return validator_class(schema)


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
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=30),
        )
        _sessions[key] = session
    return _KeptSession(session)


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
    from rasa.utils.endpoints import EndpointConfig

    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    EndpointConfig.session = _endpoint_session

    load_model = Agent.load_model
    if not getattr(load_model, "_trims_memory", False):

        def load_model_then_trim(self, *args: Any, **kwargs: Any) -> None:
            load_model(self, *args, **kwargs)
            release_free_memory()

        load_model_then_trim._trims_memory = True  # type: ignore[attr-defined]
        Agent.load_model = load_model_then_trim


def main() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    apply_patches()
    _trim_periodically()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
