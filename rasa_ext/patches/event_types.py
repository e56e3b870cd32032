"""Stored events' classes looked up in a table.

With the action-response validation fixed (action_response.py), a tenth of the time
went to `Event.resolve_by_type`, which walks every
subclass of Event for each stored event it deserialises; here the type names are looked
up in a table built once (and rebuilt if an unknown name appears, e.g. a new subclass).
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa_ext.patches import require_rasa

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


def apply() -> None:
    require_rasa(__name__)
    from rasa.shared.core.events import Event

    Event.resolve_by_type = staticmethod(_resolve_by_type)
