"""What the bot says to a matter question, given what NLU found and what came before.

Kept apart from Rasa so the decisions (which matter is meant, when to ask back, when to
offer candidates, when to admit it does not know) are plain functions with tests. The
actions only translate a `Turn` (bot/dialogue/turn.py) into dispatcher messages and events.

Matter-first: citizens mostly name a matter or tell a situation ("护照", "身份证快过期了",
"社保卡丢了") and leave the question for later, and NLU's intent for such a message is
often a guess (inform, nlu_fallback, even greet). So every message is searched for a
matter and a situation whatever its intent, and the question type is read from how the
message asks (data/reference/question_cues.yml) apart from the matter. What the
conversation holds between turns lives in slots (`Context`): the matter in focus, the
candidates offered, the situations told and the unknown thing asked about, so a typed
"补办的" picks among the buttons and "要带什么" after "身份证快过期了" is not "哪个事项？".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.catalog.answers import TOPIC_BY_INTENT, TOPIC_LABELS, answer
from bot.catalog.cards import materials_card, overview_card
from bot.catalog.schema import Matter, Scenario
from bot.catalog.search import Hit, MatterIndex, Resolution, clean
from bot.dialogue import texts
from bot.dialogue.cues import HUMAN_BUTTON
from bot.dialogue.turn import KIND_KEY, Button, Said, Turn, button
from bot.text import normalize_text

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "data" / "reference"
#: What the matter dialogue says (data/texts/catalog.yml); the answers are answers.py's.
TEXTS = texts.load("catalog", {
    "not_found": ("name",), "not_found_told": ("name", "situations"),
    "unlisted": ("matter", "situations"), "offer_asked": (), "offer_told": (),
    "ask_matter": (), "ask_thing": ("situations",), "district_noted": ("district",),
    "received": (), "not_understood": (), "not_understood_twice": (), "out_of_scope": (),
})
INTENT_BY_TOPIC = {topic: intent for intent, topic in TOPIC_BY_INTENT.items()}
#: Extractors in the order their matter spans are trusted.
EXTRACTOR_PRIORITY = {"CatalogEntityRuler": 0, "DIETClassifier": 1}
#: A match found in the whole message (no entity) must be at least a full-length alias
#: with one typo; weaker ones could be chance hits in follow-ups like "那要多久？".
WHOLE_TEXT_CONFIDENT = 0.7
#: DIET's less certain matter spans are more often stray words ("提供") than names.
MIN_ENTITY_CONFIDENCE = 0.8
#: In a greeting, a thanks or a message NLU did not understand, a matter counts as named
#: only when a part of the message resolves at least this well on its own: a whole alias
#: (社保卡 0.79, 驾照 0.79, 护照 0.995), not a word of another request (去香港 in "帮我订一
#: 张去香港的机票": 0.61). Such messages were not meant as matter questions by NLU.
NAMED_CLEARLY = 0.75
#: … or a part that is wholly a word of some catalog name or alias at more than this:
#: 公积金 (0.71), 社保 (0.66), 落户 (0.66) name matters though no single one; a keyword
#: alone (关门 of 企业注销登记: 0.6) does not.
GENERIC_WORD = 0.62
#: The longest name of an unknown thing said back to the citizen.
MAX_THING = 20
#: A not-understood message longer than this is not read as naming an unknown thing:
#: a long text ending in "…证" is more often a story than a name.
SHORT_MESSAGE = 24
#: Cue, situation and name reading looks at the start of a message only (a 2,000
#: character complaint must cost what a short question does).
READ_CHARS = 400
#: … and at most this many of its parts are searched for a name.
MAX_SEGMENTS = 8
NONE = Resolution("none", ())

_PUNCT = re.compile(
    r"[\s,.;:!?'\"()\[\]{}<>/\\|~`@#$%^&*+=_\-，。；：！？、“”‘’（）《》【】…—·～]+"
)
_DIGITS = re.compile(r"\d{6}")
#: A choice among the buttons by its place ("第二个", "选1吧"). Grammar (a numeral with its
#: measure word and particles), readable only as one pattern, so it stays here, unlike the
#: question cues and situations of data/reference/.
_ORDINAL = re.compile(r"^(?:选|要|是|就)?第?([一二三四五12345])(?:个|项|种|条)?(?:吧|的|呢|啊)?$")
_ORDINALS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4}


# -- words (data/reference/question_cues.yml and situations.yml) -----------------------


@dataclass(frozen=True)
class Situation:
    """A situation citizens tell (丢了, 快到期, 第一次 …) and the catalog words that fit it."""

    id: str
    label: str
    words: Tuple[str, ...]
    selects: Tuple[str, ...]
    topic: Optional[str] = None
    say_unlisted: bool = False
    group: Optional[str] = None
    selects_alone: bool = True


def _alternation(phrases: Iterable[str]) -> "re.Pattern[str]":
    """One pattern, the longest phrase first at each place; ASCII ones as whole words."""
    parts = []
    for phrase in sorted(set(phrases), key=lambda p: (-len(p), p)):
        if phrase.isascii():
            parts.append(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])")
        else:
            parts.append(re.escape(phrase))
    return re.compile("|".join(parts)) if parts else re.compile("(?!)")


@lru_cache(maxsize=64)
def prepare(text: str) -> str:
    """The form every reading works on: normalised (Simplified, half-width), lower case,
    cut to READ_CHARS (before normalising: a long text costs what a short one does).
    Cached: one message is read several ways in a turn."""
    return normalize_text((text or "")[:READ_CHARS], max_chars=READ_CHARS).lower()


class Words:
    """Question cues, fillers, name endings and situations: data, loaded once."""

    def __init__(self, cues: Mapping[str, Sequence[str]], fillers: Sequence[str],
                 thing_endings: Sequence[str], situations: Sequence[Situation],
                 name_actions: Sequence[str]) -> None:
        self.topic_order = tuple(t for t in cues if t in TOPIC_LABELS)
        self.topic_of: Dict[str, str] = {}
        for topic in self.topic_order:
            for phrase in cues[topic]:
                self.topic_of.setdefault(str(phrase).lower(), topic)
        self.fillers = tuple(sorted({str(f) for f in fillers}, key=lambda f: (-len(f), f)))
        self.thing_endings = tuple(sorted({str(e) for e in thing_endings}, key=len, reverse=True))
        self.situations = tuple(situations)
        self.name_actions = tuple(name_actions)
        self.situation_of = {w: s for s in self.situations for w in s.words}
        self._cues = _alternation(self.topic_of)
        self._situation_words = _alternation(self.situation_of)
        self._splitter = re.compile(
            "|".join(p.pattern for p in (self._cues, self._situation_words, _PUNCT))
        )

    @classmethod
    def from_dir(cls, reference_dir: Path) -> "Words":
        cues = yaml.safe_load((reference_dir / "question_cues.yml").read_text("utf-8")) or {}
        sits = yaml.safe_load((reference_dir / "situations.yml").read_text("utf-8")) or {}
        situations = [
            Situation(
                id=str(s["id"]), label=str(s.get("label") or s["id"]),
                words=tuple(str(w) for w in s.get("words") or ()),
                selects=tuple(str(w) for w in s.get("selects") or ()),
                topic=s.get("topic"), say_unlisted=bool(s.get("say_unlisted")),
                group=s.get("group"), selects_alone=bool(s.get("selects_alone", True)),
            )
            for s in sits.get("situations") or []
        ]
        return cls(cues.get("topics") or {}, cues.get("fillers") or [],
                   cues.get("thing_endings") or [], situations, sits.get("name_actions") or [])

    def question_topic(self, text: str) -> Optional[str]:
        """The question type the wording asks, whatever the matter ("…需要什么条件" →
        eligibility); the first topic of the file's order when several are asked."""
        found = {self.topic_of[m.group(0)] for m in self._cues.finditer(prepare(text))}
        return next((t for t in self.topic_order if t in found), None)

    def situations_in(self, text: str) -> Tuple[Situation, ...]:
        found = {self.situation_of[m.group(0)].id for m in self._situation_words.finditer(prepare(text))}
        return tuple(s for s in self.situations if s.id in found)

    def by_ids(self, ids: Iterable[str]) -> Tuple[Situation, ...]:
        wanted = set(ids or ())
        return tuple(s for s in self.situations if s.id in wanted)

    def strip(self, piece: str) -> str:
        """Fillers off both ends, repeatedly ("我想问一下渔船登记的" → 渔船登记)."""
        changed = True
        while piece and changed:
            changed = False
            for filler in self.fillers:  # the longest first, afresh after every cut
                if piece.startswith(filler):
                    piece, changed = piece[len(filler):], True
                elif piece.endswith(filler):
                    piece, changed = piece[: len(piece) - len(filler)], True
                if changed:
                    break
        return piece

    def segments(self, text: str) -> Tuple[str, ...]:
        """What the message names: the text cut at question cues, situation words and
        punctuation, fillers taken off; "渔业捕捞许可证需要什么条件" → (渔业捕捞许可证,),
        "身份证快过期了" → (身份证,), "那要多久？" → ()."""
        pieces = (self.strip(p) for p in self._splitter.split(prepare(text)))
        return tuple(p for p in pieces if len(p) >= 2)[:MAX_SEGMENTS]

    def names_thing(self, piece: str) -> bool:
        """Whether a piece reads as the name of a licence, card, registration …"""
        return (
            2 <= len(piece) <= MAX_THING
            and any("\u4e00" <= ch <= "\u9fff" for ch in piece)
            and not _DIGITS.search(piece)
            and piece.endswith(self.thing_endings)
        )

    def stem(self, name: str) -> str:
        """A matter name without its action (社会保障卡申领 → 社会保障卡)."""
        bare = re.sub(r"[（(][^）)]*[）)]", "", name)
        for action in self.name_actions:
            if bare.endswith(action) and len(bare) - len(action) >= 2:
                return bare[: -len(action)]
        return bare


