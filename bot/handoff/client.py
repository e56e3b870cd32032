"""The action server's client of the agent desk (which owns the handoff queue).

The desk may run in another process or machine, so the action server asks it over HTTP
with a service token (HANDOFF_SERVICE_TOKEN); an unreachable desk raises `DeskUnavailable`
and the action tells the citizen how else to reach a person.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import aiohttp

from bot.handoff import config


class DeskUnavailable(Exception):
    pass


class DeskClient:
    def __init__(self, base_url: str, token: str, timeout: float = 4.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    @classmethod
    def from_env(cls) -> "DeskClient":
        """The desk's URL and the service token (refused in production when unset or the
        development value); the action server needs none of the desk's other settings."""
        return cls(config.desk_url(), config.service_token())

    async def _post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout
            )
        try:
            async with self._session.post(self.base_url + path, json=body) as response:
                data = await response.json(content_type=None)
                if response.status >= 500 or not isinstance(data, dict):
                    raise DeskUnavailable(f"desk answered {response.status}")
                if response.status >= 400:
                    raise DeskUnavailable(f"desk refused: {data.get('error')}")
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeskUnavailable(repr(exc)) from exc

    async def request_agent(self, **request: Any) -> Dict[str, Any]:
        """{"status": "queued", "handoff_id", "position", "wait_minutes"} or
        {"status": "no_agent"}."""
        return await self._post("/desk/internal/handoffs", request)

    async def create_work_order(self, **order: Any) -> str:
        return (await self._post("/desk/internal/work_orders", order))["number"]

    async def set_callback(self, number: str, conversation_id: str, phone: str) -> bool:
        body = {"conversation_id": conversation_id, "callback_phone": phone}
        return bool((await self._post(f"/desk/internal/work_orders/{number}/callback", body))["ok"])

    async def orders_of(self, conversation_id: str, number: Optional[str] = None) -> List[Dict[str, Any]]:
        """The conversation's own work orders (one, with `number`), newest first."""
        body: Dict[str, Any] = {"conversation_id": conversation_id}
        if number:
            body["number"] = number
        return (await self._post("/desk/internal/work_orders/of_conversation", body))["orders"]

    async def cancel_work_order(self, number: str, conversation_id: str) -> bool:
        """Withdraws a message's work order (the citizen cancelled at the callback number);
        False for a complaint's, which stays."""
        body = {"conversation_id": conversation_id}
        return bool((await self._post(f"/desk/internal/work_orders/{number}/cancel", body))["cancelled"])

    async def rate(self, handoff_id: str, conversation_id: str, satisfaction: int) -> bool:
        body = {"handoff_id": handoff_id, "conversation_id": conversation_id,
                "satisfaction": satisfaction}
        return bool((await self._post("/desk/internal/ratings", body))["stored"])
