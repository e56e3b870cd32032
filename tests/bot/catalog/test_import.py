"""Importing a catalog: all or nothing, with every problem named by file and line."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from bot.catalog import Catalog, CatalogNotValid, import_catalog
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.catalog.factory import minimal_entry
from tests.conftest import CATALOG_DIR, REFERENCE_DIR

REQUIRED_NAMES = [
    line[2:].strip()
    for line in (CATALOG_DIR.parent.parent.parent / "shared" / "spec" / "matters-required.md")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.startswith("- ")
]


def test_catalog_holds_every_required_matter(catalog_documents):
    names = {d["name"] for d in catalog_documents}
    assert len(REQUIRED_NAMES) == 42
    assert [n for n in REQUIRED_NAMES if n not in names] == []


def test_required_entries_are_complete(catalog_documents):
    for doc in catalog_documents:
        assert doc["aliases"], doc["code"]
        assert len(doc["procedure"]) >= 2, doc["code"]
        assert doc["materials"], doc["code"]
        assert doc["conditions"] and doc["legal_basis"], doc["code"]
        assert all("form" in m and "count" in m for m in doc["materials"]), doc["code"]


def test_no_alias_names_two_matters(catalog_documents):
    seen = {}
    for doc in catalog_documents:
        for alias in doc["aliases"]:
            assert seen.setdefault(alias, doc["code"]) == doc["code"], alias


def test_import_stores_catalog_and_bumps_version(database_url):
    store = CatalogStore(engine_for(database_url))
    assert store.version() == 0
    count = import_catalog(CATALOG_DIR, store)
    assert count >= 44
    assert store.version() == 1
    assert store.document("SH-P-001")["name"] == "上海市居住证申领"
    import_catalog(CATALOG_DIR, store)
    assert store.version() == 2
    assert len(store.all_documents()) == count


def _write_bad_catalog(directory):
    good = minimal_entry("GOOD-1", "好的事项")
    missing = minimal_entry("BAD-1", "缺材料的事项")
    del missing["materials"]
    wrong = minimal_entry("BAD-2", "时限不对的事项")
    wrong["time_limit"] = {"statutory_days": 5, "promised_days": 9}
    (directory / "a.yml").write_text(
        yaml.safe_dump({"matters": [good, missing, wrong]}, allow_unicode=True), encoding="utf-8"
    )
    duplicate = minimal_entry("GOOD-1", "重复编码的事项")
    (directory / "b.jsonl").write_text(
        json.dumps(minimal_entry("GOOD-2", "第二个好事项"), ensure_ascii=False)
        + "\n{not json\n"
        + json.dumps(duplicate, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )


def test_bad_export_is_reported_by_file_and_line_and_loads_nothing(tmp_path, database_url):
    store = CatalogStore(engine_for(database_url))
    import_catalog(CATALOG_DIR, store)
    before = store.all_documents()
    _write_bad_catalog(tmp_path)
    with pytest.raises(CatalogNotValid) as err:
        import_catalog(tmp_path, store)
    problems = [str(p) for p in err.value.problems]
    a_lines = (tmp_path / "a.yml").read_text(encoding="utf-8").splitlines()
    bad1_line = next(i for i, l in enumerate(a_lines, 1) if "BAD-1" in l)
    assert any(p.startswith(f"{tmp_path / 'a.yml'}:") and "materials" in p and "BAD-1" in p for p in problems)
    assert any("BAD-2" in p and "promised_days" in p for p in problems)
    assert any(p.startswith(f"{tmp_path / 'b.jsonl'}:2:") and "JSON" in p for p in problems)
    assert any(p.startswith(f"{tmp_path / 'b.jsonl'}:3:") and "already used" in p for p in problems)
    # the entry's line is where it starts in the file (its first key may be on the next)
    bad1 = next(p for p in err.value.problems if p.code == "BAD-1")
    assert abs(bad1.line - bad1_line) <= 12
    assert store.all_documents() == before  # nothing half-loaded


def test_cli_check_exits_non_zero_on_bad_file(tmp_path, capsys):
    from bot.catalog.__main__ import main

    _write_bad_catalog(tmp_path)
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "a.yml" in out and "b.jsonl:2" in out
    assert main(["check", str(CATALOG_DIR)]) == 0


def test_reimport_reaches_running_processes(tmp_path, database_url):
    """A new import is seen by a process's Catalog after its recheck interval."""
    store = CatalogStore(engine_for(database_url))
    import_catalog(CATALOG_DIR, store)
    catalog = Catalog(store, REFERENCE_DIR, recheck_seconds=0)
    assert catalog.index().get("NEW-1") is None
    extra = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, extra)
    (extra / "new.yml").write_text(
        yaml.safe_dump({"matters": [minimal_entry("NEW-1", "新增的测试事项", ["测试新事项"])]}, allow_unicode=True),
        encoding="utf-8",
    )
    import_catalog(extra, store)
    assert catalog.index().get("NEW-1").name == "新增的测试事项"
    assert catalog.index().resolve("测试新事项要什么材料").matter.code == "NEW-1"


