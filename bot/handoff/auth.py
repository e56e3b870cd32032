"""Desk sign-in: salted scrypt password hashes, sessions with CSRF tokens, login limits.

Sessions live in the shared key-value store (bot/kv.py: Redis when REDIS_URL is set), so
any desk process accepts a session another one issued, and a desk restart with Redis
signs nobody out. Failed logins are counted per account and per client address; over
the limit, even the right password is refused until the window passes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Optional

from bot.kv import KeyValueStore

#: department: a department's user, who sees the work orders dispatched to it
#: (docs/work-orders.md) and nothing else of the desk.
ROLES = ("agent", "supervisor", "department")
SESSION_TTL = 8 * 3600  # one shift
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """'scrypt$N$r$p$salt$hash' (base64); a fresh random salt per call."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_N}${_R}${_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(base64.b64decode(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


#: Hashing a password nobody has, so an unknown name costs as long as a wrong password.
DUMMY_HASH = hash_password(secrets.token_hex(8))


@dataclass(frozen=True)
class Session:
    token: str
    agent: str
    role: str
    csrf: str

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"


class Sessions:
    def __init__(self, kv: KeyValueStore, prefix: str = "desk:session:") -> None:
        self.kv = kv
        self.prefix = prefix

    async def create(self, agent: str, role: str) -> Session:
        session = Session(secrets.token_urlsafe(32), agent, role, secrets.token_urlsafe(24))
        value = json.dumps({"agent": agent, "role": role, "csrf": session.csrf})
        await self.kv.set(self.prefix + session.token, value, ttl=SESSION_TTL)
        return session

    async def get(self, token: Optional[str]) -> Optional[Session]:
        if not token or len(token) > 100:
            return None
        value = await self.kv.get(self.prefix + token)
        if value is None:
            return None
        data = json.loads(value)
        return Session(token, data["agent"], data["role"], data["csrf"])

    async def delete(self, token: str) -> None:
        await self.kv.delete(self.prefix + token)


@dataclass(frozen=True)
class LoginLimits:
    per_account: int = 5
    per_address: int = 20
    window: float = 15 * 60


class LoginGuard:
    """Counts failed sign-ins per account and per address in the shared store."""

    def __init__(self, kv: KeyValueStore, limits: LoginLimits = LoginLimits()) -> None:
        self.kv = kv
        self.limits = limits

    def _keys(self, name: str, address: str) -> tuple[str, str]:
        return f"desk:loginfail:acct:{name.lower()}", f"desk:loginfail:ip:{address}"

    async def blocked_for(self, name: str, address: str) -> Optional[float]:
        """Seconds until sign-in may be tried again, None when allowed."""
        account, ip = self._keys(name, address)
        for key, limit in ((account, self.limits.per_account), (ip, self.limits.per_address)):
            count = await self.kv.get(key)
            if count is not None and int(count) >= limit:
                return (await self.kv.ttl(key)) or self.limits.window
        return None

    async def failed(self, name: str, address: str) -> None:
        for key in self._keys(name, address):
            await self.kv.incr(key, ttl=self.limits.window)

    async def succeeded(self, name: str) -> None:
        await self.kv.delete(self._keys(name, "")[0])
