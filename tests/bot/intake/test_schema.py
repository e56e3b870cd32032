"""Malformed industry files are rejected with file, field and problem named."""
from __future__ import annotations

import copy
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.intake.schema import IndustryError, load_industries, load_industry

BASE = {
    "code": "tea_shop",
    "name": "茶叶店",
    "aliases": ["茶叶店", "茶庄"],
    "approvals": ["SH-E-001", "SH-E-002", "SH-E-019", "SH-E-013"],
    "questions": [
        {"id": "has_licence", "order": 10, "kind": "yes_no", "text": "是否已办理营业执照？"},
        {
            "id": "entity_type", "order": 20, "kind": "choice", "text": "经营主体是企业还是个体工商户？",
            "options": [{"value": "enterprise", "label": "企业"},
                        {"value": "individual", "label": "个体工商户", "aliases": ["个体户"]}],
            "ask_if": {"has_licence": False},
        },
        {"id": "sign", "order": 30, "kind": "yes_no", "text": "是否设置户外招牌？"},
    ],
    "rules": [
        {"id": "register_enterprise", "when": {"has_licence": False, "entity_type": "enterprise"},
         "approvals": ["SH-E-001"]},
        {"id": "register_individual", "when": {"has_licence": False, "entity_type": "individual"},
         "approvals": ["SH-E-002"]},
        {"id": "food", "when": "always", "approvals": ["SH-E-019"]},
        {"id": "sign", "when": {"sign": True}, "approvals": ["SH-E-013"],
         "scenarios": {"SH-E-013": ["大型招牌或高处招牌"]}},
    ],
    "deferrable": ["招牌设计效果图"],
}


def write(tmp_path: Path, data, name: str = "tea_shop.yml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, matters, data) -> list:
    path = write(tmp_path, data)
    with pytest.raises(IndustryError) as err:
        load_industry(path, matters)
    for problem in err.value.problems:  # every message names the file and a line of it
        assert re.match(rf"{re.escape(str(path))}:\d+: ", problem), problem
    return err.value.problems


def changed(**changes):
    data = copy.deepcopy(BASE)
    for key, fn in changes.items():
        fn(data)
    return data


def assert_problem(found, field: str, *words: str) -> None:
    hits = [p for p in found if f": {field}:" in p and all(w in p for w in words)]
    assert hits, f"no problem at {field!r} mentioning {words}; got:\n" + "\n".join(found)


def test_the_base_file_is_valid(tmp_path, matters):
    industry = load_industry(write(tmp_path, BASE), matters)
    assert [q.id for q in industry.questions] == ["has_licence", "entity_type", "sign"]


def test_not_a_mapping(tmp_path, matters):
    found = problems(tmp_path, matters, "- just\n- a list\n")
    assert "must be a mapping" in found[0]


def test_invalid_yaml_names_the_line(tmp_path, matters):
    found = problems(tmp_path, matters, "code: x\nname: [unclosed\n\nquestions: []\n")
    assert found[0].startswith(f"{tmp_path / 'tea_shop.yml'}:4: (file): not valid YAML:"), found


def test_duplicate_yaml_keys(tmp_path, matters):
    text = yaml.safe_dump(BASE, allow_unicode=True, sort_keys=False) + "name: 另一个名字\n"
    found = problems(tmp_path, matters, text)
    assert "duplicate key 'name'" in found[0]


def test_missing_field(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d.pop("name")))
    assert_problem(found, "name", "is missing")


def test_unknown_field_is_a_typo(tmp_path, matters):
    def typo(d):
        d["questions"][1]["ask-if"] = d["questions"][1].pop("ask_if")
    found = problems(tmp_path, matters, changed(x=typo))
    assert_problem(found, "questions[1] (entity_type).ask-if", "unknown field")


def test_unknown_question_in_skip_condition(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["questions"][2].update(ask_if={"licence": True})))
    assert_problem(found, "questions[2] (sign).ask_if.licence", "unknown question id 'licence'")


def test_unknown_question_in_rule(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][3].update(when={"signage": True})))
    assert_problem(found, "rules[3] (sign).when.signage", "unknown question id 'signage'")


def test_unknown_question_nested_in_any(tmp_path, matters):
    when = {"any": [{"sign": True}, {"not": {"awning": True}}]}
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][3].update(when=when)))
    assert_problem(found, "rules[3] (sign).when.any[1].not.awning", "unknown question id")


def test_forward_reference(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["questions"][1].update(ask_if={"sign": True})))
    assert_problem(found, "questions[1] (entity_type).ask_if", "forward reference", "sign")


def test_cycle(tmp_path, matters):
    def cycle(d):
        d["questions"][1]["ask_if"] = {"sign": True}
        d["questions"][2]["ask_if"] = {"entity_type": "individual"}
    found = problems(tmp_path, matters, changed(x=cycle))
    assert any("cycle in skip conditions" in p and "entity_type" in p and "sign" in p for p in found), found


def test_self_reference(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["questions"][2].update(ask_if={"sign": True})))
    assert any("cycle" in p and "sign → sign" in p for p in found), found


