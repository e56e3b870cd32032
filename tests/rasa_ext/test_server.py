"""The action-response validation keeps Rasa's behaviour while building its validator once."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from rasa_ext.patches.action_response import _validate_action_result
from rasa_ext.server import apply_patches


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

    from rasa_ext.patches.event_types import _resolve_by_type

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

    from rasa_ext.patches.endpoint_sessions import _endpoint_session

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


# -- the action-response check by event type ------------------------------------------

def _rasa_verdict(response) -> bool:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(RemoteAction.action_response_format_spec()).is_valid(response)


def _our_verdict(response) -> bool:
    from rasa_ext.patches.action_response import _action_response_validator

    try:
        _action_response_validator().validate(response)
        return True
    except ValidationError:
        return False


def test_the_check_by_event_type_is_the_one_used():
    from rasa_ext.patches.action_response import _ActionResponseValidator, _action_response_validator

    assert isinstance(_action_response_validator(), _ActionResponseValidator)


_EVENT_TYPES = [
    branch["properties"]["event"]["const"]
    for branch in RemoteAction.action_response_format_spec()["properties"]["events"]["items"]["oneOf"]
]


def _events():
    from hypothesis import strategies as st

    values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       st.text(max_size=5), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.sampled_from(["name", "text", "x"]), st.text(max_size=3),
                                       max_size=2))
    fields = st.sampled_from(["name", "text", "value", "timestamp", "metadata", "policy",
                              "confidence", "parse_data", "entities", "data", "intent",
                              "date_time", "kill_on_user_msg", "events", "input_channel"])
    event = st.dictionaries(fields, values, max_size=4)
    kinds = st.one_of(st.sampled_from(_EVENT_TYPES), st.just("nope"), st.integers())
    return st.one_of(
        st.builds(lambda kind, rest: {**rest, "event": kind}, kinds, event),
        event,  # no "event" at all
    )


def test_the_check_by_event_type_agrees_with_rasas_whole_schema():
    """Same verdict as jsonschema on Rasa's schema, on valid and invalid responses."""
    from hypothesis import given, settings, strategies as st

    responses = st.one_of(
        st.fixed_dictionaries({"events": st.lists(_events(), max_size=4)},
                              optional={"responses": st.lists(
                                  st.one_of(st.dictionaries(st.just("text"), st.text()),
                                            st.integers()), max_size=2)}),
        st.dictionaries(st.sampled_from(["events", "responses"]),
                        st.one_of(st.none(), st.integers(), st.text())),
    )

    @settings(max_examples=400, deadline=None)
    @given(responses)
    def agree(response):
        assert _our_verdict(response) == _rasa_verdict(response)

    agree()


def test_the_check_by_event_type_accepts_what_our_actions_send():
    response = {"events": [
        {"event": "slot", "timestamp": None, "name": "matter_code", "value": "SH-P-001"},
        {"event": "active_loop", "name": None},
        {"event": "followup", "name": "action_listen"},
        {"event": "bot", "text": "好的", "data": {"buttons": []}},
    ], "responses": [{"text": "居住证申领需要：……", "buttons": [{"title": "转人工", "payload": "/request_human"}]}]}
    assert _our_verdict(response) and _rasa_verdict(response)


# -- past states remembered on the tracker ----------------------------------------------

def _tracker(domain):
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_events("s", [
        ActionExecuted("action_listen"),
        UserUttered("居住证要什么材料", {"name": "ask_materials", "confidence": 0.9}),
        SlotSet("matter_code", "SH-P-001"),
        ActionExecuted("action_answer_matter"),
        ActionExecuted("action_listen"),
        UserUttered("那要多久", {"name": "ask_processing_time", "confidence": 0.9}),
    ], domain.slots)


def test_past_states_are_remembered_until_an_event_is_added(domain):
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_ext.patches.past_states import _remembering_past_states

    compute = DialogueStateTracker.past_states
    compute = getattr(compute, "__wrapped__", compute)  # Rasa's own, patched or not
    calls = []

    def counted(self, *args, **kwargs):
        calls.append(1)
        return compute(self, *args, **kwargs)

    remembered = _remembering_past_states(counted)
    tracker = _tracker(domain)
    first = remembered(tracker, domain)
    first[-1]["user"].pop("intent", None)  # featurizers edit the states they are given
    second = remembered(tracker, domain)
    assert len(calls) == 1
    assert second == compute(tracker, domain) and second is not first
    assert remembered(tracker, domain, ignore_rule_only_turns=True) == compute(
        tracker, domain, ignore_rule_only_turns=True)
    assert len(calls) == 2  # other arguments: computed again
    tracker.update(ActionExecuted("action_answer_matter"))
    assert remembered(tracker, domain) == compute(tracker, domain)
    assert len(calls) == 3


async def test_action_calls_send_and_read_json_through_fast_json():
    """The kept session posts a tracker-like body and reads the reply as Rasa does."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"events": [], "responses": [{"text": body["text"]}]})

    app = web.Application()
    app.router.add_post("/webhook", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
        apply_patches()
        reply = await endpoint.request(json={"text": "居住证要什么材料"}, method="post")
        assert reply == {"events": [], "responses": [{"text": "居住证要什么材料"}]}
        async with endpoint.session() as session:
            await session.close()
    finally:
        await runner.cleanup()


def test_a_loaded_model_is_frozen_out_of_the_garbage_collector(monkeypatch):
    """Unfreeze (a reload frees the old model), load, collect, freeze, in that order."""
    import rasa_ext.patches.model_memory as server

    calls = []

    class RecordingGC:
        def unfreeze(self):
            calls.append("unfreeze")

        def collect(self):
            calls.append("collect")

        def freeze(self):
            calls.append("freeze")

    monkeypatch.setattr(server, "gc", RecordingGC())
    monkeypatch.setattr(server, "release_free_memory", lambda: calls.append("trim"))

    def load_model(agent, path):
        calls.append(f"load {path}")

    settle = server._settling_after(load_model)
    settle(object(), "m1")
    settle(object(), "m2")
    assert calls == ["unfreeze", "load m1", "collect", "freeze", "trim"] + [
        "unfreeze", "load m2", "collect", "freeze", "trim"]
    assert settle._settles


def test_each_patch_refuses_a_rasa_it_was_not_written_for(monkeypatch):
    import importlib

    import rasa

    from rasa_ext.patches import UnsupportedRasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    for name in ("action_response", "event_types", "endpoint_sessions", "past_states",
                 "model_memory", "action_failure", "log_masking", "training_warnings"):
        module = importlib.import_module(f"rasa_ext.patches.{name}")
        with pytest.raises(UnsupportedRasa):
            module.apply()