@lru_cache(maxsize=4)
def words(reference_dir: Path = REFERENCE_DIR) -> Words:
    return Words.from_dir(reference_dir)


# -- the conversation between turns -----------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What the conversation holds about matters (the slots of the same names)."""

    matter_code: Optional[str] = None  # the matter in focus, kept until another is named
    pending_topic: Optional[str] = None  # a question asked before its matter
    candidates: Tuple[str, ...] = ()  # matter_candidates: codes offered as buttons
    situations: Tuple[str, ...] = ()  # matter_situations: ids of the situations told
    unknown: Optional[str] = None  # unknown_matter: a thing asked about, not in the catalog
    district: Optional[str] = None

    @classmethod
    def from_slots(cls, slot: Callable[[str], Any]) -> "Context":
        return cls(
            matter_code=slot("matter_code"),
            pending_topic=slot("pending_topic"),
            candidates=tuple(slot("matter_candidates") or ()),
            situations=tuple(slot("matter_situations") or ()),
            unknown=slot("unknown_matter"),
            district=slot("district"),
        )


def matter_mentions(entities: Iterable[Mapping[str, Any]], text: str = "") -> List[str]:
    """The matter spans NLU found, most trusted first, without repeats. With the text,
    spans that stand next to each other in it are one name (`_joined`)."""
    found = [
        e
        for e in entities
        if e.get("entity") == "matter"
        and len(str(e.get("value") or "")) >= 2
        and float(e.get("confidence_entity") or 1.0) >= MIN_ENTITY_CONFIDENCE
    ]
    found.sort(key=lambda e: (EXTRACTOR_PRIORITY.get(e.get("extractor", ""), 9), -len(str(e["value"]))))
    out: List[str] = []
    for e in found:
        value = str(e["value"])
        if value not in out:
            out.append(value)
    return _joined(out, prepare(text)) if text and len(out) > 1 else out


