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
