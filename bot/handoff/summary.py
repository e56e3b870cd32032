"""What the agent sees in the queue before accepting: the bot's summary of the request.

Pure functions over the tracker's events (dicts, as the action server receives them), so
they are tested without a server. Numbers are masked (and SMS codes or an ID's last six
blanked): the queue is visible to every agent.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from bot.privacy import mask_personal

#: Contract intents (../shared/spec/nlu-contract.md) as an agent reads them.
INTENT_TOPICS: Dict[str, str] = {
    "ask_materials": "办事材料", "ask_processing_time": "办理时限", "ask_fee": "收费",
    "ask_where_to_apply": "办理地点", "ask_online": "网上办理", "ask_eligibility": "办理条件",
    "ask_procedure": "办理流程", "check_application_status": "办件进度",
    "start_permit_intake": "一业一证", "complain": "投诉建议", "request_human": "转人工",
    "nlu_fallback": "未识别", "out_of_scope": "其他问题", "inform": "补充信息",
}

#: Channel names of the input channels (credentials.yml, connectors/).
CHANNEL_LABELS: Dict[str, str] = {
    "socketio": "网页", "rest": "网页(REST)", "wechat_oa": "微信公众号",
    "wechat_mp": "微信小程序", "alipay_life": "支付宝生活号",
}

MAX_TEXTS = 4
MAX_CHARS = 120


def user_turns(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, str]]:
    """The citizen's messages: text (masked) and intent."""
    turns = []
    for event in events:
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        if text.startswith(("/", "EXTERNAL: ")):  # a button or the desk: the intent says it
            text = ""
        turns.append({"text": mask_personal(text)[:MAX_CHARS], "intent": intent})
    return turns


def topic_of(kind: str, turns: List[Dict[str, str]]) -> str:
    """The latest substantive intent, as an agent reads it."""
    if kind == "complaint":
        return INTENT_TOPICS["complain"]
    for turn in reversed(turns):
        if turn["intent"] not in ("request_human", "nlu_fallback", "", "affirm", "deny"):
            return INTENT_TOPICS.get(turn["intent"], turn["intent"])
    return INTENT_TOPICS["request_human"]


def summarize(
    kind: str, events: Iterable[Mapping[str, Any]], matter_name: Optional[str] = None
) -> Dict[str, str]:
    """{"topic", "summary"}: what the citizen wanted, in one line, numbers masked."""
    turns = user_turns(events)
    texts = [t["text"] for t in turns if t["text"]][-MAX_TEXTS:]
    parts = []
    if matter_name:
        parts.append(f"事项：{matter_name}")
    intents = [INTENT_TOPICS.get(t["intent"], t["intent"]) for t in turns if t["intent"]]
    if intents:
        parts.append("意图：" + "、".join(dict.fromkeys(intents[-MAX_TEXTS:])))
    if texts:
        parts.append("市民说：" + " / ".join(f"“{t}”" for t in texts))
    return {"topic": topic_of(kind, turns), "summary": "；".join(parts) or "（无对话内容）"}


def channel_label(channel: Optional[str]) -> str:
    return CHANNEL_LABELS.get(channel or "", channel or "未知")
