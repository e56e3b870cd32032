"""Health and metrics of Rasa's server: the routes on the app `rasa run` serves (made
through the guarded configure_app, over real HTTP), and the turn metrics of
rasa_ext/patches/turn_metrics.py with a stand-in processor (no model)."""
from __future__ import annotations

import aiohttp
import pytest
import rasa.core.run
from prometheus_client import REGISTRY
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from rasa_ext import api_guard
from rasa_ext.api_guard import is_public
from rasa_ext.patches import action_failure, turn_metrics
from tests.fixtures.platforms import free_port

API_TOKEN = "a" * 40
METRICS_TOKEN = "s" * 40


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_health_is_public_and_metrics_is_not_the_api_tokens():
    for path in ("/health/live", "/health/ready"):
        assert is_public("GET", path, development=False)
    assert not is_public("GET", "/metrics", development=False)
    assert not is_public("GET", "/metrics", development=True)
    assert not is_public("GET", "/health/other", development=False)


@pytest.fixture
async def rasa_server(monkeypatch):
    """Rasa's server with its API, as `rasa run --enable-api` makes it (no model yet)."""
    monkeypatch.setattr(Sanic, "test_mode", True)  # one app name per process otherwise
    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)
    monkeypatch.setenv("RASA_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("METRICS_TOKEN", METRICS_TOKEN)
    api_guard.install()
    app = rasa.core.run.configure_app(None, None, enable_api=True)
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    async with aiohttp.ClientSession() as session:
        yield app, session, f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def get(session, url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.get(url, headers=headers) as response:
        return response.status, await response.text()


class ReadyAgent:
    @staticmethod
    def is_ready() -> bool:
        return True


async def test_health_without_a_credential_ready_only_with_a_model(rasa_server):
    app, session, base = rasa_server
    assert await get(session, base + "/health/live") == (200, '{"status":"ok"}')
    status, body = await get(session, base + "/health/ready")
    assert status == 503 and "no model loaded" in body
    app.ctx.agent = ReadyAgent()
    assert await get(session, base + "/health/ready") == (200, '{"status":"ok"}')


async def test_metrics_want_the_metrics_token_and_only_it(rasa_server):
    app, session, base = rasa_server
    assert (await get(session, base + "/metrics"))[0] == 401
    assert (await get(session, base + "/metrics", "wrong"))[0] == 403
    assert (await get(session, base + "/metrics", API_TOKEN))[0] == 403
    status, body = await get(session, base + "/metrics", METRICS_TOKEN)
    assert status == 200 and "govbot_model_loaded 0.0" in body
    app.ctx.agent = ReadyAgent()
    assert "govbot_model_loaded 1.0" in (await get(session, base + "/metrics", METRICS_TOKEN))[1]
    # the metrics token opens nothing else; the API keeps its own
    assert (await get(session, base + "/status", METRICS_TOKEN))[0] == 401
    assert (await get(session, base + "/status"))[0] == 401


# -- the turn metrics -----------------------------------------------------------------

class Tracker:
    def __init__(self, intent: str) -> None:
        self.events = [ActionExecuted("action_listen"), UserUttered("问题", {"name": intent})]


class StandInProcessor:
    """Runs the (patched) prediction loop on a tracker as MessageProcessor does."""

    def __init__(self, intent: str) -> None:
        self.intent = intent

    async def handle_message(self, message):
        tracker = Tracker(self.intent)
        await MessageProcessor._run_prediction_loop(self, message.output_channel, tracker)
        await message.output_channel.send_text_message(message.sender_id, "好")
        return message.output_channel.messages


@pytest.fixture
def patched(monkeypatch):
    """turn_metrics applied on a prediction loop that runs the action named by the intent
    (`fallback:<action>`) and listens; everything restored afterwards."""

    async def prediction_loop(self, output_channel, tracker):
        intent = tracker.events[-1].intent_name
        if intent.startswith("fallback:"):
            tracker.events.append(ActionExecuted(intent.split(":", 1)[1]))
        tracker.events.append(ActionExecuted("action_listen"))

    monkeypatch.setattr(Agent, "handle_message", Agent.handle_message)
    monkeypatch.setattr(MessageProcessor, "_run_prediction_loop", prediction_loop)
    monkeypatch.setattr(RemoteAction, "run", RemoteAction.run)
    turn_metrics.apply()
    turn_metrics.apply()  # twice is once


async def turn(intent: str, channel: str = "rest"):
    agent = Agent(lock_store=InMemoryLockStore())
    agent.processor = StandInProcessor(intent)
    message = UserMessage("问题", CollectingOutputChannel(), "s1", input_channel=channel)
    return await agent.handle_message(message)


async def test_a_turn_is_counted_by_channel_and_timed(patched):
    turns, timed = sample("govbot_turns_total", channel="rest"), sample("govbot_turn_seconds_count")
    fallbacks = sample("govbot_fallbacks_total")
    replies = await turn("ask_materials")
    assert [r["text"] for r in replies] == ["好"]
    assert sample("govbot_turns_total", channel="rest") == turns + 1
    assert sample("govbot_turn_seconds_count") == timed + 1
    assert sample("govbot_fallbacks_total") == fallbacks
    widget = sample("govbot_turns_total", channel="widget_test")
    await turn("greet", channel="widget_test")
    assert sample("govbot_turns_total", channel="widget_test") == widget + 1


@pytest.mark.parametrize("intent", ["nlu_fallback", "fallback:action_fallback",
                                    "fallback:action_default_fallback"])
async def test_fallbacks_are_counted_once_per_turn(patched, intent):
    fallbacks = sample("govbot_fallbacks_total")
    await turn(intent)
    assert sample("govbot_fallbacks_total") == fallbacks + 1


def test_fell_back_reads_only_the_latest_turn():
    earlier = [UserUttered("x", {"name": "nlu_fallback"}), ActionExecuted("action_fallback"),
               ActionExecuted("action_listen")]
    assert turn_metrics.fell_back(earlier)
    assert not turn_metrics.fell_back(earlier + [UserUttered("居住证", {"name": "inform"}),
                                                 ActionExecuted("action_answer_matter")])
    assert not turn_metrics.fell_back([])


async def test_a_message_without_a_model_is_no_turn(patched):
    turns = sample("govbot_turns_total", channel="rest")
    agent = Agent(lock_store=InMemoryLockStore())
    assert await agent.handle_message(UserMessage("x", CollectingOutputChannel(), "s2",
                                                  input_channel="rest")) is None
    assert sample("govbot_turns_total", channel="rest") == turns


@pytest.mark.parametrize("order", ["metrics_first", "failure_first"])
async def test_a_failed_action_call_is_counted_whichever_patch_came_first(monkeypatch, order):
    calls = {"n": 0}

    async def failing(self, output_channel, nlg, tracker, domain):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ActionExecutionRejection(self.name())
        raise RasaException("connection refused")

    monkeypatch.setattr(RemoteAction, "run", failing)
    first, second = ((turn_metrics, action_failure) if order == "metrics_first"
                     else (action_failure, turn_metrics))
    first.apply()
    second.apply()
    turn_metrics.apply()
    action_failure.apply()  # again: each still wraps once
    action = RemoteAction("action_test_metrics", None)
    errors = sample("govbot_action_errors_total", action="action_test_metrics")
    events = await action.run(None, None, None, None)
    assert events[0].metadata["kind"] == action_failure.BUSY
    assert sample("govbot_action_errors_total", action="action_test_metrics") == errors + 1
    with pytest.raises(ActionExecutionRejection):  # a form's rejection: no error
        await action.run(None, None, None, None)
    assert sample("govbot_action_errors_total", action="action_test_metrics") == errors + 1


async def test_an_instance_whose_tracker_store_fell_back_to_memory_is_not_ready():
    """Rasa swaps a SQL tracker store that fails to start for one in memory, saying only
    "not found" in its log; such an instance must not take traffic."""
    from types import SimpleNamespace

    from rasa.core.tracker_store import InMemoryTrackerStore

    from rasa_ext.health import MEMORY_TRACKER_STORE, rasa_ready

    class ReadyAgent:
        def __init__(self, store):
            self.tracker_store = store

        def is_ready(self):
            return True

    fallen = SimpleNamespace(ctx=SimpleNamespace(agent=ReadyAgent(InMemoryTrackerStore(None))))
    assert await rasa_ready(fallen) == MEMORY_TRACKER_STORE
    sql_like = SimpleNamespace(ctx=SimpleNamespace(agent=ReadyAgent(object())))
    assert await rasa_ready(sql_like) is None
