"""Reading catalog files (YAML or JSON Lines) with the file and line of every entry.

A government's export is checked whole before anything is stored: the importer either
loads every entry or none, and each problem names the file and line to fix.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from bot.catalog.schema import validate_entry

CATALOG_SUFFIXES = (".yml", ".yaml", ".jsonl")


@dataclass(frozen=True)
class SourcedEntry:
    """A raw entry and where it came from."""

    data: Dict[str, Any]
    source: str
    line: int


@dataclass(frozen=True)
class Problem:
    source: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.code or '-'}: {self.message}"


def catalog_files(path: Path) -> List[Path]:
    """The catalog files at path (a file, or a directory read recursively, sorted)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no catalog at {path}")
    return sorted(p for p in path.rglob("*") if p.suffix in CATALOG_SUFFIXES and p.is_file())


def _read_yaml(path: Path) -> Tuple[List[SourcedEntry], List[Problem]]:
    text = path.read_text(encoding="utf-8")
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return [], [Problem(str(path), line, "", f"not valid YAML: {err}".splitlines()[0])]
    if not isinstance(data, dict) or not isinstance(data.get("matters"), list):
        return [], [Problem(str(path), 1, "", "expected a mapping with a list under 'matters:'")]
    items_node = next(v for k, v in node.value if k.value == "matters")
    entries = [
        SourcedEntry(item, str(path), item_node.start_mark.line + 1)
        for item, item_node in zip(data["matters"], items_node.value)
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

    seen: Dict[Tuple[str, str], SourcedEntry] = {}
    for entry in entries:
        code = entry.data.get("code", "") if isinstance(entry.data, dict) else ""
        for message in validate_entry(entry.data):
            problems.append(Problem(entry.source, entry.line, str(code), message))
        if not isinstance(entry.data, dict):
            continue
        for key in ("code", "name"):
            value = entry.data.get(key)
            if not isinstance(value, str):
                continue
            first = seen.setdefault((key, value), entry)
            if first is not entry:
                problems.append(
                    Problem(
                        entry.source,
                        entry.line,
                        str(code),
                        f"{key} {value!r} already used at {first.source}:{first.line}",
                    )
                )
    return entries, problems
