"""Matter search: colloquial names, abbreviations, typos, Traditional input, scale."""
from __future__ import annotations

import pytest

from bot.catalog.search import MINIMUM, Hit, build_index, clean
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


@pytest.mark.parametrize("text", ["", "   ", "\u3000\t\n", "😀😀", "？？？", "!!!...",
                                  "\x00\x01", "'; DROP TABLE x;--"],
                         ids=["empty", "blank", "wide-blank", "emoji", "question-marks",
                              "ascii-punctuation", "control", "sql"])
def test_odd_input_finds_nothing(index, text):
    """Text with nothing to match gives an empty list (the web API's `results: []`),
    not an error and not every matter at a low score."""
    assert index.search(text) == []
    assert index.resolve(text).kind == "none"


def test_a_very_long_query_is_searched_as_its_first_200_characters(index):
    """The web API and the actions pass whatever the citizen typed: the index looks at
    a bounded prefix, so a 6,000-character message costs what 200 characters cost and
    is answered as they are."""
    long = "居住证" * 2000
    hits = index.search(long)
    assert hits and hits == index.search(long[:200])
    assert hits[0].matter.name == "上海市居住证申领"
    assert index.search("a" * 5000) == index.search("a" * 200)


@pytest.mark.parametrize("query", ["社保卡", "驾驶证", "许可证核发", "居住证要什么材料"])
@pytest.mark.parametrize("limit", [1, 3, 10])
def test_results_are_hits_best_first_within_the_limit(index, query, limit):
    hits = index.search(query, limit=limit)
    assert 1 <= len(hits) <= limit
    assert all(isinstance(h, Hit) and h.matter in index.matters for h in hits)
    assert all(h.score >= MINIMUM for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.matter.code for h in hits}) == len(hits)


def test_sql_looking_text_changes_nothing(index):
    before = ([m.code for m in index.matters], len(index.terms), index.search("社保卡"))
    assert index.search("'; DROP TABLE matters;--") == []
    assert index.search("居住证' OR '1'='1")[0].matter.name == "上海市居住证申领"
    assert ([m.code for m in index.matters], len(index.terms), index.search("社保卡")) == before


@pytest.fixture(scope="module")
def big_index(catalog_documents):
    existing = {d["name"] for d in catalog_documents}
    return build_index(list(catalog_documents) + scale_entries(existing), REFERENCE_DIR)


def test_scale_index_holds_real_names(big_index, catalog_documents):
    assert len(big_index.matters) >= len(catalog_documents) + 1100


#: Queries that a real name of the shared sample makes a choice at scale: (the query,
#: the real name now offered beside ours).
CHOICES_AT_SCALE = {"无犯罪证明怎么开": "无犯罪记录证明"}


@pytest.mark.parametrize("query,name", RESOLVES)
def test_queries_still_resolve_among_a_thousand_real_names(big_index, query, name):
    """At scale the right matter is still the answer; where another place's matter of
    nearly the same name stands beside it, the citizen is offered both."""
    resolution = big_index.resolve(query)
    offered = [h.matter.name for h in resolution.hits]
    if query in CHOICES_AT_SCALE:
        assert resolution.kind == "ambiguous", (query, offered)
        assert {name, CHOICES_AT_SCALE[query]} <= set(offered), (query, offered)
    else:
        assert resolution.kind == "unique" and offered == [name], (query, resolution.kind, offered)


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
