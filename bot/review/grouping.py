"""What the bot failed to understand, grouped so a supervisor reads 30 groups, not 3,000
messages: similar misses together (TF-IDF and agglomerative clustering), unknown matters
by the name citizens used.

Features. Citizens' misses are short (4–30 characters), full of typos and colloquial
words, so no single view of the text is enough:
- jieba words (with the project's user dictionary, build/jieba/userdict.txt, when it has
  been built: it knows the catalog's matter names as words) carry the topic (社保卡,
  公积金, 广场舞);
- character 2–3-grams survive what segmentation does not: typos (设保卡 still shares 保卡),
  unknown compounds (小电驴), and words jieba cuts differently in different sentences.
Both are TF-IDF weighted (sublinear tf, so a word repeated in a rambling complaint does
not dominate), L2-normalised and joined side by side. Question and filler words (怎么,
需要, 什么, 吗 …) are removed first: they are in every kind of miss, and two questions
that share only "要带什么" are not the same problem.

Clustering. AgglomerativeClustering with cosine distance and average linkage, cut at a
distance threshold: the number of groups is not known in advance (it is what the
supervisor wants to learn), and average linkage does not chain two topics together
through one message that mentions both, as single linkage would. DBSCAN (cosine) was
the other candidate: on the scripted set its best adjusted Rand index was 0.38 (a
radius that keeps topics apart leaves 40–80 of 200 messages as noise; a wider one
chains everything into one cluster), and noise is not something a supervisor can label.

The threshold. Two short misses about one topic mostly share one or two words, so the
average similarity of two halves of a topic is low, and the cut sits near 1: on
tests/bot/review/misses_200.yml (10 topics of 20) every topic keeps ≥ 80% of itself in
a group of its own for thresholds 0.966–0.984 (WORD_WEIGHT 0.25; adjusted Rand index
0.924 at 0.975, the middle); below, topics split into phrasings (0.95: ARI 0.87, a
topic's largest part 11 of 20), above, topics merge (0.985: ARI 0.82, two topics share a group).

Bounds. At most MAX_MISSES (the newest by timestamp) are grouped: average linkage needs
the full distance matrix (n² floats: 3,000 → 72 MB, a few seconds); older misses wait
for the next review. Each text is cut to MAX_CHARS before any per-character work (its
beginning and its end: citizens who tell a story first ask their question last).
"""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.dialogue import texts
from bot.dialogue.texts import Table
from bot.text import normalize_text

#: The newest misses grouped at most (the rest wait: see the module's docstring).
MAX_MISSES = 3000
#: Characters of a text read at most (head and tail, see `_cut`).
MAX_CHARS = 200
#: Of MAX_CHARS, the characters taken from the text's end.
TAIL_CHARS = 60
#: Cosine distance at which two groups are no longer merged (average linkage): the
#: middle of the window that keeps the scripted set's topics apart (module docstring).
DISTANCE_THRESHOLD = 0.975
#: Share of the word features in a cosine similarity (the rest is character n-grams):
#: n-grams carry typos and unknown compounds; 0.25 kept the widest working window of
#: thresholds on the scripted set (0.3: 0.970–0.984, 0.5: 0.975–0.985).
WORD_WEIGHT = 0.25
#: Examples shown per group.
EXAMPLES = 5
#: Words in a group's title.
TITLE_WORDS = 3

SIMILAR = "similar"
UNKNOWN_MATTER = "unknown_matter"

USER_DICTIONARY = Path(__file__).resolve().parents[2] / "build" / "jieba" / "userdict.txt"

#: Words every kind of question holds (how, what, where, can, need …), particles and
#: politeness (你好, 谢谢, 在线等): they would make two misses about different things
#: look alike (with 60% of the scripted set given a greeting or a thanks, the adjusted
#: Rand index fell from 0.92 to 0.79 before the politeness words were added here). Not topic words: 办
#: alone is filler, 补办 is not.
FILLER = frozenset("""
的 了 吗 呢 吧 啊 呀 哦 嘛 么 哈 哈哈 是 在 有 和 与 及 或 还 也 都 就 又 再 很 太 能 能不能 会 会不会
可以 可不可以 要 需要 想 想要 请问 请 问 一下 下 您好 你好 您 你 我 我们 我家 他 她 它 他们 这 那
这个 那个 这边 那边 这里 那里 怎么 怎么办 怎样 怎么样 如何 什么 啥 咋 哪 哪里 哪儿 哪个 哪些 哪家
几 多少 多久 多长时间 为什么 谁 是不是 有没有 没有 不 没 个 一 把 被 给 让 去 来 到 从 对 跟
办 办理 弄 搞 现在 已经 还是 然后 但是 可是 因为 所以 如果 就是 还有 一个 什么样 之类
谢谢 谢了 谢谢您 感谢 多谢 麻烦 麻烦了 咨询 问问 问下 客服 人工 在线 在线等 等 急 在吗 亲 嗯 呃 好 好的
""".split())

