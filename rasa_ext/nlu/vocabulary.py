"""Names the NLU should know as words and entities, read from the catalog and reference data.

Both the jieba user dictionary and the entity ruler are generated from here, so a
government's own catalog, and the aliases its supervisors add in review, teach the NLU
its matter names without new training examples.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml

from bot.catalog.loader import read_catalog
from bot.catalog.reviewed import read_aliases
from bot.text import normalize_text


def _reference(path: Path, key: str) -> Iterable[Tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in data.get(key) or []:
        yield item["name"], item["name"]
        for alias in item.get("aliases") or []:
            yield alias, item["name"]


def entity_phrases(catalog_dir: Path, reference_dir: Path) -> Dict[str, List[str]]:
    """Surface phrases per entity type: matter, district, industry (normalised, unique)."""
    entries, _problems = read_catalog(catalog_dir)
    matters: List[str] = []
    departments: List[str] = []
    for entry in entries:
        data = entry.data
        if not isinstance(data, dict):
            continue
        matters.append(data.get("name", ""))
        matters.extend(data.get("aliases") or [])
        departments.append(data.get("department", ""))
    # Aliases supervisors added in review (data/reference/reviewed_aliases.yml): matter
    # names like the catalog's own, so the next training segments and recognises them.
    for aliases in read_aliases(reference_dir).values():
        matters.extend(aliases)
    phrases = {
        "matter": matters,
        "district": [p for p, _ in _reference(reference_dir / "districts.yml", "districts")],
        "industry": [p for p, _ in _reference(reference_dir / "industries.yml", "industries")],
        "department": departments,
    }
    return {
        kind: sorted({normalize_text(p) for p in values if p and len(normalize_text(p)) >= 2})
        for kind, values in phrases.items()
    }


TAGS = {"matter": "nz", "district": "ns", "industry": "n", "department": "nt"}


#: What citizens put around a matter's name when they say what happened or what they
#: want; the name inside is the word (驾照丢了 → 驾照, 办个体户 → 个体户). Not 开: 开工许可.
ACTION_PREFIXES = ("补办", "注册", "申领", "申请", "办", "补", "换")
SITUATION_SUFFIXES = ("期满换证", "丢了", "遗失", "到期", "过期", "补办", "补证", "补换",
                      "换证", "换领", "注册", "办理", "新办", "申领", "申请",
                      # how citizens' own words, added as aliases in review, say it
                      "没了", "掉了", "坏了", "不见了", "丢失", "损坏")


def _base_words(piece: str) -> Iterable[str]:
    """The name inside a phrase of action or situation words (at least 2 characters)."""
    for prefix in ACTION_PREFIXES:
        if piece.startswith(prefix) and len(piece) - len(prefix) >= 2:
            yield piece[len(prefix):]
    for suffix in SITUATION_SUFFIXES:
        if piece.endswith(suffix) and len(piece) - len(suffix) >= 2:
            yield piece[: -len(suffix)]


def _kept(word: str, words: Dict[str, str]) -> bool:
    """A matter word is left out when it contains a shorter known word, so jieba splits
    it there (办居住证 → 办 | 居住证), except a compound noun one character longer
    (食品经营许可证 beside 食品经营许可, 年检贴 beside 年检): split, its head would
    stick to the next word (证要, 贴要) and no annotation could line up."""
    return not any(o != word and o in word and not (word.startswith(o) and len(word) == len(o) + 1)
                   for o in words)


def word_list(phrases: Dict[str, List[str]]) -> Dict[str, str]:
    """Words for segmentation and entity rules, each with its kind.

    Parenthesised parts of names become words of their own, and so do the names inside
    phrases of action or situation words (`_base_words`). A matter phrase that contains a
    shorter known phrase is left out (`_kept`), so tokens line up with how citizens'
    messages are annotated ([居住证](matter)申请, [驾照](matter)丢了). (The entity ruler
    keeps every phrase: search resolves them.) Districts and industries are always kept:
    they are annotated whole (浦东新区).
    """
    words: Dict[str, str] = {}
    for kind, values in phrases.items():
        for value in values:
            for piece in re.split(r"[（）()、，,\s]+", value):
                if len(piece) >= 2:
                    words.setdefault(piece, kind)
                    if kind == "matter":
                        for base in _base_words(piece):
                            words.setdefault(base, kind)
    return {w: kind for w, kind in words.items()
            if kind in ("district", "industry") or _kept(w, words)}


def jieba_dictionary_lines(phrases: Dict[str, List[str]]) -> List[str]:
    """User-dictionary lines ("word freq tag") for jieba."""
    return sorted(f"{w} 2000 {TAGS[kind]}" for w, kind in word_list(phrases).items())


def main() -> None:
    """python -m rasa_ext.nlu.vocabulary OUT_DIR: writes OUT_DIR/userdict.txt for jieba."""
    import sys

    from bot import settings

    cfg = settings.load()
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    lines = jieba_dictionary_lines(entity_phrases(cfg.catalog_dir, cfg.reference_dir))
    (out / "userdict.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} words to {out / 'userdict.txt'}")


if __name__ == "__main__":
    main()
