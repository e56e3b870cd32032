"""The 12345 reference data (data/reference/work_order_categories.yml, departments.yml)
and its checks (bot/handoff/taxonomy.py): the shipped files are valid; a broken file
reports every problem, each at its line."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff import taxonomy
from bot.handoff.taxonomy import InvalidTaxonomy, check, load


def test_the_shipped_files_are_valid_and_complete():
    tx, problems = check()
    assert problems == [] and tx is not None
    names = {c.name for c in tx.categories}
    assert {"城乡建设", "环境保护", "交通运输", "劳动和社会保障", "教育文体", "卫生计生", "商贸旅游",
            "物业", "公安政法", "民政", "市场监管", "政务服务", "其他"} <= names
    departments = {d.name for d in tx.departments}
    assert {"市住房城乡建设管理委", "市生态环境局", "市交通委", "市人力资源社会保障局", "市市场监管局",
            "市公安局", "区政务服务中心"} <= departments
    for category in tx.categories:
        assert category.department in departments
        assert (category.working_days or 0) > 0 or (category.hours or 0) > 0
    assert tx.category(taxonomy.FALLBACK).keywords == ()
    assert tx.category("transport").deadline_text == "3个工作日"


BROKEN_DEPARTMENTS = """\
departments:
  - name: 市交通委
  - name: 市交通委
  - duty: 没有名字
  - name: 市教委
    phone: 12345
"""

BROKEN_CATEGORIES = """\
categories:
  - id: transport
    name: 交通运输
    deadline: {working_days: 0}
    department: 市交通委
    keywords: [公交, 公交]
  - id: Transport
    name: 交通运输
    deadline: {days: 3}
    department: 市交通局
    keywords: []
  - id: transport
    name: 教育
    department: 市教委
    keywords: 学校
"""


def test_a_broken_file_reports_every_problem_at_its_line(tmp_path: Path):
    categories = tmp_path / "work_order_categories.yml"
    departments = tmp_path / "departments.yml"
    categories.write_text(BROKEN_CATEGORIES, encoding="utf-8")
    departments.write_text(BROKEN_DEPARTMENTS, encoding="utf-8")
    tx, problems = check(categories, departments)
    assert tx is None
    said = [str(p) for p in problems]
    text = "\n".join(said)

    def at(line: int, *words: str) -> bool:
        return any(f":{line}:" in s and all(w in s for w in words) for s in said)

    assert at(3, "duplicate department name '市交通委'"), text
    assert at(4, "name", "is missing"), text
    assert at(6, "phone"), text
    assert any(str(departments) in s for s in said) and any(str(categories) in s for s in said)
    assert at(4, "deadline", "working_days"), text         # 0 days
    assert at(6, "keywords", "duplicate entry '公交'"), text
    assert at(7, "id", "lower-case identifier"), text
    assert at(8, "duplicate category name '交通运输'"), text
    assert at(9, "deadline"), text                          # days is not a unit
    assert at(10, "'市交通局' is not in departments.yml"), text
    assert at(12, "duplicate category id 'transport'"), text
    assert at(12, "categories[2] (transport).deadline", "must be"), text  # none given
    assert at(15, "keywords"), text
    assert any("'other'" in s for s in said), text
    with pytest.raises(InvalidTaxonomy) as err:
        load(categories, departments)
    assert len(err.value.problems) == len(problems)


def test_a_file_that_is_not_yaml_or_has_the_wrong_list(tmp_path: Path):
    categories = tmp_path / "c.yml"
    departments = tmp_path / "d.yml"
    categories.write_text("categories: [\n", encoding="utf-8")
    departments.write_text("categories: []\n", encoding="utf-8")
    _, problems = check(categories, departments)
    said = "\n".join(map(str, problems))
    assert str(categories) in said and "must list the departments" in said