_NOT_WORD = re.compile(r"[^\w]+|_+")


@dataclass(frozen=True)
class Group:
    """One group of misses, as the review page and `make review` show it.

    `key` stays the same while a group grows: a similarity group is named by its oldest
    member's id (new misses have larger ids, so the name holds until that miss is
    labelled or ages out), an unknown-matter group by its normalised name. A hash of
    the title would change whenever a new member shifts the top words.
    """

    key: str
    kind: str
    title: str
    ids: Tuple[int, ...]
    size: int
    examples: Tuple[str, ...]
    days: Dict[str, int]
    guess: Optional[Tuple[str, float]]
    kinds: Counter = field(default_factory=Counter)
    latest: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        """Plain JSON-ready values (for the desk's page)."""
        data = asdict(self)
        data["ids"], data["examples"] = list(self.ids), list(self.examples)
        data["guess"] = list(self.guess) if self.guess else None
        data["kinds"] = dict(self.kinds)
        return data


# -- text -------------------------------------------------------------------------------


def _cut(text: str) -> str:
    """At most MAX_CHARS raw characters: the beginning and the end (slicing only, so a
    10 MB text costs what a short one does)."""
    text = text or ""
    if len(text) <= MAX_CHARS:
        return text
    return text[: MAX_CHARS - TAIL_CHARS] + " " + text[-TAIL_CHARS:]


def prepared(text: str) -> str:
    """Cut, normalised (simplified, half-width), lower case, punctuation as spaces."""
    return _NOT_WORD.sub(" ", normalize_text(_cut(text)).lower()).strip()


@lru_cache(maxsize=1)
def _segmenter():
    """A private jieba tokenizer (the global one is Rasa's), with the project's user
    dictionary when it has been built (make build/jieba/userdict.txt, before training):
    the catalog's names as words."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if USER_DICTIONARY.exists():
        tokenizer.load_userdict(str(USER_DICTIONARY))
    return tokenizer


def words(text: str) -> List[str]:
    """The topic words of a prepared text: jieba words without filler and spaces."""
    return [w for w in _segmenter().lcut(text) if w.strip() and w not in FILLER]


# -- features and clusters -----------------------------------------------------------------


@dataclass(frozen=True)
class _Features:
    """Joined rows (L2-normalised, sparse), and the word TF-IDF rows with their words
    (for titles)."""

    rows: Any
    word_rows: Any
    vocabulary: Tuple[str, ...]


def _features(documents: Sequence[str]) -> Optional[_Features]:
    """Word and character TF-IDF of prepared texts, side by side; None when no text has
    a single feature. The parts are weighted by the square root of their share so their
    share of a cosine similarity is WORD_WEIGHT and 1 - WORD_WEIGHT."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    tokens = [words(t) for t in documents]
    contents = [" ".join(row) for row in tokens]
    word_rows, vocabulary = csr_matrix((len(documents), 0)), ()
    parts = []
    if any(tokens):
        vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
        word_rows = vectorizer.fit_transform(tokens)
        vocabulary = tuple(vectorizer.get_feature_names_out())
        parts.append(word_rows * WORD_WEIGHT ** 0.5)
    try:
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
        parts.append(chars.fit_transform(contents) * (1 - WORD_WEIGHT) ** 0.5)
    except ValueError:  # no text of two characters: no n-gram at all
        pass
    if not parts:
        return None
    return _Features(normalize(hstack(parts).tocsr()), word_rows.tocsr(), vocabulary)


def _identity(row: List[str]) -> List[str]:
    """The analyzer of already segmented rows (a named function: pickles, unlike a lambda)."""
    return row


