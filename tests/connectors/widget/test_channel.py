"""The widget's socket.io channel: which session ids and metadata it accepts.

Its behaviour over a real socket (rooms, refused sessions, replies) is tested end to end
in tests/e2e/test_widget_socket.py.
"""
from __future__ import annotations

import uuid

import pytest

from connectors.widget.channel import WidgetSocketIOInput, is_session_id, message_metadata


def test_session_ids_are_the_ones_the_channel_hands_out():
    assert is_session_id(uuid.uuid4().hex)
    for bad in (None, 42, "", "abc", uuid.uuid4().hex.upper(), str(uuid.uuid4()),
                "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", uuid.uuid4().hex + "\n"):
        assert not is_session_id(bad), bad


@pytest.mark.parametrize(
    "raw, expected",
    [({"page": "/"}, {"page": "/"}), ('{"page": "/"}', {"page": "/"}), ("not json", {}),
     ("[1, 2]", {}), (None, {}), (7, {})],
)
def test_metadata_is_an_object_or_nothing(raw, expected):
    assert message_metadata(raw) == expected


def test_registered_from_credentials_under_rasa_socketio_name():
    channel = WidgetSocketIOInput.from_credentials(
        {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
         "session_persistence": True}
    )
    assert channel.name() == "socketio" and channel.session_persistence


async def test_agent_messages_carry_the_agents_name_to_the_widget():
    from connectors.widget.channel import WidgetSocketIOOutput

    class FakeServer:
        def __init__(self):
            self.sent = []

        async def emit(self, event, data, room=None):
            self.sent.append((event, data, room))

    sio = FakeServer()
    out = WidgetSocketIOOutput(sio, "bot_uttered")
    await out.send_response("a" * 32, {"text": "您好", "agent": "agent1"})
    await out.send_response("a" * 32, {"text": "机器人回答"})
    assert sio.sent == [
        ("bot_uttered", {"text": "您好", "metadata": {"agent_name": "agent1"}}, "a" * 32),
        ("bot_uttered", {"text": "机器人回答"}, "a" * 32),
    ]


async def test_a_card_goes_out_with_its_text_in_one_message():
    """A matter card (docs/answer-cards.md) reaches the widget in one bot_uttered with its
    text (shown by widgets that do not know the card) and the message's buttons."""
    from connectors.widget.channel import WidgetSocketIOOutput

    class FakeServer:
        def __init__(self):
            self.sent = []

        async def emit(self, event, data, room=None):
            self.sent.append((event, data, room))

    sio = FakeServer()
    out = WidgetSocketIOOutput(sio, "bot_uttered")
    card = {"type": "matter_card", "version": 1, "title": "办理「X」需要准备1项材料", "text": "全文"}
    await out.send_response("a" * 32, {"text": "全文\n\n第二段", "custom": card,
                                       "buttons": [{"title": "要多久", "payload": "/ask"}]})
    assert sio.sent == [("bot_uttered", {
        "text": "全文\n\n第二段", "custom": card,
        "quick_replies": [{"content_type": "text", "title": "要多久", "payload": "/ask"}],
    }, "a" * 32)]


async def test_a_typed_payload_alone_reaches_the_widget_as_custom():
    """A payload without text (the handoff's queue update) goes out as {"custom": …}; Rasa's
    own output would pass its keys to emit() and fail the whole request."""
    from connectors.widget.channel import WidgetSocketIOOutput

    class FakeServer:
        def __init__(self):
            self.sent = []

        async def emit(self, event, data, room=None):
            self.sent.append((event, data, room))

    sio = FakeServer()
    out = WidgetSocketIOOutput(sio, "bot_uttered")
    queue = {"type": "handoff_queue", "state": "accepted", "place": 0, "minutes": 0}
    await out.send_response("a" * 32, {"text": None, "custom": dict(queue)})
    assert sio.sent == [("bot_uttered", {"custom": queue}, "a" * 32)]
