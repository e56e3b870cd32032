"""The shared checker of data files (bot/validation.py): lines of fields, schema errors
told as our messages at the right field, and the schemas themselves."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from bot.catalog.answers import TOPIC_LABELS
from bot.catalog.factory import minimal_entry
from bot.catalog.schema import ENTRY_SCHEMA, MATERIAL_FORMS, validate_entry
from bot.intake.schema import KINDS, SCHEMA as INDUSTRY_SCHEMA
from bot.validation import (
    LineMap, NotValidYaml, Problem, Problems, Schema, check_file, load_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
FIELDS = (ROOT / "bot" / "fields.schema.yml").as_uri()
SCHEMA_FILES = sorted((ROOT / "bot").rglob("*.schema.yml"))

#: A small format using every way of telling a problem.
TOY = f"""
type: object
x-message: must be a mapping
required: [name, items, kind, count]
additionalProperties: false
properties:
  name: {{$ref: "{FIELDS}#/$defs/text"}}
  items:
    $ref: "{FIELDS}#/$defs/unique_texts"
    minItems: 2
  kind:
    enum: [small, large]
    x-message: must be one of {{enum}}, not {{value}}
    x-missing: say small or large
  count:
    type: integer
    minimum: 1
    x-message: must be a whole number ≥ {{minimum}}
  parts:
    type: array
    items:
      type: object
      x-message: {{type: must be a mapping}}
      required: [id]
      properties:
        id: {{$ref: "{FIELDS}#/$defs/identifier"}}
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Schema:
    path = tmp_path_factory.mktemp("schema") / "toy.schema.yml"
    path.write_text(TOY, encoding="utf-8")
    return Schema(path)


def told(schema: Schema, data) -> dict:
    found: dict = {}
    schema.check(data, lambda where, message: found.setdefault(where, []).append(message))
    return found


GOOD = {"name": "x", "items": ["a", "b"], "kind": "small", "count": 1,
        "parts": [{"id": "p1"}]}


def test_a_valid_value_has_no_problems(toy):
    assert told(toy, GOOD) == {}


@pytest.mark.parametrize("change, where, message", [
    (lambda d: d.pop("name"), "name", "is missing"),
    (lambda d: d.update(name=None), "name", "is missing"),  # `name:` written empty
    (lambda d: d.update(name="  "), "name", "must be a non-empty string"),
    (lambda d: d.pop("kind"), "kind", "say small or large"),
    (lambda d: d.update(kind="huge"), "kind", "must be one of small, large, not 'huge'"),
    (lambda d: d.update(count=0), "count", "must be a whole number ≥ 1"),
    (lambda d: d.update(count=1.0), "count", "must be a whole number ≥ 1"),
    (lambda d: d.update(count=True), "count", "must be a whole number ≥ 1"),
    (lambda d: d.update(items=["a"]), "items", "needs at least 2 item(s)"),
    (lambda d: d.update(items=["a", 3]), "items", "must be a list of non-empty strings"),
    (lambda d: d.update(items=["a", "b", "a"]), "items", "duplicate entry 'a'"),
    (lambda d: d.update(colour="red"), "colour",
     "unknown field (allowed: count, items, kind, name, parts)"),
    (lambda d: d.update(colour=None), "colour",
     "unknown field (allowed: count, items, kind, name, parts)"),
    (lambda d: d["parts"].append(5), "parts[1]", "must be a mapping"),
    (lambda d: d["parts"].append({"id": "Bad"}), "parts[1] (Bad).id",
     "must be a lower-case identifier"),
    (lambda d: d["parts"].append({}), "parts[1].id", "is missing"),
])
def test_each_kind_of_violation_is_told_at_its_field(toy, change, where, message):
    data = copy.deepcopy(GOOD)
    change(data)
    assert told(toy, data) == {where: [message]}


def test_a_value_of_the_wrong_kind_is_told_once(toy):
    # [3] is both too short and not texts: fixing the kind is the one edit to make
    assert told(toy, {**GOOD, "items": [3]}) == {"items": ["must be a list of non-empty strings"]}


def test_a_failure_without_a_message_keeps_jsonschemas_words(toy):
    # never hidden under an outer field's message (the fuzz tests below rely on it)
    assert told(toy, {**GOOD, "parts": 5}) == {"parts": ["5 is not of type 'array'"]}


def test_not_a_mapping(toy):
    assert told(toy, ["a"]) == {"": ["must be a mapping"]}


def test_lines_of_fields_and_list_items():
    text = "code: x\nquestions:\n  - id: a\n    text: A\n  - id: b\n    kind:\n      yes\n"
    data, lines = load_yaml(text)
    assert data["questions"][1]["kind"] is True
    assert lines.line_of("code") == 1
    assert lines.line_of("questions[1] (b)") == 5
    assert lines.line_of("questions[1] (b).kind") == 6
    assert lines.line_of("questions[1] (b).order") == 5  # missing: at its mapping
    assert lines.line_of("questions[0] (a).ask_if.x.y") == 3
    assert lines.line_of("nothing") == 1