#: Words that stand between two names, not inside one ("居住证和社保卡"): conjunctions and
#: punctuation, grammar kept in one pattern like _PUNCT.
_BETWEEN_NAMES = re.compile(r"[和与跟及或、，,。；;！!？?\s]|还有|以及")
#: At most this many characters between two spans of one name (渔业|捕捞|许可证).
_JOIN_GAP = 4


def _joined(mentions: List[str], text: str) -> List[str]:
    """DIET tags the known words of an unknown name apart: "渔业捕捞许可证" comes as 渔业
    and 许可证, and 许可证 alone would offer every licence of the catalog. Spans a few
    characters apart with nothing that separates names between them are one mention,
    which takes the place of its parts (first where its most trusted part was)."""
    located = sorted((text.find(m.lower()), m) for m in mentions if m.lower() in text)
    groups: List[List[Tuple[int, str]]] = []
    for start, mention in located:
        if groups:
            last_start, last = groups[-1][-1]
            gap = text[last_start + len(last):start]
            if 0 <= len(gap) <= _JOIN_GAP and not _BETWEEN_NAMES.search(gap):
                groups[-1].append((start, mention))
                continue
        groups.append([(start, mention)])
    whole = {}
    for group in groups:
        if len(group) > 1:
            name = text[group[0][0]:group[-1][0] + len(group[-1][1])]
            for _, part in group:
                whole[part] = name
    out: List[str] = []
    for mention in mentions:
        name = whole.get(mention, mention)
        if name not in out:
            out.append(name)
    return out


#: Characters of pronouns and particles: a part before a name that holds one is not a
#: part of the name ("我的驾驶证" asks about the driving licence).
_NOT_IN_NAMES = re.compile(r"[的我你他她它这那个些要想能在了吗呢啊吧]")


def widened_mentions(index: MatterIndex, mentions: Sequence[str], segments: Sequence[str]) -> List[str]:
    """A generic name word that DIET tagged alone at the end of a longer name (许可证 of
    渔业捕捞许可证; which words it tags apart differs from one training to the next)
    stands for that whole part of the message when the part names nothing in the
    catalog: the citizen asked about 渔业捕捞许可证, which we do not hold, not about every
    licence the catalog has. A word that names one matter, or a part the catalog knows,
    is left as it is."""
    out: List[str] = []
    for mention in mentions:
        whole = next((s for s in segments if s != mention and s.endswith(mention)), None)
        if (whole is not None and index.resolve(mention).kind == "ambiguous"
                and len(whole) - len(mention) >= 2
                and not _NOT_IN_NAMES.search(whole[: -len(mention)])
                and index.resolve(whole).kind == "none"):
            mention = whole
        if mention not in out:
            out.append(mention)
    return out


def first_entity(entities: Iterable[Mapping[str, Any]], kind: str) -> Optional[str]:
    return next((str(e["value"]) for e in entities if e.get("entity") == kind), None)


def understand_matter(
    index: MatterIndex, entities: List[Mapping[str, Any]], text: str,
    mentions: Optional[Sequence[str]] = None,
) -> Resolution:
    """Which matter the message names: from the entity spans (or `mentions`, what `read`
    made of them), else from the whole text.

    The whole text is searched too because DIET may miss a typo'd or new name; its result
    is used only when confident, so "那要多久？" does not match some matter by accident.
    """
    if mentions is None:
        mentions = matter_mentions(entities, text)
    resolutions = [index.resolve(mention) for mention in mentions]
    for resolution in resolutions:
        if resolution.kind == "unique":
            return resolution
    whole = index.resolve(text)
    if whole.kind == "unique" and whole.hits[0].score >= WHOLE_TEXT_CONFIDENT:
        return whole
    for resolution in resolutions:
        if resolution.kind == "ambiguous":
            return resolution
    if resolutions:
        return Resolution("none", ())
    if whole.kind == "ambiguous" and whole.hits[0].score >= 0.6:
        return whole
    return Resolution("none", ())


