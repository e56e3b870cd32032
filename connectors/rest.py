"""Rasa's REST channel, as a development channel whose client cannot pose as anyone.

Rasa's `rest` takes the conversation id (`sender`) and even the input channel from the
request body: a client that sent `"sender": "wechat_oa:<openid>"` would talk inside
that WeChat citizen's conversation, with its verified identity. Here:

- the REST channel exists only in development (`make run`, GOVBOT_ENV=development): in
  production its webhook answers 404 (and the Rasa API guard wants a token first);
- its senders live in their own namespace, `rest:<sender>`, so no id of another channel
  (a WeChat openid, a widget session) can be named;
- the input channel is always `rest`, never the client's choice;
- a body without a sender, or not a JSON object, is refused with 400 (Rasa would put
  every such message into one shared `default` conversation, or answer 500);
- text is cut to MAX_MESSAGE_CHARS before Rasa sees it.
"""
from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot import settings

NAMESPACE = "rest:"
MAX_MESSAGE_CHARS = 2000
SENDER = re.compile(r"[A-Za-z0-9_.@:-]{1,64}")


def _body(request: Request) -> Dict[Text, Any]:
    try:
        body = request.json
    except InvalidUsage:
        raise InvalidUsage("请求体须为 JSON 对象：{\"sender\": \"…\", \"message\": \"…\"}") from None
    if not isinstance(body, dict):
        raise InvalidUsage("请求体须为 JSON 对象：{\"sender\": \"…\", \"message\": \"…\"}")
    return body


def conversation_id(sender: Any) -> str:
    """The REST namespace's conversation id for a client-chosen sender."""
    if not isinstance(sender, str) or not SENDER.fullmatch(sender):
        raise InvalidUsage("sender 须为1-64个字母、数字或 _ . @ : -")
    return NAMESPACE + sender


class DevelopmentRestInput(RestInput):
    """`rest` for developers' tools and tests; see the module docstring."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        return conversation_id(_body(req).get("sender"))

    def _extract_message(self, req: Request) -> Optional[Text]:
        message = _body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage("message 须为文字")
        return message[:MAX_MESSAGE_CHARS]

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None  # what a client claims about itself is not metadata we trust

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        if settings.is_development():
            return super().blueprint(on_new_message)
        closed = Blueprint("rest_closed", __name__)

        @closed.route("/webhook", methods=["GET", "POST"])
        async def refuse(_: Request) -> Any:
            return response.json({"error": "REST 通道仅用于开发环境"}, status=404)

        return closed
