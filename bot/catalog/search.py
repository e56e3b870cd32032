"""Free-text matter search: the one resolver behind the web API and the actions.

Citizens name a matter by an alias inside a question ("居住证要带什么"), by part of the
canonical name ("社会保障卡"), by an abbreviation (社保卡 → 社会保障卡), with a typo
(居往证) or in Traditional characters. Each matter's name and aliases are terms; a term
scores by how it meets the query (contained in it, containing it, or within one edit of a
window of it) and by how much of the query's core it covers. jieba words of the query
found in a matter's name catch reordered wording ("租房提取住房公积金"). The index is
built once per catalog version and is read-only, so every process may hold its own.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Set, Tuple

import yaml
from rapidfuzz.distance import Levenshtein

from bot.catalog.schema import Matter
from bot.text import normalize_text

_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20!-/:-@\[-`{-~，。？！、；：“”‘’（）《》【】…—·]+")
_PAREN = re.compile(r"[（(]([^）)]*)[）)]")

#: Scores at or above this are a confident match for one matter.
CONFIDENT = 0.8
#: Below this a candidate is not worth showing.
MINIMUM = 0.42
#: Candidates within this distance of the best one make the answer ambiguous.
AMBIGUITY_MARGIN = 0.08


def clean(text: str) -> str:
    """Normalised, lower-case, without punctuation or spaces."""
    return _PUNCT.sub("", normalize_text(text).lower())


@dataclass(frozen=True)
class SearchVocabulary:
    """Data that tunes the search: abbreviations and question words."""

    synonyms: Tuple[Tuple[str, str], ...]
    question_phrases: Tuple[str, ...]

    @classmethod
    def from_file(cls, path: Path) -> "SearchVocabulary":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        synonyms = tuple((clean(k), clean(v)) for k, v in (data.get("synonyms") or {}).items())
        phrases = sorted({clean(p) for p in data.get("question_phrases") or []} - {""})
        return cls(synonyms, tuple(sorted(phrases, key=lambda p: (-len(p), p))))

    def expansions(self, query: str) -> List[str]:
        """The query and its form with abbreviations written out."""
        expanded = query
        for short, full in self.synonyms:
            if short in expanded and full not in expanded:
                expanded = expanded.replace(short, full)
        return [query] if expanded == query else [query, expanded]

    @property
    def _question_pattern(self) -> "re.Pattern[str]":
        # leftmost match first, the longest phrase where several start at one place;
        # the same text always gives the same core (no dependence on set order)
        return _compiled_alternation(self.question_phrases)

    def core(self, query: str) -> str:
        """The query without question words: what a matched name should cover."""
        core = query
        while True:
            shorter = self._question_pattern.sub("", core)
            if shorter == core:
                break
            core = shorter
        return core or query


@lru_cache(maxsize=8)
def _compiled_alternation(phrases: Tuple[str, ...]) -> "re.Pattern[str]":
    return re.compile("|".join(re.escape(p) for p in phrases)) if phrases else re.compile("(?!)")


@dataclass(frozen=True)
class Term:
    text: str
    matter: int
    weight: float  # 1.0 for names, a hair less for aliases, less for keywords


@dataclass(frozen=True)
class Hit:
    matter: Matter
    score: float
    matched: str


@dataclass(frozen=True)
class Resolution:
    """What a query resolves to: exactly one matter, a few candidates, or nothing."""

    kind: str  # "unique" | "ambiguous" | "none"
    hits: Tuple[Hit, ...]

    @property
    def matter(self) -> Matter | None:
        return self.hits[0].matter if self.kind == "unique" else None


def _term_texts(matter: Matter) -> Iterable[Tuple[str, float]]:
    yield matter.name, 1.0
    bare = _PAREN.sub("", matter.name)
    if bare != matter.name:
        yield bare, 0.9  # 住房公积金提取 names both 租房 and 购房: slightly less than a full name
    for alias in matter.aliases:
        yield alias, 0.995  # a canonical name typed exactly beats another matter's alias
    for keyword in matter.keywords:
        yield keyword, 0.6


class MatterIndex:
    """An immutable search index over one catalog version."""

    def __init__(self, matters: Sequence[Matter], vocabulary: SearchVocabulary) -> None:
        self.matters = list(matters)
        self.vocabulary = vocabulary
        self.by_code: Dict[str, Matter] = {m.code.upper(): m for m in self.matters}
        self.terms: List[Term] = []
        self._chars: Dict[str, Set[int]] = defaultdict(set)
        seen: Set[Tuple[str, int]] = set()
        for i, matter in enumerate(self.matters):
            for text, weight in _term_texts(matter):
                text = clean(text)
                if len(text) < 2 or (text, i) in seen:
                    continue
                seen.add((text, i))
                self.terms.append(Term(text, i, weight))
        for t, term in enumerate(self.terms):
            for ch in set(term.text):
                self._chars[ch].add(t)
        self._tokenizer = _tokenizer_with(t.text for t in self.terms)
        self._name_words: List[Set[str]] = [
            self._words(m.name) | {w for a in m.aliases for w in self._words(a)}
            for m in self.matters
        ]

    def _words(self, text: str) -> Set[str]:
        return {w for w in self._tokenizer.lcut(clean(text)) if len(w) >= 2}

    # -- scoring ---------------------------------------------------------------

    def _candidates(self, query: str) -> Set[int]:
        """Terms sharing enough characters with the query to possibly match."""
        counts: Dict[int, int] = defaultdict(int)
        for ch in set(query):
            for t in self._chars.get(ch, ()):
                counts[t] += 1
        out = set()
        for t, shared in counts.items():
            length = len(set(self.terms[t].text))
            if shared >= length - 1 or shared >= min(len(set(query)), 2):
                out.add(t)
        return out

    @staticmethod
    def _within_one_edit(term: str, query: str) -> bool:
        n = len(term)
        for size in (n - 1, n, n + 1):
            for start in range(0, max(0, len(query) - size) + 1):
                if Levenshtein.distance(term, query[start : start + size], score_cutoff=1) <= 1:
                    return True
        return False

    def _term_score(self, term: str, query: str, core: str) -> float:
        if term == query or term == core:
            return 1.0
        if term in query:
            quality, covered = 1.0, min(1.0, len(term) / max(1, len(core)))
        elif len(core) >= 2 and core in term:
            quality, covered = 0.92, len(core) / len(term)
        elif len(term) >= 3 and self._within_one_edit(term, query):
            quality, covered = 0.72, min(1.0, len(term) / max(1, len(core)))
        else:
            return 0.0
        return quality * (0.45 + 0.55 * covered)

    def _score_query(self, query: str) -> Dict[int, Tuple[float, str]]:
        core = self.vocabulary.core(query)
        best: Dict[int, Tuple[float, str]] = {}
        for t in sorted(self._candidates(query)):  # sorted: ties resolve the same every run
            term = self.terms[t]
            score = self._term_score(term.text, query, core) * term.weight
            if score > best.get(term.matter, (0.0, ""))[0]:
                best[term.matter] = (score, term.text)
        words = self._words(core)
        if words:
            for i, name_words in enumerate(self._name_words):
                found = words & name_words
                if found:
                    score = 0.75 * len(found) / len(words)
                    if score > best.get(i, (0.0, ""))[0]:
                        best[i] = (score, "+".join(sorted(found)))
        return best

    def search(self, text: str, limit: int = 10) -> List[Hit]:
        """Matters for a free-text query, best first."""
        exact = self.by_code.get(normalize_text(text).strip().upper())
        if exact is not None:
            return [Hit(exact, 1.0, exact.code)]
        query = clean(text)[:200]
        if not query:
            return []
        best: Dict[int, Tuple[float, str]] = {}
        for variant in self.vocabulary.expansions(query):
            for i, (score, matched) in self._score_query(variant).items():
                if score > best.get(i, (0.0, ""))[0]:
                    best[i] = (score, matched)
        ranked = sorted(
            best.items(), key=lambda kv: (-kv[1][0], -len(kv[1][1]), kv[0])
        )
        return [
            Hit(self.matters[i], round(score, 4), matched)
            for i, (score, matched) in ranked[:limit]
            if score >= MINIMUM
        ]

    def resolve(self, text: str, limit: int = 3) -> Resolution:
        """One matter when the best hit is confident and clearly ahead, else candidates."""
        hits = self.search(text, limit=max(limit, 5))
        if not hits:
            return Resolution("none", ())
        top = hits[0]
        rivals = [h for h in hits[1:] if h.score >= top.score - AMBIGUITY_MARGIN]
        if top.score >= CONFIDENT and not rivals:
            return Resolution("unique", (top,))
        close = [h for h in hits if h.score >= max(MINIMUM, top.score - 0.25)]
        if len(close) == 1 and top.score >= 0.6:
            return Resolution("unique", (top,))
        return Resolution("ambiguous", tuple(close[:limit]))

    def get(self, code: str) -> Matter | None:
        return self.by_code.get(code.upper())


def _tokenizer_with(words: Iterable[str]):
    """A private jieba tokenizer that knows the catalog's terms as words.

    Private so that adding catalog words never changes the tokenizer Rasa's pipeline uses.
    """
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in words:
        tokenizer.add_word(word, freq=2000)
    return tokenizer


def load_vocabulary(reference_dir: Path) -> SearchVocabulary:
    return SearchVocabulary.from_file(reference_dir / "search.yml")


def with_aliases(document: Mapping, extra: Iterable[str]) -> Mapping:
    """The document with `extra` aliases after its own (none repeated, as search
    compares them); the document itself when nothing is new."""
    known = {clean(document.get("name", ""))} | {clean(a) for a in document.get("aliases") or []}
    added = []
    for alias in extra:
        if clean(alias) and clean(alias) not in known:
            known.add(clean(alias))
            added.append(alias)
    if not added:
        return document
    return {**document, "aliases": [*(document.get("aliases") or []), *added]}


def build_index(
    documents: Iterable[Mapping],
    reference_dir: Path,
    reviewed: Mapping[str, Sequence[str]] | None = None,
) -> MatterIndex:
    """The index of the documents, each with the aliases supervisors added in review:
    `reviewed` (code → aliases, from the catalog database) and the mirror file of the
    reference directory (bot/catalog/reviewed.py), so they are names like any other."""
    from bot.catalog.reviewed import read_aliases

    extra: Dict[str, List[str]] = {}
    for source in (read_aliases(reference_dir), reviewed or {}):
        for code, aliases in source.items():
            extra.setdefault(code, []).extend(aliases)
    matters = [Matter.from_dict(with_aliases(d, extra.get(d.get("code"), ()))) for d in documents]
    return MatterIndex(matters, load_vocabulary(reference_dir))