def _labels(features: Optional[_Features], n: int, threshold: float) -> List[int]:
    """A cluster number per row: average-linkage agglomerative clustering on cosine
    distance, cut at `threshold`; a row without features stays alone."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    if n < 2 or features is None:
        return list(range(n))
    similarity = (features.rows @ features.rows.T).toarray().astype(np.float32)
    distance = np.clip(1.0 - similarity, 0.0, 1.0)
    empty = np.asarray(features.rows.getnnz(axis=1) == 0)
    distance[empty, :] = 1.0  # a text without features resembles nothing
    distance[:, empty] = 1.0
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(n_clusters=None, affinity="precomputed", linkage="average",
                                    distance_threshold=threshold)
    return [int(label) for label in model.fit_predict(distance)]


def cluster_labels(documents: Sequence[str], threshold: float = DISTANCE_THRESHOLD) -> List[int]:
    """A cluster number per prepared text (for measuring the method on labelled sets)."""
    return _labels(_features(documents) if documents else None, len(documents), threshold)


# -- groups -------------------------------------------------------------------------------


def _newest(misses: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The newest MAX_MISSES misses, newest first (ties by id: the same set in any order
    gives the same groups)."""
    ordered = sorted(misses, key=lambda m: (-float(m.get("timestamp") or 0), -int(m["id"])))
    return ordered[:MAX_MISSES]


def matter_name(name: Optional[str]) -> str:
    """The form under which unknown-matter names are grouped: normalised, lower case,
    without punctuation or spaces (社保卡 补办！ and 社保卡补办 are one name)."""
    return _NOT_WORD.sub("", normalize_text(_cut(name or "")).lower())


def _guess(members: Sequence[Mapping[str, Any]]) -> Optional[Tuple[str, float]]:
    """The bot's most common captured intent and its share of the group (misses without
    an intent count in the share's denominator: the bot had no guess for them)."""
    counts = Counter(m.get("intent") for m in members if m.get("intent"))
    if not counts:
        return None
    intent, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
    return intent, count / len(members)


def _example(text: str) -> str:
    return re.sub(r"\s+", " ", _cut(text)).strip()


def _distinct_examples(ordered: Iterable[Mapping[str, Any]], key) -> Tuple[str, ...]:
    """At most EXAMPLES texts in the given order, one per prepared form."""
    seen, out = set(), []
    for miss in ordered:
        form = key(miss)
        if form in seen:
            continue
        seen.add(form)
        out.append(_example(miss.get("text") or ""))
        if len(out) == EXAMPLES:
            break
    return tuple(out)


def _group(key: str, kind: str, title: str, members: Sequence[Mapping[str, Any]],
           examples: Tuple[str, ...]) -> Group:
    days = Counter(str(m.get("day") or "") for m in members)
    return Group(
        key=key, kind=kind, title=title,
        ids=tuple(sorted(int(m["id"]) for m in members)),
        size=len(members),
        examples=examples,
        days=dict(sorted(days.items())),
        guess=_guess(members),
        kinds=Counter(str(m.get("kind")) for m in members),
        latest=max(float(m.get("timestamp") or 0) for m in members),
    )


def _unknown_matter_groups(misses: Sequence[Mapping[str, Any]]) -> List[Group]:
    """One group per normalised unknown-matter name; titled by its most used spelling,
    examples the most repeated phrasings first."""
    by_name: Dict[str, List[Mapping[str, Any]]] = {}
    for miss in misses:
        by_name.setdefault(matter_name(miss.get("unknown_matter")), []).append(miss)
    groups = []
    for name, members in by_name.items():
        spellings = Counter(re.sub(r"\s+", "", _cut(m.get("unknown_matter") or ""))
                            for m in members)
        title = min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]
        phrasings = Counter(prepared(m.get("text") or "") for m in members)
        ordered = sorted(members, key=lambda m: -phrasings[prepared(m.get("text") or "")])
        key = "m-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
        groups.append(_group(key, UNKNOWN_MATTER, title, members,
                             _distinct_examples(ordered, lambda m: prepared(m.get("text") or ""))))
    return groups


def _title(features: Optional[_Features], rows: Sequence[int], fallback: str) -> str:
    """The group's TITLE_WORDS heaviest words (summed TF-IDF), or its most typical text."""
    import numpy as np

    if features is None or not features.vocabulary:
        return fallback
    weights = np.asarray(features.word_rows[list(rows)].sum(axis=0)).ravel()
    order = sorted((i for i in np.flatnonzero(weights)),
                   key=lambda i: (-round(float(weights[i]), 9), features.vocabulary[i]))
    # whole words before single characters (上, 牌 …), which say little alone
    ranked = ([features.vocabulary[i] for i in order if len(features.vocabulary[i]) > 1]
              + [features.vocabulary[i] for i in order if len(features.vocabulary[i]) == 1])
    top = ranked[:TITLE_WORDS]
    return "、".join(top) if top else fallback


