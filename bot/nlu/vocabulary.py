"""Names the NLU should know as words and entities, read from the catalog and reference data.

Both the jieba user dictionary and the entity ruler are generated from here, so a
government's own catalog teaches the NLU its matter names without new training examples.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import yaml

from bot.catalog.loader import read_catalog
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


def word_list(phrases: Dict[str, List[str]]) -> Dict[str, str]:
    """Words for segmentation and entity rules, each with its kind.

    Parenthesised parts of names become words of their own. A matter phrase that
    contains a shorter known phrase ("办居住证", "居住证申请") is left out, so jieba splits
    it at the known word, and tokens line up with how citizens' messages are annotated
    ([居住证](matter)申请). (The entity ruler keeps every phrase: search resolves them.) Districts and
    industries are always kept: they are annotated whole (浦东新区).
    """
    words: Dict[str, str] = {}
    for kind, values in phrases.items():
        for value in values:
            for piece in re.split(r"[（）()、，,\s]+", value):
                if len(piece) >= 2:
                    words.setdefault(piece, kind)
    return {
        w: kind
        for w, kind in words.items()
        if kind in ("district", "industry") or not any(o != w and o in w for o in words)
    }


def jieba_dictionary_lines(phrases: Dict[str, List[str]]) -> List[str]:
    """User-dictionary lines ("word freq tag") for jieba."""
    return sorted(f"{w} 2000 {TAGS[kind]}" for w, kind in word_list(phrases).items())


def main() -> None:
    """python -m bot.nlu.vocabulary OUT_DIR: writes OUT_DIR/userdict.txt for jieba."""
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
