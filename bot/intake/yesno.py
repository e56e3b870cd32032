"""Reading a yes/no answer from what a citizen types in Chinese.

Citizens rarely type 是 or 否. They answer with the question's own verb (卖的 / 不卖,
设置了 / 没设), with 有 / 没有, with time words (暂时不, 还没办, 已经办了), with
fillers (嗯, 对的), in Traditional characters, or with 1/0 and Y/N. Anything that is
neither a yes nor a no — a question of their own (需要带身份证原件吗？), a greeting,
"不知道" — gives None, so the bot can answer it or ask again with buttons.

The parser is deliberately conservative: when the clauses of an answer disagree
(卖烟，不卖酒) it returns None rather than guess.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Tuple

from bot.text import normalize_text

#: Whole answers (after trimming particles) that mean yes or no on their own. "Weak"
#: answers only confirm; a later clause with content wins over them (是的，没有 → no).
WEAK_YES = {
    "是", "对", "嗯", "恩", "嗯呢", "嗯哼", "好", "行", "可以", "没错", "对头", "是啊", "对啊",
    "当然", "肯定", "必须", "确定", "正确", "没问题", "没毛病", "那当然", "系", "是滴", "中",
    "yes", "y", "yeah", "yep", "ok", "okay", "sure", "true", "1", "√", "✓",
}
WEAK_NO = {
    "否", "不", "不是", "不对", "非", "无", "no", "n", "nope", "false", "0", "×", "✗",
    "唔系", "不必", "没必要", "算了", "免了", "不了", "并不",
}
#: Answers that are explicitly undecided.
UNSURE = (
    "不知道", "不清楚", "不确定", "不一定", "不好说", "说不好", "说不定", "看情况", "再说",
    "没想好", "还没定", "没决定", "待定", "可能", "也许", "或许", "不晓得", "不懂", "不明白",
    "随便", "无所谓", "都行", "看看", "考虑一下", "想想", "不太清楚", "不是很清楚",
)
#: Signs that the message is a question of its own.
QUESTION_WORDS = (
    "吗", "么", "什么", "为什么", "怎么", "怎样", "如何", "哪", "多少", "多久", "几天", "几个",
    "是否", "能否", "可否", "请问", "问一下", "想问", "咨询", "啥", "咋",
)
#: Verbs (and verb-like words) that carry the answer: 卖的 / 不卖, 有 / 没有 …
VERBS = (
    "有", "是", "卖", "售", "销售", "出售", "零售", "经营", "营业", "设置", "设", "装", "安装",
    "挂", "办", "办理", "办过", "需要", "要", "用", "打算", "准备", "计划", "想", "超过", "超",
    "到", "达到", "会", "做", "开", "开设", "提供", "搞", "弄", "涉及", "包括", "含", "配",
    "配备", "进货", "上架",
)
#: Words that may stand before the verb or the negation without changing the answer.
ADVERBS = (
    "我们", "我", "咱们", "咱", "本店", "店里", "店内", "这边", "我这", "我家", "目前", "现在",
    "暂时", "暂", "当前", "以后", "今后", "将来", "已经", "已", "早就", "早已", "都", "也",
    "还", "就", "只", "确实", "的确", "真的", "应该", "大概", "估计", "好像", "似乎", "肯定",
    "一定", "当然", "并", "尚", "从来", "从", "是", "有",
)
NEGATIONS = ("没有", "没得", "尚未", "没", "不", "无", "未", "别", "非", "否", "冇", "唔")
LEADING_FILLERS = ("嗯嗯", "嗯", "恩", "呃", "额", "哦", "噢", "喔", "啊", "哎", "唉", "诶",
                   "欸", "那个", "这个", "emm", "em", "um", "那")
TRAILING_PARTICLES = "的了啊呀吧哦噢喔啦嘛哈呢滴哒哟咯罗喽哇噻撒诶欸嗷~"
CONNECTIVES = ("但是", "但", "不过", "可是", "只是", "就是", "另外", "然后", "谢谢", "谢了")
_SPLIT = re.compile(r"[,，。.!！;；、:：\s…]+")
_EMOJI = {"👍": " 是 ", "👌": " 是 ", "✅": " 是 ", "🙆": " 是 ", "❌": " 否 ", "🙅": " 否 ", "👎": " 否 "}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_ADV = _alternation(ADVERBS)
_NEG = _alternation(NEGATIONS)
_NEG_CHARS = "不没无未冇唔别"


def _clean(text: str) -> str:
    for emoji, word in _EMOJI.items():
        text = text.replace(emoji, word)
    return normalize_text(text).lower()


def _reduplicated(text: str) -> str:
    """对对对 → 对, 不卖不卖 → 不卖, 没有没有 → 没有."""
    match = re.fullmatch(r"(.+?)\1+", text)
    return match.group(1) if match else text


def _is_question(text: str) -> bool:
    if "?" in text:
        return True
    if any(w in text for w in QUESTION_WORDS):
        return True
    # A-not-A: 是不是, 有没有, 卖不卖, 经营不经营
    return bool(re.search(r"([^不没])[不没]\1|(..)[不没]\2", text))


def _trim(clause: str) -> str:
    clause = clause.strip(TRAILING_PARTICLES + " ")
    while True:
        for filler in LEADING_FILLERS:
            if clause.startswith(filler) and len(clause) > len(filler):
                clause = clause[len(filler):].lstrip(TRAILING_PARTICLES + " ")
                break
        else:
            break
    return _reduplicated(clause.rstrip(TRAILING_PARTICLES + " "))


def _clause(clause: str, verbs: str, topics: str = "") -> Tuple[Optional[bool], bool]:
    """(answer, strong) for one clause; strong answers carry content, weak only confirm."""
    clause = _trim(clause)
    if not clause:
        return None, False
    if topics:
        # Topic first: 烟不卖 / 酒的话没有 / 招牌有的 — the question's word, then the answer.
        topic = re.fullmatch(rf"(?:{topics})(?:的话|呢|嘛|啊|吧|也|都)?(.+)", clause)
        if topic:
            value, _ = _clause(topic.group(1), verbs)
            if value is not None:
                return value, True
    if clause in WEAK_YES:
        return True, False
    if clause in WEAK_NO:
        return False, False
    # Negative: [adverbs] negation [adverbs] [verb + anything short]
    neg = re.fullmatch(rf"(?:{_ADV})*(?:{_NEG})(?:{_ADV})*(?:(?:{verbs})(.{{0,12}}))?", clause)
    if neg:
        rest = neg.group(1) or ""
        if any(c in rest for c in _NEG_CHARS):
            # 不卖烟也不卖酒 stays a no; 不是没有 and other mixtures are unclear.
            if not re.fullmatch(rf"[^{_NEG_CHARS}]*(?:(?:也|都|又|还)(?:{_NEG})[^{_NEG_CHARS}]*)+", rest):
                return None, False
        return False, True
    yes = re.fullmatch(rf"(?:{_ADV})*(?:{verbs})(.{{0,12}})", clause)
    if yes:
        if any(c in yes.group(1) for c in _NEG_CHARS):
            return None, False  # 有的不卖, 卖的不多 …
        return True, True
    return None, False


def parse_yes_no(text: str, context_words: Iterable[str] = ()) -> Optional[bool]:
    """True for a yes, False for a no, None for anything else.

    context_words are the question's own words that may carry the answer (e.g. 现做 for
    "是否现场制售食品？"), added to the common verbs 有/卖/经营/设置/办 ….
    """
    if not text or not text.strip():
        return None
    cleaned = _clean(text)
    if not cleaned:
        return None
    whole = _reduplicated(re.sub(r"[\s,，。.!！~]+", "", cleaned))
    if _is_question(whole) and whole not in WEAK_YES | WEAK_NO:
        return None
    if any(w in whole for w in UNSURE):
        return None
    context = [w.strip() for w in context_words if w and w.strip()]
    verbs = _alternation([*VERBS, *context])
    topics = _alternation(context) if context else ""
    results: List[Tuple[bool, bool]] = []
    for clause in _SPLIT.split(cleaned):
        if not clause or clause.startswith(CONNECTIVES):
            continue
        value, strong = _clause(clause, verbs, topics)
        if value is not None:
            results.append((value, strong))
    strong = [v for v, s in results if s]
    if strong:
        return strong[0] if all(v == strong[0] for v in strong) else None
    return results[0][0] if results else None
