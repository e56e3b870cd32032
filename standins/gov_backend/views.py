"""The HTTP handlers of docs/backend-openapi.yaml: each reads its request (`params`), asks
one question (`queries`, run off the event loop) and answers (`responses`); anything
else is an `errors.ApiError` the middleware turns into JSON."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Optional, TypeVar

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.privacy import mask_phone
from standins.gov_backend import errors, params, queries, sms
from standins.gov_backend.responses import json_response
from standins.gov_backend.state import ENGINE, SETTINGS, SMS

logger = logging.getLogger(__name__)

T = TypeVar("T")
SERVICE = "stand-in government backend"


async def _ask(request: web.Request, question: Callable[..., T], *args: Any) -> T:
    """The answer of a (blocking) query on the app's database, run in a thread."""
    engine: Engine = request.app[ENGINE]
    return await asyncio.to_thread(question, engine, *args)


async def _find(request: web.Request, missing: Callable[[], errors.ApiError],
                question: Callable[..., Optional[T]], *args: Any) -> T:
    """The answer of a query that answers None when the record asked about does not
    exist, which is the 404 `missing`."""
    found = await _ask(request, question, *args)
    if found is None:
        raise missing()
    return found


async def health(request: web.Request) -> web.Response:
    try:
        await _ask(request, queries.ping)
    except Exception:  # noqa: BLE001
        logger.exception("health check: database unavailable")
        return json_response({"status": "unavailable", "service": SERVICE}, status=503)
    return json_response({"status": "ok", "service": SERVICE})


async def get_application(request: web.Request) -> web.Response:
    number = params.application_number(request.match_info["number"], "number")
    return json_response(
        await _find(request, errors.application_not_found, queries.application, number))


async def person_applications(request: web.Request) -> web.Response:
    id_number = params.id_number(request.match_info["id_number"])
    found = await _find(request, errors.person_not_found, queries.person_applications, id_number)
    return json_response({"applications": found})


async def list_applications(request: web.Request) -> web.Response:
    """GET /api/v1/applications?person_id=…: a verified person's applications."""
    query = params.checked_query(request, {"person_id"})
    person_id = params.person_id(query.get("person_id"))
    found = await _find(request, errors.person_not_found, queries.person_applications, person_id)
    return json_response({"applications": found})


async def identity_check(request: web.Request) -> web.Response:
    body = await params.json_body(request, {"application_number", "id_last6", "requester"})
    number = params.application_number(body.get("application_number"))
    last6 = params.last6(body.get("id_last6"))
    requester = params.requester(body.get("requester"))
    verdict = await _ask(request, queries.check_identity, number, last6,
                         request.app[SETTINGS].identity_max_failures, requester)
    logger.info("identity check %s: %s", number, verdict.outcome)
    if verdict.outcome == "locked":
        raise errors.too_many("too_many_attempts", "核验失败次数过多，请15分钟后再试",
                              "too many failed attempts, retry in 15 minutes",
                              queries.IDENTITY_WINDOW)
    return json_response({"match": verdict.outcome == "match",
                          "phone_masked": verdict.phone_masked, "person_id": verdict.person_id})


async def send_sms(request: web.Request) -> web.Response:
    body = await params.json_body(
        request, {"phone", "application_number", "person_id", "template", "params", "requester"}
    )
    requester = params.requester(body.get("requester"))
    target = params.sms_target(body)
    recipient = await _find(
        request, errors.person_not_found if target.person_id else errors.application_not_found,
        queries.sms_recipient, target)
    try:
        text, checked = sms.render(body.get("template"), body.get("params"), recipient.application)
    except sms.SmsError as exc:
        raise errors.bad_field(exc.field, exc.zh, exc.en) from None
    try:
        message_id = await asyncio.to_thread(
            request.app[SMS].send, recipient.phone, body["template"], checked, text,
            recipient.application_number, requester,
        )
    except sms.TooManyMessages:
        raise errors.too_many("too_many_messages", "该号码短信发送过于频繁，请稍后再试",
                              "too many messages to this phone, retry later", sms.WINDOW) from None
    logger.info("sms %s (%s) sent to %s", message_id, body["template"], mask_phone(recipient.phone))
    return json_response({"message_id": message_id})


async def get_enterprise(request: web.Request) -> web.Response:
    code = params.credit_code(request.match_info["credit_code"])
    return json_response(
        await _find(request, errors.enterprise_not_found, queries.enterprise, code))


async def person_enterprises(request: web.Request) -> web.Response:
    """GET /api/v1/people/{person}/enterprises, `person` an ID number or the opaque
    person_id of a verified citizen (what the assistant holds: the intake pre-fill)."""
    person = params.person(request.match_info["person"])
    found = await _find(request, errors.person_not_found, queries.person_enterprises, person)
    return json_response({"enterprises": found})


async def list_licences(request: web.Request) -> web.Response:
    query = params.checked_query(request, {"holder", "type"})
    holder, kind = params.holder(query.get("holder", ""))
    licence_type = params.licence_type(query.get("type", ""))
    found = await _find(request, errors.holder_not_found, queries.licences,
                        holder, kind, licence_type)
    return json_response({"licences": found})
