"""What the running app holds, under typed keys (aiohttp `web.AppKey`): set by
`app.create_app` and its cleanup context, read by the middleware and the views."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.engine import Engine

from standins.gov_backend.settings import BackendSettings
from standins.gov_backend.sms import SmsService


@dataclass
class Delay:
    """How much slower every /api/ answer is, in milliseconds: BACKEND_DELAY_MS at start,
    and a fault a test may lift while the server runs (a backend that recovers)."""

    ms: int


SETTINGS = web.AppKey("settings", BackendSettings)
DELAY = web.AppKey("delay", Delay)
#: Set while the app runs (its cleanup context): absent before start.
ENGINE = web.AppKey("engine", Engine)
SMS = web.AppKey("sms", SmsService)
