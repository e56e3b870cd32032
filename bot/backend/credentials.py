"""The service credential between the assistant and the government backend.

`DEV_TOKEN` is the development credential: the backend accepts it and the client sends
it only in development (GOVBOT_ENV=development) on loopback, when neither
BACKEND_SERVICE_TOKENS nor BACKEND_SERVICE_TOKEN is set (`bot.settings.secret`). The
client and the stand-in backend (standins/gov_backend) apply the same rules, from here.
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
