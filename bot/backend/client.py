"""The action server's client of the government backend (docs/backend-openapi.yaml).

    client = BackendClient.from_env()          # BACKEND_URL, BACKEND_SERVICE_TOKEN
    try:
        application = await client.get_application("SH20261105000123")
    except NotFound:
        ...                                    # no such application: tell the citizen
    except BackendUnavailable:
        ...                                    # down, slow or failing: apologise, offer a person

Guarantees, so a conversation never waits on a sick backend:

- every call finishes within `timeout` seconds (default 2.0) — the whole call, a retry
  included — plus a few milliseconds;
- GET calls are retried once after a connection error (refused, reset) if time remains;
  POST calls (identity check, SMS) never are, and timeouts are not retried;
- a circuit breaker opens after `failure_threshold` (3) consecutive failures (connection
  errors, timeouts, 5xx, unreadable answers) and then rejects calls at once with
  `CircuitOpen` (a `BackendUnavailable`) for `cooldown` seconds (30); after that one trial
  call goes through (half-open): success closes the breaker, failure opens it again.
  4xx answers mean the backend is working and never count as failures.

Errors: `NotFound` (404), `BadRequest` (400), `Unauthorized` (401: our credential is
wrong — a configuration error), `RateLimited` (429), `BackendUnavailable` (down, slow,
5xx, breaker open), all subclasses of `BackendError`.

The breaker state lives in this process (`InMemoryCircuitBreaker`). `CircuitBreaker` is
the small async interface a shared implementation (e.g. Redis: a failure counter with
INCR/EXPIRE, the open-until time as a key with a TTL, the half-open trial as SET NX PX)
would implement, so several action-server processes could share one breaker.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.privacy import mask_text

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


# ---------------------------------------------------------------------------- errors

class BackendError(Exception):
    """Any answer other than success. `status` is the HTTP status (None without one)."""

    def __init__(self, message: str, *, status: Optional[int] = None,
                 code: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class BackendUnavailable(BackendError):
    """Down, too slow, failing (5xx) or breaker open; `reason` says which."""

    def __init__(self, message: str, *, reason: str, status: Optional[int] = None) -> None:
        super().__init__(message, status=status, code=reason)
        self.reason = reason


class CircuitOpen(BackendUnavailable):
    def __init__(self) -> None:
        super().__init__("backend circuit breaker is open", reason="circuit_open")


class NotFound(BackendError):
    pass


class BadRequest(BackendError):
    pass


class Unauthorized(BackendError):
    pass


class RateLimited(BackendError):
    def __init__(self, message: str, *, status: int, code: Optional[str],
                 retry_after: Optional[int]) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


# ---------------------------------------------------------------------------- breaker

class CircuitBreaker(ABC):
    """Where the breaker's state lives. Methods are async so it may live in Redis."""

    @abstractmethod
    async def acquire(self) -> None:
        """Before a call: returns if the call may go, raises `CircuitOpen` if not."""

    @abstractmethod
    async def record_success(self) -> None:
        """The backend answered (any status below 500)."""

    @abstractmethod
    async def record_failure(self) -> None:
        """Connection error, timeout, 5xx or an unreadable answer."""

    @abstractmethod
    async def release(self) -> None:
        """The call ended without a verdict (cancelled): free a half-open trial slot."""

    @abstractmethod
    async def state(self) -> str:
        """'closed', 'open' or 'half_open' (for logs, health pages and tests)."""


