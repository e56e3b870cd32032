"""The handoff's pure parts: scores, summaries, waits, numbers, passwords, queue order."""
from __future__ import annotations

import pytest

from actions.handoff import callback_number
from bot.handoff.auth import hash_password, verify_password
from bot.handoff.history import messages
from bot.handoff.queue import MemoryQueue
from bot.handoff.rating import score_from
from bot.handoff.service import expected_wait_minutes
from bot.handoff.summary import summarize


@pytest.mark.parametrize("text, score", [
    ("5", 5), ("五分", 5), ("很满意", 5), ("五星好评", 5), ("給1分", 1), ("４分", 4),
    ("一般般", 3), ("不满意", 2), ("不滿意", 2), ("很不满意，差评", 1), ("还行，四分", 4),
    ("明天", None), ("SH20261105000123", None),
])
def test_scores_from_what_citizens_type(text, score):
    assert score_from(text) == score


def test_button_payload_entity_wins():
    assert score_from('/rate_service{"satisfaction":"3"}', [{"entity": "satisfaction", "value": "3"}]) == 3


def _user(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def test_summary_masks_numbers_and_names_the_matter_and_topic():
    events = [_user("居住证要什么材料", "ask_materials"), {"event": "bot", "text": "……"},
              _user("我手机13812345678", "inform"), _user("/request_human", "request_human")]
    summary = summarize("request", events, "上海市居住证申领")
    assert summary["topic"] == "补充信息"  # the latest substantive intent
    # a plain sentence (issue 16), not "事项：…；意图：…"
    assert "市民问过「上海市居住证申领」的办事材料。" in summary["summary"]
    assert "138****5678" in summary["summary"] and "13812345678" not in summary["summary"]
    assert "/request_human" not in summary["summary"]
    assert summarize("complaint", [_user("路灯坏了", "complain")])["topic"] == "投诉建议"


def test_expected_wait_grows_with_position_and_shrinks_with_agents():
    assert expected_wait_minutes(1, 1, 3) == 3
    assert expected_wait_minutes(3, 2, 3) == 5
    assert expected_wait_minutes(1, 0, 3) == 3  # nobody online yet: as for one agent
    assert expected_wait_minutes(1, 10, 0.5) == 1


@pytest.mark.parametrize("text, number", [
    ("13900001111", "13900001111"), ("电话 139 0000 1111", "13900001111"),
    ("021-62345678", "02162345678"), ("12345", None), ("没有", None),
])
def test_callback_numbers(text, number):
    assert callback_number(text) == number


def test_history_masks_citizen_messages_and_marks_agents():
    shown = messages([
        {**_user("身份证310101199001011234", "inform"), "_id": 7},
        {"event": "bot", "text": "好的", "metadata": {"agent": "agent1"}, "_id": 8},
        {"event": "action", "name": "action_listen", "_id": 9},
        {"event": "pause", "_id": 10},
    ])
    assert [m["from"] for m in shown] == ["citizen", "agent", "system"]
    assert shown[0]["text"] == "身份证310101********1234" and shown[0]["masked"]
    assert shown[1]["agent"] == "agent1"


def test_history_leaves_out_channel_instructions():
    """The widget's token rotation is a bot event with no text: nothing for an agent."""
    shown = messages([{"event": "bot", "text": None, "data": {"custom": {"govbot": "x"}},
                       "_id": 3}, {"event": "bot", "text": "您好", "_id": 4}])
    assert [m["text"] for m in shown] == ["您好"]


def test_history_offers_reveal_for_texts_stored_masked():
    shown = messages([
        {**_user("我电话138****5678", "inform"), "_id": 7},
        {**_user("居住证什么时候好", "ask_processing_time"), "_id": 8},
    ])
    assert [m["masked"] for m in shown] == [True, False]


def test_passwords_are_salted_and_verified():
    first, second = hash_password("secret-123"), hash_password("secret-123")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("secret-123", first) and not verify_password("secret-124", first)
    assert not verify_password("x", "garbage")


async def test_memory_queue_order_and_presence_expiry():
    now = [1000.0]
    queue = MemoryQueue(presence_ttl=30, clock=lambda: now[0])
    await queue.add(2, 10.0)
    await queue.add(1, 20.0)
    assert [h for h, _ in await queue.waiting()] == [2, 1] and await queue.position(1) == 2
    await queue.heartbeat("agent1")
    assert await queue.online() == ["agent1"]
    now[0] += 31
    assert await queue.online() == []


class _Desk:
    def __init__(self, fail: bool = False) -> None:
        self.orders, self.fail = [], fail

    async def create_work_order(self, **order):
        from bot.handoff.client import DeskUnavailable

        if self.fail:
            raise DeskUnavailable("down")
        self.orders.append(order)
        return "GD-20261127-0001"

    async def set_callback(self, number, conversation_id, phone):
        self.orders[-1]["callback_phone"] = phone


def _form_tracker(slots):
    from rasa_sdk import Tracker

    return Tracker("c1", slots, {"text": "", "intent": {}, "entities": []},
                   [{"event": "user", "text": "", "input_channel": "socketio"}], False, None,
                   {"name": "work_order_form"}, "work_order_form")


async def test_the_form_message_becomes_a_work_order_at_once(monkeypatch):
    """Only a masked copy stays in the slot: the tracker store keeps slots masked, so a
    later turn could not send the full message to the desk any more."""
    import actions.handoff as handoff
    from rasa_sdk.executor import CollectingDispatcher

    desk = _Desk()
    monkeypatch.setattr(handoff, "_desk", desk)
    text = "我电话13812345678，身份证310101199001011234"
    values = await handoff.ValidateWorkOrderForm().validate_work_order_message(
        text, CollectingDispatcher(), _form_tracker({}), {})
    # the number in the message is the callback number: stored with the order, and the
    # form does not ask for it
    assert desk.orders == [{"conversation_id": "c1", "channel": "socketio", "kind": "message",
                            "message": text, "callback_phone": "13812345678"}]
    assert values == {"work_order_number": "GD-20261127-0001",
                      "work_order_message": "我电话138****5678，身份证310101********1234",
                      "callback_phone": "13812345678"}
    monkeypatch.setattr(handoff, "_desk", _Desk(fail=True))
    values = await handoff.ValidateWorkOrderForm().validate_work_order_message(
        text, CollectingDispatcher(), _form_tracker({}), {})
    assert values == {"work_order_message": handoff.UNAVAILABLE, "callback_phone": handoff.UNAVAILABLE}
    dispatcher = CollectingDispatcher()
    await handoff.ActionSubmitWorkOrder().run(
        dispatcher, _form_tracker({"callback_phone": handoff.UNAVAILABLE}), {})
    assert "没能保存" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize("text", ["我不想留电话", "电话就不留了", "不方便留电话，你们看着处理吧",
                                  "没有手机", "别给我打电话"])
async def test_declining_a_callback_number_keeps_the_message(text):
    """'我不想留电话' is not a wrong number, and '电话就不留了' does not withdraw the message."""
    import actions.handoff as handoff
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    values = await handoff.ValidateWorkOrderForm().validate_callback_phone(
        text, dispatcher, _form_tracker({"work_order_number": "GD-1"}), {})
    assert values == {"callback_phone": handoff.DECLINED} and dispatcher.messages == []


async def test_a_wrong_number_or_a_cancel_is_still_told_apart_from_declining():
    import actions.handoff as handoff
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    values = await handoff.ValidateWorkOrderForm().validate_callback_phone(
        "电话是12345", dispatcher, _form_tracker({}), {})
    assert values == {"callback_phone": None} and "不对" in dispatcher.messages[0]["text"]
    values = await handoff.ValidateWorkOrderForm().validate_callback_phone(
        "算了", CollectingDispatcher(), _form_tracker({}), {})
    assert values == {"callback_phone": handoff.CANCELLED}
    values = await handoff.ValidateWorkOrderForm().validate_callback_phone(
        "不留电话了，打这个吧13900001111", CollectingDispatcher(), _form_tracker({}), {})
    assert values == {"callback_phone": "13900001111"}


async def test_an_order_without_a_callback_number_is_registered_and_said(monkeypatch):
    import actions.handoff as handoff
    from rasa_sdk.executor import CollectingDispatcher

    desk = _Desk()
    monkeypatch.setattr(handoff, "_desk", desk)
    dispatcher = CollectingDispatcher()
    await handoff.ActionSubmitWorkOrder().run(dispatcher, _form_tracker(
        {"callback_phone": handoff.DECLINED, "work_order_number": "GD-20261206-0007",
         "work_order_message": "窗口态度差"}), {})
    said = dispatcher.messages[0]["text"]
    assert "GD-20261206-0007" in said and "不留电话也可以" in said and desk.orders == []
    # a form begun before messages became orders at once: the order is made now, no number
    dispatcher = CollectingDispatcher()
    await handoff.ActionSubmitWorkOrder().run(dispatcher, _form_tracker(
        {"callback_phone": handoff.DECLINED, "work_order_message": "想问落户"}), {})
    assert desk.orders == [{"conversation_id": "c1", "channel": "socketio", "kind": "message",
                            "message": "想问落户"}]
    assert "GD-20261127-0001" in dispatcher.messages[0]["text"]


def test_summary_and_history_blank_codes_and_last_six():
    """The queue's summary is stored (handoffs.summary) and shown to every agent: an SMS
    code or an ID's last six typed in the turn that asks for a person is blanked too."""
    events = [_user("验证码482913收不到，后六位14051X", "request_human")]
    summary = summarize("request", events)["summary"]
    assert "482913" not in summary and "14051X" not in summary and "验证码******" in summary
    [shown] = messages([{**events[0], "_id": 1}])
    assert shown["text"] == "验证码******收不到，后六位******" and shown["masked"]


async def test_the_work_order_form_asks_each_slot_with_its_own_action():
    """Rasa's form asks a slot with `action_ask_<slot>` when the domain lists it; with
    neither that nor an utter_ask_<slot> response it asks nothing and the citizen waits."""
    from pathlib import Path

    import yaml
    from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

    import actions.handoff as handoff

    domain = yaml.safe_load((Path(__file__).parents[3] / "domain.yml").read_text(encoding="utf-8"))
    actions = {a if isinstance(a, str) else next(iter(a)) for a in domain["actions"]}
    slots = domain["forms"]["work_order_form"]["required_slots"]
    assert {f"action_ask_{slot}" for slot in slots} <= actions
    executor = ActionExecutor()
    executor.register_package("actions.handoff")
    assert {f"action_ask_{slot}" for slot in slots} <= set(executor.actions)
    assert "action_ask_None" not in executor.actions  # the abstract base is not an action
    said = {}
    for action in (handoff.ActionAskWorkOrderMessage(), handoff.ActionAskCallbackPhone()):
        dispatcher = CollectingDispatcher()
        assert await action.run(dispatcher, _form_tracker({}), {}) == []
        said[action.name()] = [m["text"] for m in dispatcher.messages]
    assert said == {
        "action_ask_work_order_message": [handoff.TEXTS["ask_work_order_message"]],
        "action_ask_callback_phone": [handoff.TEXTS["ask_callback_phone"]],
    }


def _timeout_domain():
    from pathlib import Path

    import yaml
    from rasa.shared.core.domain import Domain

    domain_file = Path(__file__).parents[3] / "domain.yml"
    listed = yaml.safe_load(domain_file.read_text(encoding="utf-8"))["actions"]
    assert {"action_handoff_timeout": {"send_domain": True}} in listed  # it reads the form
    return Domain.load(str(domain_file)).as_dict()


async def test_the_timeout_action_starts_the_form_by_itself():
    """The desk runs it with Rasa's /execute, after which Rasa runs nothing: the form is
    active, its first empty slot asked, and the bot listens (the form validates only an
    answer that follows action_listen). Why the wait ended the desk has said already."""
    from rasa_sdk.executor import CollectingDispatcher

    import actions.handoff as handoff

    domain = _timeout_domain()
    asked = {}
    for slots in ({}, {"work_order_message": "窗口态度差", "work_order_number": "GD-1"}):
        dispatcher = CollectingDispatcher()
        events = await handoff.ActionHandoffTimeout().run(dispatcher, _form_tracker(slots), domain)
        said = [m["text"] for m in dispatcher.messages]
        assert len(said) == 1 and "没能及时接入" not in said[0]
        assert [e["event"] for e in events] == ["active_loop", "slot", "action"]
        assert events[0]["name"] == "work_order_form" and events[2]["name"] == "action_listen"
        asked[events[1]["value"]] = said[0]
    # A complaint's order holds its message: only the callback number is asked.
    assert asked == {"work_order_message": handoff.TEXTS["ask_work_order_message"],
                     "callback_phone": handoff.TEXTS["ask_callback_phone"]}


def _waited_tracker(*texts):
    from rasa_sdk import Tracker

    events = [{"event": "user", "text": "我要投诉", "parse_data": {"intent": {"name": "complain"}},
               "input_channel": "socketio"},
              {"event": "action", "name": "action_handoff"}, {"event": "pause"},
              *[{"event": "user", "text": t, "parse_data": {"intent": {"name": "inform"}},
                 "input_channel": "socketio"} for t in texts],
              {"event": "resume"}, {"event": "action", "name": "action_listen"}]
    return Tracker("c1", {}, {"text": "", "intent": {}, "entities": []}, events, False, None,
                   {}, "action_listen")


async def test_what_was_typed_while_waiting_is_the_message_and_not_asked_again(monkeypatch):
    """Before, the form asked for a message the citizen had typed while waiting."""
    from rasa_sdk.executor import CollectingDispatcher

    import actions.handoff as handoff

    desk = _Desk()
    monkeypatch.setattr(handoff, "_desk", desk)
    dispatcher = CollectingDispatcher()
    events = await handoff.ActionHandoffTimeout().run(
        dispatcher, _waited_tracker("人呢", "办证大厅的空调坏了，热得没法等", "窗口也没人"), _timeout_domain())
    assert desk.orders == [{"conversation_id": "c1", "channel": "socketio", "kind": "complaint",
                            "message": "办证大厅的空调坏了，热得没法等\n窗口也没人"}]
    said = [m["text"] for m in dispatcher.messages]
    assert said == [handoff.TEXTS["waited_message_kept"], handoff.TEXTS["ask_callback_phone"]]
    assert {"event": "slot", "name": "requested_slot", "value": "callback_phone",
            "timestamp": None} in events

    # the number typed while waiting too: the order is complete, no form
    desk.orders.clear()
    dispatcher = CollectingDispatcher()
    events = await handoff.ActionHandoffTimeout().run(
        dispatcher, _waited_tracker("空调坏了，回电13900001111"), _timeout_domain())
    assert desk.orders[0]["callback_phone"] == "13900001111"
    said = "\n".join(m["text"] for m in dispatcher.messages)
    assert "GD-20261127-0001" in said and "139****1111" in said
    assert not any(e["event"] == "active_loop" for e in events)


@pytest.mark.parametrize("text, content", [
    ("我要投诉", False), ("投诉", False), ("我想投诉一下你们", False), ("我要举报！", False),
    ("我要投诉，窗口工作人员态度太差了", True), ("投诉办证大厅空调坏了", True),
])
def test_a_complaint_without_content_is_told_apart(text, content):
    """'我要投诉' alone became a complaint whose content was '我要投诉' (and the content typed
    next was read as a wrong phone number)."""
    from bot.handoff.leaving import complaint_content

    assert bool(complaint_content(text)) is content


def test_the_order_kind_is_the_latest_request_for_a_person():
    from bot.handoff.leaving import COMPLAINT, MESSAGE, order_kind

    def user(intent):
        return {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}

    assert order_kind([user("complain"), user("inform")]) == COMPLAINT
    assert order_kind([user("complain"), user("request_human"), user("inform")]) == MESSAGE
    assert order_kind([user("inform")]) == MESSAGE
