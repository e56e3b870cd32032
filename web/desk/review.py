"""The supervisors' review of what the bot failed (issue 17): its page, its API, and the
cleanup context that builds its service. Supervisors only, every change CSRF-checked
and audited (bot/review/service.py); agents get 403 like for the wallboard.

    GET  /desk/review                        the page (review.js fills it)
    GET  /desk/api/review/groups?days=14     misses waiting for review, grouped
    GET  /desk/api/review/groups/{key}       one group's messages
    POST /desk/api/review/label              {ids, action, intent | matter_code, alias}
    GET  /desk/api/review/measures?days=30   fallback, unknown-matter, handoff-after-miss
                                             rates and satisfaction per day, matter, model
                                             (counted from the event stream, bot/stats,
                                             when RABBITMQ_URL is set)
    GET  /desk/api/review/retrain            the candidate training's status and comparison
    POST /desk/api/review/retrain            start one (python -m rasa_ext.retrain)
    GET  /desk/api/review/model              the last publish or rollback
    POST /desk/api/review/model              {action: publish | rollback} (bot/review/models.py)
"""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Dict, List

from aiohttp import web

from bot import settings
from bot.audit import AuditLog
from bot.db import engine_for
from bot.handoff.auth import Session
from bot.handoff.rasa_api import RasaAPI, RasaUnavailable
from bot.review.models import configured_rasa_urls
from bot.review.service import (
    DEFAULT_DAYS, ModelShipping, ReviewError, ReviewService, domain_intents,
)
from bot.review.store import ReviewStore
from bot.stats.store import StatsStore
from web.desk.auth import desk_api
from web.desk.keys import CONFIG_KEY, REVIEW_KEY, SERVICE_KEY
from web.desk.views import read_json
from web.middlewares import json_error
from web.search import CATALOG_KEY
from web.templating import render


def _days(request: web.Request, default: int) -> int:
    try:
        return min(365, max(1, int(request.query.get("days", default))))
    except ValueError:
        return default


def _ids(body: Dict[str, Any]) -> List[int]:
    raw = body.get("ids")
    if not isinstance(raw, list):
        return []
    ids = []
    for value in raw[:1000]:  # one group at most; a page never sends more
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


def _refused(exc: ReviewError) -> web.Response:
    return json_error(exc.status, exc.message)


async def review_page(request: web.Request) -> web.Response:
    return render(request, "desk/review.html")


#: The current model is asked about this many groups' first example (the page's first
#: screens); each question takes a few milliseconds.
CURRENT_GUESSES = 30


async def _current_guesses(found: List[Dict[str, Any]], rasa: RasaAPI) -> None:
    """Adds `now`: the intent the running model gives each group's most typical example.
    Rasa down or slow: the page still shows the groups, without `now`."""

    async def guess(group: Dict[str, Any]) -> None:
        try:
            parsed = await rasa.parse(group["examples"][0])
        except RasaUnavailable:
            return
        intent = parsed.get("intent") or {}
        group["now"] = [intent.get("name"), round(float(intent.get("confidence") or 0), 3)]

    await asyncio.gather(*(guess(g) for g in found[:CURRENT_GUESSES] if g["examples"]))


@desk_api(supervisor=True)
async def groups(request: web.Request, session: Session) -> web.Response:
    service = request.app[REVIEW_KEY]
    found = await asyncio.to_thread(service.groups, _days(request, DEFAULT_DAYS))
    await _current_guesses(found, request.app[SERVICE_KEY].rasa)
    return web.json_response({"groups": found, "intents": sorted(service.intents)})


@desk_api(supervisor=True)
async def group(request: web.Request, session: Session) -> web.Response:
    service = request.app[REVIEW_KEY]
    try:
        messages = await asyncio.to_thread(service.group_messages, request.match_info["key"])
    except ReviewError as exc:
        return _refused(exc)
    return web.json_response({"messages": messages})


