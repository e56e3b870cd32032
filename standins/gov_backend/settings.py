"""The stand-in backend's settings, read from the environment once, when the app is made.

bot/settings.py holds only what the assistant needs to reach the backend (its port, the
bind address, the environment); what the backend itself is configured with lives here.
An argument given to `load` wins over its variable, so tests set values without the
environment:

    BACKEND_DATABASE_URL           its own database (default SQLite var/backend.db)
    BACKEND_SERVICE_TOKENS         accepted credentials, comma-separated (rotation); else
    BACKEND_SERVICE_TOKEN          the client's one (`bot.backend.credentials` rules)
    BACKEND_DELAY_MS               every /api/ answer that much slower (tests of a slow backend)
    BACKEND_SMS_OUTBOX             the development SMS outbox (default var/sms-outbox.jsonl)
    BACKEND_SMS_LIMIT              messages per phone (and requester) per 10 minutes
    BACKEND_IDENTITY_MAX_FAILURES  failed identity checks per number (and requester) per 15 minutes
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Tuple

from bot import settings as bot_settings
from standins.gov_backend import DEV_TOKEN, checked_token, default_token

DEFAULT_SMS_LIMIT = 10
DEFAULT_IDENTITY_MAX_FAILURES = 5


@dataclass(frozen=True)
class BackendSettings:
    """What one backend process runs with (fixed for its life)."""

    database_url: str
    tokens: Tuple[str, ...]  # every accepted service credential
    delay_ms: int  # at start: `state.Delay` holds the value in force
    sms_outbox: Path
    sms_limit: int
    identity_max_failures: int

    @property
    def using_dev_token(self) -> bool:
        """Whether the development token is accepted (development, loopback only)."""
        return DEV_TOKEN in self.tokens


def default_database_url() -> str:
    """BACKEND_DATABASE_URL, else SQLite var/backend.db (the folder made if missing)."""
    url = os.environ.get("BACKEND_DATABASE_URL", "").strip()
    if url:
        return url
    bot_settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{bot_settings.VAR_DIR / 'backend.db'}"


def service_tokens(credentials: Optional[Iterable[str] | str] = None) -> Tuple[str, ...]:
    """The accepted tokens.

    `credentials` (or BACKEND_SERVICE_TOKENS, comma-separated so a token can be rotated:
    old and new are accepted while the callers move) else BACKEND_SERVICE_TOKEN (one
    variable serves both sides), with `settings.secret` semantics: in production a
    missing, development or short token refuses to start; in development the
    development token is the default, on loopback only."""
    if credentials is None:
        credentials = os.environ.get("BACKEND_SERVICE_TOKENS", "")
    if isinstance(credentials, str):
        credentials = credentials.split(",")
    tokens = tuple(t.strip() for t in credentials if t and t.strip())
    if not tokens:
        tokens = (default_token(),)
    for token in tokens:
        checked_token(token, "BACKEND_SERVICE_TOKENS")
    return tokens


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def load(
    database_url: Optional[str] = None,
    credentials: Optional[Iterable[str] | str] = None,
    *,
    delay_ms: Optional[int] = None,
    sms_outbox: Optional[str | os.PathLike] = None,
    sms_limit: Optional[int] = None,
    identity_max_failures: Optional[int] = None,
) -> BackendSettings:
    """The settings: each argument given, else its variable, else its default. Raises
    `bot.settings.InsecureConfiguration` on a credential production refuses."""
    return BackendSettings(
        database_url=database_url or default_database_url(),
        tokens=service_tokens(credentials),
        delay_ms=delay_ms if delay_ms is not None else _int_env("BACKEND_DELAY_MS", 0),
        sms_outbox=Path(sms_outbox or os.environ.get("BACKEND_SMS_OUTBOX")
                        or bot_settings.VAR_DIR / "sms-outbox.jsonl"),
        sms_limit=sms_limit if sms_limit is not None
        else _int_env("BACKEND_SMS_LIMIT", DEFAULT_SMS_LIMIT),
        identity_max_failures=identity_max_failures if identity_max_failures is not None
        else _int_env("BACKEND_IDENTITY_MAX_FAILURES", DEFAULT_IDENTITY_MAX_FAILURES),
    )
