"""A dead or hung action server is said to the citizen (rasa_ext/patches/action_failure.py):
the real model in Rasa's own agent, its action endpoint pointed at a closed port and at
a server that never answers."""
from __future__ import annotations

import asyncio
import socket
import time
import uuid
from pathlib import Path

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "govbot.tar.gz"

pytestmark = pytest.mark.model


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _hanging_server():
    async def never(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/webhook", never)
    runner = web.AppRunner(app)
    await runner.setup()
    # The handler never returns: the runner's cleanup would wait the default 60 s for it.
    site = web.TCPSite(runner, "127.0.0.1", 0, shutdown_timeout=0.5)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


async def test_dead_and_hung_action_servers_get_a_busy_answer_and_keep_the_message(monkeypatch):
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    monkeypatch.setenv("ACTION_TIMEOUT", "2")
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    from rasa_ext.server import apply_patches
    from rasa_ext.patches import action_failure

    apply_patches()
    action_failure.apply()
    dead = EndpointConfig(url=f"http://127.0.0.1:{_closed_port()}/webhook")
    agent = await load_agent(model_path=str(MODEL), endpoints=AvailableEndpoints(action=dead))
    runner, port = await _hanging_server()
    try:
        for endpoint in (dead, EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")):
            agent.processor.action_endpoint = endpoint
            sender = f"busy-{uuid.uuid4().hex[:8]}"
            started = time.monotonic()
            replies = await agent.handle_text("居住证要什么材料", sender_id=sender)
            assert time.monotonic() - started < 6
            assert [r["text"] for r in replies] == [action_failure.TEXTS["busy"]]
            tracker = await agent.tracker_store.retrieve(sender)
            assert tracker.latest_message.text == "居住证要什么材料"  # kept
            assert tracker.latest_action_name == "action_listen"
            said = [e for e in tracker.events if e.type_name == "bot"]
            assert said[-1].metadata["kind"] == "system_busy"
    finally:
        await runner.cleanup()
