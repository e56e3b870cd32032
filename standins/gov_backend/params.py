"""What a request may carry, read and checked: every function returns the value in
canonical form or raises the `errors.ApiError` (400) the client gets."""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from standins.gov_backend import errors, ids
from standins.gov_backend.sms import PHONE_RE, SmsTarget

#: The largest request body (aiohttp's client_max_size too).
MAX_BODY = 16 * 1024
REQUESTER_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")


async def json_body(request: web.Request, allowed: Iterable[str]) -> Dict[str, Any]:
    """The body: a JSON object of at most MAX_BODY bytes naming only `allowed` fields."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    try:
        raw = await request.read()  # raises 413 beyond client_max_size
    except (HttpProcessingError, web.RequestPayloadError):  # e.g. a bad Content-Encoding
        raise errors.invalid_json("请求体无法读取（压缩格式不正确）",
                                  "request body cannot be read (bad content encoding)") from None
    if not raw.strip():
        raise errors.invalid_json("请求体为空，须为 JSON 对象",
                                  "empty body: a JSON object is required")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise errors.invalid_json("请求体不是合法的 JSON", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise errors.invalid_json("请求体须为 JSON 对象", "request body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise errors.bad_field(str(unknown[0])[:40], "不认识的字段", "unknown field")
    return body


def checked_query(request: web.Request, allowed: Iterable[str]) -> Mapping[str, str]:
    """The query parameters, when they name only `allowed` ones."""
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        raise errors.bad_field(unknown[0][:40], "不认识的查询参数", "unknown query parameter")
    return request.query


def _normalized(value: Any, normalize: Callable[[Any], Optional[str]],
                name: str, zh: str, en: str) -> str:
    """`normalize(value)`, or the bad field `name` (zh / en) when it is None."""
    found = normalize(value)
    if found is None:
        raise errors.bad_field(name, zh, en)
    return found


def id_number(value: Any) -> str:
    return _normalized(value, ids.normalize_id_number, "id_number",
                       "不是有效的18位居民身份证号码（含校验位）",
                       "not a valid 18-character ID number (check character included)")


def application_number(value: Any, name: str = "application_number") -> str:
    return _normalized(
        value, ids.normalize_application_number, name,
        "办件编号格式不正确，应为 SH + 8位日期 + 6位数字，如 SH20261105000123",
        "malformed application number: SH + 8-digit date + 6 digits, e.g. SH20261105000123")


def last6(value: Any) -> str:
    return _normalized(value, ids.normalize_last6, "id_last6",
                       "须为身份证号码后6位（数字，末位可为X）",
                       "must be the last 6 characters of an ID number (digits, last may be X)")


def requester(value: Any) -> Optional[str]:
    """The optional `requester`: the caller's opaque, stable id of who asks (the
    assistant sends a digest of the channel account, never the account itself)."""
    if value is None:
        return None
    if not isinstance(value, str) or not REQUESTER_RE.fullmatch(value):
        raise errors.bad_field("requester", "须为8–64位字母、数字、_ 或 -",
                               "must be 8-64 characters of letters, digits, _ and -")
    return value


def person_id(value: Any) -> str:
    if not ids.is_person_id(value):
        raise errors.bad_field("person_id", "须为核验身份后得到的 person_id",
                               "must be a person_id from a successful identity check")
    return value.strip()


def person(value: str) -> str:
    """An ID number or the opaque person_id of a verified citizen (`ids.is_person_id`
    tells which)."""
    value = value.strip()
    if ids.is_person_id(value):
        return value
    number = ids.normalize_id_number(value)
    if number is None:
        raise errors.bad_field("person", "须为18位居民身份证号码或核验身份后得到的 person_id",
                               "must be an 18-character ID number or a person_id from a "
                               "successful identity check")
    return number


def credit_code(value: Any) -> str:
    return _normalized(value, ids.normalize_credit_code, "credit_code",
                       "不是有效的18位统一社会信用代码（含校验位）",
                       "not a valid 18-character unified social credit code")


def holder(value: str) -> Tuple[str, str]:
    """(holder, 'person' | 'enterprise') of a licence: an ID number or a credit code."""
    if not value.strip():
        raise errors.bad_field("holder", "缺少持证主体（身份证号码或统一社会信用代码）",
                               "missing holder (ID number or unified social credit code)")
    kind = ids.holder_kind(value)
    if kind is None:
        raise errors.bad_field("holder", "须为有效的身份证号码或统一社会信用代码",
                               "must be a valid ID number or unified social credit code")
    return ids.normalize_id_number(value) or ids.normalize_credit_code(value), kind


def licence_type(value: str) -> Optional[str]:
    """The licence type asked for, None for every type."""
    value = value.strip()
    if len(value) > 100:
        raise errors.bad_field("type", "证照类型过长", "licence type too long")
    return value or None


def phone(value: Any) -> str:
    if isinstance(value, str):
        value = value.replace(" ", "").replace("-", "")
    if not isinstance(value, str) or not PHONE_RE.fullmatch(value):
        raise errors.bad_field("phone", "须为11位手机号码", "must be an 11-digit mobile number")
    return value


def sms_target(body: Mapping[str, Any]) -> SmsTarget:
    """Whom a message goes to: exactly one of `phone`, `application_number` and
    `person_id` of the body."""
    named = [key for key in ("phone", "application_number", "person_id")
             if body.get(key) is not None]
    if len(named) != 1:
        raise errors.bad_field("phone", "须且只须提供 phone、application_number 或 person_id 之一",
                               "give exactly one of phone, application_number and person_id")
    if named == ["person_id"]:
        return SmsTarget(person_id=person_id(body["person_id"]))
    if named == ["application_number"]:
        return SmsTarget(application_number=application_number(body["application_number"]))
    return SmsTarget(phone=phone(body["phone"]))
