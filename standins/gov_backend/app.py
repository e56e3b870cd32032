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

Environment: BACKEND_DATABASE_URL (default SQLite var/backend.db), BACKEND_SERVICE_TOKENS,
BACKEND_SERVICE_TOKEN,
BACKEND_DELAY_MS (every API answer that much slower: for tests of a slow backend),
BACKEND_SMS_OUTBOX, BACKEND_SMS_LIMIT, BACKEND_IDENTITY_MAX_FAILURES.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from bot import settings
from standins.gov_backend import DEV_TOKEN, checked_token, default_token
from standins.gov_backend import models as m
from standins.gov_backend import sms
from standins.gov_backend.ids import (
    holder_kind,
    normalize_application_number,
    normalize_credit_code,
    normalize_id_number,
    normalize_last6,
)
from standins.gov_backend.seed import seed_if_empty
from bot.db import engine_for
from bot.privacy import (
    MaskingFilter,
    install_log_masking,
    mask_id,
    mask_name,
    mask_phone,
    mask_text,
)

logger = logging.getLogger(__name__)
logger.addFilter(MaskingFilter())

MAX_BODY = 16 * 1024
IDENTITY_WINDOW = timedelta(minutes=15)
DEFAULT_IDENTITY_MAX_FAILURES = 5


@dataclass
class BackendState:
    engine: Engine
    tokens: Tuple[str, ...]
    delay_ms: int
    sms: sms.SmsService
    identity_max_failures: int
    using_dev_token: bool = False


STATE = web.AppKey("backend_state", BackendState)


