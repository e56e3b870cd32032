"""Settings read from the environment, with embedded defaults for `make run`.

Everything that differs between a laptop and production is an environment variable, so
one code base serves both; nothing secret has a default that works in production.

Production is the default: a process is in development only when `GOVBOT_ENV=development`
says so (`make run` and the tests set it). A deployment that forgets the variable
therefore gets the strict behaviour: every credential must be set, none may be a
development value, and development accounts are never created.
"""
from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BOT_VAR_DIR", ROOT / "var"))

logger = logging.getLogger(__name__)

#: Where internal services listen unless BIND_HOST opens them on a private network.
LOOPBACK = "127.0.0.1"
#: Shorter credentials are refused in production (a token is at least 128 random bits).
MIN_SECRET_CHARS = 24


class InsecureConfiguration(SystemExit):
    """A process refuses to start: a credential is missing or a development value."""


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def environment() -> str:
    """'development' only when GOVBOT_ENV says so; anything else is production."""
    return "development" if os.environ.get("GOVBOT_ENV", "").strip() == "development" \
        else "production"


def is_development() -> bool:
    return environment() == "development"


def bind_host() -> str:
    """The address internal services (Rasa, actions, web app, backend) listen on:
    loopback unless BIND_HOST names a private-network address (or 0.0.0.0 in a
    container whose network is private)."""
    return os.environ.get("BIND_HOST", "").strip() or LOOPBACK


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cors_origins() -> list[str]:
    """The portal origins whose pages may talk to Rasa and the web app from a browser
    (CORS_ORIGINS, separated by spaces or commas; "*" is refused in production). In
    development the web app's own origin (the demo portal page) is the default."""
    raw = os.environ.get("CORS_ORIGINS", "").replace(",", " ").split()
    if not is_development() and "*" in raw:
        raise InsecureConfiguration("CORS_ORIGINS must name the portal origins, not '*'")
    if raw:
        return raw
    if is_development():
        port = _port("WEB_PORT", 8800)
        return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    return []


_warned: set = set()


def secret(name: str, dev_value: str) -> str:
    """The credential in environment variable `name`.

    Production: it must be set, at least MIN_SECRET_CHARS long and not the development
    value, or the process refuses to start. Development: unset means `dev_value`, but
    only while the services listen on loopback (a development secret is never served
    on a network), with a warning once per process."""
    value = os.environ.get(name, "").strip()
    if not is_development():
        if not value:
            raise InsecureConfiguration(f"{name} must be set in production (GOVBOT_ENV is "
                                        f"not 'development')")
        if value == dev_value or len(value) < MIN_SECRET_CHARS:
            raise InsecureConfiguration(f"{name} is a development value or shorter than "
                                        f"{MIN_SECRET_CHARS} characters: refused in production")
        return value
    if value:
        return value
    if not is_loopback(bind_host()):
        raise InsecureConfiguration(f"{name} is unset and BIND_HOST={bind_host()} is not "
                                    f"loopback: development secrets stay on this machine")
    if name not in _warned:
        _warned.add(name)
        logger.warning("%s is unset: using the development value (loopback only)", name)
    return dev_value


#: Credentials between our own processes, with the values `make run` may use on loopback.
DEV_RASA_API_TOKEN = "dev-rasa-api-token-loopback-only"
DEV_ACTION_SERVER_TOKEN = "dev-action-server-token-loopback-only"


def rasa_api_token() -> str:
    """What the desk and tools send to Rasa's HTTP API (rasa_ext/api_guard.py)."""
    return secret("RASA_API_TOKEN", DEV_RASA_API_TOKEN)


def action_server_token() -> str:
    """What Rasa sends to the action server (actions/server.py)."""
    return secret("ACTION_SERVER_TOKEN", DEV_ACTION_SERVER_TOKEN)


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration (read once per process)."""

    database_url: str
    redis_url: str | None
    rasa_port: int
    action_port: int
    web_port: int
    backend_port: int
    catalog_dir: Path
    reference_dir: Path


def default_database_url() -> str:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'bot.db'}"


def load() -> Settings:
    return Settings(
        database_url=os.environ.get("BOT_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or default_database_url(),
        redis_url=os.environ.get("REDIS_URL") or None,
        rasa_port=_port("RASA_PORT", 5005),
        action_port=_port("ACTION_PORT", 5055),
        web_port=_port("WEB_PORT", 8800),
        backend_port=_port("BACKEND_PORT", 8700),
        catalog_dir=Path(os.environ.get("CATALOG_DIR", ROOT / "data" / "catalog")),
        reference_dir=ROOT / "data" / "reference",
    )


@dataclass(frozen=True)
class WebSettings:
    """What the web app (web/) takes from the environment, read once when it starts, so
    a handler never reads os.environ and a wrong value stops the start, not a request."""

    host: str  # BIND_HOST: loopback unless set
    port: int  # WEB_PORT
    development: bool  # GOVBOT_ENV=development
    rasa_port: int  # RASA_PORT: where browsers find Rasa on this host without RASA_PUBLIC_URL
    rasa_public_url: str  # RASA_PUBLIC_URL as set, '' when unset (checked by web/widget.py)
    public_base_url: str  # PUBLIC_BASE_URL: an https address makes the desk's cookie Secure
    trusted_proxies: str  # TRUSTED_PROXIES as set (parsed, or refused, by web/desk/auth.py)


def load_web() -> WebSettings:
    return WebSettings(
        host=bind_host(),
        port=_port("WEB_PORT", 8800),
        development=is_development(),
        rasa_port=_port("RASA_PORT", 5005),
        rasa_public_url=os.environ.get("RASA_PUBLIC_URL", "").strip(),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "").strip(),
        trusted_proxies=os.environ.get("TRUSTED_PROXIES", ""),
    )
