"""The tracker store keeps citizens' ID and phone numbers only masked, while the running
turn (the actions) sees what was typed."""
from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from rasa_ext.tracker_store import masked_copy
ID, PHONE = "510107199502140515", "13810000004"


def test_masked_copy_masks_user_text_parse_data_and_entities():
    text = f"我身份证{ID}，手机 138-1000-0004"
    event = UserUttered(text, {"name": "inform", "confidence": 0.9},
                        [{"entity": "x", "value": ID, "start": 4, "end": 22}],
                        parse_data={"text": text, "intent": {"name": "inform"},
                                    "entities": [{"entity": "x", "value": ID}]}).as_dict()
    stored = masked_copy(event)
    dumped = json.dumps(stored, ensure_ascii=False)
    assert ID not in dumped and "138-1000-0004" not in dumped and "10000004" not in dumped
    assert "510107********0515" in stored["text"] and "138****0004" in stored["text"]
    assert event["text"] == text  # the caller's copy is untouched
    for secret in ("身份证后六位是14051X", "验证码 482913", "140515"):
        stored = masked_copy(UserUttered(secret, {"name": "inform"}).as_dict())
        assert "******" in stored["text"] and not any(c.isdigit() for c in stored["text"])
    kept = masked_copy(UserUttered("查一下SH20261105000123", {"name": "inform"}).as_dict())
    assert kept["text"] == "查一下SH20261105000123"
    bot = BotUttered("好的").as_dict()
    assert masked_copy(bot) is bot


async def test_stored_messages_are_masked(tracker_store):
    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    text = f"身份证号码{ID}，电话{PHONE}，办件SH20261105000123"
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 1.0},
                               parse_data={"text": text, "intent": {"name": "inform"},
                                           "entities": []}))
    assert tracker.latest_message.text == text  # the running turn sees the real text
    tracker.update(ActionExecuted("action_status"))
    tracker.update(ActionExecuted("action_listen"))
    await tracker_store.save(tracker)

    with tracker_store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT data FROM events WHERE sender_id = :s"),
                            {"s": sender}).scalars().all()
    everything = "\n".join(rows)
    assert ID not in everything and PHONE not in everything
    assert "SH20261105000123" in everything  # application numbers are not personal
    again = await tracker_store.retrieve(sender)
    assert again.latest_message.text == "身份证号码510107********0515，电话138****0004，办件SH20261105000123"


async def test_original_is_sealed_apart_for_the_desks_audited_reveal(tracker_store):
    from bot.conversations import conversation_events, sealed_text

    sender = f"s-{uuid.uuid4().hex[:8]}"
    tracker = await tracker_store.get_or_create_tracker(sender)
    text = f"我手机号{PHONE}"
    tracker.update(UserUttered(text, {"name": "inform", "confidence": 1.0}))
    tracker.update(UserUttered("没有号码", {"name": "deny", "confidence": 1.0}))
    await tracker_store.save(tracker)
    events = [e for e in conversation_events(tracker_store.engine, sender) if e["event"] == "user"]
    assert PHONE not in json.dumps(events)
    assert sealed_text(tracker_store.engine, sender, events[0]["timestamp"]) == text
    assert sealed_text(tracker_store.engine, sender, events[1]["timestamp"]) is None  # nothing masked
    assert sealed_text(tracker_store.engine, "someone-else", events[0]["timestamp"]) is None
