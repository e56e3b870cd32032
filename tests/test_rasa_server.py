"""The action-response validation keeps Rasa's behaviour while building its validator once."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_server import _validate_action_result, apply_patches


def test_valid_response_passes_and_invalid_is_rejected():
    good = {"events": [{"event": "slot", "name": "matter_code", "value": "SH-P-001"}], "responses": [{"text": "好"}]}
    assert _validate_action_result(None, good) is True
    with pytest.raises(ValidationError) as err:
        _validate_action_result(None, {"events": [{"no_event_key": 1}]})
    assert "Failed to validate Action server response" in err.value.message


def test_patch_replaces_rasa_method():
    apply_patches()
    assert RemoteAction._validate_action_result is _validate_action_result


def test_event_types_resolve_as_in_rasa():
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    from bot.rasa_server import _resolve_by_type

    assert _resolve_by_type("user") is UserUttered
    assert _resolve_by_type("slot") is SlotSet
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        assert _resolve_by_type(cls.type_name).type_name == cls.type_name
    assert _resolve_by_type("topic") is None
    assert _resolve_by_type("nope", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        _resolve_by_type("nope")


async def test_endpoint_sessions_are_kept_open_and_reused():
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_server import _endpoint_session

    endpoint = EndpointConfig(url="http://127.0.0.1:9/webhook")
    async with _endpoint_session(endpoint) as first:
        pass
    async with _endpoint_session(endpoint) as second:
        pass
    assert first is second and not first.closed
    await first.close()
    async with _endpoint_session(endpoint) as third:
        assert third is not first and not third.closed
    await third.close()
