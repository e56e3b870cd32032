"""Rasa endpoint configuration from the environment (bot/settings.py).

endpoints.yml in the repository is the embedded default (SQLite tracker store, in-process
lock store). With DATABASE_URL (PostgreSQL) and REDIS_URL set, several Rasa processes share
conversations through the SQL tracker store and lock them through Redis; Rasa's YAML cannot
switch store types on an environment variable, so `make run` writes the file it uses.
"""
from __future__ import annotations

import sys
from typing import Any, Dict
from urllib.parse import unquote, urlparse

import yaml

from bot import settings
from bot.settings import VAR_DIR, load


TRACKER_STORE = "rasa_ext.tracker_store.WindowedSQLTrackerStore"


def tracker_store(database_url: str | None) -> Dict[str, Any]:
    if database_url and database_url.startswith(("postgres://", "postgresql")):
        url = urlparse(database_url)
        config: Dict[str, Any] = {
            "type": TRACKER_STORE,
            "dialect": "postgresql",
            "url": url.hostname or "127.0.0.1",
            "port": url.port or 5432,
            "db": (url.path or "/postgres").lstrip("/"),
        }
        if url.username:
            config["username"] = unquote(url.username)
        if url.password:
            config["password"] = unquote(url.password)
        return config
    return {"type": TRACKER_STORE, "dialect": "sqlite", "db": str(VAR_DIR / "tracker.db")}


def lock_store(redis_url: str | None) -> Dict[str, Any] | None:
    if not redis_url:
        return None
    url = urlparse(redis_url)
    config: Dict[str, Any] = {
        "type": "redis",
        "url": url.hostname or "127.0.0.1",
        "port": url.port or 6379,
        "db": int((url.path or "/0").lstrip("/") or 0),
        "key_prefix": "govbot",
    }
    if url.password:
        config["password"] = unquote(url.password)
    return config


EVENT_BROKER = "rasa_ext.event_broker.MaskedPikaEventBroker"


def event_broker(rabbitmq_url: str | None) -> Dict[str, Any] | None:
    """Rasa's event stream to RabbitMQ (docs/events.md), None without RABBITMQ_URL. The
    file names no address or password: the broker reads RABBITMQ_URL from Rasa's
    environment (a credential is never written to disk)."""
    if not rabbitmq_url:
        return None
    from bot.stats import stream_names

    exchange, queue = stream_names(load().event_stream)
    return {"type": EVENT_BROKER, "queues": [queue], "exchange_name": exchange,
            "durable": True}


def _action_token_reference() -> str:
    token = settings.action_server_token()  # refuses a development value in production
    configured = load().credential("ACTION_SERVER_TOKEN")
    return "${ACTION_SERVER_TOKEN}" if configured else token


def endpoints() -> Dict[str, Any]:
    cfg = load()
    out: Dict[str, Any] = {
        "action_endpoint": {
            "url": cfg.action_endpoint_url,
            # Rasa sends the whole domain (every response text) with each action call
            # unless told otherwise; only actions marked `send_domain: true` in
            # domain.yml (form validation) need it.
            "enable_selective_domain": True,
            # The action server answers only Rasa (actions/server.py). Rasa expands
            # ${…} from its environment when it reads the file, so a real token is
            # never written to disk; the development value (loopback only) may be.
            "headers": {"Authorization": "Bearer " + _action_token_reference()},
        },
        "tracker_store": tracker_store(cfg.tracker_database_url),
    }
    locks = lock_store(cfg.redis_url)
    if locks:
        out["lock_store"] = locks
    broker = event_broker(settings.rabbitmq_url())
    if broker:
        out["event_broker"] = broker
    return out


def main() -> None:
    """python -m rasa_ext.endpoints OUT: writes the endpoints file for this environment."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    target = sys.argv[1]
    with open(target, "w", encoding="utf-8") as handle:
        yaml.safe_dump(endpoints(), handle, allow_unicode=True, sort_keys=False)


if __name__ == "__main__":
    main()
