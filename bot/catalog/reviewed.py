"""Matter aliases that supervisors added in review, as a data file training reads.

The running services take reviewed aliases from SQL (bot/catalog/store.py), at once.
Training does not read the database: the same aliases are mirrored in
data/reference/reviewed_aliases.yml (code → aliases with who added them and when), which
the jieba dictionary and the catalog entity ruler (rasa_ext/nlu/vocabulary.py) and the
search index (bot/catalog/search.py) read beside the catalog, so the NLU recognises an
alias after the next training and a fresh database's search knows it too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import yaml

from bot.files import directory_lock, write_atomically
from bot.text import normalize_text

FILE_NAME = "reviewed_aliases.yml"

HEADER = """\
# Matter aliases added by supervisors in the desk's review of missed messages
# (bot/review/labels.py add_alias), mirrored from the catalog database so that training
# learns them (rasa_ext/nlu/vocabulary.py) and search knows them (bot/catalog/search.py).
# Written by the program, one rename at a time; remove an entry here and in the
# database's catalog_reviewed_aliases table to take an alias back.
"""


def _entries(path: Path) -> Dict[str, List[dict]]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    aliases = data.get("aliases") if isinstance(data, dict) else None
    if not isinstance(aliases, dict):
        return {}
    out: Dict[str, List[dict]] = {}
    for code, items in aliases.items():
        for item in items or []:
            entry = item if isinstance(item, dict) else {"alias": item}
            if isinstance(entry.get("alias"), str) and entry["alias"].strip():
                out.setdefault(str(code), []).append(entry)
    return out


def read_aliases(path: Path) -> Dict[str, List[str]]:
    """code → reviewed aliases of a mirror file (a missing file holds none). `path` may
    be the reference directory."""
    if path.is_dir():
        path = path / FILE_NAME
    return {code: [e["alias"] for e in entries] for code, entries in _entries(path).items()}


def add_to_file(path: Path, code: str, alias: str, by: str, at: str) -> bool:
    """Adds one alias to the mirror file; False when the code already has it."""
    with directory_lock(path.parent):
        entries = _entries(path)
        known = {normalize_text(e["alias"]) for e in entries.get(code, [])}
        if normalize_text(alias) in known:
            return False
        entries.setdefault(code, []).append({"alias": alias, "added_by": by, "added_at": at})
        ordered = {c: entries[c] for c in sorted(entries)}
        body = yaml.safe_dump({"aliases": ordered}, allow_unicode=True, sort_keys=False,
                              default_flow_style=False, width=1000)
        write_atomically(path, HEADER + body)
    return True
