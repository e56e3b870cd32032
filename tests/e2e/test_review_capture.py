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
