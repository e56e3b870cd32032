"""One-time SMS codes, attempt counters and rate limits, in the shared key-value store.

Everything lives in the durable store of `bot.kv` (`durable_store_from_env`: Redis when
REDIS_URL is set, else a table of the bot's SQL database), so several action servers
agree and a restart forgets nothing: a code made by one process is checked by another,
and a citizen gets no fresh attempts by landing on a different process or by waiting
for a restart. Codes are kept only as salted HMACs.

Lockout by strangers, and why it cannot happen while the owner keeps access:

- Only the user is ever locked (`failures_per_user` failed checks or spent codes in
  `failure_window`; a bound person's own failures likewise). Failures on an application
  number by many senders never lock the number: a hard lock there would let anyone who
  knows (or guesses) a number shut its applicant out with a handful of fresh accounts.
- Instead a number with `failures_per_number` failures in the window is *under attack*
  (`under_attack`). From then on every ID-last-six try on it gets the same answer
  whether the last six is right or wrong ("如果信息无误，验证码已发送…", no phone shown):
  a right one sends the code to the applicant's phone, a wrong one gets a decoy
  challenge (`Target.decoy`) that behaves like a real one — the same tries, the same
  resend pacing, the same "spent" — but no SMS is sent and no code verifies it. Every
  try under attack counts against the user, right or wrong, so being locked after
  five says nothing either. A stranger learns nothing from the answers; the owner, who
  has the right last six, gets the SMS and goes on. Brute force is not opened: before
  the attack the number gives its usual `failures_per_number` telling answers per
  window, after it none, and a right guess only sends a code to the owner's phone.
- The SMS quota: codes go out only after a right last six (or to a bound account), so
  strangers without it spend none of it. The backend counts its per-phone limit per
  requester (`requester_ref`, an opaque digest of the channel account), so even
  strangers who know the last six spend their own share and never the owner's;
  the per-user limits here (`resend_gap`, `sends_per_window`) bound what each account
  sends. (The price: many accounts that all know someone's last six can each send
  their share of codes to that phone; the audit log shows it.) The owner's bound
  account sends with the person id, also counted per requester.
- Left: a decoy answer skips the SMS call, so it comes a few milliseconds sooner than
  a real one; over a chat channel's own delays that is hard to measure, and a right
  guess still only sends a code to the owner's phone.

Keys (all expire by themselves):
- `status:challenge:{user}`  the pending code (digest, target), `code_ttl`
- `status:target:{user}`     what the code was for, kept `failure_window` for a resend
- `status:code-tries:{user}` wrong codes for the pending challenge
- `status:fail:user:{user}`, `status:fail:person:{id}` failed identity checks and spent
  codes in `failure_window` (these lock); `status:fail:number:{number}` failures on a
  number from anyone (this only marks it under attack)
- `status:send-gap:{user}`, `status:sends:{user}`  SMS pacing per user
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, fields
from typing import Optional

from bot import settings
from bot.kv import KeyValueStore


@dataclass(frozen=True)
class Limits:
    """The numbers of the issue, in one place (env STATUS_* overrides for operators)."""

    code_ttl: float = 300.0          # codes expire after 5 minutes
    code_attempts: int = 3           # wrong codes allowed per code
    failure_window: float = 900.0    # failures are counted over 15 minutes
    failures_per_user: int = 5       # then the user must wait out the window
    failures_per_number: int = 5     # then the number is under attack (answers alike);
                                     # for a bound person, then the person is locked
    resend_gap: float = 60.0         # seconds between two codes to one user
    sends_per_window: int = 4        # codes per user per failure_window

    @classmethod
    def from_env(cls) -> "Limits":
        """These numbers with the STATUS_* overrides of the process's settings."""
        cfg = settings.load()
        overrides = {f.name: getattr(cfg, f"status_{f.name}") for f in fields(cls)}
        return cls(**{name: value for name, value in overrides.items() if value is not None})


@dataclass(frozen=True)
class Target:
    """Whom a code verifies: the person, and the application asked about (if one)."""

    person_id: str
    phone_masked: str
    number: Optional[str] = None
    bound: bool = False  # the code went to a bound account's phone
    #: Asked while the number was under attack: the answers must not tell whether the
    #: last six matched (no phone shown, the same words as a decoy).
    quiet: bool = False
    #: No code was sent (the last six was wrong, under attack) and none can verify it.
    decoy: bool = False

    @classmethod
    def decoy_for(cls, number: str) -> "Target":
        return cls("", "", number, quiet=True, decoy=True)

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


#: Stored as a decoy's digest: no HMAC (hex) ever equals it, so no code verifies a decoy.
_NEVER = "decoy"


def requester_ref(user: str) -> str:
    """The opaque id the backend gets for a channel account ('channel:sender'): stable,
    so its limits count per account, and not the account itself."""
    return hashlib.sha256(f"govbot-status-requester:{user}".encode()).hexdigest()[:32]


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

    async def locked(self, user: str, person_id: Optional[str] = None) -> bool:
        """Too many failures by this user (or for this bound person). A number is never
        locked: see `under_attack`."""
        checks = [(f"{self.prefix}:fail:user:{user}", self.limits.failures_per_user)]
        if person_id:
            checks.append((f"{self.prefix}:fail:person:{person_id}", self.limits.failures_per_number))
        for key, limit in checks:
            if int(await self.store.get(key) or 0) >= limit:
                return True
        return False

    async def target_locked(self, user: str, target: Target) -> bool:
        """`locked` for a pending code's target: the person counts only for a check of a
        bound account without a number (where `record_failure` counts the person), so a
        quiet real target and a decoy are locked alike."""
        return await self.locked(user, None if target.number else target.person_id)

    async def under_attack(self, number: str) -> bool:
        """So many failures on the number, from anyone, that answers to a last-six try
        must no longer say whether it matched (module docstring)."""
        failures = int(await self.store.get(f"{self.prefix}:fail:number:{number}") or 0)
        return failures >= self.limits.failures_per_number

    async def record_failure(self, user: str, number: Optional[str] = None,
                             target: Optional[Target] = None) -> None:
        for key in self._failure_keys(user, target, number):
            await self.store.incr(key, self.limits.failure_window)

    async def clear_failures(self, target: Target) -> None:
        """The owner proved identity in full: earlier failures on the number (or person)
        were someone's typos — unless the number is under attack, whose count must stay
        (clearing it would hand the attacker fresh telling answers). The user's own
        count stays."""
        if target.number and await self.under_attack(target.number):
            return
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
        """Makes a code for the target, replacing any pending one; returns the code. For
        a decoy target the challenge is stored the same way but no code verifies it
        (the returned code is thrown away: nothing is sent)."""
        code = new_code()
        salt = secrets.token_hex(8)
        digest = _NEVER if target.decoy else _digest(salt, code)
        await self.store.set(f"{self.prefix}:challenge:{user}",
                             json.dumps({"salt": salt, "digest": digest}),
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

    async def make_decoy(self, user: str, number: str) -> None:
        """The code just issued could not be sent (under attack): the pending challenge
        becomes a decoy, so the citizen hears what any other try would have heard."""
        raw = await self.store.get(f"{self.prefix}:challenge:{user}")
        if raw is not None:
            salt = json.loads(raw)["salt"]
            await self.store.set(f"{self.prefix}:challenge:{user}",
                                 json.dumps({"salt": salt, "digest": _NEVER}),
                                 ttl=self.limits.code_ttl)
        await self.store.set(f"{self.prefix}:target:{user}", Target.decoy_for(number).to_json(),
                             ttl=self.limits.failure_window)

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
