"""Starts the whole assistant (scripts/run.sh) on test ports for end-to-end and attack
tests (tests/e2e, tests/security); tests/conftest.py offers the `stack` fixture, so one
stack serves both.

The stack is the one `make run` starts: backend, action server, web app and Rasa, with
the environment's DATABASE_URL / REDIS_URL when set (PostgreSQL tracker store and Redis
lock store in CI), else the embedded SQLite defaults.

The tests own what they start and nothing else:
- a port of the stack already taken (a `make run`, another checkout's tests, a stack
  left over by a killed run) stops the session before anything starts, rather than
  testing a process these tests did not start;
- with REDIS_URL, the stack gets a Redis database of its own (`e2e_redis_url`),
  emptied at start: attempt counters, agents' presence and the waiting queue of an
  earlier run (they live for minutes) cannot change what a test sees.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse, urlunparse

import pytest

from tests.connectors.platforms import stack_channel_env

ROOT = Path(__file__).resolve().parents[1]
# E2E_PORT_OFFSET moves the whole stack so that several checkouts can test side by side.
_OFFSET = int(os.environ.get("E2E_PORT_OFFSET", "0"))
PORTS = {
    name: port + _OFFSET
    for name, port in {
        "RASA_PORT": 15005, "ACTION_PORT": 15055, "WEB_PORT": 18800, "BACKEND_PORT": 18700,
    }.items()
}


#: The stack's credentials, chosen here so that tests can use them (run.sh would make
#: random ones in the test's var dir otherwise).
CREDENTIALS = {name: secrets.token_urlsafe(32) for name in (
    "RASA_API_TOKEN", "ACTION_SERVER_TOKEN", "HANDOFF_SERVICE_TOKEN", "WIDGET_SESSION_SECRET",
    "BACKEND_SERVICE_TOKEN", "METRICS_TOKEN")}


def rasa_headers() -> dict:
    return {"Authorization": f"Bearer {CREDENTIALS['RASA_API_TOKEN']}"}


def rasa_api(stack, path: str, body=None, timeout: float = 30.0):
    """Rasa's HTTP API with the stack's token: GET, or POST of `body` as JSON."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {**rasa_headers(), "Content-Type": "application/json"}
    request = urllib.request.Request(stack["RASA_PORT"] + path, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def verified_person_id(stack, application_number: str, id_last6: str) -> str:
    """The backend's opaque person id, as a successful status check leaves it in the
    slot `verified_person_id` (never an ID number)."""
    body = json.dumps({"application_number": application_number, "id_last6": id_last6})
    request = urllib.request.Request(
        stack["BACKEND_PORT"] + "/api/v1/identity/check", data=body.encode("utf-8"),
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {CREDENTIALS['BACKEND_SERVICE_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        verdict = json.loads(response.read())
    assert verdict["match"], verdict
    return verdict["person_id"]


def rest_conversation(sender: str) -> str:
    """The conversation id of a REST sender (connectors/rest.py's namespace)."""
    return f"rest:{sender}"


def nobody_online(stack) -> None:
    """Takes every desk account of the test stack (the development accounts `make run`
    creates, bot/handoff/accounts.py) out of the desk's presence, so that a handoff
    made next finds no agent online; fails if someone is still online afterwards."""
    from bot.handoff.accounts import DEV_ACCOUNTS

    online = None
    for name, _role, password in DEV_ACCOUNTS:
        login = urllib.request.Request(
            stack["WEB_PORT"] + "/desk/api/login",
            data=json.dumps({"name": name, "password": password}).encode("utf-8"),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(login, timeout=10) as response:
            csrf = json.loads(response.read())["csrf"]
            cookie = next(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie")
                          if c.startswith("desk_session="))
        offline = urllib.request.Request(
            stack["WEB_PORT"] + "/desk/api/presence",
            data=json.dumps({"online": False}).encode("utf-8"),
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf,
                     "Cookie": cookie})
        with urllib.request.urlopen(offline, timeout=10) as response:
            online = json.loads(response.read())["online"]
    assert online == [], f"still online at the desk: {online}"


def _get(url: str, timeout: float = 2.0, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def _ready(ports) -> bool:
    try:
        status, body = _get(f"http://127.0.0.1:{ports['RASA_PORT']}/status",
                            headers=rasa_headers())
        if status != 200 or not json.loads(body).get("model_file"):
            return False
        _get(f"http://127.0.0.1:{ports['ACTION_PORT']}/health")
        _get(f"http://127.0.0.1:{ports['WEB_PORT']}/healthz")
        _get(f"http://127.0.0.1:{ports['BACKEND_PORT']}/healthz")
        return True
    except OSError:
        return False


def ports_in_use(ports) -> list:
    """The ports of `ports` something already listens on (on loopback)."""
    taken = []
    for port in ports.values():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    return taken


def e2e_redis_url(redis_url: Optional[str], offset: int = _OFFSET) -> Optional[str]:
    """The Redis database the stack uses: REDIS_URL's server, database 15 (14, 13, …
    for checkouts side by side, one per thousand of E2E_PORT_OFFSET), which the
    session empties. Unit tests keep their own keys in REDIS_URL's database."""
    if not redis_url:
        return None
    url = urlparse(redis_url)
    return urlunparse(url._replace(path=f"/{15 - (offset // 1000) % 8}"))


def _empty_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def forget_keys(stack, keys) -> None:
    """Deletes keys from the stack's durable store (bot.kv's: its Redis database, else
    the `kv_entries` table of its SQL database), so a test starts from counters it knows
    whichever store the stack runs on."""
    from bot.db import engine_for
    from bot.kv import RedisStore, SQLStore

    async def delete() -> None:
        store = RedisStore(stack["redis_url"]) if stack["redis_url"] else \
            SQLStore(engine_for(stack["database_url"]))
        for key in keys:
            await store.delete(key)
        if isinstance(store, RedisStore):
            await store.close()

    asyncio.run(delete())


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    model = ROOT / "models" / "govbot.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    taken = ports_in_use(PORTS)
    if taken:
        pytest.fail(f"ports {taken} are in use by processes these tests did not start "
                    "(a `make run`, or another checkout's tests: set E2E_PORT_OFFSET)")
    var = tmp_path_factory.mktemp("var")
    # WeChat and Alipay connectors configured with test secrets and pointed at the fake
    # platform servers of tests/e2e/test_channels.py (fixed loopback ports)
    channel_env, channels = stack_channel_env(_OFFSET)
    env = {**os.environ, **{k: str(v) for k, v in PORTS.items()}, "BOT_VAR_DIR": str(var),
           **channel_env, **CREDENTIALS, "GOVBOT_ENV": "development"}
    redis_url = e2e_redis_url(os.environ.get("REDIS_URL", "").strip())
    if redis_url:
        _empty_redis(redis_url)
        env["REDIS_URL"] = redis_url
    # Handoff tests wait for the accept timeout (default 3 minutes in production).
    env.setdefault("HANDOFF_ACCEPT_TIMEOUT", "12")
    # Supervisors' labels made in tests stay in the test's var dir: written into data/,
    # they would change the repository's training data.
    env["REVIEWED_DATA_DIR"] = str(var / "reviewed")
    env["REVIEWED_ALIASES_FILE"] = str(var / "reviewed_aliases.yml")
    process = start_assistant(var, env, lambda: _ready(PORTS))
    yield {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()} | {
        "var": var, "channels": channels, "redis_url": redis_url,
        "database_url": (env.get("BOT_DATABASE_URL", "").strip() or env.get("DATABASE_URL", "").strip()
                         or f"sqlite:///{var / 'bot.db'}")}
    stop_assistant(process)


def start_assistant(var: Path, env: dict, ready: Callable[[], bool],
                    script: str = "scripts/run.sh", timeout: float = 300) -> subprocess.Popen:
    """Starts `script` (its log in var/stack.log) in a process group of its own and waits
    until `ready()`; fails the session with the log's end if it exits or takes too long."""
    log = open(var / "stack.log", "w")
    process = subprocess.Popen([script], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    log.close()  # the child has its own copy
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:  # it exited, and so did its group: the log says why
                pass
            pytest.fail(f"{script} did not start:\n" + (var / "stack.log").read_text()[-4000:])
        time.sleep(1)
    return process


def stop_assistant(process: subprocess.Popen) -> None:
    """Ctrl-C to the whole group, as a terminal would; then SIGKILL to what is left of it
    (at once when the run ended, after 30 s when it did not)."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    # Whatever of the group outlived the run: a Rasa that the cluster's supervisor had
    # started again was once left running (background jobs ignore SIGINT) and held its
    # port into the next CI run, whose cluster then could not start that instance.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
