"""Matter aliases added in review: search finds them at once in the process that added
them and in every other within its recheck, a re-import keeps them, and the mirror file
that training reads holds them (bot/catalog/store.py, bot/catalog/__init__.py,
bot/catalog/reviewed.py, bot/review/labels.add_alias)."""
from __future__ import annotations

import shutil

import pytest
import yaml

from bot.catalog import Catalog, import_catalog
from bot.catalog.reviewed import read_aliases
from bot.catalog.search import build_index
from bot.catalog.store import CatalogStore
from bot.db import engine_for
from bot.review.labels import add_alias
from tests.conftest import CATALOG_DIR, REFERENCE_DIR

CODE = "SH-P-004"  # 社会保障卡补换
ALIAS = "医保卡没了"  # no name or alias of any matter says it today


@pytest.fixture
def store(tmp_path) -> CatalogStore:
    store = CatalogStore(engine_for(f"sqlite:///{tmp_path / 'catalog.db'}"))
    import_catalog(CATALOG_DIR, store)
    return store


@pytest.fixture
def mirror(tmp_path):
    return tmp_path / "reference" / "reviewed_aliases.yml"


def top_code(catalog: Catalog, text: str):
    hits = catalog.index().search(text)
    return hits[0].matter.code if hits else None


def test_the_catalog_that_added_an_alias_finds_it_at_once(store, mirror):
    catalog = Catalog(store, REFERENCE_DIR)  # rechecks every 30 s
    assert top_code(catalog, ALIAS) != CODE
    assert add_alias(store, CODE, ALIAS, "sup1", mirror=mirror)
    catalog.refresh()
    assert top_code(catalog, ALIAS) == CODE
    assert top_code(catalog, "我的医保卡没了怎么办") == CODE
    matter = catalog.index().get(CODE)
    assert ALIAS in matter.aliases and "社保卡丢了" in matter.aliases  # the catalog's own stay
    assert ALIAS in matter.raw["aliases"]  # what /api/matters/{code} shows


def test_another_process_finds_it_after_its_recheck(store, mirror):
    other = Catalog(CatalogStore(store.engine), REFERENCE_DIR, recheck_seconds=0)
    before = store.version()
    assert top_code(other, ALIAS) != CODE
    add_alias(store, CODE, ALIAS, "sup1", mirror=mirror)
    assert store.version() > before
    assert top_code(other, ALIAS) == CODE


def test_a_reimport_keeps_reviewed_aliases_and_the_version_grows(store, mirror):
    add_alias(store, CODE, ALIAS, "sup1", mirror=mirror)
    version = store.version()
    import_catalog(CATALOG_DIR, store)
    assert store.version() > version
    assert store.reviewed_aliases() == {CODE: [ALIAS]}
    assert top_code(Catalog(store, REFERENCE_DIR), ALIAS) == CODE


def test_unknown_codes_and_known_aliases_are_refused(store, mirror):
    assert add_alias(store, "NO-SUCH-CODE", ALIAS, "sup1", mirror=mirror) is False
    assert add_alias(store, CODE, "社保卡丢了", "sup1", mirror=mirror) is False  # the catalog's
    assert add_alias(store, CODE, "社会保障卡补换", "sup1", mirror=mirror) is False  # its name
    assert add_alias(store, CODE, ALIAS, "sup1", mirror=mirror) is True
    assert add_alias(store, CODE, ALIAS + "！", "sup2", mirror=mirror) is False  # reviewed already
    assert store.reviewed_aliases() == {CODE: [ALIAS]}
    assert read_aliases(mirror) == {CODE: [ALIAS]}
    with pytest.raises(ValueError):
        add_alias(store, CODE, "卡", "sup1", mirror=mirror)


def test_the_mirror_file_holds_provenance_and_a_fresh_index_reads_it(store, tmp_path, mirror):
    add_alias(store, CODE, ALIAS, "sup1", mirror=mirror)
    add_alias(store, "SH-P-001", "暂住证", "sup2", mirror=mirror)
    data = yaml.safe_load(mirror.read_text(encoding="utf-8"))
    (entry,) = data["aliases"][CODE]
    assert entry["alias"] == ALIAS and entry["added_by"] == "sup1" and entry["added_at"]
    assert read_aliases(mirror.parent) == {"SH-P-001": ["暂住证"], CODE: [ALIAS]}
    # a database that never saw the label (a fresh deployment) learns it from the file
    shutil.copy(REFERENCE_DIR / "search.yml", mirror.parent / "search.yml")
    index = build_index(store.all_documents(), mirror.parent)
    assert index.search(ALIAS)[0].matter.code == CODE


def test_the_shipped_mirror_file_reads(tmp_path):
    assert isinstance(read_aliases(REFERENCE_DIR), dict)
    assert read_aliases(tmp_path) == {}  # none written yet
