"""Rasa's socket.io channel, with the session handling the web widget relies on.

Registered in credentials.yml as `connectors.widget.channel.WidgetSocketIOInput`; its
name stays `socketio`, so its events, URL and trackers' input channel are Rasa's own.

Why not Rasa's channel as it is:

- Rasa 3.6 calls `sio.enter_room(...)` without `await`. Since python-socketio 5.10 that
  is a coroutine, so with `session_persistence: true` a socket never joins its session's
  room and every reply goes to an empty room: the widget would never see an answer
  (RasaHQ/rasa#13027, fix not released for 3.6).
- Rasa trusts any `session_id` a client sends, with any message, and uses it as the
  conversation's sender id, which every channel shares. A client that named a WeChat
  openid could talk inside that citizen's conversation (and its verified identity).
  Here a session id is 32 hexadecimal digits (what this channel hands out), and a message
  is accepted only for the session its socket asked for with `session_request`.

- Messages sent from outside a turn (an agent's reply from the desk, through Rasa's
  `/conversations/{id}/tracker/events?output_channel=socketio`) carry the agent's name in
  the event's metadata, which Rasa's output channel drops; here it reaches the widget as
  `metadata.agent_name`, so the citizen sees who is writing.

The handler's return value is the socket.io acknowledgement, sent when the whole turn
is done (after the replies): the widget runs its typing indicator until then.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")
MAX_MESSAGE_CHARS = 2000  # the widget sends at most 400; nobody needs more in one turn


def is_session_id(value: Any) -> bool:
    """True for a session id of our shape (uuid4 hex), the only ones we hand out."""
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


def message_metadata(raw: Any) -> Dict[Text, Any]:
    """Metadata as Rasa's channel accepts it (a dict or a JSON object string), else empty."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


class WidgetSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, keeping an agent's name (bot message metadata `agent`)."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        agent = kwargs.get("agent")
        if not agent:
            await super().send_text_message(recipient_id, text, **kwargs)
            return
        for part in text.strip().split("\n\n"):
            await self._send_message(
                recipient_id, {"text": part, "metadata": {"agent_name": str(agent)[:40]}}
            )


class WidgetSocketIOInput(SocketIOInput):
    """`socketio` with awaited rooms and sessions that a socket must have asked for."""

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        if self.sio is None:
            return super().get_output_channel()
        return WidgetSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        namespace = self.namespace

        def session_rooms(sid: Text) -> list:
            return [room for room in sio.rooms(sid, namespace=namespace) if is_session_id(room)]

        # Registering an event again replaces Rasa's handler for it.
        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if is_session_id(requested) else uuid.uuid4().hex
            if self.session_persistence:
                for room in session_rooms(sid):  # one socket, one conversation
                    if room != session_id:
                        await sio.leave_room(sid, room, namespace=namespace)
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any) -> Dict[Text, Text]:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                return {"status": "ignored", "reason": "bad_message"}
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not is_session_id(sender_id) or sender_id not in session_rooms(sid):
                    logger.warning("socket.io message for a session its socket did not request")
                    return {"status": "ignored", "reason": "no_session"}
            else:
                sender_id = sid
            await on_new_message(
                UserMessage(
                    data["message"][:MAX_MESSAGE_CHARS],
                    SocketIOOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                    metadata=message_metadata(data.get(self.metadata_key)),
                )
            )
            return {"status": "ok"}

        return blueprint