# -- reading one message ----------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One message as the dialogue sees it, apart from its intent."""

    text: str
    topic: Optional[str]  # the question type its wording asks
    situations: Tuple[Situation, ...]
    segments: Tuple[str, ...]  # what is left once cues, situation words, fillers are cut
    mentions: Tuple[str, ...]  # matter spans from NLU
    resolution: Resolution  # the catalog matter(s) it names


def read(
    index: MatterIndex, entities: Sequence[Mapping[str, Any]], text: str, strict: bool = False,
    vocabulary: Optional[Words] = None,
) -> Reading:
    """Question type, situations and matter of a message.

    A message made only of question words, situation words and fillers ("第一次办", "补办的",
    "那要多久？") names no matter, whatever the whole-text search finds in it (第一次办 is
    close to the alias 第一次办社保卡): the matter is then the one in focus or among the
    candidates offered. `strict`: the message was not taken as a matter question by NLU
    (a greeting, a thanks, not understood), so a matter counts only when a part of it
    names one clearly (NAMED_CLEARLY).
    """
    vocabulary = vocabulary or words()
    segments = vocabulary.segments(text)
    mentions = tuple(widened_mentions(index, matter_mentions(entities, text), segments))
    if not segments and not mentions:
        resolution = NONE
    elif strict and not (
        any(_resolves_clearly(index, s) for s in segments) or _resolves_clearly(index, prepare(text))
    ):
        resolution = NONE
    else:
        resolution = understand_matter(index, list(entities), text, mentions)
        if resolution.kind == "none":
            resolution = _segment_resolution(index, segments)
    return Reading(
        text=text, topic=vocabulary.question_topic(text),
        situations=vocabulary.situations_in(text), segments=segments,
        mentions=mentions, resolution=resolution,
    )


def _clear(hit: Hit, piece: str) -> bool:
    """A hit names the piece clearly: a strong match, or the piece is all of a word of a
    catalog name (公积金 in 公积金开户: 0.71, but nothing else is in the piece)."""
    return hit.score >= NAMED_CLEARLY or (hit.score >= GENERIC_WORD and clean(piece) in hit.matched)


def _resolves_clearly(index: MatterIndex, piece: str) -> bool:
    hits = index.search(piece, limit=1)
    return bool(hits) and _clear(hits[0], piece)


def _segment_resolution(index: MatterIndex, segments: Sequence[str]) -> Resolution:
    """A part of the message that names a matter clearly on its own, when the whole text
    does not: situation words around a name weaken the whole-text match ("社保卡帮别人办"
    0.55) though the name itself is plain (社保卡 0.79)."""
    for piece in segments:
        resolution = index.resolve(piece)
        if resolution.kind != "none" and resolution.hits[0].score >= NAMED_CLEARLY:
            return resolution
    return NONE


# -- situations and candidates ----------------------------------------------------------


def _holds(matter: Matter, word: str) -> bool:
    return word in matter.name or any(word in alias for alias in matter.aliases)


def _fits_by_name(matter: Matter, situations: Sequence[Situation]) -> bool:
    return any(_holds(matter, w) for s in situations for w in s.selects)


def scenario_for(matter: Matter, situations: Sequence[Situation]) -> Optional[Scenario]:
    """The matter's scenario the situations select: per situation, the first select word
    (most specific first) that a scenario name holds."""
    for situation in situations:
        for word in situation.selects:
            if word in matter.name:
                continue  # the matter itself is that case (申领 of 社会保障卡申领)
            for scenario in matter.scenarios:
                if word in scenario.name:
                    return scenario
    return None


def _fits(matter: Matter, situations: Sequence[Situation]) -> bool:
    return _fits_by_name(matter, situations) or scenario_for(matter, situations) is not None


def narrow(
    matters: Sequence[Matter], situations: Sequence[Situation], segments: Sequence[str] = ()
) -> List[Matter]:
    """The candidates the citizen's words point to; all of them when the words say
    nothing about which. A situation keeps the matters whose name or alias fits it
    (丢了 → 社会保障卡补换), else those with a fitting scenario (帮别人办 → both with
    委托他人代办); a word of the message keeps those whose name holds it ("申领的")."""
    if situations:
        by_name = [m for m in matters if _fits_by_name(m, situations)]
        if by_name:
            return by_name
        by_scenario = [m for m in matters if scenario_for(m, situations) is not None]
        if by_scenario:
            return by_scenario
    for piece in segments:
        said = [m for m in matters if _holds(m, piece) or any(a in piece for a in m.aliases)]
        if said and len(said) < len(matters):
            return said
    return list(matters)


def _ordinal_pick(matters: Sequence[Matter], text: str) -> List[Matter]:
    """"第二个", "1": the candidate at that place of the buttons."""
    match = _ORDINAL.match(_PUNCT.sub("", prepare(text)))
    if not match:
        return []
    place = _ORDINALS[match.group(1)]
    return [matters[place]] if place < len(matters) else []


def _family(index: MatterIndex, matter: Matter, vocabulary: Words) -> List[Matter]:
    """Matters of the same object (社会保障卡申领 → 申领 and 补换 of 社会保障卡)."""
    stem = vocabulary.stem(matter.name)
    if stem == matter.name:
        return []
    return [h.matter for h in index.resolve(stem).hits]


