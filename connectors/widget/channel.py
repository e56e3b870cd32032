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
  Here `session_request` must present a signed session token (connectors/widget/
  session.py: an id alone, as agents and logs see it, claims nothing); the socket then
  joins that session's room, and a message is accepted only for a session its socket
  joined. `session_confirm` hands out a fresh token each time; after an identity check
  (a `{"govbot": "rotate_session"}` custom message from the status action) the old
  tokens are void, the other sockets leave the room and only the socket that proved the
  identity gets the new token.
- Browsers may connect only from the portal origins (CORS_ORIGINS): Rasa's socket.io
  server checks no origin on WebSocket connections.

- Rasa's output emits a custom payload's keys as `emit()` arguments, which fails for any
  payload not shaped for it (a 500 for the whole request). Typed payloads (`{"type": …}`:
  matter cards, docs/answer-cards.md; the handoff's queue updates) reach the widget as the
  message's `custom`, a card in the same message as its text.
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
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import urlparse

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot import settings
from bot.kv import durable_store_from_env
from connectors.widget.session import ROTATE, SessionTokens, session_of, session_secret

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")
#: The Redis pub/sub channel the Rasa instances' socket.io servers share.
SOCKETIO_CHANNEL = "govbot-socketio"
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


def origin_allowed(origin: Optional[str], allowed: list) -> bool:
    """Browsers send Origin; other clients (apps, tests) send none and are not browsers
    whose page could be a stranger's."""
    return not origin or "*" in allowed or origin in allowed


class WidgetSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, keeping an agent's name (bot message metadata `agent`),
    and rotating the session token on the status action's request."""

    def __init__(self, sio: Any, bot_message_evt: Text, tokens: Optional[SessionTokens] = None,
                 socket: Optional[Text] = None, namespace: Optional[Text] = None) -> None:
        super().__init__(sio, bot_message_evt)
        self.tokens = tokens
        self.socket = socket  # the socket whose message this turn answers
        self.namespace = namespace

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        if json_message != ROTATE and json_message.get("type"):
            # a typed payload (docs/answer-cards.md; the handoff's handoff_queue) as the
            # message's `custom`: Rasa's output would pass its keys to emit() as arguments
            await self._send_message(recipient_id, {"custom": json_message})
            return
        if json_message != ROTATE:
            await super().send_custom_json(recipient_id, json_message, **kwargs)
            return
        if self.tokens is None or self.socket is None:
            return  # not a turn of a socket (e.g. an event pushed from the desk)
        token = await self.tokens.rotate(recipient_id)
        # Every other socket leaves, on whichever Rasa instance it is connected (closing
        # the room is published to all of them; this instance's own copy of the message
        # is ignored, so the proving socket, entered again at once, stays).
        await self.sio.close_room(recipient_id, namespace=self.namespace)
        await self.sio.enter_room(self.socket, recipient_id, namespace=self.namespace)
        await self.sio.emit("session_confirm", token, room=self.socket, namespace=self.namespace)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """A text with a structured payload (a matter card, docs/answer-cards.md) goes out
        as one `bot_uttered` {"text", "custom", "quick_replies"}: the widget shows the card
        and, for a kind it does not know, the text (Rasa's own output would send the text
        and then emit the payload's keys as arguments, which socket.io refuses)."""
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("type") and message.get("text"):
            out: Dict[Text, Any] = {"text": message["text"], "custom": custom}
            buttons = message.get("quick_replies") or message.get("buttons") or []
            if buttons:
                out["quick_replies"] = [
                    {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
                    for b in buttons if isinstance(b, dict)
                ]
            await self._send_message(recipient_id, out)
            return
        await super().send_response(recipient_id, message)

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

    def share_across_instances(self, sio: Any) -> None:
        """With REDIS_URL, the server's rooms and emits go through Redis (python-socketio's
        AsyncRedisManager): a reply, an agent's message or a push sent by any Rasa
        instance reaches a widget connected to any other, and no sticky sessions are
        needed for WebSocket clients (docs/cluster.md). Without it, one process."""
        redis_url = settings.load().redis_url
        if not redis_url:
            return
        from socketio import AsyncRedisManager

        # Pub/sub ignores Redis's database numbers: the number goes into the channel's
        # name, so deployments sharing one Redis on other databases stay apart.
        database = (urlparse(redis_url).path or "/0").strip("/") or "0"
        manager = AsyncRedisManager(redis_url, channel=f"{SOCKETIO_CHANNEL}-{database}")
        # Before any client connects (the server initialises its manager on the first).
        sio.manager = manager
        manager.set_server(sio)

    def session_tokens(self) -> SessionTokens:
        return SessionTokens(session_secret(), durable_store_from_env())

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        self.share_across_instances(sio)
        namespace = self.namespace
        tokens = self.session_tokens()
        origins = settings.cors_origins()

        def session_rooms(sid: Text) -> list:
            return [room for room in sio.rooms(sid, namespace=namespace) if is_session_id(room)]

        # Registering an event again replaces Rasa's handler for it.
        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not origin_allowed(environ.get("HTTP_ORIGIN"), origins):
                logger.warning("socket.io connection from an origin not in CORS_ORIGINS")
                return False
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            token = await tokens.issue(await tokens.verify(requested))
            session_id = session_of(token)
            if self.session_persistence:
                for room in session_rooms(sid):  # one socket, one conversation
                    if room != session_id:
                        await sio.leave_room(sid, room, namespace=namespace)
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any) -> Dict[Text, Text]:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                return {"status": "ignored", "reason": "bad_message"}
            if self.session_persistence:
                sender_id = session_of(data.get("session_id"))
                if sender_id is None or sender_id not in session_rooms(sid):
                    logger.warning("socket.io message for a session its socket did not request")
                    return {"status": "ignored", "reason": "no_session"}
            else:
                sender_id = sid
            await on_new_message(
                UserMessage(
                    data["message"][:MAX_MESSAGE_CHARS],
                    WidgetSocketIOOutput(sio, self.bot_message_evt, tokens, sid, namespace),
                    sender_id,
                    input_channel=self.name(),
                    metadata=message_metadata(data.get(self.metadata_key)),
                )
            )
            return {"status": "ok"}

        return blueprint