class InMemoryCircuitBreaker(CircuitBreaker):
    """Breaker state in this process's memory (one event loop; no awaits inside)."""

    def __init__(self, failure_threshold: int = 3, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._failures = 0
        self._opened_at: Optional[float] = None  # None: closed
        self._trial_since: Optional[float] = None  # a half-open trial call in flight

    def _current(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at < self.cooldown:
            return "open"
        return "half_open"

    async def acquire(self) -> None:
        current = self._current()
        if current == "closed":
            return
        if current == "open":
            raise CircuitOpen()
        now = self.clock()
        # Half-open: one trial at a time; a trial that never reported (lost) expires.
        if self._trial_since is not None and now - self._trial_since < max(self.cooldown, 1.0):
            raise CircuitOpen()
        self._trial_since = now

    async def record_success(self) -> None:
        if self._opened_at is not None:
            logger.info("backend circuit breaker closed: the backend answers again")
        self._failures = 0
        self._opened_at = None
        self._trial_since = None

    async def record_failure(self) -> None:
        if self._trial_since is not None or self._current() == "half_open":
            self._opened_at = self.clock()  # the trial failed: open for another cool-down
            self._trial_since = None
            logger.warning("backend circuit breaker re-opened: the trial call failed")
            return
        self._failures += 1
        if self._failures >= self.failure_threshold and self._opened_at is None:
            self._opened_at = self.clock()
            logger.warning(
                "backend circuit breaker opened after %d consecutive failures; "
                "calls fail fast for %.0f s", self._failures, self.cooldown,
            )

    async def release(self) -> None:
        self._trial_since = None

    async def state(self) -> str:
        return self._current()


# ---------------------------------------------------------------------------- client

class BackendClient:
    """One aiohttp session, per-call deadline, one retry for GETs, a circuit breaker."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 2.0,
        *,
        breaker: Optional[CircuitBreaker] = None,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        retry_delay: float = 0.1,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = float(timeout)
        self.retry_delay = retry_delay
        self.breaker = breaker or InMemoryCircuitBreaker(failure_threshold, cooldown)
        self.stats: Dict[str, int] = {
            "calls": 0, "retries": 0, "failures": 0, "rejected": 0,
        }
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> "BackendClient":
        """From the process's settings: BACKEND_URL (default http://127.0.0.1:$BACKEND_PORT),
        BACKEND_SERVICE_TOKEN (else the first of BACKEND_SERVICE_TOKENS) and BACKEND_TIMEOUT
        (seconds, default 2). The token has `bot.settings.secret` semantics: in production a
        missing or development token raises `InsecureConfiguration` (the process must not
        start); in development it defaults to the development token, on loopback only."""
        from bot import settings
        from bot.backend.credentials import checked_token, default_token

        cfg = settings.load()
        listed = next((t.get_secret_value() for t in cfg.backend_service_tokens), "")
        if cfg.backend_service_token.get_secret_value() or not listed:
            token = default_token()
        else:
            token = checked_token(listed, "BACKEND_SERVICE_TOKENS")
        kwargs.setdefault("timeout", cfg.backend_timeout)
        return cls(cfg.backend_url, token, **kwargs)

    # -- session ------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=15),
                raise_for_status=False,
            )
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> "BackendClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -- endpoints ------------------------------------------------------------------------

    async def health(self) -> Dict[str, Any]:
        return await self._request("GET", ("healthz",), prefix="")

    async def get_application(self, number: str) -> Dict[str, Any]:
        """The application with its step, department, due date, result, missing materials
        and history. NotFound when there is no such number."""
        return await self._request("GET", ("applications", number))

    async def person_applications(self, id_number: str) -> List[Dict[str, Any]]:
        body = await self._request("GET", ("people", id_number, "applications"))
        return body["applications"]

    async def verified_applications(self, person_id: str) -> List[Dict[str, Any]]:
        """The applications of a person verified earlier (`person_id` from check_identity).
        NotFound when the backend does not know the id."""
        body = await self._request("GET", ("applications",), params={"person_id": person_id})
        return body["applications"]

    async def check_identity(self, application_number: str, id_last6: str, *,
                             requester: Optional[str] = None) -> Dict[str, Any]:
        """{'match': bool, 'phone_masked': str | None, 'person_id': str | None}.
        RateLimited after repeated failures for one application number — of this
        `requester` (an opaque id of who asks) when one is named. Never retried."""
        body: Dict[str, Any] = {"application_number": application_number, "id_last6": id_last6}
        if requester is not None:
            body["requester"] = requester
        return await self._request("POST", ("identity", "check"), json_body=body)

    async def send_sms(self, template: str, params: Optional[Mapping[str, Any]] = None, *,
                       phone: Optional[str] = None,
                       application_number: Optional[str] = None,
                       person_id: Optional[str] = None,
                       requester: Optional[str] = None) -> str:
        """Sends a template message to a phone, or to the phone on file of an
        application's applicant or of a verified person; returns the message id. The
        per-phone limit counts per `requester` when one is named. Never retried (no
        duplicate messages)."""
        body: Dict[str, Any] = {"template": template, "params": dict(params or {})}
        if requester is not None:
            body["requester"] = requester
        if phone is not None:
            body["phone"] = phone
        if application_number is not None:
            body["application_number"] = application_number
        if person_id is not None:
            body["person_id"] = person_id
        answer = await self._request("POST", ("sms", "send"), json_body=body)
        return answer["message_id"]

    async def get_enterprise(self, credit_code: str) -> Dict[str, Any]:
        return await self._request("GET", ("enterprises", credit_code))

    async def person_enterprises(self, id_number: str) -> List[Dict[str, Any]]:
        body = await self._request("GET", ("people", id_number, "enterprises"))
        return body["enterprises"]

    async def verified_enterprises(self, person_id: str) -> List[Dict[str, Any]]:
        """The enterprises a person verified earlier (`person_id` from check_identity)
        represents. NotFound when the backend does not know the id."""
        body = await self._request("GET", ("people", person_id, "enterprises"))
        return body["enterprises"]

    async def licences(self, holder: str, licence_type: Optional[str] = None
                       ) -> List[Dict[str, Any]]:
        """Electronic licences of a person (ID number) or enterprise (credit code)."""
        params = {"holder": holder}
        if licence_type:
            params["type"] = licence_type
        body = await self._request("GET", ("licences",), params=params)
        return body["licences"]

    # -- machinery ------------------------------------------------------------------------

    def _url(self, segments: Sequence[str], prefix: str) -> URL:
        path = "/".join(quote(str(s), safe="") for s in segments)
        return URL(f"{self.base_url}{prefix}/{path}", encoded=True)

    async def _request(self, method: str, segments: Sequence[str], *, prefix: str = API_PREFIX,
                       params: Optional[Mapping[str, str]] = None,
                       json_body: Optional[Mapping[str, Any]] = None) -> Any:
        self.stats["calls"] += 1
        try:
            await self.breaker.acquire()
        except CircuitOpen:
            self.stats["rejected"] += 1
            raise
        url = self._url(segments, prefix)
        where = f"{method} {mask_text(url.path)}"
        try:
            # Safety net only: the attempts below already respect the deadline.
            status, body, retry_after = await asyncio.wait_for(
                self._attempts(method, url, params, json_body), self.timeout + 0.5
            )
        except asyncio.CancelledError:
            await self.breaker.release()
            raise
        except asyncio.TimeoutError:
            await self._failed(where, "timeout")
            raise BackendUnavailable(f"{where}: no answer within {self.timeout:.1f}s",
                                     reason="timeout") from None
        except aiohttp.ClientConnectionError as exc:
            await self._failed(where, f"connection error ({type(exc).__name__})")
            raise BackendUnavailable(f"{where}: cannot connect", reason="connection") from None
        except aiohttp.ClientError as exc:
            await self._failed(where, f"client error ({type(exc).__name__})")
            raise BackendUnavailable(f"{where}: {type(exc).__name__}",
                                     reason="connection") from None
        except BaseException:
            await self.breaker.release()
            raise
        if status >= 500:
            await self._failed(where, f"HTTP {status}")
            raise BackendUnavailable(f"{where}: HTTP {status}", reason="server_error",
                                     status=status)
        if body is _UNREADABLE:
            await self._failed(where, f"unreadable answer (HTTP {status})")
            raise BackendUnavailable(f"{where}: unreadable answer", reason="bad_response",
                                     status=status)
        await self.breaker.record_success()
        if status < 300:
            return body
        code = body.get("error") if isinstance(body, dict) else None
        message = (body.get("message") if isinstance(body, dict) else None) or f"HTTP {status}"
        if status == 404:
            raise NotFound(message, status=status, code=code)
        if status == 400:
            raise BadRequest(message, status=status, code=code)
        if status in (401, 403):
            logger.error("backend refused our service credential (%s): check "
                         "BACKEND_SERVICE_TOKEN", status)
            raise Unauthorized(message, status=status, code=code)
        if status == 429:
            seconds = int(retry_after) if retry_after and retry_after.isdigit() else None
            raise RateLimited(message, status=status, code=code, retry_after=seconds)
        raise BackendError(message, status=status, code=code)

    async def _failed(self, where: str, what: str) -> None:
        self.stats["failures"] += 1
        logger.warning("backend call %s failed: %s", where, what)
        await self.breaker.record_failure()

    async def _attempts(self, method: str, url: URL, params: Optional[Mapping[str, str]],
                        json_body: Optional[Mapping[str, Any]]) -> tuple:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        retries_left = 1 if method == "GET" else 0
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError()
            try:
                return await self._once(method, url, params, json_body, remaining)
            except (aiohttp.ServerTimeoutError, asyncio.TimeoutError):
                raise asyncio.TimeoutError() from None
            except aiohttp.ClientConnectionError:
                if retries_left <= 0 or deadline - loop.time() <= self.retry_delay + 0.05:
                    raise
                retries_left -= 1
                self.stats["retries"] += 1
                logger.info("backend %s %s: connection error, retrying once",
                            method, mask_text(url.path))
                await asyncio.sleep(self.retry_delay)

    async def _once(self, method: str, url: URL, params: Optional[Mapping[str, str]],
                    json_body: Optional[Mapping[str, Any]], budget: float) -> tuple:
        session = self._get_session()
        async with session.request(
            method, url, params=params, json=json_body,
            timeout=aiohttp.ClientTimeout(total=budget),
        ) as response:
            raw = await response.read()
            try:
                body = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, ValueError):
                body = None
            if response.status < 300 and not isinstance(body, dict):
                body = _UNREADABLE  # success must carry a JSON object
            return response.status, body, response.headers.get("Retry-After")


_UNREADABLE = object()