#: A situation alone selects matters across the catalog only when this few fit it
#: (公司不做了 → 企业注销登记; 刚生孩子 → 新生儿出生一件事, 生育津贴申领); 丢了 fits a dozen.
MAX_SELECTED = 3


def _selected_by(index: MatterIndex, situations: Sequence[Situation]) -> List[Matter]:
    """The matters whose name or alias fits a situation told without a matter."""
    telling = [s for s in situations if s.selects_alone]
    if not telling:
        return []
    fitting = [m for m in index.matters if _fits_by_name(m, telling)]
    return fitting if len(fitting) <= MAX_SELECTED else []


def _with_situations(
    index: MatterIndex, matter: Optional[Matter], situations: Sequence[Situation],
    vocabulary: Words,
) -> List[Matter]:
    """What a situation told now points to, given the matter in focus: the matter when it
    fits (or the situation is one every matter may have: 加急); its one sibling that fits
    ("社保卡申领" … "丢了" → 社会保障卡补换); else the few matters of the catalog that fit
    ("刚生孩子"); else the matter in focus still."""
    if matter is not None and (not situations or _fits(matter, situations)):
        return [matter]
    if matter is not None:
        fitting = [
            m for m in _family(index, matter, vocabulary)
            if m.code != matter.code and _fits_by_name(m, situations)
        ]
        if len(fitting) == 1:
            return fitting
        # a case of the matter (丢了, 第一次, 到期) stays with it; a life event told
        # meanwhile ("刚生孩子") may be about other matters
        situations = [s for s in situations if not s.group]
    return _selected_by(index, situations) or ([matter] if matter is not None else [])


def _merge(kept: Sequence[Situation], said: Sequence[Situation]) -> Tuple[Situation, ...]:
    """The situations told before and now; one told now replaces an earlier one of its
    group (丢了, then 第一次办)."""
    groups = {s.group for s in said if s.group}
    out = [s for s in kept if not (s.group and s.group in groups) and s not in said]
    return tuple(out) + tuple(said)


def _part_of(matter: Matter, piece: str) -> bool:
    """Whether a piece is something of the matter itself (身份证 in 居民身份证, one of its
    materials), not another matter."""
    texts = [m.name for m in matter.materials]
    for scenario in matter.scenarios:
        texts.append(scenario.name)
        texts.extend(m.name for m in scenario.materials)
    texts.extend(matter.conditions)
    return any(piece in t for t in texts)


# -- what a message points to -----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What the bot will talk about: one matter, candidates, an unknown thing, or nothing."""

    kind: str  # "matter" | "candidates" | "unknown" | "none"
    matter: Optional[Matter] = None
    candidates: Tuple[Matter, ...] = ()
    situations: Tuple[Situation, ...] = ()
    name: str = ""


def _unknown_thing(
    index: MatterIndex, reading: Reading, focus: Optional[Matter], vocabulary: Words
) -> Optional[str]:
    """The whole name of the thing asked about when the catalog does not hold it: the
    part of the message holding NLU's matter span (so "渔业捕捞许可证需要什么条件" says
    渔业捕捞许可证, not the span 渔业), else a part that reads as a name. A part of the
    matter in focus (its 身份证 material) is not another thing, unless a situation is told
    about it ("身份证丢了" is about the card itself)."""
    name = None
    for mention in reading.mentions:
        if index.resolve(mention).kind != "none":
            continue  # a catalog name, not named clearly enough here ("订张去香港的机票")
        name = next((s for s in reading.segments if mention in s), None) or mention
        break
    if name is None:
        name = next((s for s in reading.segments if vocabulary.names_thing(s)), None)
    if not name or _DIGITS.search(name) or index.resolve(name).kind != "none":
        return None  # the catalog has something for it: vague, not unknown ("社保")
    if not reading.situations:
        # a material asked about ("身份证要原件吗"): of the matter in focus, or of some
        # matter not named yet; only a situation makes it a thing of its own
        if focus is not None and _part_of(focus, name):
            return None
        if focus is None and name in _material_words(index):
            return None
    return name[:MAX_THING]


_MATERIALS: Dict[int, Tuple[MatterIndex, frozenset]] = {}


def _material_words(index: MatterIndex) -> frozenset:
    """Every material name of the catalog and its parts that read as names (居民身份证 →
    身份证), for one index (a new catalog version is a new index)."""
    cached = _MATERIALS.get(id(index))
    if cached is not None and cached[0] is index:
        return cached[1]
    names = set()
    for matter in index.matters:
        for material in list(matter.materials) + [m for s in matter.scenarios for m in s.materials]:
            name = re.sub(r"[（(][^）)]*[）)]", "", material.name)
            names.update(name[i:] for i in range(len(name) - 1))
    _MATERIALS.clear()
    _MATERIALS[id(index)] = (index, frozenset(names))
    return _MATERIALS[id(index)][1]


