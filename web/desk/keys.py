"""What the desk keeps on its sub-application, each under a typed key.

The desk's settings and templates are under web/keys.py's SETTINGS_KEY and TEMPLATES_KEY
(the desk holds its own reference, so it also runs mounted on a bare app in tests).
"""
from __future__ import annotations

import ipaddress
from typing import Dict, List, Tuple, Union

from aiohttp import web

from bot.handoff.auth import LoginGuard, Sessions
from bot.handoff.config import HandoffConfig
from bot.handoff.records import Records
from bot.handoff.service import HandoffService
from bot.review.service import ReviewService

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

#: Set when the desk is created (its configuration is checked before the app listens).
CONFIG_KEY = web.AppKey("handoff_config", HandoffConfig)
PROXIES_KEY = web.AppKey[Tuple[Network, ...]]("trusted_proxies")
#: Set at start-up (web/desk/app.py, the cleanup contexts), for the app's life.
RECORDS_KEY = web.AppKey("records", Records)
SESSIONS_KEY = web.AppKey("sessions", Sessions)
GUARD_KEY = web.AppKey("login_guard", LoginGuard)
CANNED_KEY = web.AppKey[List[Dict[str, str]]]("canned_answers")
SERVICE_KEY = web.AppKey("handoff_service", HandoffService)
REVIEW_KEY = web.AppKey("review_service", ReviewService)
