"""The desk's client of Rasa's HTTP API (`rasa run --enable-api`).

Messages to the citizen are BotUttered events appended with
`output_channel=latest&execute_side_effects=true`: Rasa stores them in the conversation and
sends them through the channel the citizen last wrote from (socket.io room, WeChat,
Alipay; the REST channel has no push, so a REST citizen reads them from the tracker).

Rasa's API is not open to anyone: every call carries `Authorization: Bearer <token>`
(RASA_API_TOKEN, bot.handoff.config.rasa_api_token).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.dialogue import texts
from bot.dialogue.turn import button

logger = logging.getLogger(__name__)

TEXTS = texts.load("handoff", {"score_button": ("score",), "rate_prompt": ()})
SATISFACTION_BUTTONS = [
    button(TEXTS("score_button", score=score), f'/rate_service{{"satisfaction":"{score}"}}')
    for score in (5, 4, 3, 2, 1)
]


class RasaUnavailable(Exception):
    pass


def agent_message(text: str, agent: str) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"agent": agent}}


def bot_message(text: str, buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
    event: Dict[str, Any] = {"event": "bot", "text": text}
    if buttons:
        event["data"] = {"buttons": buttons}
    return event


def resume_events(handoff_id: int, closing: str) -> List[Dict[str, Any]]:
    """Ends a handoff: the bot answers again, and a satisfaction rating is pending.

    The action_listen lets the rules see the citizen's next message as a fresh turn (the
    last action before the pause was action_handoff)."""
    return [
        {"event": "resume"},
        {"event": "slot", "name": "rating_handoff", "value": str(handoff_id)},
        # A complaint's work order was handled in the conversation: a later message form
        # must not attach to it.
        {"event": "slot", "name": "work_order_number", "value": None},
        {"event": "slot", "name": "work_order_message", "value": None},
        bot_message(closing + "\n" + TEXTS["rate_prompt"], SATISFACTION_BUTTONS),
        {"event": "action", "name": "action_listen"},
    ]


class RasaAPI:
    def __init__(
        self, base_url: str, session: aiohttp.ClientSession, token: str, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def _url(self, conversation_id: str, tail: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{tail}"

    async def _post(self, url: str, body: Any) -> Any:
        try:
            async with self.session.post(
                url, json=body, headers=self.headers, timeout=self.timeout
            ) as response:
                if response.status >= 400:
                    detail = (await response.text())[:300]
                    raise RasaUnavailable(f"Rasa answered {response.status}: {detail}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc!r}") from exc

    async def append(self, conversation_id: str, events: List[Dict[str, Any]]) -> None:
        """Appends events and sends their bot messages on the citizen's latest channel."""
        url = self._url(conversation_id, "tracker/events")
        await self._post(url + "?output_channel=latest&execute_side_effects=true", events)

    async def execute(self, conversation_id: str, action: str) -> None:
        """Runs one action of the bot in the conversation; its messages go out on the
        citizen's latest channel. Rasa runs nothing after it (no prediction, no follow-up
        action), so the action leaves the conversation ready for the next message.

        Rasa 3.6 logs a FutureWarning for this endpoint and recommends an external intent;
        an intent nobody says has no NLU examples, which training's validation reports.
        """
        url = self._url(conversation_id, "execute") + "?output_channel=latest"
        await self._post(url, {"name": action})

    async def parse(self, text: str, timeout: float = 3.0) -> Dict[str, Any]:
        """What the running model understands of `text` now (POST /model/parse): the
        review page shows it beside what the bot understood when the citizen wrote it,
        so a supervisor sees whether a published model already learned a group."""
        try:
            async with self.session.post(
                f"{self.base_url}/model/parse", json={"text": text}, headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                if response.status >= 400:
                    raise RasaUnavailable(f"Rasa answered {response.status}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc!r}") from exc