def decide(
    index: MatterIndex, reading: Reading, context: Context, *, question: bool,
    allow_unknown: bool = True, vocabulary: Optional[Words] = None,
) -> Target:
    """What the message is about, from what it names and what the conversation holds.

    In order: a matter it names (narrowed among candidates by the situation told); a
    choice among the candidates still offered ("补办的", "第一次办", "第二个"); an unknown
    thing it names; the same candidates again when it asks, or tells a situation of
    them, without choosing; the matter in focus for a question or a situation (moved to
    its sibling or to the few matters a situation selects, "社保卡申领" … "丢了"); the
    unknown thing asked about before. `question`: the message asks something (a bare
    remark without a situation does not fall back on the matter in focus).
    """
    vocabulary = vocabulary or words()
    said = reading.situations
    kept = vocabulary.by_ids(context.situations)
    offered = [m for m in (index.get(c) for c in context.candidates) if m is not None]
    resolution = reading.resolution
    # situations told before belong to a matter named now when it is the one in focus,
    # one of the candidates, or the first one named after them ("丢了" … "社保卡")
    unattached = context.matter_code is None and context.unknown is None
    if resolution.kind == "unique":
        matter = resolution.hits[0].matter
        same = unattached or matter.code == context.matter_code or matter.code in context.candidates
        return Target("matter", matter, situations=_merge(kept, said) if same else said)
    if resolution.kind == "ambiguous":
        hits = [h.matter for h in resolution.hits]
        among = [m for m in hits if m.code in context.candidates]
        pool = among or hits
        situations = _merge(kept, said) if among or unattached else said
        # the message's words choose among the candidates offered; among the search's own
        # hits only a situation does (their ranking already weighed the words)
        narrowed = narrow(pool, situations, reading.segments if among else ())
        chose = len(narrowed) < len(pool) or (narrowed and _fits(narrowed[0], said))
        if len(narrowed) == 1 and chose:  # a lone weak hit stays a question
            return Target("matter", narrowed[0], situations=situations)
        return Target("candidates", candidates=tuple(narrowed), situations=situations)
    if offered:
        situations = _merge(kept, said)
        picked = _ordinal_pick(offered, reading.text) or narrow(offered, said, reading.segments)
        if len(picked) == 1:
            return Target("matter", picked[0], situations=situations)
        if len(picked) < len(offered):
            return Target("candidates", candidates=tuple(picked), situations=situations)
    focus = index.get(context.matter_code) if context.matter_code else None
    if allow_unknown:
        name = _unknown_thing(index, reading, focus, vocabulary)
        if name:
            return Target("unknown", name=name, situations=said)
    if offered and (question or any(_fits(m, said) for m in offered)):
        # asked, or told of them, without choosing: the same choice again
        return Target("candidates", candidates=tuple(offered), situations=_merge(kept, said))
    if (focus is not None and question) or (said and (focus is not None or not reading.segments)):
        # without a matter in focus a situation selects across the catalog only when the
        # message names nothing else ("刚生孩子"; not "冰糖过期了")
        pointed = _with_situations(index, focus, said, vocabulary)
        situations = _merge(kept, said) if pointed == [focus] else said
        if len(pointed) == 1:
            return Target("matter", pointed[0], situations=situations)
        if pointed:
            return Target("candidates", candidates=tuple(pointed), situations=situations)
    if context.unknown and (question or said):
        return Target("unknown", name=context.unknown, situations=_merge(kept, said))
    return Target("none")


# -- replies ----------------------------------------------------------------------------


def _not_found(name: str, situations: Sequence[Situation] = ()) -> str:
    if situations:
        return TEXTS("not_found_told", name=name[:MAX_THING],
                     situations="、".join(s.label for s in situations))
    return TEXTS("not_found", name=name[:MAX_THING])


def candidate_buttons(hits: Iterable[Any], topic: Optional[str]) -> List[Button]:
    """Buttons naming each candidate (Hits or Matters), asking `topic` when one is pending."""
    intent = INTENT_BY_TOPIC.get(topic or "", "inform")
    matters = [h.matter if isinstance(h, Hit) else h for h in hits]
    return [button(m.name, f'/{intent}{{"matter": "{m.name}"}}') for m in matters]


def topic_buttons(matter: Matter) -> List[Button]:
    return [
        button(label, f'/{INTENT_BY_TOPIC[topic]}{{"matter": "{matter.name}"}}')
        for topic, label in TOPIC_LABELS.items()
    ]


def _unlisted_note(matter: Matter, situations: Sequence[Situation]) -> str:
    """Said when the citizen told a situation the matter lists nothing for (加急): the
    answer is the general one, and the citizen should know that."""
    missing = [s.label for s in situations if s.say_unlisted and not _fits(matter, [s])]
    if not missing:
        return ""
    return TEXTS("unlisted", matter=matter.name, situations="、".join(missing))


def _settle(turn: Turn, matter: Matter, situations: Sequence[Situation]) -> None:
    turn.slots.update(
        matter_code=matter.code, pending_topic=None, matter_candidates=None,
        unknown_matter=None, matter_situations=[s.id for s in situations] or None,
    )


def _answer_for(
    turn: Turn, matter: Matter, topic: str, district: Optional[str],
    situations: Sequence[Situation] = (),
) -> Turn:
    scenario = scenario_for(matter, situations)
    if topic == "materials":  # as text and as a card (bot/catalog/cards.py)
        card = materials_card(matter, scenario.name if scenario else None)
        turn.say(card["text"], custom=card)
    else:
        for text in answer(matter, topic, district, scenario.name if scenario else None):
            turn.say(text)
    note = _unlisted_note(matter, situations)
    if note:
        turn.say(note)
    _settle(turn, matter, situations)
    return turn


