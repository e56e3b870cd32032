"""The permit intake interview through the running assistant's REST channel."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Dict, List, Optional

import pytest

from tests.stack import rasa_api, rest_conversation, verified_person_id

from standins.gov_backend.seed import SHENCHENG
from tests.e2e.test_conversations import Citizen, post

pytestmark = pytest.mark.slow
LINK = re.compile(r"(https?://\S+/documents/[A-Za-z0-9_-]+)")


class Applicant(Citizen):
    def ask(self, text: str) -> Dict[str, object]:
        replies = self.say(text)
        return {
            "text": "\n".join(r.get("text", "") for r in replies),
            "buttons": [b["title"] for r in replies for b in r.get("buttons", [])],
        }

    def finish(self, yes_no: str = "没有", limit: int = 20) -> Dict[str, object]:
        """Answers until the read-back; returns it."""
        reply = self.last
        for _ in range(limit):
            if "请核对" in reply["text"]:
                return reply
            buttons = reply["buttons"]
            reply = self.ask(yes_no if buttons == ["是", "否"] else buttons[0])
            self.last = reply
        raise AssertionError(f"no read-back after {limit} answers: {reply}")

    def start(self, text: str = "我想开个便利店") -> Dict[str, object]:
        self.last = self.ask(text)
        return self.last

    def tracker(self, stack) -> dict:
        return rasa_api(stack, f"/conversations/{rest_conversation(self.sender)}/tracker")


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8"), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, "", dict(err.headers)


def test_interview_with_aside_correction_read_back_and_documents(stack):
    citizen = Applicant(stack)
    first = citizen.start("我想开个便利店")
    assert "一业一证" in first["text"] and "是否已办理营业执照" in first["text"]
    assert first["buttons"] == ["是", "否"]
    citizen.last = citizen.ask("已经办好了")
    assert "预包装" in citizen.last["text"]
    # Neither yes nor no: asked again, with buttons.
    again = citizen.ask("这个我也说不好")
    assert "没听明白" in again["text"] and "预包装" in again["text"] and again["buttons"] == ["是", "否"]
    # A question in the middle is answered and the interview resumes.
    aside = citizen.ask("需要带身份证原件吗？")
    assert "材料" in aside["text"] and "接着刚才的问题" in aside["text"] and "预包装" in aside["text"]
    # only prepackaged food: bulk and on-site food are not asked (moot), 特殊食品 comes next
    citizen.last = citizen.ask("对的")
    assert "特殊食品" in citizen.last["text"] and "散装" not in citizen.last["text"]
    citizen.last = citizen.ask("不卖")
    assert "酒类" in citizen.last["text"]
    citizen.last = citizen.ask("暂时不")
    # Go back and change an answer.
    fixed = citizen.ask("刚才说错了，我们卖酒")
    assert "已把“是否经营酒类零售？”改为：是" in fixed["text"]
    citizen.last = fixed
    read_back = citizen.finish()
    assert "是否经营酒类零售？ —— 是" in read_back["text"] and "确认无误" in read_back["buttons"]
    done = citizen.ask("确认无误")
    assert "酒类商品零售许可证" in done["text"] and "材料合并后共" in done["text"]
    link = LINK.search(done["text"]).group(1)
    assert link.startswith(stack["WEB_PORT"])
    status, page, headers = _get(link)
    assert status == 200 and "告知单" in page and "材料清单" in page and "酒类商品零售许可证" in page
    status, text, headers = _get(link + ".txt")
    assert status == 200 and "attachment" in headers.get("Content-Disposition", "")
    # Another token, or a broken one, opens nothing.
    other = Applicant(stack)
    other.start("开个便利店要办啥证")
    other.finish()
    other_link = LINK.search(other.ask("确认")["text"]).group(1)
    assert other_link != link
    assert _get(link[:-3] + "zzz")[0] == 404
    # The interview is over: a bare "有" no longer answers any question.
    answers_before = citizen.tracker(stack)["slots"].get("intake_answers")
    citizen.ask("有")
    assert citizen.tracker(stack)["slots"].get("intake_answers") == answers_before


def test_industry_named_later_stop_and_restart(stack):
    citizen = Applicant(stack)
    asked = citizen.start("我想开店，要办哪些证")
    assert "什么店" in asked["text"] and "药店" in asked["buttons"]
    first = citizen.ask("药店")
    assert "是否已办理营业执照" in first["text"]
    citizen.ask("办了")
    restarted = citizen.ask("重新开始")
    assert "重新开始" in restarted["text"] and "是否已办理营业执照" in restarted["text"]
    stopped = citizen.ask("算了，不办了")
    assert "停下" in stopped["text"]
    assert citizen.tracker(stack)["active_loop"] == {}  # Rasa 3.6's tracker: no loop active
    # Other questions work normally again.
    assert "上海市居住证申领" in citizen.ask("居住证要什么材料")["text"]


def test_verified_citizen_gets_a_prefilled_form(stack):
    citizen = Applicant(stack)
    # What the identity check does after a successful verification.
    rasa_api(stack, f"/conversations/{rest_conversation(citizen.sender)}/tracker/events",
             [{"event": "slot", "name": "verified_person_id",
               "value": verified_person_id(stack, "SH20261125000999", "010175")}])  # 赵磊
    citizen.start("我想开个便利店，卖烟")
    citizen.last = citizen.ask("有营业执照")
    citizen.finish()
    done = citizen.ask("确认无误")
    assert "上海申城便利商贸有限公司" in done["text"]
    status, page, _ = _get(LINK.search(done["text"]).group(1))
    assert status == 200 and SHENCHENG in page and "已预填" in page


def test_what_the_reform_is_is_explained(stack):
    citizen = Applicant(stack)
    first = citizen.start("一业一证是啥")
    assert "行业综合许可证" in first["text"] and "想开什么店" in first["text"], first
    assert "便利店" in first["buttons"]
