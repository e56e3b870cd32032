"""Matter search: colloquial names, abbreviations, typos, Traditional input, scale."""
from __future__ import annotations

import time

import pytest

from bot.catalog.search import build_index, clean
from bot.catalog.factory import real_world_names, scale_entries
from tests.conftest import REFERENCE_DIR

# (query, expected canonical name) — what citizens type, not catalog wording.
RESOLVES = [
    ("居住证要什么材料", "上海市居住证申领"),
    ("辦居住證要帶什麼", "上海市居住证申领"),
    ("居往证要什么材料", "上海市居住证申领"),
    ("上海市居住证申领", "上海市居住证申领"),
    ("SH-P-001", "上海市居住证申领"),
    ("社保卡丢了怎么补办", "社会保障卡补换"),
    ("护照多少钱", "普通护照申请"),
    ("港澳通行证", "往来港澳通行证及签注"),
    ("驾照到期换证", "机动车驾驶证换证"),
    ("驾照丢了", "机动车驾驶证补证"),
    ("无犯罪证明怎么开", "无犯罪记录证明开具"),
    ("开公司要什么材料", "企业设立登记（开办企业）"),
    ("公司注销流程", "企业注销登记"),
    ("烟草证", "烟草专卖零售许可证核发"),
    ("一业一证", "行业综合许可证核发（一业一证）"),
    ("營業執照", "企业设立登记（开办企业）"),
    ("食品经营许可正", "食品经营许可证核发"),
]


@pytest.mark.parametrize("query,name", RESOLVES)
def test_colloquial_queries_resolve(index, query, name):
    resolution = index.resolve(query)
    assert resolution.kind == "unique", (query, [(h.matter.name, h.score) for h in resolution.hits])
    assert resolution.matter.name == name


def test_generic_word_offers_candidates(index):
    resolution = index.resolve("社保卡")
    names = {h.matter.name for h in resolution.hits}
    assert resolution.kind == "ambiguous"
    assert {"社会保障卡申领", "社会保障卡补换"} <= names


def test_unknown_matter_finds_nothing(index):
    assert index.resolve("火星移民签证").kind == "none"
    assert index.search("今天天气怎么样") == []


def test_odd_input_does_not_break_search(index):
    for text in ["", "   ", "😀😀", "？？？", "a" * 5000, "\x00\x01", "'; DROP TABLE x;--"]:
        index.search(text)


@pytest.fixture(scope="module")
def big_index(catalog_documents):
    existing = {d["name"] for d in catalog_documents}
    return build_index(list(catalog_documents) + scale_entries(existing), REFERENCE_DIR)


def test_scale_index_holds_real_names(big_index, catalog_documents):
    assert len(big_index.matters) >= len(catalog_documents) + 1100


@pytest.mark.parametrize("query,name", RESOLVES)
def test_queries_still_resolve_among_a_thousand_real_names(big_index, query, name):
    """At scale the right matter is still first. Another district's matter of nearly the
    same name may make the answer a choice, but never push ours out of it."""
    resolution = big_index.resolve(query)
    assert resolution.kind in ("unique", "ambiguous")
    assert resolution.hits[0].matter.name == name or (
        resolution.kind == "ambiguous" and name in [h.matter.name for h in resolution.hits]
    ), (query, [(h.matter.name, h.score) for h in resolution.hits])


def test_every_real_name_finds_itself_first(big_index):
    misses = []
    ours = {clean(d.name) for d in big_index.matters if not d.code.startswith("ZW-")}
    for name in real_world_names():
        if clean(name) in ours:
            continue
        hits = big_index.search(name, limit=1)
        if not hits or hits[0].matter.name != name:
            misses.append(name)
    assert misses == []


def test_scale_search_is_interactive(big_index):
    """A sanity bound only; the real latency numbers come from `make bench`."""
    queries = [q for q, _ in RESOLVES] * 5
    started = time.perf_counter()
    for q in queries:
        big_index.search(q)
    per_query = (time.perf_counter() - started) / len(queries)
    assert per_query < 0.2


def test_question_words_are_removed_the_same_way_every_run(index):
    """Removal order once depended on set order (hash seed), so a typo'd name scored
    differently from one process to the next."""
    import subprocess
    import sys

    assert index.vocabulary.core("居往证要带什么材料") == "居往证"
    code = (
        "from pathlib import Path; from bot.catalog.search import SearchVocabulary as V;"
        "print(V.from_file(Path('data/reference/search.yml')).core('居往证要带什么材料'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""}, cwd=str(REFERENCE_DIR.parent.parent),
        ).stdout.strip()
        for seed in range(4)
    }
    assert outputs == {"居往证"}
