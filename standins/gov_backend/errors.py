"""The errors a request can meet, each a client answer (`middleware.errors` turns an
`ApiError` into JSON): a bad field, a missing record, too many attempts."""
from __future__ import annotations

from datetime import timedelta
from typing import Mapping, Optional


class ApiError(Exception):
    """An answer other than 200: HTTP status, error code, message in Chinese and English,
    and headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, code: str, zh: str, en: str,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.headers = dict(headers or {})


def bad_field(name: str, zh: str, en: str) -> ApiError:
    return ApiError(400, "invalid_field", f"字段 {name}：{zh}", f"field {name}: {en}")


def invalid_json(zh: str, en: str) -> ApiError:
    return ApiError(400, "invalid_json", zh, en)


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "缺少或无效的服务凭证",
                    "missing or invalid service credential",
                    {"WWW-Authenticate": 'Bearer realm="backend"'})


def application_not_found() -> ApiError:
    return ApiError(404, "application_not_found", "没有这个办件编号", "no such application")


def person_not_found() -> ApiError:
    return ApiError(404, "person_not_found", "人口库中没有这个身份证号码",
                    "no such person in the population library")


def enterprise_not_found() -> ApiError:
    return ApiError(404, "enterprise_not_found", "法人库中没有这个统一社会信用代码",
                    "no such enterprise in the legal-entity library")


def holder_not_found() -> ApiError:
    return ApiError(404, "holder_not_found", "没有这个持证主体", "no such holder")


def too_many(code: str, zh: str, en: str, retry_after: timedelta) -> ApiError:
    """429 with the seconds until the window that counted the attempts is over."""
    return ApiError(429, code, zh, en, {"Retry-After": str(int(retry_after.total_seconds()))})
