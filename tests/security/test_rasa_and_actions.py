"""Attacks on the started stack: Rasa's HTTP API, the action server, sender ids, the
widget's sessions, oversize bodies, a dead action server. Each of these worked before
the lockdown (issue 11); each must fail now."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from connectors.widget.session import session_of
from tests.e2e.test_conversations import Citizen
from tests.e2e.test_status_conversations import joined, last_code
from tests.e2e.test_widget_socket import Tab
from tests.stack import CREDENTIALS, rasa_api, rasa_headers, rest_conversation

pytestmark = pytest.mark.slow


def request(url: str, method: str = "GET", body: bytes | None = None, headers=None,
            timeout: float = 30.0):
    """(status, text) of a request, also for error answers."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


RASA_API_ROUTES = [
    ("GET", "/status"), ("GET", "/version"), ("GET", "/domain"),
    ("GET", "/conversations/{cid}/tracker"), ("POST", "/conversations/{cid}/tracker/events"),
    ("PUT", "/conversations/{cid}/tracker/events"), ("GET", "/conversations/{cid}/story"),
    ("POST", "/conversations/{cid}/execute"), ("POST", "/conversations/{cid}/trigger_intent"),
    ("POST", "/conversations/{cid}/predict"), ("POST", "/conversations/{cid}/messages"),
    ("PUT", "/model"), ("DELETE", "/model"), ("POST", "/model/train"),
    ("POST", "/model/test/stories"), ("POST", "/model/test/intents"), ("POST", "/model/predict"),
]


@pytest.mark.parametrize("method, path", RASA_API_ROUTES)
@pytest.mark.parametrize("credential", [None, "Bearer wrong-token", "Bearer "])
def test_every_rasa_api_route_refuses_without_the_token(stack, method, path, credential):
    victim = rest_conversation(f"victim-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": credential} if credential else {}
    body = b'[{"event": "slot", "name": "verified_person_id", "value": "P1"}]' \
        if method in ("POST", "PUT") else None
    status, text = request(stack["RASA_PORT"] + path.format(cid=victim), method, body, headers)
    assert status == 401, (status, text[:200])


def test_a_stranger_cannot_take_a_verified_identity_into_a_conversation(stack):
    """The reproduction of issue 11: read A's verified_person_id, write it into a new
    conversation, ask for the applications. Every step is refused without the token."""
    victim = Citizen(stack)
    victim.text("查一下我的办件SH20261105000123")
    victim.text("140515")
    assert "当前环节" in victim.text(last_code(stack, "138****0004"))
    status, _ = request(stack["RASA_PORT"] + f"/conversations/{rest_conversation(victim.sender)}/tracker")
    assert status == 401
    stranger = Citizen(stack)
    status, _ = request(
        stack["RASA_PORT"] + f"/conversations/{rest_conversation(stranger.sender)}/tracker/events",
        "POST", json.dumps([{"event": "slot", "name": "verified_person_id",
                             "value": "anything"}]).encode())
    assert status == 401
    answer = stranger.text("我的申请到哪一步了")
    assert "当前环节" not in answer and "共有" not in answer and "办件编号" in answer


def test_the_token_opens_the_api(stack):
    assert rasa_api(stack, "/status")["model_file"]


@pytest.mark.parametrize("port", ["RASA_PORT", "ACTION_PORT", "WEB_PORT"])
def test_health_is_open_and_metrics_want_the_metrics_token_only(stack, port):
    """/health/live and /health/ready answer anyone and say only ok (or why not ready);
    /metrics wants METRICS_TOKEN: no other part's credential opens it (bot/metrics.py)."""
    from bot.settings import DEV_METRICS_TOKEN

    base = stack[port]
    for path in ("/health/live", "/health/ready"):
        status, text = request(base + path)
        assert status == 200 and json.loads(text) == {"status": "ok"}, (path, status, text)
    for credential, expected in ((None, 401), ("Bearer wrong-token", 403), ("Bearer ", 401),
                                 (f"Bearer {CREDENTIALS['RASA_API_TOKEN']}", 403),
                                 (f"Bearer {CREDENTIALS['ACTION_SERVER_TOKEN']}", 403)):
        headers = {"Authorization": credential} if credential else {}
        assert request(base + "/metrics", headers=headers)[0] == expected, credential
    token = CREDENTIALS.get("METRICS_TOKEN", DEV_METRICS_TOKEN)
    status, text = request(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and "govbot_" in text


def test_the_action_server_runs_nothing_for_a_forged_tracker(stack):
    forged = {"next_action": "action_status", "sender_id": "wechat_oa:victim", "version": "3.6.21",
              "tracker": {"sender_id": "wechat_oa:victim", "slots": {"verified_person_id": "P1"},
                          "latest_message": {"text": "我的申请到哪一步了", "intent": {
                              "name": "check_application_status"}, "entities": []},
                          "events": [], "latest_input_channel": "wechat_oa"},
              "domain": {}}
    body = json.dumps(forged).encode()
    for headers in ({}, {"Authorization": "Bearer forged"},
                    {"Authorization": f"Bearer {CREDENTIALS['RASA_API_TOKEN']}"}):
        status, text = request(stack["ACTION_PORT"] + "/webhook", "POST", body, headers)
        assert status == 401, (headers, status, text[:200])
    assert request(stack["ACTION_PORT"] + "/actions")[0] == 401
    assert request(stack["ACTION_PORT"] + "/health")[0] == 200  # liveness says only "ok"


def test_a_rest_client_cannot_speak_in_another_channels_conversation(stack):
    openid = f"o6_{uuid.uuid4().hex[:20]}"
    wechat = f"wechat_oa:{openid}"
    rasa_api(stack, f"/conversations/{wechat}/tracker/events",  # as a verified check leaves it
             [{"event": "slot", "name": "verified_person_id", "value": "P-liu-yang"}])
    status, text = request(stack["RASA_PORT"] + "/webhooks/rest/webhook", "POST", json.dumps(
        {"sender": wechat, "message": "我的申请到哪一步了", "input_channel": "wechat_oa"}).encode())
    assert status == 200
    text = joined(json.loads(text))
    assert "当前环节" not in text and "共有" not in text and "办件编号" in text
    events = rasa_api(stack, f"/conversations/{wechat}/tracker")["events"]
    assert not [e for e in events if e["event"] == "user"], "the REST message went elsewhere"
    spoofed = rasa_api(stack, f"/conversations/rest:{wechat}/tracker")
    assert spoofed["latest_input_channel"] == "rest"


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"message": "hi"}',
                                  b'{"sender": "", "message": "hi"}',
                                  b'{"sender": "a", "message": 7}'])
