"""Fixtures for the stand-in backend and its client: a real server on a free loopback
port (aiohttp AppRunner/TCPSite), on SQLite and, with DATABASE_URL, on PostgreSQL."""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import aiohttp
import pytest
import yaml
from aiohttp import web
from jsonschema import Draft202012Validator, RefResolver

from standins.gov_backend.app import create_app
from standins.gov_backend.middleware import MaskedAccessLogger
from standins.gov_backend.state import ENGINE

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "docs" / "backend-openapi.yaml"
TOKEN = "test-token-0123456789"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_server(app: web.Application, port: int = 0) -> Tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log_class=MaskedAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, runner.addresses[0][1]


@dataclass
class Backend:
    app: web.Application
    url: str
    outbox: Path

    @property
    def engine(self):
        return self.app[ENGINE]


async def _backend(database_url: str, tmp_path: Path, **options: Any):
    outbox = tmp_path / "sms-outbox.jsonl"
    options.setdefault("delay_ms", 0)
    options.setdefault("identity_max_failures", 5)
    options.setdefault("sms_limit", 10)
    app = create_app(database_url, [TOKEN, "second-token-abcdef"], sms_outbox=outbox, **options)
    runner, port = await start_server(app)
    return runner, Backend(app, f"http://127.0.0.1:{port}", outbox)


@pytest.fixture
async def backend(database_url, tmp_path):
    """The backend on SQLite, and on PostgreSQL when DATABASE_URL is set."""
    runner, info = await _backend(database_url, tmp_path)
    yield info
    await runner.cleanup()


@pytest.fixture
async def sqlite_backend(tmp_path):
    """The backend on SQLite only (client tests: the database is not their subject)."""
    runner, info = await _backend(f"sqlite:///{tmp_path / 'backend.db'}", tmp_path)
    yield info
    await runner.cleanup()


@pytest.fixture
async def make_backend(tmp_path):
    """Starts extra backends with options; all stopped at the end of the test."""
    runners = []

    async def make(database_url: Optional[str] = None, **options: Any) -> Backend:
        url = database_url or f"sqlite:///{tmp_path / f'extra{len(runners)}.db'}"
        runner, info = await _backend(url, tmp_path, **options)
        runners.append(runner)
        return info

    yield make
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        yield session


# ------------------------------------------------------------------------ OpenAPI checks

_openapi: Dict[str, Any] = {}


def openapi() -> Dict[str, Any]:
    if not _openapi:
        _openapi.update(yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8")))
    return _openapi


def _template_for(path: str) -> Optional[str]:
    for template in openapi()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def _deref(doc: Dict[str, Any], node: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_documented(method: str, path: str, status: int, body: Any) -> None:
    """Asserts that the answer's status is documented for the route and that the body
    validates against the documented schema."""
    doc = openapi()
    template = _template_for(path)
    assert template, f"{path} is not in the OpenAPI file"
    operation = doc["paths"][template].get(method.lower())
    assert operation, f"{method} {template} is not in the OpenAPI file"
    response = operation["responses"].get(str(status))
    assert response, f"{method} {template} answered {status}, which is not documented"
    schema = _deref(doc, response)["content"]["application/json"]["schema"]
    Draft202012Validator(schema, resolver=RefResolver.from_schema(doc)).validate(body)


async def call(session: aiohttp.ClientSession, base: str, method: str, path: str,
               **kwargs: Any) -> Tuple[int, Any, Any]:
    """One request; checks it against the OpenAPI file; returns (status, json, headers)."""
    async with session.request(method, base + path, **kwargs) as response:
        assert response.content_type == "application/json", await response.text()
        body = await response.json()
        check_documented(method, path.split("?")[0], response.status, body)
        return response.status, body, response.headers