def _entry_problems(tmp_path, change):
    """The problems of a file of two entries, the second changed; and that entry's line."""
    from bot.catalog.loader import read_catalog

    bad = minimal_entry("BAD-9", "有问题的事项")
    change(bad)
    path = tmp_path / "c.yml"
    text = yaml.safe_dump({"matters": [minimal_entry("GOOD-9", "好事项"), bad]},
                          allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    line = [i for i, l in enumerate(text.splitlines(), 1) if l.startswith("- code: ")][1]
    return read_catalog(path)[1], line


@pytest.mark.parametrize("change, message", [
    (lambda e: e.pop("department"), "department: is missing"),
    (lambda e: e.update(department=None), "department: is missing"),
    (lambda e: e.update(name=" "), "name: must be a non-empty string"),
    (lambda e: e.update(code="bad-9"), "code: must be 3–40 characters of A–Z, 0–9 and '-'"),
    (lambda e: e.update(service_object="company"), "service_object: must be personal or enterprise"),
    (lambda e: e.update(fee="free"), "fee: is missing or not a mapping"),
    (lambda e: e.update(fee={"free": False}), "fee.amount: is missing"),
    (lambda e: e["time_limit"].update(promised_days=-1), "time_limit.promised_days: must be a whole number ≥ 0"),
    (lambda e: e["time_limit"].update(promised_days=30), "time_limit.promised_days: must not exceed statutory_days"),
    (lambda e: e.update(procedure=["申请"]), "procedure: needs at least 2 item(s)"),
    (lambda e: e.update(aliases=["居住证", 3]), "aliases: must be a list of non-empty strings"),
    (lambda e: e.update(materials=[]), "materials: needs at least one material"),
    (lambda e: e["materials"][0].update(form="scan"),
     "materials[0].form: must be one of original, copy, original_and_copy, electronic"),
    (lambda e: e["materials"][0].pop("held_by_government"), "materials[0].held_by_government: is missing"),
    (lambda e: e.update(scenarios=[{"name": "情形"}]), "scenarios[0].materials: needs at least one material"),
    (lambda e: e["channels"]["online"].update(available=False, full_online=True),
     "channels.online.full_online: cannot be true when not available"),
    (lambda e: e["channels"]["online"].pop("platforms"), "channels.online.platforms: is missing"),
    (lambda e: e["channels"].update(windows=[]), "channels.windows: needs an office unless fully online"),
    (lambda e: e["channels"]["windows"][0].pop("hours"), "channels.windows[0].hours: is missing"),
])
def test_each_kind_of_problem_names_the_entry_its_line_and_field(tmp_path, change, message):
    problems, line = _entry_problems(tmp_path, change)
    code = "bad-9" if "code:" in message else "BAD-9"
    assert [str(p) for p in problems] == [f"{tmp_path / 'c.yml'}:{line}: {code}: {message}"]


def test_an_entry_that_is_not_a_mapping(tmp_path):
    from bot.catalog.loader import read_catalog

    (tmp_path / "c.yml").write_text("matters:\n  - just a line\n", encoding="utf-8")
    assert [str(p) for p in read_catalog(tmp_path)[1]] == [
        f"{tmp_path / 'c.yml'}:2: -: entry: must be a mapping"]


def test_broken_yaml_names_its_line(tmp_path):
    from bot.catalog.loader import read_catalog

    (tmp_path / "c.yml").write_text("matters:\n  - code: [X\n\n", encoding="utf-8")
    problem = read_catalog(tmp_path)[1][0]
    assert (problem.line, problem.code) == (4, "") and problem.message.startswith("not valid YAML: ")