def test_unknown_matter_code_in_approvals(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["approvals"].append("SH-E-999")))
    assert_problem(found, "approvals[4]", "unknown matter code 'SH-E-999'")


def test_unknown_matter_code_in_rule(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][2].update(approvals=["SH-X-404"])))
    assert_problem(found, "rules[2] (food).approvals[0]", "unknown matter code 'SH-X-404'")


def test_rule_approval_not_declared(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][2].update(approvals=["SH-E-019", "SH-E-005"])))
    assert_problem(found, "rules[2] (food).approvals[1]", "not listed in the industry's approvals")


def test_declared_approval_never_added(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["approvals"].append("SH-E-006")))
    assert_problem(found, "approvals[4]", "SH-E-006 is never added by any rule")


def test_unknown_permit(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d.update(permit="SH-E-000")))
    assert_problem(found, "permit", "unknown matter code")


def test_permit_listed_as_its_own_approval(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["approvals"].append("SH-E-012")))
    assert_problem(found, "approvals[4]", "the single permit itself")


def test_unknown_scenario(tmp_path, matters):
    found = problems(tmp_path, matters, changed(
        x=lambda d: d["rules"][3].update(scenarios={"SH-E-013": ["巨型招牌"]})))
    assert_problem(found, "rules[3] (sign).scenarios.SH-E-013", "unknown scenario '巨型招牌'")


def test_duplicate_question_ids(tmp_path, matters):
    def dup(d):
        d["questions"].append({"id": "sign", "order": 40, "kind": "yes_no", "text": "再问一次？"})
    found = problems(tmp_path, matters, changed(x=dup))
    assert_problem(found, "questions[3] (sign).id", "duplicate question id 'sign'")


def test_duplicate_rule_ids(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][3].update(id="food")))
    assert_problem(found, "rules[3] (food).id", "duplicate rule id 'food'")


def test_duplicate_order(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["questions"][2].update(order=20)))
    assert_problem(found, "questions[2] (sign).order", "duplicate order 20")


def test_duplicate_option_values(tmp_path, matters):
    found = problems(tmp_path, matters, changed(
        x=lambda d: d["questions"][1]["options"][1].update(value="enterprise")))
    assert_problem(found, "questions[1] (entity_type).options[1].value", "duplicate option value")


def test_wrong_kind(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["questions"][2].update(kind="multiple_choice")))
    assert_problem(found, "questions[2] (sign).kind", "must be one of yes_no, choice")


def test_choice_without_options(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["questions"][1].pop("options")))
    assert_problem(found, "questions[1] (entity_type).options", "at least 2 options")


def test_yes_no_with_options(tmp_path, matters):
    found = problems(tmp_path, matters, changed(
        x=lambda d: d["questions"][2].update(options=[{"value": "a", "label": "A"}])))
    assert_problem(found, "questions[2] (sign).options", "only choice questions")


def test_yes_no_condition_value(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][3].update(when={"sign": "maybe"})))
    assert_problem(found, "rules[3] (sign).when.sign", "must be yes or no")


def test_choice_condition_unknown_option(tmp_path, matters):
    found = problems(tmp_path, matters, changed(
        x=lambda d: d["rules"][0].update(when={"has_licence": False, "entity_type": "company"})))
    assert_problem(found, "rules[0] (register_enterprise).when.entity_type", "'company'")


def test_malformed_condition(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"][3].update(when={"any": []})))
    assert_problem(found, "rules[3] (sign).when.any", "non-empty list")


def test_rule_that_adds_nothing(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["rules"].append({"id": "noop", "when": "always"})))
    assert_problem(found, "rules[4] (noop)", "adds nothing")


def test_unknown_deferrable_material(tmp_path, matters):
    found = problems(tmp_path, matters, changed(x=lambda d: d["deferrable"].append("营业执照正本")))
    assert_problem(found, "deferrable[1]", "unknown material '营业执照正本'")


def test_every_problem_is_reported_at_once(tmp_path, matters):
    def many(d):
        d["questions"][2]["kind"] = "maybe"
        d["approvals"].append("SH-E-999")
        d["rules"][3]["when"] = {"nope": True}
    found = problems(tmp_path, matters, changed(x=many))
    assert len(found) >= 3


def test_directory_reports_every_file_and_duplicate_codes(tmp_path, matters):
    write(tmp_path, BASE, "a.yml")
    write(tmp_path, BASE, "b.yml")  # same code
    write(tmp_path, changed(x=lambda d: d.update(code="Bad Code")), "c.yml")
    with pytest.raises(IndustryError) as err:
        load_industries(tmp_path, matters)
    text = str(err.value)
    assert "b.yml:1: code: duplicate industry code 'tea_shop'" in text
    assert "c.yml:1: code:" in text


def test_shipped_industry_files_are_valid(industries):
    assert {"convenience_store", "pharmacy", "gym", "restaurant"} <= set(industries)


# -- every kind of problem at its field's line -----------------------------------------