def _typical_order(features: Optional[_Features], rows: Sequence[int]) -> List[int]:
    """Rows nearest the group's centroid first (ties: newest first, as given)."""
    import numpy as np

    if features is None or len(rows) < 2:
        return list(rows)
    block = features.rows[list(rows)]
    centroid = np.asarray(block.mean(axis=0)).ravel()
    scores = block @ centroid
    return [row for _, _, row in sorted((-round(float(s), 9), i, row)
                                        for i, (s, row) in enumerate(zip(scores, rows)))]


def _similar_groups(misses: Sequence[Mapping[str, Any]], threshold: float) -> List[Group]:
    documents = [prepared(m.get("text") or "") for m in misses]
    features = _features(documents) if misses else None
    clusters: Dict[int, List[int]] = {}
    for row, label in enumerate(_labels(features, len(misses), threshold)):
        clusters.setdefault(label, []).append(row)
    groups = []
    for rows in clusters.values():
        members = [misses[r] for r in rows]
        ordered = [misses[r] for r in _typical_order(features, rows)]
        title = _title(features, rows, _example(ordered[0].get("text") or "")[:20])
        key = f"s-{min(int(m['id']) for m in members)}"
        groups.append(_group(key, SIMILAR, title, members,
                             _distinct_examples(ordered, lambda m: prepared(m.get("text") or ""))))
    return groups


def group_misses(misses: Iterable[Mapping[str, Any]], *,
                 threshold: float = DISTANCE_THRESHOLD) -> List[Group]:
    """The newest MAX_MISSES misses in groups: unknown matters by the name citizens used
    (kind 'unknown_matter'), the rest by similarity (kind 'similar'). Largest groups
    first (then the most recent); groups of one after all others."""
    chosen = _newest(misses)
    unknown = [m for m in chosen if m.get("kind") == "unknown_matter"
               and matter_name(m.get("unknown_matter"))]
    unknown_ids = {id(m) for m in unknown}
    rest = [m for m in chosen if id(m) not in unknown_ids]
    groups = _unknown_matter_groups(unknown) + _similar_groups(rest, threshold)
    return sorted(groups, key=lambda g: (g.size == 1, -g.size, -g.latest, g.key))


# -- make review ------------------------------------------------------------------------------

TEXTS = texts.load("review", {
    "groups_header": ("shown", "total"),
    "groups_columns": (),
    "groups_none": (),
    "groups_no_guess": (),
    "groups_kinds": Table((SIMILAR, UNKNOWN_MATTER)),
})

#: Display widths of the table's columns (a Chinese character is two wide).
_COLUMNS = (6, 10, 32)
#: Characters of an example shown in the table.
_EXAMPLE_CHARS = 60
#: Examples per group in the table.
_TABLE_EXAMPLES = 3


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    """`text` cut and padded to a display width (for a table read in a terminal)."""
    out = ""
    for ch in text:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + " " * (width - _width(out))


def format_groups(groups: Sequence[Group], limit: int = 10) -> str:
    """The largest `limit` groups as a plain text table (`make review`): size, kind,
    title, the bot's guess and three examples each."""
    if not groups:
        return TEXTS("groups_none")
    kinds = TEXTS.table("groups_kinds")
    shown = list(groups[:max(limit, 0)])
    lines = [TEXTS("groups_header", shown=len(shown), total=len(groups)),
             TEXTS("groups_columns")]
    for group in shown:
        guess = (f"{group.guess[0]} {group.guess[1]:.0%}" if group.guess
                 else TEXTS("groups_no_guess"))
        size, kind, title = (_pad(str(group.size), _COLUMNS[0]),
                             _pad(kinds.get(group.kind, group.kind), _COLUMNS[1]),
                             _pad(group.title, _COLUMNS[2]))
        lines.append(f"{size}{kind}{title}{guess}")
        for example in group.examples[:_TABLE_EXAMPLES]:
            lines.append(" " * _COLUMNS[0] + "· " + example[:_EXAMPLE_CHARS])
    return "\n".join(lines)
