"""The desk as a sub-application: made with its configuration checked (create_app),
mounted under /desk (mount), and its resources held for the app's life by cleanup
contexts: the records, sessions and handoff service with its HTTP client to Rasa, and
the sweeper that hands unaccepted citizens back to the bot, and the capture of failed
turns for supervisors' review (bot/review/capture.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import AsyncIterator, Callable, Dict, List, Optional

import aiohttp
import jinja2
import yaml
from aiohttp import web

from bot.catalog import Catalog, default_catalog
from bot.db import engine_for
from bot.handoff import config as handoff_config
from bot.handoff.accounts import (
    DEV_ACCOUNTS, DEV_DEPARTMENT_ACCOUNTS, development_accounts_wanted, seed_development_accounts,
)
from bot.handoff.auth import LoginGuard, Sessions
from bot.handoff.config import HandoffConfig
from bot.handoff.queue import HandoffQueue, queue_from_env
from bot.handoff.rasa_api import RasaAPI
from bot.handoff.records import Records
from bot.handoff.service import HandoffService
from bot.kv import KeyValueStore, store_from_env
from bot.privacy import sealer
from bot.review.capture import capture_new
from bot.review.store import ReviewStore
from bot.settings import ROOT, WebSettings
from web.compat import fix_request_url
from web.desk.auth import PREFIX, parse_trusted_proxies
from web.desk.keys import (
    CANNED_KEY, CONFIG_KEY, GUARD_KEY, PROXIES_KEY, RECORDS_KEY, SERVICE_KEY, SESSIONS_KEY,
)
from web.desk.review import review_context
from web.desk.routes import setup_routes
from web.keys import SETTINGS_KEY, TEMPLATES_KEY
from web.search import CATALOG_KEY

logger = logging.getLogger(__name__)

CANNED_FILE = ROOT / "data" / "reference" / "canned_answers.yml"
Context = Callable[[web.Application], AsyncIterator[None]]


def load_canned(path: Path = CANNED_FILE) -> List[Dict[str, str]]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [{"title": str(a["title"]), "text": str(a["text"])} for a in data.get("answers", [])]


def _seed(records: Records, wanted: bool) -> None:
    """The development accounts, loudly: nobody should miss that they exist."""
    if wanted and seed_development_accounts(records):
        names = ", ".join([name for name, _, _ in DEV_ACCOUNTS]
                          + [name for name, _, _ in DEV_DEPARTMENT_ACCOUNTS])
        logger.warning(
            "\n%s\nDESK: DEVELOPMENT ACCOUNTS CREATED (%s) with the passwords published in "
            "README.md, because DESK_DEV_ACCOUNTS=1. Never on a server: create real accounts "
            "with `python -m bot.handoff.accounts add NAME --role agent`.\n%s",
            "!" * 78, names, "!" * 78,
        )
    elif not records.agent_count():
        logger.warning("desk: no account exists; create one with "
                       "`python -m bot.handoff.accounts add NAME --role agent`")


def _handoff(seed: bool, kv: Optional[KeyValueStore], queue: Optional[HandoffQueue]) -> Context:
    """The cleanup context of the desk's state: records, sessions, the login guard and
    the handoff service (citizens waiting before a restart back in the queue); its HTTP
    client to Rasa is closed when the app stops."""

    async def handoff(desk: web.Application) -> AsyncIterator[None]:
        config = desk[CONFIG_KEY]
        store = kv or store_from_env()
        records = Records.open(config.database_url)
        _seed(records, seed)
        async with aiohttp.ClientSession() as http:
            service = HandoffService(
                cfg=config,
                records=records,
                queue=queue or queue_from_env(config.database_url, config.presence_ttl),
                rasa=RasaAPI(config.rasa_url, http, config.rasa_token),
                tracker_engine=engine_for(config.tracker_database_url),
                kv=store,
            )
            restored = await service.restore()
            if restored:
                logger.info("desk: %d waiting citizens back in the queue", restored)
            desk[RECORDS_KEY] = records
            desk[SESSIONS_KEY] = Sessions(store)
            desk[GUARD_KEY] = LoginGuard(store)
            desk[CANNED_KEY] = load_canned()
            desk[SERVICE_KEY] = service
            yield

    return handoff


async def _stopped(task: "asyncio.Task[None]", stop: asyncio.Event) -> None:
    """Stops a background loop: its flag first, then the cancel. The flag is what makes it
    certain: a cancel can be lost (Python 3.10's asyncio.wait_for, used by the clients
    below, drops one that arrives as its call completes), and a lost cancel left the loop
    running and the app's cleanup waiting for it forever."""
    stop.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _sweep_forever(service: HandoffService, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await service.sweep()
        except Exception:  # noqa: BLE001 - keep sweeping; the log has the details
            logger.exception("handoff timeout sweep failed")
        await asyncio.sleep(interval)


async def _sweeper(desk: web.Application) -> AsyncIterator[None]:
    """Watches the waiting line about once a second (new messages of waiting citizens,
    timeouts); stopped before the service's HTTP client closes."""
    interval = max(0.2, min(1.0, desk[CONFIG_KEY].accept_timeout / 4))
    stop = asyncio.Event()
    task = asyncio.create_task(_sweep_forever(desk[SERVICE_KEY], interval, stop))
    yield
    await _stopped(task, stop)


async def _capture_forever(config: HandoffConfig, interval: float, stop: asyncio.Event) -> None:
    """Captures failed turns every `interval` seconds, in a thread (the SQL blocks).

    A database that is down, or Rasa's events table that does not exist yet, never
    stops the web app: the failure is logged once per streak and the next round tries
    again. Several web app instances may run this together (ReviewStore.advance)."""
    store: Optional[ReviewStore] = None
    failing = False
    while not stop.is_set():
        try:
            if store is None:
                store = await asyncio.to_thread(ReviewStore.open, config.database_url)
            added = await asyncio.to_thread(
                capture_new, engine_for(config.tracker_database_url), store)
            if added:
                logger.info("review: %d failed turns captured", added)
            failing = False
        except Exception:  # noqa: BLE001 - keep capturing; the log has the details
            if not failing:
                logger.exception("review: capturing failed turns failed (retrying quietly)")
            failing = True
        await asyncio.sleep(interval)


async def _capture(desk: web.Application) -> AsyncIterator[None]:
    """The capture of failed turns for review, every REVIEW_CAPTURE_SECONDS (0: off)."""
    config = desk[CONFIG_KEY]
    interval = config.review_capture_seconds
    stop = asyncio.Event()
    task = (asyncio.create_task(_capture_forever(config, interval, stop)) if interval > 0
            else None)
    yield
    if task is not None:
        await _stopped(task, stop)


def create_app(
    settings: WebSettings,
    templates: jinja2.Environment,
    cfg: Optional[HandoffConfig] = None,
    kv: Optional[KeyValueStore] = None,
    queue: Optional[HandoffQueue] = None,
    catalog: Optional[Catalog] = None,
) -> web.Application:
    """The desk's sub-application; `cfg`, `kv` and `queue` replace what the environment
    would give (tests); `catalog` is the one the web app's search serves (the review's
    aliases must reach it at once), by default the process's.

    Configuration is read here, not at start-up, so a production web app with a
    development flag or credential refuses to start before it listens."""
    desk = web.Application()
    desk[SETTINGS_KEY] = settings
    desk[TEMPLATES_KEY] = templates
    desk[PROXIES_KEY] = parse_trusted_proxies(settings.trusted_proxies)
    seed = development_accounts_wanted()
    desk[CONFIG_KEY] = cfg or handoff_config.load()
    sealer()  # SEAL_KEY: the reveal and the work orders' sealed texts need it
    desk.cleanup_ctx.append(_handoff(seed, kv, queue))
    desk.cleanup_ctx.append(_sweeper)
    desk.cleanup_ctx.append(_capture)
    desk[CATALOG_KEY] = catalog or default_catalog()
    desk.cleanup_ctx.append(review_context)
    setup_routes(desk)
    return desk


def mount(app: web.Application, desk: web.Application) -> None:
    """Adds the desk under /desk (its routes and start-up/shutdown with the app's)."""
    fix_request_url()  # sub-applications resolve through request.url (web/compat.py)
    app.add_subapp(PREFIX, desk)
