"""One-time SMS codes, attempt counters and rate limits, in the shared key-value store.

Everything lives in the durable store of `bot.kv` (`durable_store_from_env`: Redis when
REDIS_URL is set, else a table of the bot's SQL database), so several action servers
agree and a restart forgets nothing: a code made by one process is checked by another,
and a citizen gets no fresh attempts by landing on a different process or by waiting
for a restart. Codes are kept only as salted HMACs.

Keys (all expire by themselves):
- `status:challenge:{user}`  the pending code (digest, target), `code_ttl`
- `status:target:{user}`     what the code was for, kept `failure_window` for a resend
- `status:code-tries:{user}` wrong codes for the pending challenge
- `status:fail:user:{user}`, `status:fail:number:{number}`, `status:fail:person:{id}`
  failed identity checks and spent codes in `failure_window`
- `status:send-gap:{user}`, `status:sends:{user}`  SMS pacing per user
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from typing import Optional

from bot.kv import KeyValueStore


@dataclass(frozen=True)
class Limits:
    """The numbers of the issue, in one place (env STATUS_* overrides for operators)."""

    code_ttl: float = 300.0          # codes expire after 5 minutes
    code_attempts: int = 3           # wrong codes allowed per code
    failure_window: float = 900.0    # failures are counted over 15 minutes
    failures_per_user: int = 5       # then the user must wait out the window
    failures_per_number: int = 5     # per application number (or bound person)
    resend_gap: float = 60.0         # seconds between two codes to one user
    sends_per_window: int = 4        # codes per user per failure_window

    @classmethod
    def from_env(cls) -> "Limits":
        values = {}
        for name, kind in (("code_ttl", float), ("code_attempts", int),
                           ("failure_window", float), ("failures_per_user", int),
                           ("failures_per_number", int), ("resend_gap", float),
                           ("sends_per_window", int)):
            raw = os.environ.get(f"STATUS_{name.upper()}", "").strip()
            if raw:
                values[name] = kind(raw)
        return cls(**values)


@dataclass(frozen=True)
class Target:
    """Whom a code verifies: the person, and the application asked about (if one)."""

    person_id: str
    phone_masked: str
    number: Optional[str] = None
    bound: bool = False  # the code went to a bound account's phone

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: Optional[str]) -> Optional["Target"]:
        if not raw:
            return None
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError):
            return None


def new_code() -> str:
    """Six random digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10 ** 6):06d}"


def _digest(salt: str, code: str) -> str:
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


class Guard:
    """Codes, tries and limits for status checks; `user` is 'channel:sender'."""

    def __init__(self, store: KeyValueStore, limits: Limits = Limits(),
                 prefix: str = "status") -> None:
        self.store = store
        self.limits = limits
        self.prefix = prefix  # tests sharing one Redis use their own

    # -- failures -------------------------------------------------------------------

    def _failure_keys(self, user: str, target: Optional[Target] = None,
                      number: Optional[str] = None) -> list:
        keys = [f"{self.prefix}:fail:user:{user}"]
        number = number or (target.number if target else None)
        if number:
            keys.append(f"{self.prefix}:fail:number:{number}")
        elif target is not None:
            keys.append(f"{self.prefix}:fail:person:{target.person_id}")
        return keys

    async def locked(self, user: str, number: Optional[str] = None,
                     person_id: Optional[str] = None) -> bool:
        """Too many failures by this user, for this number or for this person."""
        checks = [(f"{self.prefix}:fail:user:{user}", self.limits.failures_per_user)]
        if number:
            checks.append((f"{self.prefix}:fail:number:{number}", self.limits.failures_per_number))
        if person_id:
            checks.append((f"{self.prefix}:fail:person:{person_id}", self.limits.failures_per_number))
        for key, limit in checks:
            if int(await self.store.get(key) or 0) >= limit:
                return True
        return False

    async def record_failure(self, user: str, number: Optional[str] = None,
                             target: Optional[Target] = None) -> None:
        for key in self._failure_keys(user, target, number):
            await self.store.incr(key, self.limits.failure_window)

    async def clear_failures(self, target: Target) -> None:
        """The owner proved identity in full: earlier failures on the number (or person)
        were someone's typos, not an attack still running. The user's own count stays."""
        for key in self._failure_keys("", target)[1:]:
            await self.store.delete(key)

    # -- codes ----------------------------------------------------------------------

    async def may_send(self, user: str) -> Optional[str]:
        """None when a code may be sent now, else 'wait' (too soon) or 'limit'."""
        if int(await self.store.get(f"{self.prefix}:sends:{user}") or 0) >= self.limits.sends_per_window:
            return "limit"
        if await self.store.get(f"{self.prefix}:send-gap:{user}") is not None:
            return "wait"
        return None

    async def issue(self, user: str, target: Target) -> str:
        """Makes a code for the target, replacing any pending one; returns the code."""
        code = new_code()
        salt = secrets.token_hex(8)
        await self.store.set(f"{self.prefix}:challenge:{user}",
                             json.dumps({"salt": salt, "digest": _digest(salt, code)}),
                             ttl=self.limits.code_ttl)
        await self.store.set(f"{self.prefix}:target:{user}", target.to_json(),
                             ttl=self.limits.failure_window)
        await self.store.delete(f"{self.prefix}:code-tries:{user}")
        if self.limits.resend_gap > 0:  # (a zero TTL would mean "never expires")
            await self.store.set(f"{self.prefix}:send-gap:{user}", "1",
                                 ttl=self.limits.resend_gap)
        await self.store.incr(f"{self.prefix}:sends:{user}", self.limits.failure_window)
        return code

    async def target(self, user: str) -> Optional[Target]:
        return Target.from_json(await self.store.get(f"{self.prefix}:target:{user}"))

    async def check(self, user: str, code: str) -> str:
        """'ok' (the code is spent), 'wrong' (tries left), 'spent' (this was the last
        try: the code is void) or 'expired' (no pending code)."""
        raw = await self.store.get(f"{self.prefix}:challenge:{user}")
        if raw is None:
            return "expired"
        challenge = json.loads(raw)
        if hmac.compare_digest(_digest(challenge["salt"], code), challenge["digest"]):
            await self.store.delete(f"{self.prefix}:challenge:{user}")
            await self.store.delete(f"{self.prefix}:code-tries:{user}")
            return "ok"
        tries = await self.store.incr(f"{self.prefix}:code-tries:{user}", self.limits.code_ttl)
        if tries >= self.limits.code_attempts:
            await self.store.delete(f"{self.prefix}:challenge:{user}")
            await self.store.delete(f"{self.prefix}:code-tries:{user}")
            return "spent"
        return "wrong"

    async def tries_left(self, user: str) -> int:
        used = int(await self.store.get(f"{self.prefix}:code-tries:{user}") or 0)
        return max(0, self.limits.code_attempts - used)

    async def forget(self, user: str) -> None:
        """The citizen stopped: drop the pending code and its target (not the counters)."""
        for key in (f"{self.prefix}:challenge:{user}", f"{self.prefix}:target:{user}",
                    f"{self.prefix}:code-tries:{user}"):
            await self.store.delete(key)
