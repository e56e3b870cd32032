"""The reference files the catalog dialogue reads (data/reference/situations.yml,
question_cues.yml) hold to their schemas; a slip is named with its field and line."""
from __future__ import annotations

import pytest

from bot.catalog.reference import check_question_cues, check_reference, check_situations
from tests.conftest import REFERENCE_DIR

SITUATIONS = """\
situations:
  - id: lost
    label: 遗失补办
    words: [丢了, 遗失]
    selects: [遗失, 补办]
  - id: urgent
    words: [加急]
    selects: [加急]
    topic: processing_time
    say_unlisted: true
name_actions: [申领, 补换]
"""

CUES = """\
topics:
  materials:
    - 要带什么
  fee:
    - 多少钱
fillers: [请问]
thing_endings: [证]
"""


def test_shipped_reference_files_hold_to_their_schemas():
    assert [str(p) for p in check_reference(REFERENCE_DIR)] == []


def _problems(tmp_path, check, text):
    path = tmp_path / "file.yml"
    path.write_text(text, encoding="utf-8")
    return [str(p).replace(f"{path}:", "") for p in check(path)]


def test_the_examples_are_valid(tmp_path):
    assert _problems(tmp_path, check_situations, SITUATIONS) == []
    assert _problems(tmp_path, check_question_cues, CUES) == []


@pytest.mark.parametrize("old, new, expected", [
    ("    say_unlisted: true", "    say_unlisted: yes please",
     "10: situations[1] (urgent).say_unlisted: must be true or false"),
    ("    say_unlisted: true", "    say_unlisted_: true",
     "10: situations[1] (urgent).say_unlisted_: unknown field (allowed: group, id, label, "
     "say_unlisted, selects, selects_alone, topic, words)"),
    ("    topic: processing_time", "    topic: duration",
     "9: situations[1] (urgent).topic: must be one of materials, processing_time, fee, "
     "where_to_apply, online, eligibility, procedure, not 'duration'"),
    ("  - id: urgent", "  - id: lost", "6: situations[1] (lost).id: duplicate situation id 'lost'"),
    ("    words: [加急]", "    words: []", "7: situations[1] (urgent).words: needs at least 1 item(s)"),
    ("    selects: [加急]\n", "", "6: situations[1] (urgent).selects: is missing"),
])
def test_a_slip_in_situations_is_named_with_its_line(tmp_path, old, new, expected):
    assert _problems(tmp_path, check_situations, SITUATIONS.replace(old, new)) == [expected]


@pytest.mark.parametrize("old, new, expected", [
    ("  fee:", "  fees:", "4: topics.fees: unknown field (allowed: eligibility, fee, materials, "
     "online, procedure, processing_time, where_to_apply)"),
    ("    - 多少钱", "    - 多少钱\n    - 多少钱", "4: topics.fee: duplicate entry '多少钱'"),
    ("fillers: [请问]", "fillers: 请问", "6: fillers: must be a list of non-empty strings"),
    ("topics:", "topic:", "1: topic: unknown field (allowed: fillers, thing_endings, topics)"),
])
def test_a_slip_in_question_cues_is_named_with_its_line(tmp_path, old, new, expected):
    assert expected in _problems(tmp_path, check_question_cues, CUES.replace(old, new))
