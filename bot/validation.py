"""Checking our data files against their schemas, and saying what is wrong where.

Each data format has one declarative schema (JSON Schema 2020-12, written in YAML next to
the code that reads the format: bot/catalog/catalog.schema.yml,
bot/intake/industry.schema.yml, …); code checks only what a schema cannot say, such as
references between entries. Both kinds of problem are collected here and reported the
house way, `file:line: code: problem`, so a government editing a file sees every
problem at once, each with the line to fix.

A schema says what to tell the author through two keywords of ours, next to the
standard ones (any JSON Schema tool ignores them):

- ``x-message``: what to say when the value does not fit: one text (about the value
  itself), or a mapping from the failing keyword to a text, ``"*"`` for any other,
  including a failure inside the value. A failure is told at the deepest field that has
  a message for it, so ``aliases: [居住证, 3]`` reads "aliases: must be a list of
  non-empty strings" (the list's ``"*"``), not something about item 1. The texts may name
  ``{minimum}``, ``{minItems}``, ``{enum}`` (from the schema) and ``{value}`` (what the
  file holds).
- ``x-missing``: what to say when a required field is absent (default "is missing").

Unknown fields, missing fields and repeated list entries get the messages of this module,
the same in every format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import (
    Any, Callable, Dict, Hashable, Iterable, Iterator, List, Mapping, Optional, Sequence,
    Set, Tuple, TypeVar, Union,
)
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import yaml
from jsonschema import Draft202012Validator, RefResolver, validators
from jsonschema.exceptions import ValidationError

Step = Union[str, int]
Fail = Callable[[str, str], None]
T = TypeVar("T")

MISSING = "is missing"
#: Keywords whose failure is a value deeper down (an item, a property): the message is
#: that of the deeper field when it has one.
_INTO_VALUE = {"properties": 2, "patternProperties": 2, "prefixItems": 2, "items": 1,
               "additionalProperties": 1, "unevaluatedProperties": 1, "contains": 1}
_INTO_SCHEMA = {"allOf": 2, "anyOf": 2, "oneOf": 2, "dependentSchemas": 2, "$defs": 2,
                "not": 1, "then": 1, "else": 1, "if": 1, "propertyNames": 1}
_PLACEHOLDER = re.compile(r"\{(minimum|minItems|enum|value)\}")


# ---------------------------------------------------------------------------
# Problems, and the names and lines of fields.


@dataclass(frozen=True)
class Problem:
    """One problem: the file, the line to fix, what it concerns (a catalog entry's matter
    code, or the field of a one-thing file such as an industry) and what is wrong."""

    source: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.code or '-'}: {self.message}"


def child_name(parent: str, step: Step, value: Any) -> str:
    """How messages name a field: ``time_limit.promised_days``, ``materials[0].form``,
    and a list item that has an ``id`` with it: ``questions[2] (sign)``."""
    if isinstance(step, int):
        ident = value.get("id") if isinstance(value, Mapping) else None
        return f"{parent}[{step}]" + (f" ({ident})" if isinstance(ident, str) else "")
    return f"{parent}.{step}" if parent else str(step)


def field_name(path: Iterable[Step], data: Any) -> str:
    """The name of the field at path in data (see child_name); '' for the whole."""
    name, value = "", data
    for step in path:
        value = _child(value, step)
        name = child_name(name, step, value)
    return name


def _child(value: Any, step: Step) -> Any:
    if isinstance(step, int):
        return value[step] if isinstance(value, list) and 0 <= step < len(value) else None
    return value.get(step) if isinstance(value, Mapping) else None


class LineMap:
    """The line of every field of a file, by field name; a field the file lacks is at the
    line of the nearest field that holds it (a missing key: its mapping's line)."""

    def __init__(self, lines: Optional[Dict[str, int]] = None, default: int = 1) -> None:
        self.lines = lines or {}
        self.default = default

    @classmethod
    def at(cls, line: int) -> "LineMap":
        """Every field at one line (a JSON Lines entry, a catalog entry)."""
        return cls({}, line)

    def line_of(self, name: str) -> int:
        while name:
            if name in self.lines:
                return self.lines[name]
            cut = max(name.rfind("."), name.rfind("["))
            name = name[:cut] if cut > 0 else ""
        return self.lines.get("", self.default)


class Problems:
    """Collects the problems of one file, or one entry of a file, as `fail(field, message)`.

    With `code`, problems are about that entry (a catalog matter) and the field goes into
    the message; without, the field is the problem's code (an industry file). `root` is
    how the whole (field '') is called.
    """

    def __init__(self, source: str, lines: Optional[LineMap] = None, root: str = "(file)",
                 code: Optional[str] = None) -> None:
        self.source = source
        self.lines = lines or LineMap()
        self.root = root
        self.code = code
        self.found: List[Problem] = []

    def fail(self, where: str, message: str) -> None:
        line = self.lines.line_of(where)
        field = where or self.root
        if self.code is None:
            self.found.append(Problem(self.source, line, field, message))
        else:
            self.found.append(Problem(self.source, line, self.code, f"{field}: {message}"))

    def __bool__(self) -> bool:
        return bool(self.found)

    def by_line(self) -> List[Problem]:
        """The problems in the order of the file (the order found within a line)."""
        return sorted(self.found, key=lambda p: p.line)


def repeated(items: Iterable[T], key: Callable[[T], Hashable]) -> Iterator[Tuple[T, T]]:
    """(item, the first item with the same key) for every item whose key came before;
    items whose key is None are skipped."""
    first: Dict[Hashable, T] = {}
    for item in items:
        k = key(item)
        if k is None:
            continue
        if k in first:
            yield item, first[k]
        else:
            first[k] = item


# ---------------------------------------------------------------------------
# YAML with the line of every field.


class NotValidYaml(ValueError):
    """A file that is not YAML (or repeats a key); `line` is where the parser stopped."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.SafeLoader):
    unique_keys = False


class _UniqueKeysLoader(_Loader):
    unique_keys = True


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Dict:
    if loader.unique_keys:
        seen: Dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key]})",
                    key_node.start_mark)
            if isinstance(key, Hashable):
                seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str, unique_keys: bool = True) -> Tuple[Any, LineMap]:
    """The data of a YAML text and the line of each of its fields; raises NotValidYaml.

    With unique_keys a key repeated in one mapping is an error (PyYAML would silently
    keep the last one, and a typo'd second `name:` would win unseen)."""
    loader = (_UniqueKeysLoader if unique_keys else _Loader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines: Dict[str, int] = {}
        if node is not None:
            _record_lines(loader, node, data, "", lines)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise NotValidYaml(mark.line + 1 if mark else 1, f"not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    return data, LineMap(lines)


def _record_lines(loader: _Loader, node: yaml.Node, data: Any, name: str,
                  lines: Dict[str, int]) -> None:
    lines.setdefault(name, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode) and isinstance(data, Mapping):
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable) or key not in data:
                continue
            child = child_name(name, str(key), data[key])
            lines.setdefault(child, key_node.start_mark.line + 1)
            _record_lines(loader, value_node, data[key], child, lines)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, (item_node, item) in enumerate(zip(node.value, data)):
            _record_lines(loader, item_node, item, child_name(name, index, item), lines)


class NotValidFile(ValueError):
    """A data file that cannot be read or is not YAML; `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_yaml_file(path: Path, unique_keys: bool = True, root: str = "(file)"
                   ) -> Tuple[Any, LineMap]:
    """A YAML file's data and the line of each field; raises NotValidFile naming the file
    as `root`."""
    try:
        return load_yaml(Path(path).read_text(encoding="utf-8"), unique_keys)
    except OSError as err:
        message = f"cannot be read: {err.strerror or err}"
        raise NotValidFile(Problem(str(path), 1, root, message)) from None
    except NotValidYaml as err:
        raise NotValidFile(Problem(str(path), err.line, root, err.message)) from None


# ---------------------------------------------------------------------------
# Schemas.


def whole_number(value: Any) -> bool:
    """An int that is not a bool. JSON Schema counts 3.0 as an integer and Python counts
    True as one: neither is a count of copies or a question's order."""
    return isinstance(value, int) and not isinstance(value, bool)


def _strict_integers(checker, instance) -> bool:
    return whole_number(instance)


_TYPES = Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integers)


def _present(instance: Mapping) -> Dict[str, Any]:
    """The fields that have a value: `name:` with nothing after it (YAML's null) is as
    good as no `name` at all, in every format, though still a field the format must know
    (a typo written empty is still a typo)."""
    return {k: v for k, v in instance.items() if v is not None}


def _properties(validator, properties: Mapping, instance: Any, schema: Mapping):
    if validator.is_type(instance, "object"):
        present = _present(instance)
        for name, subschema in properties.items():
            if name in present:
                yield from validator.descend(present[name], subschema, path=name, schema_path=name)


def _required(validator, required: Sequence[str], instance: Any, schema: Mapping):
    if validator.is_type(instance, "object"):
        present = _present(instance)
        for name in required:
            if name not in present:
                yield ValidationError(f"{name!r} is a required property")


@dataclass
class _Level:
    """The schema nodes applied to one value on the way to an error: a node and the
    nodes its $ref leads to, each with the address its own $refs are relative to (the
    referring node's keywords win)."""

    nodes: List[Tuple[Mapping, str]]
    depth: int  # how many steps of the value's path lead here
    keyword: str = ""  # the keyword taken from here towards the error

    def messages(self, key: str) -> Any:
        for node, _ in self.nodes:
            if key in node:
                return node[key]
        return None

    def properties(self) -> Dict[str, Tuple[Any, str]]:
        """{field: (its schema, that schema's base address)}."""
        merged: Dict[str, Tuple[Any, str]] = {}
        for node, base in reversed(self.nodes):
            merged.update({k: (v, base) for k, v in (node.get("properties") or {}).items()})
        return merged


class Schema:
    """One data format's JSON Schema (a YAML file), checked with our messages."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.base = self.path.as_uri()
        self.schema = _read_schema(self.base)
        resolver = RefResolver(self.base, self.schema, handlers={"file": _read_schema})
        self.validator = _SchemaValidator(self.schema, resolver=resolver)

    def check(self, data: Any, fail: Fail) -> None:
        """Reports every way data departs from the schema through fail(field, message):
        one failure per field, the first (a wrong kind of value first: fixing that is
        the one edit to make), and only once each message."""
        told: Dict[str, int] = {}
        said: Set[Tuple[str, str]] = set()
        errors = sorted(self.validator.iter_errors(data), key=_type_errors_first)
        for number, error in enumerate(errors):
            for where, message in self._explain(error, data):
                if told.setdefault(where, number) == number and (where, message) not in said:
                    said.add((where, message))
                    fail(where, message)

    def _explain(self, error: ValidationError, data: Any) -> List[Tuple[str, str]]:
        """(field, message) pairs saying what the error means to the file's author."""
        levels = self._levels(error)
        path = tuple(error.absolute_path)
        here = field_name(path, data)
        keyword = error.validator
        if keyword == "required":
            present = _present(error.instance)
            return [(child_name(here, prop, None), self._missing_message(levels, prop))
                    for prop in error.validator_value if prop not in present]
        if keyword in ("additionalProperties", "unevaluatedProperties"):
            allowed = self._declared(levels)
            return [(child_name(here, key, None),
                     f"unknown field (allowed: {', '.join(sorted(allowed))})")
                    for key in error.instance if key not in allowed]
        if keyword == "uniqueItems":
            return [(here, f"duplicate entry {item!r}")
                    for item, _ in repeated(error.instance, _hashable)]
        for level in reversed(levels):
            message = _message_for(level)
            if message is not None:
                owner = path[: level.depth]
                return [(field_name(owner, data),
                         _fill(message, level, _value_at(data, owner)))]
        return [(here, error.message)]

    def _same_value(self, levels: List[_Level]) -> List[_Level]:
        """The levels that apply to the failing value itself (then/else/allOf included)."""
        return [level for level in levels if level.depth == levels[-1].depth]

    def _missing_message(self, levels: List[_Level], prop: str) -> str:
        for level in reversed(self._same_value(levels)):
            schema, base = level.properties().get(prop, (None, ""))
            if isinstance(schema, Mapping):
                field = self._follow(schema, base)
                found = field.messages("x-missing")
                if found:
                    return _fill(found, field, None)
        return MISSING

    def _declared(self, levels: List[_Level]) -> Set[str]:
        """The fields an object may have: the properties of every schema applied to it."""
        fields: Set[str] = set()
        for level in self._same_value(levels):
            fields |= set(level.properties())
            for node, base in level.nodes:
                for sub in node.get("allOf") or ():
                    fields |= set(self._follow(sub, base).properties())
        return fields

    def _follow(self, node: Mapping, base: str) -> _Level:
        """A node and the nodes its $ref chain leads to."""
        nodes = [(node, base)]
        while isinstance(node, Mapping) and "$ref" in node:
            url = urljoin(base, node["$ref"])
            base = urldefrag(url)[0]
            node = self.validator.resolver.resolve_from_url(url)
            nodes.append((node, base))
        return _Level(nodes, 0)

    def _levels(self, error: ValidationError) -> List[_Level]:
        """The schema levels from the root to the failing keyword (jsonschema's schema
        path leaves out the $refs it followed: they are found again here)."""
        found = self._walk(self.schema, self.base, list(error.absolute_schema_path), 0)
        return found or [_Level([(self.schema, self.base)], 0, str(error.validator))]

    def _walk(self, node: Any, base: str, segments: List[Any], depth: int
              ) -> Optional[List[_Level]]:
        level = self._follow(node, base) if isinstance(node, Mapping) else None
        if level is None:
            return None
        level.depth = depth
        if not segments:
            return [level]
        for current, current_base in level.nodes:
            if segments[0] in current:
                tail = self._descend(current, current_base, segments, depth)
                if tail is not None:
                    level.keyword = str(segments[0])
                    return [level] + tail
        return None

    def _descend(self, node: Mapping, base: str, segments: List[Any], depth: int
                 ) -> Optional[List[_Level]]:
        keyword, rest = segments[0], segments[1:]
        if not rest:
            return []  # the failing keyword itself
        if keyword not in _INTO_VALUE and keyword not in _INTO_SCHEMA:
            return None
        width = _INTO_VALUE.get(keyword) or _INTO_SCHEMA[keyword]
        sub = node[keyword]
        if width == 2:
            try:
                sub = sub[rest[0]]
            except (KeyError, IndexError, TypeError):
                return None
            rest = rest[1:]
            if not rest:
                return []  # a boolean schema
        return self._walk(sub, base, rest, depth + (1 if keyword in _INTO_VALUE else 0))


_SchemaValidator = validators.extend(
    Draft202012Validator, validators={"properties": _properties, "required": _required},
    type_checker=_TYPES)


@lru_cache(maxsize=None)
def _read_schema(uri: str) -> Any:
    return yaml.safe_load(Path(unquote(urlparse(uri).path)).read_text(encoding="utf-8"))


def _type_errors_first(error: ValidationError) -> int:
    # A value of the wrong kind makes every other complaint about it moot.
    return 0 if error.validator == "type" else 1


def _hashable(value: Any) -> Optional[Hashable]:
    return value if isinstance(value, Hashable) else None


def _message_for(level: _Level) -> Optional[str]:
    """The level's message for the failure, if it has one: a text is about the value
    itself, a mapping names keywords (or "*": any, a failure inside the value too)."""
    message = level.messages("x-message")
    if isinstance(message, str):
        return None if level.keyword in _INTO_VALUE else message
    if isinstance(message, Mapping):
        return message.get(level.keyword, message.get("*"))
    return None


def _fill(message: str, level: _Level, value: Any) -> str:
    def put(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name == "value":
            return repr(value)
        found = level.messages(name)
        return ", ".join(map(str, found)) if isinstance(found, list) else str(found)

    return _PLACEHOLDER.sub(put, message)


def _value_at(data: Any, path: Sequence[Step]) -> Any:
    for step in path:
        data = _child(data, step)
    return data


def check_file(path: Path, schema: Schema) -> Tuple[Any, Problems]:
    """A YAML file's data (None when it cannot be read) and its problems against schema,
    each at the line of its field; add the checks a schema cannot say to the Problems."""
    problems = Problems(str(path))
    try:
        data, problems.lines = read_yaml_file(path)
    except NotValidFile as err:
        problems.found.append(err.problem)
        return None, problems
    schema.check(data, problems.fail)
    return data, problems