def _overview_for(turn: Turn, matter: Matter, situations: Sequence[Situation]) -> Turn:
    scenario = scenario_for(matter, situations)
    card = overview_card(matter, scenario.name if scenario else None,
                         _unlisted_note(matter, situations))
    turn.say(card["text"], topic_buttons(matter), custom=card)
    _settle(turn, matter, situations)
    return turn


def _offer(turn: Turn, target: Target, topic: Optional[str], question: bool) -> Turn:
    head = TEXTS("offer_asked" if question else "offer_told")
    turn.say(head, candidate_buttons(target.candidates, topic))
    turn.slots.update(
        matter_candidates=[m.code for m in target.candidates],
        matter_situations=[s.id for s in target.situations] or None,
    )
    if topic:
        turn.slots["pending_topic"] = topic
    return turn


def _admit(turn: Turn, target: Target) -> Turn:
    turn.say(_not_found(target.name, target.situations), [HUMAN_BUTTON])
    turn.slots.update(
        unknown_matter=target.name[:MAX_THING], matter_code=None, pending_topic=None,
        matter_candidates=None, matter_situations=[s.id for s in target.situations] or None,
    )
    return turn


def _question_turn(
    index: MatterIndex, topic: str, reading: Reading, context: Context,
    district: Optional[str], target: Optional[Target] = None,
) -> Turn:
    turn = Turn()
    target = target or decide(index, reading, context, question=True)
    if target.kind == "matter":
        return _answer_for(turn, target.matter, topic, district, target.situations)
    if target.kind == "candidates":
        return _offer(turn, target, topic, question=True)
    if target.kind == "unknown":
        return _admit(turn, target)
    turn.say(TEXTS("ask_matter"))
    turn.slots["pending_topic"] = topic
    return turn


def _matter_turn(
    index: MatterIndex, reading: Reading, context: Context, district: Optional[str],
    allow_unknown: bool,
) -> Optional[Turn]:
    """A message that names a matter or tells a situation without asking anything: the
    answer to the question asked before, else the matter's overview with the question
    types as buttons (or the situation's own question: 加急 → how long); candidates when
    it is not clear which; None when it names nothing."""
    turn = Turn()
    target = decide(index, reading, context, question=False, allow_unknown=allow_unknown)
    pending = context.pending_topic if context.pending_topic in TOPIC_LABELS else None
    if target.kind == "matter":
        if pending:
            return _answer_for(turn, target.matter, pending, district, target.situations)
        implied = next((s.topic for s in reading.situations if s.topic in TOPIC_LABELS), None)
        if implied:
            _answer_for(turn, target.matter, implied, district, target.situations)
            return turn.with_buttons(topic_buttons(target.matter))
        return _overview_for(turn, target.matter, target.situations)
    if target.kind == "candidates":
        return _offer(turn, target, pending, question=False)
    if target.kind == "unknown":
        return _admit(turn, target)
    if reading.situations and not reading.segments:
        # a situation without its matter ("丢了"): ask which, and keep the situation
        labels = "、".join(s.label for s in reading.situations)
        turn.say(TEXTS("ask_thing", situations=labels))
        turn.slots["matter_situations"] = [s.id for s in reading.situations]
        return turn
    return None


# -- entry points (one per kind of turn; the actions call these) ------------------------


def answer_question(
    index: MatterIndex,
    intent: str,
    entities: List[Mapping[str, Any]],
    text: str,
    context_code: Optional[str],
    district: Optional[str],
    *,
    context: Optional[Context] = None,
) -> Turn:
    """A reply to one of the ask_* intents (the question type is NLU's)."""
    context = context or Context(matter_code=context_code, district=district)
    district = first_entity(entities, "district") or district or context.district
    reading = read(index, entities, text)
    return _question_turn(index, TOPIC_BY_INTENT[intent], reading, context, district)


def handle_inform(
    index: MatterIndex,
    entities: List[Mapping[str, Any]],
    text: str,
    pending_topic: Optional[str],
    district: Optional[str],
    *,
    context: Optional[Context] = None,
) -> Turn:
    """A bare value: a matter name answering our question, or a matter to talk about.

    A message typed as inform that asks a question in its wording ("营业执照多少钱") is
    answered as that question.
    """
    context = context or Context(pending_topic=pending_topic, district=district)
    district = first_entity(entities, "district") or district or context.district
    reading = read(index, entities, text)
    gives_value = any(e.get("entity") not in (None, "matter") for e in entities)
    if reading.topic and not gives_value:  # "地址是浦东新区…" gives a value, asks nothing
        return _question_turn(index, reading.topic, reading, context, district)
    turn = _matter_turn(index, reading, context, district, allow_unknown=True)
    if turn is not None:
        return turn
    turn = Turn()
    if context.pending_topic in TOPIC_LABELS and not first_entity(entities, "district"):
        # we asked which matter, and this is not one the catalog holds
        name = _as_name(text)
        if name:
            return _admit(turn, Target("unknown", name=name))
    if first_entity(entities, "district") and context.pending_topic is None:
        turn.say(TEXTS("district_noted", district=district))
        return turn
    turn.say(TEXTS("received"))
    return turn


def _as_name(text: str) -> str:
    """The message as a name: normalised, punctuation and fillers off."""
    return words().strip(_PUNCT.sub("", prepare(text)))[:MAX_THING]


