"""The stand-in government backend (applications, people, licences, SMS) on :8700.

Its service credential follows the client's rules (bot/backend/credentials.py)."""
from __future__ import annotations

from bot.backend.credentials import DEV_TOKEN, checked_token, default_token

__all__ = ["DEV_TOKEN", "checked_token", "default_token"]
