"""Failed turns captured for review by the running web app (bot/review/capture.py): REST
citizens say what the bot cannot handle, and the web app's background capture records
each in the review store of the stack's database, masked."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest

from bot.review.store import ReviewStore
from tests.stack import rest_conversation

pytestmark = pytest.mark.slow

#: The web app captures every REVIEW_CAPTURE_SECONDS (5 by default); a bound, not a timing.
WAIT_SECONDS = 90.0


def say(stack, sender: str, text: str) -> list:
    request = urllib.request.Request(
        stack["RASA_PORT"] + "/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def captured(store: ReviewStore, senders: dict, wanted: set) -> dict:
    """{(name, kind): row} of the misses captured for these senders, once all `wanted`
    are there (or the bound passed)."""
    names = {rest_conversation(sender): name for name, sender in senders.items()}
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = {(names[m["sender_id"]], m["kind"]): m for m in store.misses(status=None)
                 if m["sender_id"] in names}
        if wanted <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(1.0)


def test_fallback_out_of_scope_and_unknown_matter_are_captured_masked(stack):
    senders = {name: f"review-{name}-{uuid.uuid4().hex[:8]}"
               for name in ("noise", "phone", "scope", "unknown")}
    say(stack, senders["noise"], "asdfghjkl")
    say(stack, senders["phone"], "asdfghjkl 13812345678")
    say(stack, senders["scope"], "帮我订一张明天去北京的机票")
    replies = say(stack, senders["unknown"], "渔船登记要带什么材料")
    assert "/request_human" in [b["payload"] for r in replies for b in r.get("buttons", [])]
    say(stack, senders["unknown"], "/request_human")

    store = ReviewStore.open(stack["database_url"])
    wanted = {("noise", "fallback"), ("scope", "out_of_scope"), ("unknown", "unknown_matter"),
              ("unknown", "handoff_after_miss")}
    found = captured(store, senders, wanted)
    assert wanted <= set(found), sorted(found)

    noise = found[("noise", "fallback")]
    assert noise["text"] == "asdfghjkl" and noise["channel"] == "rest"
    assert noise["intent"] and noise["ranking"] and noise["model_id"]  # metadata.model_id
    # the phone number's message is captured (as whatever it failed as: the model decides;
    # it was stored before the others, so it is there when they are), masked
    phone = [m for (name, _), m in found.items() if name == "phone"]
    assert phone and all(m["text"] == "asdfghjkl 138****5678" for m in phone)
    assert "13812345678" not in json.dumps(list(found.values()), ensure_ascii=False)
    assert found[("scope", "out_of_scope")]["text"] == "帮我订一张明天去北京的机票"
    unknown = found[("unknown", "unknown_matter")]
    assert unknown["text"] == "渔船登记要带什么材料" and "渔船" in unknown["unknown_matter"]
    assert found[("unknown", "handoff_after_miss")]["event_id"] == unknown["event_id"]
    assert not any(m["text"].startswith("/") for m in found.values())

    (today,) = [d for d in store.measures(time.time() - 3600)["days"] if d["day"] == noise["day"]]
    assert today["turns"] >= 5 and today["fallbacks"] >= 1 and today["unknown_matters"] >= 1


#: Vague messages; the test asks the model in service which of them it is unsure of
#: (between the fallback threshold and the review's LOW_CONFIDENCE, or two intents
#: within AMBIGUITY), so the expectation follows the model instead of guessing it.
VAGUE = ("那个东西怎么弄", "我想问下那个证", "材料的事", "上次说的那个还要吗", "这个能不能办",
         "办那个要去哪", "证件的问题", "我那个申请", "能帮我看看吗", "就是那个补贴",
         "户口的事情", "公司的事", "孩子上学那个", "房子那个", "车的事情咋办")


def _unsure(stack, text: str) -> bool:
    from bot.review.capture import AMBIGUITY, LOW_CONFIDENCE
    from tests.stack import rasa_headers

    request = urllib.request.Request(
        stack["RASA_PORT"] + "/model/parse", data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json", **rasa_headers()})
    with urllib.request.urlopen(request, timeout=30) as response:
        parsed = json.loads(response.read())
    ranking = parsed.get("intent_ranking") or []
    top = parsed["intent"]
    if top["name"] in ("nlu_fallback", "out_of_scope") or parsed.get("entities"):
        return False
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    return top["confidence"] < LOW_CONFIDENCE or top["confidence"] - second < AMBIGUITY


async def test_low_confidence_and_a_poor_rating_are_captured(stack):
    import aiohttp

    from tests.e2e.test_handoff import Agent, Citizen

    unsure = next((t for t in VAGUE if _unsure(stack, t)), None)
    assert unsure is not None, "the model is sure of every vague message: add vaguer ones"
    async with aiohttp.ClientSession() as http, Agent(stack, "agent1", "agent1-pass") as agent:
        citizen = Citizen(stack, http)
        await citizen.say(unsure)
        question = "居住证办了一个月还没下来到底怎么回事"
        await citizen.say(question)
        assert "转接人工客服" in await citizen.text("转人工")
        item = await agent.waiting_for(question[:8], timeout=20)
        await agent.call("POST", f"/desk/api/handoffs/{item['id']}/accept", {}, expect=200)
        await agent.call("POST", f"/desk/api/handoffs/{item['id']}/end", {}, expect=200)
        await citizen.wait_for_bot("满意吗")
        assert "感谢您的评价（1分）" in await citizen.text('/rate_service{"satisfaction":"1"}')

    store = ReviewStore.open(stack["database_url"])
    wanted = {("citizen", "poor_rating"), ("citizen", "low_confidence")}
    found = captured(store, {"citizen": citizen.sender}, wanted)
    assert wanted <= set(found), sorted(found)
    rated = found[("citizen", "poor_rating")]
    assert rated["text"] == question and rated["rating"] == 1
    assert found[("citizen", "low_confidence")]["text"] == unsure