def _is_short(text: str) -> bool:
    """A message short enough to be a question or a name, not a story or a complaint."""
    return len(_PUNCT.sub("", prepare(text))) <= SHORT_MESSAGE


def fallback_turn(
    index: MatterIndex, entities: List[Mapping[str, Any]], text: str, context: Context,
) -> Optional[Turn]:
    """A message NLU did not understand, read matter-first; None when it still means
    nothing (the caller says so, and counts the streak).

    It is answered as a question when its wording asks one (NLU falls back on long and
    formal questions, and on questions about matters it never saw); as a matter or a
    situation when it names one clearly ("护照", "社保卡丢了") or chooses among the
    candidates offered ("补办的"); as the name we asked for when a question waits for its
    matter; as an unknown thing when a short message names one ("身份证快过期了").
    """
    district = first_entity(entities, "district") or context.district
    waiting = bool(context.pending_topic or context.candidates)
    short = _is_short(text)
    reading = read(index, entities, text, strict=not waiting)
    if not (short or waiting or reading.resolution.kind != "none"):
        # a long message naming no matter clearly is a story or a complaint, whatever
        # question words and situation words it holds ("…多少钱…", "…坏了…")
        return None
    if reading.topic:
        target = decide(index, reading, context, question=True, allow_unknown=short or waiting)
        if target.kind == "none":
            return None  # asks, but about nothing named ("到太湖怎么走"): not ours to guess
        return _question_turn(index, reading.topic, reading, context, district, target)
    turn = _matter_turn(index, reading, context, district, allow_unknown=short or waiting)
    if turn is not None:
        return turn
    if context.pending_topic in TOPIC_LABELS:
        name = _as_name(text)
        if name and short:
            return _admit(Turn(), Target("unknown", name=name))
    return None


def social_turn(
    index: MatterIndex, intent: str, entities: List[Mapping[str, Any]], text: str,
    context: Context,
) -> Optional[Turn]:
    """A greeting, thanks, small talk, yes/no or out-of-scope message that names a
    matter clearly ("你好，护照", "谢谢，那驾照呢"): the matter's turn; None to give the
    intent's usual answer (the matter was a chance word: "帮我订张去香港的机票").

    With a matter in focus, a short question that names nothing else is about that
    matter, whatever NLU made of it: after an answer about 护照, "嗯，那你知道电话吗？",
    "开放时间呢？" or "好的，地址在哪？" ask for the office's phone, hours or address
    (NLU reads such follow-ups as out_of_scope, chat or a yes, since travel and
    restaurant requests use the same words)."""
    reading = read(index, entities, text, strict=True)
    district = first_entity(entities, "district") or context.district
    if reading.resolution.kind == "none":
        if reading.topic and context.matter_code and _is_short(text):
            target = decide(index, reading, context, question=True, allow_unknown=False)
            if target.kind != "none":
                return _question_turn(index, reading.topic, reading, context, district, target)
        return None
    if reading.topic:
        return _question_turn(index, reading.topic, reading, context, district)
    return _matter_turn(index, reading, context, district, allow_unknown=False)


#: What the dialogue says when it did not understand a message, once and the second time
#: in a row (then a person takes over): the keys of their texts, and the kinds that mark
#: them in the conversation for `fallback_streak`.
NOT_UNDERSTOOD_ONCE, NOT_UNDERSTOOD_TWICE = "not_understood", "not_understood_twice"
NOT_UNDERSTOOD = frozenset({NOT_UNDERSTOOD_ONCE, NOT_UNDERSTOOD_TWICE})
#: The domain responses that said them before their words moved to data/texts: replies
#: stored earlier carry these names as their `utter_action` (and still count).
FORMER_RESPONSES = frozenset({"utter_default", "utter_default_twice"})


def not_understood(index: MatterIndex, said: Said, context: Context, streak: int) -> Turn:
    """A message NLU did not understand: read matter-first (`fallback_turn`); when it
    still means nothing, the bot says so, and the second time in a row (`streak`, from
    `fallback_streak`) hands the conversation over to a person."""
    turn = fallback_turn(index, list(said.entities), said.text, context)
    if turn is not None:
        return turn
    if streak >= 2:
        return Turn().say(TEXTS(NOT_UNDERSTOOD_TWICE), kind=NOT_UNDERSTOOD_TWICE).hand_over()
    return Turn().say(TEXTS(NOT_UNDERSTOOD_ONCE), kind=NOT_UNDERSTOOD_ONCE)


def says_not_understood(reply: Mapping[str, Any]) -> bool:
    """Whether a bot event is the not-understood reply: marked so, or (stored before the
    marker) said as the former domain response."""
    metadata = reply.get("metadata") or {}
    return (metadata.get(KIND_KEY) in NOT_UNDERSTOOD
            or metadata.get("utter_action") in FORMER_RESPONSES)


def fallback_streak(events: Iterable[Mapping[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood.

    A message NLU fell back on but the dialogue answered (a matter named, a question read
    from its wording) does not count: only those the bot replied to with its
    not-understood response (the latest message, not yet replied to, counts).
    """
    streak = 0
    replies: List[Mapping[str, Any]] = []
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "bot":
            replies.append(event)
            continue
        if kind != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        if replies and not any(says_not_understood(reply) for reply in replies):
            break
        streak += 1
        replies = []
    return streak
