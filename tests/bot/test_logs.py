"""Attack: citizens' numbers must not reach a log line, whichever logger writes it
(bot/logs.py). Each scenario runs in a process of its own, started as the real entry
starts, because logging is per process and the libraries configure it as they start."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER, PHONE = "31011519900101123X", "13812345678"
MASKED_ID, MASKED_PHONE = "310115********123X", "138****5678"

#: Lines every library writes its own way, each carrying both numbers.
LOG_LINES = f"""
import logging

ID, PHONE = "{ID_NUMBER}", "{PHONE}"
logging.getLogger("rasa.core.processor").info("Received user message '%s %s'", ID, PHONE)
logging.getLogger("sanic.access").info("", extra={{
    "status": 200, "byte": 12, "host": "10.0.0.8:40000",
    "request": f"GET /conversations/{{PHONE}}/tracker?id={{ID}}"}})
logging.getLogger("sanic.error").error("Exception occurred while handling uri: %s", ID)
logging.getLogger("sanic.root").warning("slow request from %s", PHONE)
logging.getLogger("aiohttp.access").info('10.0.0.8 "GET /documents?phone=%s" 200', PHONE)
logging.getLogger("actions.handoff").warning("desk unreachable for %s", PHONE)
try:
    raise ValueError(f"no application for {{ID}}")
except ValueError:
    logging.getLogger("rasa.core.actions.action").exception("custom action failed")
print("LOGGED", flush=True)
"""

#: `rasa_ext.server.main` up to Rasa's CLI, then what `rasa run` does to logging before
#: it serves (rasa/__main__.py, rasa/core/run.py: coloredlogs, structlog, Sanic's app).
RASA_START = """
import logging
from rasa_ext.server import prepare_process

prepare_process()
import rasa.core.run
import rasa.utils.common
import rasa.utils.io
from rasa.utils.log_utils import configure_structlog

rasa.utils.common.configure_logging_and_warnings(logging.INFO, None, True, True)
rasa.utils.io.configure_colored_logging(logging.INFO)
configure_structlog(logging.INFO)
rasa.core.run.configure_app(None, None, enable_api=True)
rasa.utils.common.update_sanic_log_level()

import structlog  # Rasa's own lines go through structlog, configured onto logging

structlog.get_logger().info("processor.parse", text="31011519900101123X 13812345678")
"""

#: actions/server.py's main up to `app.run`.
ACTION_SERVER_START = """
from bot.logs import configure_logging
from rasa_sdk import utils

configure_logging("actions")
utils.update_sanic_log_level()
"""

#: The web app's and the stand-in backend's `main`, with aiohttp's run_app stopped before
#: it serves (their logging is set up by then).
WEB_START = """
import sys
import aiohttp.web

aiohttp.web.run_app = lambda *args, **kwargs: None
sys.argv = ["web"]
from web.app import main

main()
"""
BACKEND_START = WEB_START.replace("web.app", "standins.gov_backend.app")


def _run(script: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVBOT_ENV": "development",
           "LOG_LEVEL_LIBRARIES": "INFO", "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script) + LOG_LINES],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "LOGGED" in output, output
    return output


def _assert_masked(output: str) -> None:
    assert ID_NUMBER not in output and PHONE not in output, output
    # the lines were written, masked: Rasa's, Sanic's, aiohttp's, ours, the traceback
    for line in (f"Received user message '{MASKED_ID} {MASKED_PHONE}'",
                 f"Exception occurred while handling uri: {MASKED_ID}",
                 f"slow request from {MASKED_PHONE}", f"phone={MASKED_PHONE}",
                 f"desk unreachable for {MASKED_PHONE}", f"no application for {MASKED_ID}"):
        assert line in output, (line, output)


def test_rasa_and_sanic_lines_are_masked_after_rasa_configured_its_logging():
    output = _run(RASA_START)
    _assert_masked(output)
    # Sanic's access line carries the URL in an `extra` field; structlog's event
    assert f"GET /conversations/{MASKED_PHONE}/tracker?id={MASKED_ID}" in output, output
    assert f'"text": "{MASKED_ID} {MASKED_PHONE}", "event": "processor.parse"' in output, output


def test_the_action_servers_lines_are_masked():
    _assert_masked(_run(ACTION_SERVER_START))


@pytest.mark.parametrize("start", [WEB_START, BACKEND_START], ids=["web", "backend"])
def test_the_web_apps_and_the_backends_lines_are_masked(start):
    """Both once set up only plain logging and masked a few loggers of their own."""
    _assert_masked(_run(start))


def test_configuring_twice_adds_no_second_handler_or_filter():
    output = _run("""
        import logging
        from bot.logs import configure_logging
        from bot.privacy import MaskingFilter

        configure_logging("catalog")
        configure_logging("catalog")
        root = logging.getLogger()
        assert len(root.handlers) == 1, root.handlers
        assert [type(f) for f in root.handlers[0].filters] == [MaskingFilter]
        import structlog
    """)
    assert output.count("Received user message") == 1