BASE_TEXT = """\
# 茶叶店
code: tea_shop
name: 茶叶店
aliases: [茶叶店, 茶庄]
approvals: [SH-E-001, SH-E-002, SH-E-019, SH-E-013]
questions:
  - id: has_licence
    order: 10
    kind: yes_no
    text: 是否已办理营业执照？
  - id: entity_type
    order: 20
    kind: choice
    text: 经营主体是企业还是个体工商户？
    options:
      - {value: enterprise, label: 企业}
      - {value: individual, label: 个体工商户, aliases: [个体户]}
    ask_if: {has_licence: no}
  - id: sign
    order: 30
    kind: yes_no
    text: 是否设置户外招牌？
rules:
  - id: register_enterprise
    when: {has_licence: no, entity_type: enterprise}
    approvals: [SH-E-001]
  - id: register_individual
    when: {has_licence: no, entity_type: individual}
    approvals: [SH-E-002]
  - id: food
    when: always
    approvals: [SH-E-019]
  - id: sign
    when: {sign: yes}
    approvals: [SH-E-013]
    scenarios: {SH-E-013: [大型招牌或高处招牌]}
deferrable: [招牌设计效果图]
"""


def test_the_base_text_is_the_base_file(tmp_path, matters):
    from_text = load_industry(write(tmp_path, BASE_TEXT, "text.yml"), matters)
    from_data = load_industry(write(tmp_path, BASE), matters)
    assert replace(from_text, source="") == replace(from_data, source="")


@pytest.mark.parametrize("old, new, marker, field, message", [
    # the schema: a missing field is at its mapping's line
    ("    order: 30\n", "", "  - id: sign", "questions[2] (sign).order", "is missing"),
    ("name: 茶叶店\n", "name:\n", "name:", "name", "is missing"),
    ("    kind: choice\n", "    kind: multiple\n", "kind: multiple", "questions[1] (entity_type).kind",
     "must be one of yes_no, choice, not 'multiple'"),
    ("    order: 20\n", "    order: second\n", "order: second", "questions[1] (entity_type).order",
     "must be a whole number"),
    ("    ask_if:", "    ask-if:", "ask-if:", "questions[1] (entity_type).ask-if", "unknown field"),
    ("aliases: [茶叶店, 茶庄]", "aliases: [茶叶店, 茶叶店]", "aliases:", "aliases",
     "duplicate entry '茶叶店'"),
    ("      - {value: individual", "      - {value: yes", "value: yes",
     "questions[1] (entity_type).options[1].value", "must be a lower-case identifier"),
    ("    kind: yes_no\n    text: 是否设置", "    kind: yes_no\n    options: [{value: a, label: A}]\n    text: 是否设置",
     "options: [{value: a", "questions[2] (sign).options", "only choice questions have options"),
    ("  - id: food\n    when: always\n    approvals: [SH-E-019]\n", "  - id: food\n    when: always\n",
     "  - id: food", "rules[2] (food)", "adds nothing"),
    # what refers to what
    ("    ask_if: {has_licence: no}", "    ask_if: {licence: no}", "ask_if: {licence",
     "questions[1] (entity_type).ask_if.licence", "unknown question id 'licence'"),
    ("    order: 30\n", "    order: 20\n", "order: 20\n    kind: yes_no", "questions[2] (sign).order",
     "duplicate order 20 (also entity_type)"),
    ("  - id: sign\n    when", "  - id: food\n    when", "  - id: food\n    when: {sign",
     "rules[3] (food).id", "duplicate rule id 'food'"),
    ("    approvals: [SH-E-019]", "    approvals: [SH-X-404]", "SH-X-404",
     "rules[2] (food).approvals[0]", "unknown matter code 'SH-X-404'"),
    ("[大型招牌或高处招牌]", "[巨型招牌]", "巨型招牌", "rules[3] (sign).scenarios.SH-E-013",
     "unknown scenario '巨型招牌'"),
    ("deferrable: [招牌设计效果图]", "deferrable: [招牌设计效果图, 营业执照正本]", "deferrable:",
     "deferrable[1]", "unknown material '营业执照正本'"),
])
def test_each_kind_of_problem_names_its_field_and_line(tmp_path, matters, old, new, marker,
                                                      field, message):
    assert old in BASE_TEXT
    text = BASE_TEXT.replace(old, new, 1)
    line = text[: text.index(marker)].count("\n") + 1 + marker.startswith("\n")
    found = problems(tmp_path, matters, text)
    path = tmp_path / "tea_shop.yml"
    assert any(p.startswith(f"{path}:{line}: {field}: ") and message in p for p in found), (
        f"expected {field} at line {line}: {message}; got:\n" + "\n".join(found))


def test_problems_come_in_the_order_of_the_file(tmp_path, matters):
    text = (BASE_TEXT.replace("name: 茶叶店\n", "name: 3\n")
            .replace("    when: always\n", "    when: sometimes\n")
            .replace("    kind: choice\n", "    kind: multiple\n"))
    found = problems(tmp_path, matters, text)
    lines = [int(p[len(str(tmp_path / "tea_shop.yml")) + 1:].split(":")[0]) for p in found]
    assert lines == sorted(lines) and {3, 13, 31} <= set(lines), found
