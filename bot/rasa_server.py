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
"""
from __future__ import annotations

import os
import sys
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


def apply_patches() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)


def main() -> None:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    apply_patches()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
