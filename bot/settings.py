"""Settings read from the environment, with embedded defaults for `make run`.

Everything that differs between a laptop and production is an environment variable, so
one code base serves both; nothing secret has a default that works in production.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BOT_VAR_DIR", ROOT / "var"))


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


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