@desk_api(write=True, supervisor=True)
async def label(request: web.Request, session: Session) -> web.Response:
    body = await read_json(request)
    service = request.app[REVIEW_KEY]
    try:
        answer = await asyncio.to_thread(
            service.label, _ids(body), str(body.get("action", "")), session.agent,
            intent=str(body.get("intent") or ""), matter_code=str(body.get("matter_code") or ""),
            alias=str(body.get("alias") or ""))
    except ReviewError as exc:
        return _refused(exc)
    return web.json_response(answer)


#: The stream's statistics (bot/stats), set when RABBITMQ_URL is: the measures' counters
#: then come from the event stream, not from the capture's scan of the tracker.
STATS_KEY = web.AppKey("stats_store", StatsStore)


def stream_measures(service: ReviewService, stats: StatsStore, days: int) -> Dict[str, Any]:
    """The measures as ReviewService.measures gives them (same shape, each matter with
    its name), counted from the event stream."""
    data = stats.measures(service.clock() - days * 86400)
    index = service.catalog.index()
    for entry in data.get("matters", []):
        matter = index.get(entry.get("matter_code") or "")
        entry["name"] = matter.name if matter else None
    return data


@desk_api(supervisor=True)
async def measures(request: web.Request, session: Session) -> web.Response:
    service, stats = request.app[REVIEW_KEY], request.app.get(STATS_KEY)
    if stats is not None:
        data = await asyncio.to_thread(stream_measures, service, stats, _days(request, 30))
    else:
        data = await asyncio.to_thread(service.measures, _days(request, 30))
    return web.json_response(data)


@desk_api(supervisor=True)
async def retrain_status(request: web.Request, session: Session) -> web.Response:
    return web.json_response(request.app[REVIEW_KEY].retrain.status())


@desk_api(write=True, supervisor=True)
async def retrain_start(request: web.Request, session: Session) -> web.Response:
    try:
        status = request.app[REVIEW_KEY].start_retrain(session.agent)
    except ReviewError as exc:
        return _refused(exc)
    return web.json_response(status, status=202)


@desk_api(supervisor=True)
async def shipping_status(request: web.Request, session: Session) -> web.Response:
    shipping = request.app[REVIEW_KEY].shipping
    return web.json_response(shipping.status() if shipping else {"state": "off"})


@desk_api(write=True, supervisor=True)
async def shipping_start(request: web.Request, session: Session) -> web.Response:
    body = await read_json(request)
    try:
        status = request.app[REVIEW_KEY].start_shipping(str(body.get("action", "")), session.agent)
    except ReviewError as exc:
        return _refused(exc)
    return web.json_response(status, status=202)


def add_routes(desk: web.Application) -> None:
    r = desk.router
    r.add_get("/review", review_page)
    r.add_get("/api/review/groups", groups)
    r.add_get("/api/review/groups/{key}", group)
    r.add_post("/api/review/label", label)
    r.add_get("/api/review/measures", measures)
    r.add_get("/api/review/retrain", retrain_status)
    r.add_post("/api/review/retrain", retrain_start)
    r.add_get("/api/review/model", shipping_status)
    r.add_post("/api/review/model", shipping_start)


async def review_context(desk: web.Application) -> AsyncIterator[None]:
    """The review service over the desk's database and the web app's catalog (the one
    its search serves, so an alias a supervisor adds is found there at once)."""
    config = desk[CONFIG_KEY]
    paths = settings.load()
    engine = engine_for(config.database_url)
    desk[REVIEW_KEY] = ReviewService(
        store=ReviewStore.open(config.database_url), catalog=desk[CATALOG_KEY],
        audit=AuditLog(engine), intents=domain_intents(),
        reviewed_dir=paths.reviewed_data_dir, aliases_file=paths.reviewed_aliases_file,
        shipping=ModelShipping(rasa_urls=configured_rasa_urls(), token=config.rasa_token))
    if settings.rabbitmq_url():
        desk[STATS_KEY] = StatsStore.open(config.database_url)
    yield
