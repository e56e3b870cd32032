"""Signed widget sessions: a conversation id alone never claims a conversation.

The widget's conversation id (32 hex digits) is also the tracker's sender id, so it is
seen by agents in the desk, in logs and in database rows. If naming it were enough, as
in Rasa's socket.io channel, whoever saw it could join the citizen's room, receive the
replies and speak as the citizen. Here the widget holds a *session token*

    <session id>.<generation>.<expiry>.<signature>

signed with WIDGET_SESSION_SECRET; `session_request` must present a valid, unexpired
token of the session's current generation. Every confirmation hands out a fresh token
(the expiry slides: a day of silence ends the session). After an identity check the
generation is raised (`rotate`): tokens copied before the check stop working, and only
the socket that proved the identity receives the new one.

The generation lives in the shared key-value store (Redis in production), so every Rasa
instance agrees and a restart does not bring old tokens back.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Optional

from bot import settings
from bot.kv import KeyValueStore

DEV_SECRET = "dev-widget-session-secret-loopback-only"
#: The custom message an action sends after an identity check: the widget channel then
#: rotates the session's token (and only the socket of that turn keeps the session).
ROTATE = {"govbot": "rotate_session"}
TOKEN_TTL = 24 * 3600.0
_TOKEN = re.compile(r"([0-9a-f]{32})\.(\d{1,9})\.(\d{1,12})\.([0-9a-f]{32})")


def session_secret() -> str:
    return settings.secret("WIDGET_SESSION_SECRET", DEV_SECRET)


@dataclass(frozen=True)
class Claim:
    session_id: str
    generation: int
    expires: int


def parse(token: object) -> Optional[tuple]:
    """(claim, signature) of a well-formed token, else None; no secret needed."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    sid, generation, expires, signature = match.groups()
    return Claim(sid, int(generation), int(expires)), signature


def session_of(value: object) -> Optional[str]:
    """The session id a message names: a bare id or a token's (the socket's room
    decides whether it may speak in it; this only reads the id)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value):
        return value
    parsed = parse(value)
    return parsed[0].session_id if parsed else None


class SessionTokens:
    def __init__(self, secret: str, store: KeyValueStore, ttl: float = TOKEN_TTL,
                 clock: Callable[[], float] = time.time, prefix: str = "widget:gen:") -> None:
        self._key = secret.encode("utf-8")
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self.prefix = prefix

    def _sign(self, claim: Claim) -> str:
        message = f"{claim.session_id}.{claim.generation}.{claim.expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def _token(self, claim: Claim) -> str:
        return f"{claim.session_id}.{claim.generation}.{claim.expires}.{self._sign(claim)}"

    async def _generation(self, session_id: str) -> int:
        return int(await self.store.get(self.prefix + session_id) or 0)

    async def issue(self, session_id: Optional[str] = None) -> str:
        """A fresh token for the session (a new session when None)."""
        session_id = session_id or uuid.uuid4().hex
        generation = await self._generation(session_id)
        if generation:  # kept as long as a token of it can live
            await self.store.set(self.prefix + session_id, str(generation), ttl=self.ttl)
        return self._token(Claim(session_id, generation, int(self.clock() + self.ttl)))

    async def verify(self, token: object) -> Optional[str]:
        """The session id a token proves, None if forged, expired or of an old
        generation."""
        parsed = parse(token)
        if parsed is None:
            return None
        claim, signature = parsed
        if not hmac.compare_digest(signature, self._sign(claim)):
            return None
        if claim.expires < self.clock():
            return None
        if claim.generation != await self._generation(claim.session_id):
            return None
        return claim.session_id

    async def rotate(self, session_id: str) -> str:
        """Voids every token issued so far for the session; returns the new one."""
        generation = await self._generation(session_id) + 1
        await self.store.set(self.prefix + session_id, str(generation), ttl=self.ttl)
        return await self.issue(session_id)
