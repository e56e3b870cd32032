"""The words the bot says, loaded from data/texts/*.yml: wording is data, edited without
touching the code (and without retraining: domain.yml is a training input, these are not).

A file holds keyed texts with `{placeholders}` (str.format fields), and tables of labels
(a mapping of names to short texts, such as the question types on buttons). Each module
that speaks loads its file once, at import, declaring the keys it uses and the fields each
text takes:

    TEXTS = texts.load("status", {"ask_number": (), "wrong_code": ("left",)})
    TEXTS("wrong_code", left=2)

A key missing from the file, a text whose placeholders differ from the declared ones or a
call with other fields fails loudly (TextsError) at import or at the call; a key of the
file no module declares is found by `unused` (a test checks every file).
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, Mapping, Sequence, Set, Tuple, Type, Union

import yaml

TEXTS_DIR = Path(__file__).resolve().parents[2] / "data" / "texts"


class TextsError(ValueError):
    """A text file does not hold what the code expects of it."""


@dataclass(frozen=True)
class Table:
    """A table of labels (name → text without placeholders) holding these names."""

    names: Tuple[str, ...]


#: What the code expects of a key: the fields of a text, or a table's names.
Spec = Union[Sequence[str], Table]

#: Every key each file is expected to hold by the modules loaded so far.
_DECLARED: Dict[Path, Dict[str, Spec]] = {}


def placeholders(template: str) -> FrozenSet[str]:
    """The named fields of a str.format template ("{phone}", "{hours:g}" → phone, hours)."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise TextsError(f"malformed placeholder in {template!r}: {exc}") from exc
    if "" in fields or any(not name.isidentifier() for name in fields):
        raise TextsError(f"placeholders must be names, not positions or expressions: {template!r}")
    return frozenset(fields)


def read_mapping(path: Path, error: Type[ValueError], kind: str, shape: str) -> Dict[str, Any]:
    """A YAML file of words that must hold a mapping (the texts here, the cues of
    bot/dialogue/cues.py): a missing file or another shape raises `error`, naming the
    `kind` of file and the `shape` expected."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"no {kind} file {path}") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: a mapping of {shape} expected")
    return data


@lru_cache(maxsize=None)
def _read(path: Path) -> Mapping[str, Any]:
    """A text file as written (read once per process)."""
    return read_mapping(path, TextsError, "text", "keys to texts")


class Texts(Mapping[str, str]):
    """The texts of one file that a module uses: `texts[key]` is the template,
    `texts(key, **fields)` the filled text, `texts.table(key)` a table of labels."""

    def __init__(self, path: Path, data: Mapping[str, Any], expected: Mapping[str, Spec]) -> None:
        self.path = path
        self._texts: Dict[str, str] = {}
        self._fields: Dict[str, FrozenSet[str]] = {}
        self._tables: Dict[str, Dict[str, str]] = {}
        for key, spec in expected.items():
            if key not in data:
                raise TextsError(f"{path.name}: no text '{key}'")
            value = data[key]
            if isinstance(spec, Table):
                self._tables[key] = self._table(key, value, spec)
                continue
            if not isinstance(value, str):
                raise TextsError(f"{path.name}: '{key}' must be a text")
            found, wanted = placeholders(value), frozenset(spec)
            if found != wanted:
                raise TextsError(
                    f"{path.name}: '{key}' has placeholders {sorted(found)}, "
                    f"the code fills {sorted(wanted)}"
                )
            self._texts[key], self._fields[key] = value, wanted

    def _table(self, key: str, value: Any, spec: Table) -> Dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise TextsError(f"{self.path.name}: '{key}' must map names to texts")
        table = {str(k): v for k, v in value.items()}
        if set(table) != set(spec.names):
            raise TextsError(
                f"{self.path.name}: table '{key}' holds {sorted(table)}, "
                f"the code needs {sorted(spec.names)}"
            )
        for name, text in table.items():
            if placeholders(text):
                raise TextsError(f"{self.path.name}: '{key}.{name}' may not hold placeholders")
        return table

    def __call__(self, key: str, **fields: Any) -> str:
        """The text of `key` with its placeholders filled: all of them, nothing else."""
        template = self[key]
        if set(fields) != self._fields[key]:
            raise TextsError(
                f"{self.path.name}: '{key}' takes {sorted(self._fields[key])}, "
                f"given {sorted(fields)}"
            )
        return template.format(**fields)

    def table(self, key: str) -> Dict[str, str]:
        """A table of labels in the file's order (a copy)."""
        return dict(self._tables[key])

    def __getitem__(self, key: str) -> str:
        return self._texts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def load(name: str, expected: Mapping[str, Spec], directory: Path = TEXTS_DIR) -> Texts:
    """The texts of data/texts/<name>.yml that a module uses, checked now."""
    path = directory / f"{name}.yml"
    texts = Texts(path, _read(path), expected)
    declared = _DECLARED.setdefault(path, {})
    for key, spec in expected.items():
        spec = spec if isinstance(spec, Table) else frozenset(spec)
        if declared.setdefault(key, spec) != spec:
            raise TextsError(f"{path.name}: '{key}' is declared twice, differently")
    return texts


def unused(name: str, directory: Path = TEXTS_DIR) -> Set[str]:
    """The keys of a file that no module loaded so far declares (wording left behind)."""
    path = directory / f"{name}.yml"
    return set(_read(path)) - set(_DECLARED.get(path, {}))


def files(directory: Path = TEXTS_DIR) -> Tuple[str, ...]:
    """The names of the text files."""
    return tuple(sorted(p.stem for p in directory.glob("*.yml")))