def test_repeated_keys_are_refused_with_their_line():
    with pytest.raises(NotValidYaml) as err:
        load_yaml("name: a\ncode: b\nname: c\n")
    assert err.value.line == 3 and "duplicate key 'name' (first on line 1)" in err.value.message
    assert load_yaml("name: a\nname: c\n", unique_keys=False)[0] == {"name": "c"}


def test_broken_yaml_names_its_line():
    with pytest.raises(NotValidYaml) as err:
        load_yaml("a: 1\nb: [2\n\nc: 3\n")
    assert err.value.line == 4 and err.value.message.startswith("not valid YAML: ")


def test_problems_of_a_file_and_of_an_entry():
    lines = LineMap({"": 1, "name": 3})
    of_file = Problems("f.yml", lines)
    of_file.fail("name", "is missing")
    of_file.fail("", "must be a mapping")
    assert [str(p) for p in of_file.by_line()] == [
        "f.yml:1: (file): must be a mapping", "f.yml:3: name: is missing"]
    of_entry = Problems("c.yml", LineMap.at(7), root="entry", code="SH-P-001")
    of_entry.fail("fee.free", "must be true or false")
    assert of_entry.found == [Problem("c.yml", 7, "SH-P-001", "fee.free: must be true or false")]


def test_check_file_reports_lines(tmp_path, toy):
    path = tmp_path / "toy.yml"
    path.write_text("name: x\nitems: [a]\nkind: huge\ncount: 2\n", encoding="utf-8")
    data, problems = check_file(path, toy)
    assert data["kind"] == "huge"
    assert [str(p) for p in problems.by_line()] == [
        f"{path}:2: items: needs at least 2 item(s)",
        f"{path}:3: kind: must be one of small, large, not 'huge'",
    ]
    missing = check_file(tmp_path / "none.yml", toy)[1].found
    assert missing[0].code == "(file)" and "cannot be read" in missing[0].message


# -- the schemas themselves ---------------------------------------------------------------


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_files_are_json_schema_and_every_ref_resolves(path):
    schema = Schema(path)
    Draft202012Validator.check_schema(schema.schema)

    def refs(node, base):
        if isinstance(node, dict):
            if "$ref" in node:
                level = schema._follow(node, base)  # raises when a $ref leads nowhere
                yield level
            for value in node.values():
                yield from refs(value, base)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value, base)

    assert all(len(level.nodes) >= 2 for level in refs(schema.schema, schema.base))


def test_the_schemas_agree_with_the_code_that_reads_the_data():
    material = ENTRY_SCHEMA.schema["$defs"]["material"]["properties"]["form"]["enum"]
    assert material == list(MATERIAL_FORMS)
    kinds = INDUSTRY_SCHEMA.schema["$defs"]["question"]["properties"]["kind"]["enum"]
    assert tuple(kinds) == KINDS
    cues = yaml.safe_load((ROOT / "bot" / "catalog" / "question_cues.schema.yml").read_text("utf-8"))
    assert cues["$defs"]["topic"]["enum"] == list(TOPIC_LABELS)
    assert set(cues["properties"]["topics"]["properties"]) == set(TOPIC_LABELS)


RAW_JSONSCHEMA = ("is not of type", "is a required property", "is not valid under",
                  "does not match", "should not be valid", "is too short", "is not one of",
                  "were unexpected", "False schema", "non-unique", "is less than")
ODD_VALUES = [None, 5, "", "  ", [], {}, True, "x", [1], [""], ["a", "a"], -1, 2.5, {"a": 1}]


def _mutations(value, path=()):
    """(path, replacement) for every field and odd value, and every field dropped."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value[:2]))
    else:
        return
    for key, child in items:
        for odd in ODD_VALUES:
            yield path + (key,), odd
        yield path + (key,), "<drop>"
        yield from _mutations(child, path + (key,))


def _mutated(data, path, odd):
    data = copy.deepcopy(data)
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if odd == "<drop>":
        parent.pop(path[-1])
    else:
        parent[path[-1]] = odd
    return data


def test_catalog_schema_errors_are_always_told_in_our_words():
    entry = minimal_entry("SH-X-001", "测试事项")
    entry["scenarios"] = [{"name": "情形", "materials": entry["materials"]}]
    for path, odd in _mutations(entry):
        for message in validate_entry(_mutated(entry, path, odd)):
            assert not any(raw in message for raw in RAW_JSONSCHEMA), (path, odd, message)


def test_industry_schema_errors_are_always_told_in_our_words():
    from tests.bot.intake.test_schema import BASE

    base = copy.deepcopy(BASE)
    base["rules"][0]["materials"] = [{"name": "x", "form": "copy", "count": 1,
                                      "held_by_government": False, "for": "SH-E-001"}]
    base["commitments"] = ["a", {"text": "b", "when": "always"}]
    for path, odd in _mutations(base):
        found = told(INDUSTRY_SCHEMA, _mutated(base, path, odd))
        for message in (m for messages in found.values() for m in messages):
            assert not any(raw in message for raw in RAW_JSONSCHEMA), (path, odd, message)