class ApiError(Exception):
    def __init__(self, status: int, code: str, zh: str, en: str,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.headers = dict(headers or {})


def _json(data: Any, status: int = 200,
          headers: Optional[Mapping[str, str]] = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def _dumps(data: Any) -> str:
    """JSON text that always encodes as UTF-8: a lone surrogate a client sent in a field
    name (echoed in an error message) becomes U+FFFD instead of a 500."""
    text_ = json.dumps(data, ensure_ascii=False)
    try:
        text_.encode("utf-8")
    except UnicodeEncodeError:
        text_ = text_.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text_


def _error(status: int, code: str, zh: str, en: str,
           headers: Optional[Mapping[str, str]] = None) -> web.Response:
    return _json(
        {"error": code, "message": f"{zh} / {en}"}, status=status, headers=headers
    )


def _bad_field(name: str, zh: str, en: str) -> ApiError:
    return ApiError(400, "invalid_field", f"字段 {name}：{zh}", f"field {name}: {en}")


_HTTP_ERRORS = {
    400: ("bad_request", "请求不正确", "bad request"),
    401: ("unauthorized", "缺少或无效的服务凭证", "missing or invalid service credential"),
    404: ("not_found", "没有这个地址", "no such resource"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    413: ("payload_too_large", f"请求体过大（最多 {MAX_BODY // 1024} KB）",
          f"request body too large (at most {MAX_BODY // 1024} KB)"),
}


# ---------------------------------------------------------------------------- middleware

@web.middleware
async def errors(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Every failure becomes a JSON answer; details go to the (masked) log only."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc.status, exc.code, exc.zh, exc.en, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, zh, en = _HTTP_ERRORS.get(exc.status, ("http_error", "请求失败", exc.reason))
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
        return _error(exc.status, code, zh, en, headers)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the client gets an answer, the log the details
        logger.exception("error serving %s %s", request.method, request.path)
        return _error(500, "internal_error", "服务内部错误，请稍后再试",
                      "internal error, please retry later")


@web.middleware
async def slow_down(request: web.Request, handler: Callable) -> web.StreamResponse:
    """BACKEND_DELAY_MS: every API answer waits that long (tests of a slow backend)."""
    delay = request.app[STATE].delay_ms
    if delay > 0 and request.path.startswith("/api/"):
        await asyncio.sleep(delay / 1000)
    return await handler(request)


@web.middleware
async def authenticate(request: web.Request, handler: Callable) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token_bytes = token.strip().encode("utf-8", "replace")
        ok = False
        for known in request.app[STATE].tokens:  # compare with all: no early exit
            ok |= hmac.compare_digest(token_bytes, known.encode("utf-8"))
        if scheme.lower() != "bearer" or not ok:
            raise ApiError(401, "unauthorized", "缺少或无效的服务凭证",
                           "missing or invalid service credential",
                           {"WWW-Authenticate": 'Bearer realm="backend"'})
    return await handler(request)


class MaskedAccessLogger(AbstractAccessLogger):
    """Access log lines with ID and mobile numbers masked (they appear in some paths)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            mask_text(request.path_qs),
            response.status,
            time * 1000,
        )


# ---------------------------------------------------------------------------- helpers

def _ts(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else value.replace(microsecond=0).isoformat() + "+08:00"


def _day(value: Optional[date]) -> Optional[str]:
    return None if value is None else value.isoformat()


async def _json_body(request: web.Request, allowed: Iterable[str]) -> Dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    try:
        raw = await request.read()  # raises 413 beyond client_max_size
    except (HttpProcessingError, web.RequestPayloadError):  # e.g. a bad Content-Encoding
        raise ApiError(400, "invalid_json", "请求体无法读取（压缩格式不正确）",
                       "request body cannot be read (bad content encoding)") from None
    if not raw.strip():
        raise ApiError(400, "invalid_json", "请求体为空，须为 JSON 对象",
                       "empty body: a JSON object is required")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "请求体不是合法的 JSON",
                       "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体须为 JSON 对象",
                       "request body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        name = str(unknown[0])[:40]
        raise _bad_field(name, "不认识的字段", "unknown field")
    return body


def _path_id_number(request: web.Request) -> str:
    value = normalize_id_number(request.match_info["id_number"])
    if value is None:
        raise _bad_field("id_number", "不是有效的18位居民身份证号码（含校验位）",
                         "not a valid 18-character ID number (check character included)")
    return value


def _application_number(value: Any, name: str = "application_number") -> str:
    number = normalize_application_number(value)
    if number is None:
        raise _bad_field(name, "办件编号格式不正确，应为 SH + 8位日期 + 6位数字，如 SH20261105000123",
                         "malformed application number: SH + 8-digit date + 6 digits, "
                         "e.g. SH20261105000123")
    return number


def _not_found(code: str, zh: str, en: str) -> ApiError:
    return ApiError(404, code, zh, en)


def _person_not_found() -> ApiError:
    return _not_found(
        "person_not_found", "人口库中没有这个身份证号码", "no such person in the population library"
    )


async def _db(request: web.Request, fn: Callable, *args: Any) -> Any:
    """Runs a blocking database function off the event loop."""
    return await asyncio.to_thread(fn, request.app[STATE].engine, *args)


# ---------------------------------------------------------------------------- queries

def _load_application(engine: Engine, number: str) -> Optional[Dict[str, Any]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(m.applications).where(m.applications.c.number == number)
        ).mappings().first()
        if row is None:
            return None
        person = conn.execute(
            select(m.people).where(m.people.c.id_number == row["applicant_id"])
        ).mappings().first()
        enterprise = None
        if row["enterprise_code"]:
            enterprise = conn.execute(
                select(m.enterprises.c.credit_code, m.enterprises.c.name)
                .where(m.enterprises.c.credit_code == row["enterprise_code"])
            ).mappings().first()
        missing = conn.execute(
            select(m.missing_materials)
            .where(m.missing_materials.c.application_number == number)
            .order_by(m.missing_materials.c.position)
        ).mappings().all()
        steps = conn.execute(
            select(m.application_steps)
            .where(m.application_steps.c.application_number == number)
            .order_by(m.application_steps.c.position)
        ).mappings().all()
    return {
        **_summary(row),
        "applicant": {
            "name_masked": mask_name(person["name"]) if person else "",
            "id_number_masked": mask_id(row["applicant_id"]),
        },
        "enterprise": dict(enterprise) if enterprise else None,
        "result_reason": row["result_reason"],
        "completed_at": _ts(row["completed_at"]),
        "missing_materials": [
            {"name": x["name"], "matter_code": x["matter_code"], "note": x["note"]}
            for x in missing
        ],
        "history": [
            {"step": s["step"], "department": s["department"], "at": _ts(s["at"]),
             "note": s["note"]}
            for s in steps
        ],
    }


def _summary(row: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "number": row["number"],
        "matter_code": row["matter_code"],
        "matter_name": row["matter_name"],
        "submitted_at": _ts(row["submitted_at"]),
        "status": row["status"],
        "status_label": m.STATUS_LABELS.get(row["status"], row["status"]),
        "department": row["department"],
        "due_date": _day(row["due_date"]),
        "result": row["result"],
        "result_label": m.RESULT_LABELS.get(row["result"]) if row["result"] else None,
    }


def _person_exists(conn: Connection, id_number: str) -> bool:
    return conn.execute(
        select(m.people.c.id_number).where(m.people.c.id_number == id_number)
    ).first() is not None


def _person_applications(engine: Engine, id_number: str) -> Optional[List[Dict[str, Any]]]:
    with engine.connect() as conn:
        if not _person_exists(conn, id_number):
            return None
        rows = conn.execute(
            select(m.applications)
            .where(m.applications.c.applicant_id == id_number)
            .order_by(m.applications.c.submitted_at.desc(), m.applications.c.number.desc())
        ).mappings().all()
    return [_summary(r) for r in rows]


def _enterprise_json(row: Mapping[str, Any], rep_name: Optional[str]) -> Dict[str, Any]:
    return {
        "credit_code": row["credit_code"],
        "name": row["name"],
        "legal_representative": {
            "name_masked": mask_name(rep_name or ""),
            "id_number_masked": mask_id(row["legal_rep_id"]),
        },
        "address": row["address"],
        "district": row["district"],
        "registered_on": _day(row["registered_on"]),
        "status": row["status"],
    }


def _enterprise_query():
    return select(m.enterprises, m.people.c.name.label("rep_name")).select_from(
        m.enterprises.outerjoin(m.people, m.people.c.id_number == m.enterprises.c.legal_rep_id)
    )


def _enterprise(engine: Engine, credit_code: str) -> Optional[Dict[str, Any]]:
    with engine.connect() as conn:
        row = conn.execute(
            _enterprise_query().where(m.enterprises.c.credit_code == credit_code)
        ).mappings().first()
    return _enterprise_json(row, row["rep_name"]) if row else None


def _person_enterprises(engine: Engine, id_number: str) -> Optional[List[Dict[str, Any]]]:
    with engine.connect() as conn:
        if not _person_exists(conn, id_number):
            return None
        rows = conn.execute(
            _enterprise_query()
            .where(m.enterprises.c.legal_rep_id == id_number)
            .order_by(m.enterprises.c.registered_on)
        ).mappings().all()
    return [_enterprise_json(r, r["rep_name"]) for r in rows]


def _licences(engine: Engine, holder: str, kind: str,
              licence_type: Optional[str]) -> Optional[List[Dict[str, Any]]]:
    today = datetime.now(m.CST).date()
    with engine.connect() as conn:
        table = m.people if kind == "person" else m.enterprises
        key = table.c.id_number if kind == "person" else table.c.credit_code
        if conn.execute(select(key).where(key == holder)).first() is None:
            return None
        query = select(m.licences).where(m.licences.c.holder == holder)
        if licence_type:
            query = query.where(m.licences.c.licence_type == licence_type)
        rows = conn.execute(
            query.order_by(m.licences.c.issued_on, m.licences.c.id)
        ).mappings().all()
    return [
        {
            "holder_type": r["holder_type"],
            "licence_type": r["licence_type"],
            "licence_number": r["licence_number"],
            "issuer": r["issuer"],
            "issued_on": _day(r["issued_on"]),
            "valid_until": _day(r["valid_until"]),
            "status": "expired" if r["valid_until"] and r["valid_until"] < today else "valid",
        }
        for r in rows
    ]


_DUMMY_ID = "000000000000000000"


def _identity_check(engine: Engine, number: str, last6: str, max_failures: int,
                    requester: Optional[str] = None
                    ) -> Tuple[str, Optional[str], Optional[str]]:
    """('match', phone_masked, person_id) | ('no_match', None, None) | ('locked', None, None).

    A wrong number and a wrong ID take the same path (same queries, one constant-time
    comparison, one failure row), so neither the answer nor its timing tells them apart.

    The lock counts per requester when the caller names one: `max_failures` failures of
    one requester on the number lock that requester alone, so strangers failing on a
    number never lock out its applicant (who has the right ID), and the applicant's
    success clears only his own failures, never the strangers'. The caller (the
    assistant) limits each of its users and, once a number is under attack, answers
    every try alike, so this gives no brute force. A caller naming nobody shares one
    budget per number, counted over every failure on it.
    """
    now = m.now_cst()
    since = now - IDENTITY_WINDOW
    failures_table = m.identity_failures
    mine = failures_table.c.application_number == number
    if requester is not None:
        mine = mine & (failures_table.c.requester == requester)
    with engine.begin() as conn:
        conn.execute(
            delete(failures_table).where(
                failures_table.c.application_number == number, failures_table.c.at < since
            )
        )
        failures = conn.execute(
            select(func.count()).select_from(failures_table).where(mine)
        ).scalar()
        row = conn.execute(
            select(m.applications.c.applicant_id, m.people.c.phone)
            .select_from(m.applications.outerjoin(
                m.people, m.people.c.id_number == m.applications.c.applicant_id))
            .where(m.applications.c.number == number)
        ).first()
        expected = (row[0] if row else _DUMMY_ID)[-6:]
        match = hmac.compare_digest(expected.encode(), last6.encode()) and row is not None
        if failures >= max_failures:
            return "locked", None, None
        if match:
            conn.execute(delete(failures_table).where(mine))
            return "match", mask_phone(row[1] or ""), _person_ref(conn, row[0])
        conn.execute(insert(failures_table),
                     [{"application_number": number, "at": now, "requester": requester}])
        return "no_match", None, None


PERSON_ID_RE = re.compile(r"P[0-9a-f]{24}")


def _person_ref(conn: Connection, id_number: str) -> str:
    """The person's opaque id, made on first use (a random value: it reveals nothing)."""
    found = conn.execute(
        select(m.person_refs.c.person_id).where(m.person_refs.c.id_number == id_number)
    ).scalar()
    if found:
        return found
    person_id = "P" + secrets.token_hex(12)
    conn.execute(insert(m.person_refs), [{"person_id": person_id, "id_number": id_number}])
    return person_id


def _id_number_of(engine: Engine, person_id: str) -> Optional[str]:
    with engine.connect() as conn:
        return conn.execute(
            select(m.person_refs.c.id_number).where(m.person_refs.c.person_id == person_id)
        ).scalar()


def _sms_target_of_person(engine: Engine, person_id: str) -> Optional[str]:
    with engine.connect() as conn:
        return conn.execute(
            select(m.people.c.phone)
            .select_from(m.person_refs.join(
                m.people, m.people.c.id_number == m.person_refs.c.id_number))
            .where(m.person_refs.c.person_id == person_id)
        ).scalar()


def _sms_target(engine: Engine, number: str) -> Optional[Dict[str, Any]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(m.applications.c.number, m.applications.c.matter_name,
                   m.applications.c.status, m.people.c.phone)
            .select_from(m.applications.join(
                m.people, m.people.c.id_number == m.applications.c.applicant_id))
            .where(m.applications.c.number == number)
        ).mappings().first()
    return dict(row) if row else None


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


# ---------------------------------------------------------------------------- handlers

async def health(request: web.Request) -> web.Response:
    try:
        await _db(request, _ping)
    except Exception:  # noqa: BLE001
        logger.exception("health check: database unavailable")
        return _json(
            {"status": "unavailable", "service": "stand-in government backend"}, status=503
        )
    return _json({"status": "ok", "service": "stand-in government backend"})


async def get_application(request: web.Request) -> web.Response:
    number = _application_number(request.match_info["number"], "number")
    found = await _db(request, _load_application, number)
    if found is None:
        raise _not_found("application_not_found", "没有这个办件编号", "no such application")
    return _json(found)


async def person_applications(request: web.Request) -> web.Response:
    id_number = _path_id_number(request)
    found = await _db(request, _person_applications, id_number)
    if found is None:
        raise _person_not_found()
    return _json({"applications": found})


REQUESTER_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")


def _requester(value: Any) -> Optional[str]:
    """The optional `requester`: the caller's opaque, stable id of who asks (the
    assistant sends a digest of the channel account, never the account itself)."""
    if value is None:
        return None
    if not isinstance(value, str) or not REQUESTER_RE.fullmatch(value):
        raise _bad_field("requester", "须为8–64位字母、数字、_ 或 -",
                         "must be 8-64 characters of letters, digits, _ and -")
    return value


async def identity_check(request: web.Request) -> web.Response:
    body = await _json_body(request, {"application_number", "id_last6", "requester"})
    number = _application_number(body.get("application_number"))
    last6 = normalize_last6(body.get("id_last6"))
    if last6 is None:
        raise _bad_field("id_last6", "须为身份证号码后6位（数字，末位可为X）",
                         "must be the last 6 characters of an ID number (digits, last may be X)")
    requester = _requester(body.get("requester"))
    state = request.app[STATE]
    outcome, phone_masked, person_id = await _db(
        request, _identity_check, number, last6, state.identity_max_failures, requester
    )
    logger.info("identity check %s: %s", number, outcome)
    if outcome == "locked":
        raise ApiError(429, "too_many_attempts", "核验失败次数过多，请15分钟后再试",
                       "too many failed attempts, retry in 15 minutes",
                       {"Retry-After": str(int(IDENTITY_WINDOW.total_seconds()))})
    return _json({"match": outcome == "match", "phone_masked": phone_masked,
                  "person_id": person_id})


def _person_id(value: Any) -> str:
    if not isinstance(value, str) or not PERSON_ID_RE.fullmatch(value.strip()):
        raise _bad_field("person_id", "须为核验身份后得到的 person_id",
                         "must be a person_id from a successful identity check")
    return value.strip()


async def list_applications(request: web.Request) -> web.Response:
    """GET /api/v1/applications?person_id=…: a verified person's applications."""
    unknown = sorted(set(request.query) - {"person_id"})
    if unknown:
        raise _bad_field(unknown[0][:40], "不认识的查询参数", "unknown query parameter")
    person_id = _person_id(request.query.get("person_id"))
    id_number = await _db(request, _id_number_of, person_id)
    found = await _db(request, _person_applications, id_number) if id_number else None
    if found is None:
        raise _person_not_found()
    return _json({"applications": found})


async def send_sms(request: web.Request) -> web.Response:
    body = await _json_body(
        request, {"phone", "application_number", "person_id", "template", "params", "requester"}
    )
    requester = _requester(body.get("requester"))
    has_phone = body.get("phone") is not None
    has_number = body.get("application_number") is not None
    has_person = body.get("person_id") is not None
    if has_phone + has_number + has_person != 1:
        raise _bad_field("phone", "须且只须提供 phone、application_number 或 person_id 之一",
                         "give exactly one of phone, application_number and person_id")
    application = None
    number = None
    if has_person:
        phone = await _db(request, _sms_target_of_person, _person_id(body["person_id"]))
        if phone is None:
            raise _person_not_found()
    elif has_number:
        number = _application_number(body["application_number"])
        application = await _db(request, _sms_target, number)
        if application is None:
            raise _not_found("application_not_found", "没有这个办件编号", "no such application")
        phone = application["phone"]
    else:
        phone = body["phone"]
        if isinstance(phone, str):
            phone = phone.replace(" ", "").replace("-", "")
        if not isinstance(phone, str) or not sms.PHONE_RE.fullmatch(phone):
            raise _bad_field("phone", "须为11位手机号码", "must be an 11-digit mobile number")
    try:
        text_, params = sms.render(body.get("template"), body.get("params"), application)
    except sms.SmsError as exc:
        raise _bad_field(exc.field, exc.zh, exc.en) from None
    service = request.app[STATE].sms
    try:
        message_id = await asyncio.to_thread(
            service.send, phone, body["template"], params, text_, number, requester
        )
    except sms.TooManyMessages:
        raise ApiError(429, "too_many_messages", "该号码短信发送过于频繁，请稍后再试",
                       "too many messages to this phone, retry later",
                       {"Retry-After": str(int(sms.WINDOW.total_seconds()))}) from None
    logger.info("sms %s (%s) sent to %s", message_id, body["template"], mask_phone(phone))
    return _json({"message_id": message_id})


async def get_enterprise(request: web.Request) -> web.Response:
    code = normalize_credit_code(request.match_info["credit_code"])
    if code is None:
        raise _bad_field("credit_code", "不是有效的18位统一社会信用代码（含校验位）",
                         "not a valid 18-character unified social credit code")
    found = await _db(request, _enterprise, code)
    if found is None:
        raise _not_found("enterprise_not_found", "法人库中没有这个统一社会信用代码",
                         "no such enterprise in the legal-entity library")
    return _json(found)


async def person_enterprises(request: web.Request) -> web.Response:
    """GET /api/v1/people/{person}/enterprises, `person` an ID number or the opaque
    person_id of a verified citizen (what the assistant holds: the intake pre-fill)."""
    raw = request.match_info["person"].strip()
    if PERSON_ID_RE.fullmatch(raw):
        id_number = await _db(request, _id_number_of, raw)
        if id_number is None:
            raise _person_not_found()
    else:
        id_number = normalize_id_number(raw)
        if id_number is None:
            raise _bad_field("person", "须为18位居民身份证号码或核验身份后得到的 person_id",
                             "must be an 18-character ID number or a person_id from a "
                             "successful identity check")
    found = await _db(request, _person_enterprises, id_number)
    if found is None:
        raise _person_not_found()
    return _json({"enterprises": found})


async def list_licences(request: web.Request) -> web.Response:
    unknown = sorted(set(request.query) - {"holder", "type"})
    if unknown:
        raise _bad_field(unknown[0][:40], "不认识的查询参数", "unknown query parameter")
    raw = request.query.get("holder", "")
    if not raw.strip():
        raise _bad_field("holder", "缺少持证主体（身份证号码或统一社会信用代码）",
                         "missing holder (ID number or unified social credit code)")
    kind = holder_kind(raw)
    if kind is None:
        raise _bad_field("holder", "须为有效的身份证号码或统一社会信用代码",
                         "must be a valid ID number or unified social credit code")
    holder = normalize_id_number(raw) or normalize_credit_code(raw)
    licence_type = request.query.get("type", "").strip() or None
    if licence_type and len(licence_type) > 100:
        raise _bad_field("type", "证照类型过长", "licence type too long")
    found = await _db(request, _licences, holder, kind, licence_type)
    if found is None:
        raise _not_found("holder_not_found", "没有这个持证主体", "no such holder")
    return _json({"licences": found})


# ---------------------------------------------------------------------------- app

def service_tokens(credentials: Optional[Iterable[str] | str] = None
                   ) -> Tuple[Tuple[str, ...], bool]:
    """(accepted tokens, whether the development token is among them).

    `credentials` (or BACKEND_SERVICE_TOKENS, comma-separated so a token can be rotated:
    old and new are accepted while the callers move) else BACKEND_SERVICE_TOKEN (one
    variable serves both sides), with `settings.secret` semantics: in production a
    missing, development or short token refuses to start; in development the
    development token is the default, on loopback only."""
    if credentials is None:
        credentials = os.environ.get("BACKEND_SERVICE_TOKENS", "")
    if isinstance(credentials, str):
        credentials = credentials.split(",")
    tokens = tuple(t.strip() for t in credentials if t and t.strip())
    if not tokens:
        tokens = (default_token(),)
    for token in tokens:
        checked_token(token, "BACKEND_SERVICE_TOKENS")
    return tokens, DEV_TOKEN in tokens


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


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
    """The backend app. Arguments left out come from the environment (module docstring)."""
    engine = engine_for(database_url or m.default_database_url())
    tokens, dev = service_tokens(credentials)
    state = BackendState(
        engine=engine,
        tokens=tokens,
        delay_ms=delay_ms if delay_ms is not None else _int_env("BACKEND_DELAY_MS", 0),
        sms=sms.SmsService(engine, sms_gateway or sms.OutboxGateway(sms_outbox), sms_limit),
        identity_max_failures=identity_max_failures
        if identity_max_failures is not None
        else _int_env("BACKEND_IDENTITY_MAX_FAILURES", DEFAULT_IDENTITY_MAX_FAILURES),
        using_dev_token=dev,
    )
    app = web.Application(middlewares=[errors, slow_down, authenticate], client_max_size=MAX_BODY)
    app[STATE] = state
    app.router.add_get("/healthz", health)
    app.router.add_get("/api/v1/applications", list_applications)
    app.router.add_get("/api/v1/applications/{number}", get_application)
    app.router.add_get("/api/v1/people/{id_number}/applications", person_applications)
    app.router.add_post("/api/v1/identity/check", identity_check)
    app.router.add_post("/api/v1/sms/send", send_sms)
    app.router.add_get("/api/v1/enterprises/{credit_code}", get_enterprise)
    app.router.add_get("/api/v1/people/{person}/enterprises", person_enterprises)
    app.router.add_get("/api/v1/licences", list_licences)
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    return app


async def _startup(app: web.Application) -> None:
    state = app[STATE]
    await asyncio.to_thread(m.create_schema, state.engine)
    await asyncio.to_thread(seed_if_empty, state.engine)
    if state.using_dev_token:
        logger.warning(
            "accepting the development service token (development, loopback only; see "
            "docs/backend.md): production refuses to start with it"
        )


async def _cleanup(app: web.Application) -> None:
    app[STATE].engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="stand-in government backend")
    parser.add_argument("--port", type=int, default=settings.load().backend_port)
    parser.add_argument("--host", default=settings.bind_host(),
                        help="address to listen on (default BIND_HOST, else 127.0.0.1)")
    parser.add_argument("--access-log", action="store_true", help="log every request (masked)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    install_log_masking(logging.getLogger("aiohttp.access"), logging.getLogger("aiohttp.server"))
    app = create_app()  # refuses to start on a missing or development token in production
    if app[STATE].using_dev_token and not settings.is_loopback(args.host):
        raise settings.InsecureConfiguration(
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
