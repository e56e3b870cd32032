"""The stand-in government backend (applications, people, licences, SMS) on :8700.

`DEV_TOKEN` is the development service credential: the backend accepts it and the
client sends it only in development (GOVBOT_ENV=development) on loopback, when neither
BACKEND_SERVICE_TOKENS nor BACKEND_SERVICE_TOKEN is set (`bot.settings.secret`). It and
the production check live here so the client can use them without importing the server.
"""
from __future__ import annotations

from bot import settings

DEV_TOKEN = "dev-backend-token-not-for-production"


def checked_token(value: str, name: str) -> str:
    """A configured service token, refused in production when it is the development
    token or shorter than `settings.MIN_SECRET_CHARS` (the rule of `settings.secret`,
    applied to each token of a list); in development a configured development token
    is refused off loopback."""
    if not settings.is_development():
        if value == DEV_TOKEN or len(value) < settings.MIN_SECRET_CHARS:
            raise settings.InsecureConfiguration(
                f"{name}: a development token or shorter than {settings.MIN_SECRET_CHARS} "
                f"characters: refused in production")
    elif value == DEV_TOKEN and not settings.is_loopback(settings.bind_host()):
        raise settings.InsecureConfiguration(
            f"{name} is the development token and BIND_HOST={settings.bind_host()} is not "
            f"loopback: development secrets stay on this machine")
    return value


def default_token() -> str:
    """BACKEND_SERVICE_TOKEN with `settings.secret` semantics: required and real in
    production, the development token in development on loopback."""
    return settings.secret("BACKEND_SERVICE_TOKEN", DEV_TOKEN)
