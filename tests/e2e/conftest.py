"""Starts the whole assistant (scripts/run.sh) on test ports for end-to-end tests.

The stack is the one `make run` starts: backend, action server, web app and Rasa, with
the environment's DATABASE_URL / REDIS_URL when set (PostgreSQL tracker store and Redis
lock store in CI), else the embedded SQLite defaults.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.channels.platforms import stack_channel_env

ROOT = Path(__file__).resolve().parents[2]
# E2E_PORT_OFFSET moves the whole stack so that several checkouts can test side by side.
_OFFSET = int(os.environ.get("E2E_PORT_OFFSET", "0"))
PORTS = {
    name: port + _OFFSET
    for name, port in {
        "RASA_PORT": 15005, "ACTION_PORT": 15055, "WEB_PORT": 18800, "BACKEND_PORT": 18700,
    }.items()
}


def _get(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def _ready(ports) -> bool:
    try:
        status, body = _get(f"http://127.0.0.1:{ports['RASA_PORT']}/status")
        if status != 200 or not json.loads(body).get("model_file"):
            return False
        _get(f"http://127.0.0.1:{ports['ACTION_PORT']}/health")
        _get(f"http://127.0.0.1:{ports['WEB_PORT']}/healthz")
        _get(f"http://127.0.0.1:{ports['BACKEND_PORT']}/healthz")
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    model = ROOT / "models" / "govbot.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    var = tmp_path_factory.mktemp("var")
    # WeChat and Alipay connectors configured with test secrets and pointed at the fake
    # platform servers of tests/e2e/test_channels.py (fixed loopback ports)
    channel_env, channels = stack_channel_env(_OFFSET)
    env = {**os.environ, **{k: str(v) for k, v in PORTS.items()}, "BOT_VAR_DIR": str(var),
           **channel_env}
    # Handoff tests wait for the accept timeout (default 3 minutes in production).
    env.setdefault("HANDOFF_ACCEPT_TIMEOUT", "12")
    log = open(var / "stack.log", "w")
    process = subprocess.Popen(
        ["scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not _ready(PORTS):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGTERM)
            log.close()
            pytest.fail("the stack did not start:\n" + (var / "stack.log").read_text()[-4000:])
        time.sleep(1)
    yield {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()} | {
        "var": var, "channels": channels}
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()
