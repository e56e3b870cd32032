"""The stand-in government backend process (aiohttp, its own database).

A real city replaces this with its own systems: the population library (人口库), the
legal-entity library (法人库), the electronic licence library (电子证照库), the
application (办件) system and an SMS gateway. The JSON API under /api/v1 is documented
in docs/backend-openapi.yaml; the demo data in docs/backend.md.

Every /api/ call needs `Authorization: Bearer <token>` with a token of
BACKEND_SERVICE_TOKENS (comma-separated, for rotation) or else BACKEND_SERVICE_TOKEN.
Production (the default, `bot.settings`) refuses to start without one or with the
development token; development defaults to `DEV_TOKEN`, on loopback only. The process
listens on `settings.bind_host()` (127.0.0.1 unless BIND_HOST). Errors are
JSON `{"error": code, "message": "中文 / English"}`; no traceback ever reaches a client.
ID and mobile numbers are masked in every log line (`bot.privacy`).

The parts: `settings` (the environment, read here once), `routes` → `views` (handlers)
→ `queries` (SQL) → `shapes` (JSON); `params` and `errors` for what a request carries and
what it meets; `middleware`; `models`, `seed`, `sms`, `ids`.

    .venv/bin/python -m standins.gov_backend.app [--port 8700] [--host HOST] [--access-log]
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
from functools import partial
from typing import AsyncIterator, Iterable, Optional

from aiohttp import web

from bot import settings as bot_settings
from bot.db import engine_for
from bot.logs import configure_logging
from standins.gov_backend import models as m
from standins.gov_backend import settings, sms
from standins.gov_backend.middleware import MIDDLEWARES, MaskedAccessLogger
from standins.gov_backend.params import MAX_BODY
from standins.gov_backend.routes import setup_routes
from standins.gov_backend.seed import seed_if_empty
from standins.gov_backend.state import DELAY, ENGINE, SETTINGS, SMS, Delay

logger = logging.getLogger(__name__)


def create_app(
    database_url: Optional[str] = None,
    credentials: Optional[Iterable[str] | str] = None,
    *,
    delay_ms: Optional[int] = None,
    sms_outbox: Optional[str | os.PathLike] = None,
    sms_gateway: Optional[sms.SmsGateway] = None,
    sms_limit: Optional[int] = None,
    identity_max_failures: Optional[int] = None,
) -> web.Application:
    """The backend app. Arguments left out come from the environment (`settings`);
    a credential production refuses raises here, before anything starts."""
    config = settings.load(database_url, credentials, delay_ms=delay_ms, sms_outbox=sms_outbox,
                           sms_limit=sms_limit, identity_max_failures=identity_max_failures)
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=MAX_BODY)
    app[SETTINGS] = config
    app[DELAY] = Delay(config.delay_ms)
    app.cleanup_ctx.append(
        partial(_database, gateway=sms_gateway or sms.OutboxGateway(config.sms_outbox))
    )
    app.on_startup.append(_warn_of_the_development_token)
    setup_routes(app)
    return app


async def _database(app: web.Application, gateway: sms.SmsGateway) -> AsyncIterator[None]:
    """The database for the app's life: tables made (or upgraded), the demo data on an
    empty one, the SMS service on it; the engine disposed at the end."""
    config = app[SETTINGS]
    engine = engine_for(config.database_url)
    try:
        await asyncio.to_thread(m.create_schema, engine)
        await asyncio.to_thread(seed_if_empty, engine)
        app[ENGINE] = engine
        app[SMS] = sms.SmsService(engine, gateway, config.sms_limit)
        yield
    finally:
        engine.dispose()


async def _warn_of_the_development_token(app: web.Application) -> None:
    if app[SETTINGS].using_dev_token:
        logger.warning(
            "accepting the development service token (development, loopback only; see "
            "docs/backend.md): production refuses to start with it"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="stand-in government backend")
    parser.add_argument("--port", type=int, default=bot_settings.load().backend_port)
    parser.add_argument("--host", default=bot_settings.bind_host(),
                        help="address to listen on (default BIND_HOST, else 127.0.0.1)")
    parser.add_argument("--access-log", action="store_true", help="log every request (masked)")
    args = parser.parse_args()
    configure_logging("backend")
    app = create_app()  # refuses to start on a missing or development token in production
    if app[SETTINGS].using_dev_token and not bot_settings.is_loopback(args.host):
        raise bot_settings.InsecureConfiguration(
            f"the development service token is never served on {args.host}: set "
            f"BACKEND_SERVICE_TOKENS")
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=logging.getLogger("standins.gov_backend.access") if args.access_log else None,
        access_log_class=MaskedAccessLogger,
    )


if __name__ == "__main__":
    main()
