"""Reading catalog files (YAML or JSON Lines) with the file and line of every entry.

A government's export is checked whole before anything is stored: the importer either
loads every entry or none, and each problem names the file and line to fix.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bot.catalog.schema import ENTRY, check_entry
from bot.validation import (
    LineMap, NotValidFile, Problem, Problems, field_name, read_yaml_file, repeated,
)

CATALOG_SUFFIXES = (".yml", ".yaml", ".jsonl")
UNIQUE_FIELDS = ("code", "name")

__all__ = ["CATALOG_SUFFIXES", "Problem", "SourcedEntry", "catalog_files", "read_catalog"]


@dataclass(frozen=True)
class SourcedEntry:
    """A raw entry and where it came from."""

    data: Dict[str, Any]
    source: str
    line: int


def catalog_files(path: Path) -> List[Path]:
    """The catalog files at path (a file, or a directory read recursively, sorted)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no catalog at {path}")
    return sorted(p for p in path.rglob("*") if p.suffix in CATALOG_SUFFIXES and p.is_file())


def _read_yaml(path: Path) -> Tuple[List[SourcedEntry], List[Problem]]:
    try:
        data, lines = read_yaml_file(path, unique_keys=False, root="")
    except NotValidFile as err:
        return [], [err.problem]
    if not isinstance(data, dict) or not isinstance(data.get("matters"), list):
        return [], [Problem(str(path), 1, "", "expected a mapping with a list under 'matters:'")]
    entries = [
        SourcedEntry(item, str(path), lines.line_of(field_name(("matters", index), data)))
        for index, item in enumerate(data["matters"])
    ]
    return entries, []


def _read_jsonl(path: Path) -> Tuple[List[SourcedEntry], List[Problem]]:
    entries, problems = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entries.append(SourcedEntry(json.loads(line), str(path), number))
            except json.JSONDecodeError as err:
                problems.append(Problem(str(path), number, "", f"not valid JSON: {err.msg}"))
    return entries, problems


def _entry_problems(entry: SourcedEntry) -> List[Problem]:
    """The entry's problems against the format, all at the entry's line."""
    code = entry.data.get("code", "") if isinstance(entry.data, dict) else ""
    problems = Problems(entry.source, LineMap.at(entry.line), root=ENTRY, code=str(code))
    check_entry(entry.data, problems.fail)
    return problems.found


def _repeated_values(entries: List[SourcedEntry]) -> List[Tuple[SourcedEntry, Problem]]:
    """A problem for each entry whose code or name an earlier entry already has."""
    found = []
    for key in UNIQUE_FIELDS:
        named = [e for e in entries if isinstance(e.data, dict) and isinstance(e.data.get(key), str)]
        for entry, first in repeated(named, lambda e: e.data[key]):
            message = f"{key} {entry.data[key]!r} already used at {first.source}:{first.line}"
            code = str(entry.data.get("code", ""))
            found.append((entry, Problem(entry.source, entry.line, code, message)))
    return found


def read_catalog(path: Path) -> Tuple[List[SourcedEntry], List[Problem]]:
    """All entries under path and every problem found in them.

    Checks each entry against the format, and codes and names for uniqueness across files.
    """
    entries: List[SourcedEntry] = []
    problems: List[Problem] = []
    for file in catalog_files(path):
        reader = _read_jsonl if file.suffix == ".jsonl" else _read_yaml
        found, bad = reader(file)
        entries.extend(found)
        problems.extend(bad)
    repeats: Dict[int, List[Problem]] = {}
    for entry, problem in _repeated_values(entries):
        repeats.setdefault(id(entry), []).append(problem)
    for entry in entries:
        problems.extend(_entry_problems(entry))
        problems.extend(repeats.get(id(entry), []))
    return entries, problems