def test_bad_rest_requests_get_a_clear_400(stack, body):
    status, text = request(stack["RASA_PORT"] + "/webhooks/rest/webhook", "POST", body)
    assert status == 400, (status, text[:200])


async def test_a_widget_session_id_alone_claims_nothing(stack):
    """Agents, logs and databases see the bare session id: naming it must not join the
    citizen's room or speak in the conversation."""
    victim, attacker = Tab(), Tab()
    try:
        token = await victim.connect(stack)
        session_id = session_of(token)
        granted = await attacker.connect(stack, session_id)
        assert session_of(granted) != session_id
        refused = await attacker.say(session_id, "你好")
        assert refused == {"status": "ignored", "reason": "no_session"}
        assert await victim.say(token, "居住证要什么材料") == {"status": "ok"}
        assert "居民身份证" in await victim.reply_texts()
        await asyncio.sleep(0.5)
        assert attacker.replies.empty()
    finally:
        await victim.close()
        await attacker.close()


async def test_an_identity_check_voids_tokens_copied_before_it(stack):
    citizen, copier, later = Tab(), Tab(), Tab()
    try:
        token = await citizen.connect(stack)
        session_id = session_of(token)
        copied = token  # e.g. read from a shared computer's storage before the check
        await citizen.say(token, "查一下我的办件SH20261112004321")
        await citizen.reply_texts()
        await citizen.say(token, "231281")
        await citizen.reply_texts()
        await citizen.say(token, last_code(stack, "138****0003"))
        assert "当前环节" in await citizen.reply_texts()
        rotated = await asyncio.wait_for(citizen.confirmed.get(), 30)
        assert session_of(rotated) == session_id and rotated != token
        assert session_of(await copier.connect(stack, copied)) != session_id
        assert session_of(await later.connect(stack, rotated)) == session_id
    finally:
        for tab in (citizen, copier, later):
            await tab.close()


async def test_browsers_of_other_origins_cannot_open_a_widget_socket(stack):
    tab = Tab()
    try:
        with pytest.raises(Exception):
            await tab.connect(stack, headers={"Origin": "https://evil.example"})
    finally:
        await tab.close()


@pytest.mark.parametrize("port, path", [
    ("RASA_PORT", "/webhooks/rest/webhook"), ("RASA_PORT", "/webhooks/wechat_oa/webhook"),
    ("RASA_PORT", "/model/parse"), ("ACTION_PORT", "/webhook"),
    ("WEB_PORT", "/desk/api/login"), ("BACKEND_PORT", "/api/v1/identity/check"),
])
def test_a_10_mb_body_is_refused_before_it_is_sent(stack, port, path):
    """Refused for its size from the request's headers: the answer comes before a byte
    of the body. The caller's credential is sent, so that it is the size that is refused
    (without it the backend would answer 401 first)."""
    import http.client
    from urllib.parse import urlparse

    credential = {"RASA_PORT": "RASA_API_TOKEN", "ACTION_PORT": "ACTION_SERVER_TOKEN",
                  "BACKEND_PORT": "BACKEND_SERVICE_TOKEN"}.get(port)
    connection = http.client.HTTPConnection(urlparse(stack[port]).netloc, timeout=5)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * 1024 * 1024))
    if credential:
        connection.putheader("Authorization", f"Bearer {CREDENTIALS[credential]}")
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    assert status == 413, status


def test_a_100_kb_message_is_answered_and_nothing_is_lost(stack):
    """Cut before any per-character work: the long message gets an ordinary answer; a
    normal conversation beside it goes on (its latency is measured by `make bench`)."""
    long = Citizen(stack)
    replies = long.say("居住证要什么材料" + "麻烦您了，" * 20_000)  # 100,000 characters
    # every reply carries something: text, buttons, or an answer card beside its text
    assert replies and all(r.get("text") or r.get("buttons") or r.get("custom") for r in replies)
    assert any("上海市居住证申领" in (r.get("text") or "") for r in replies)
    assert "上海市居住证申领" in Citizen(stack).text("居住证要什么材料")
