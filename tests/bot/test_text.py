import pytest
from hypothesis import given, strategies as st

from bot.text import find_application_number, normalize, normalize_text


def test_traditional_becomes_simplified():
    assert normalize_text("辦營業執照要什麼材料") == "办营业执照要什么材料"


def test_full_width_becomes_half_width():
    assert normalize_text("ＳＨ２０２６　护照？") == "SH2026护照?"
    assert normalize_text("ＡＢ　１２") == "AB 12"


def test_emoji_and_spaces_between_chinese_removed():
    assert normalize_text("社保卡😭 怎么 补办\n\n") == "社保卡怎么补办"
    assert normalize_text("sh 2026  1105") == "sh 2026 1105"


def test_control_characters_dropped_and_length_cut():
    assert normalize_text("a\u200bb\x00c") == "abc"
    assert len(normalize_text("投诉" * 2000, max_chars=400)) == 400
    assert len(normalize_text("投诉" * 2000, max_chars=120)) == 120


def test_entity_spans_follow_the_text():
    original = "我想辦 😀 護照"
    result = normalize(original)
    start = original.index("護照")
    span = result.span(start, start + 2)
    assert result.text[span[0] : span[1]] == "护照"


@given(st.text(max_size=300))
def test_normalize_never_fails_and_keeps_origin_indices(text):
    result = normalize(text)
    assert len(result.origin) == len(result.text)
    assert list(result.origin) == sorted(result.origin)
    assert all(0 <= o < len(text) for o in result.origin)


def test_application_numbers_in_many_forms():
    assert find_application_number("查一下SH20261105000123") == "SH20261105000123"
    assert find_application_number("sh 2026 1105 000123 到哪了") == "SH20261105000123"
    assert find_application_number("ＳＨ２０２６１１０５０００１２３") == "SH20261105000123"
    assert find_application_number("SH-2026-1020-001234") == "SH20261020001234"
    assert find_application_number("我的申请到哪一步了") is None


def test_text_beyond_the_input_bound_is_never_read():
    """Normalisation cuts raw input before any per-character work: what lies beyond
    MAX_INPUT_CHARS cannot change the result (nor cost time)."""
    from bot.text import MAX_INPUT_CHARS

    head = "我想问 a b " * (MAX_INPUT_CHARS // 8 + 1)
    assert normalize_text(head + "护照") == normalize_text(head + "x" * 100_000)
    assert len(normalize(head).origin) <= MAX_INPUT_CHARS


def test_nlu_cut_keeps_the_beginning_and_the_end():
    """A long story first, the question last: the NLU sees both, in at most max_chars."""
    story = "我家小区门口那条路" + "一直在修，" * 200
    cut = normalize_text(story + "请问居住证要带什么材料？", max_chars=120)
    assert len(cut) == 120
    assert cut.startswith("我家小区门口") and cut.endswith("请问居住证要带什么材料?")


def test_nlu_cut_reads_only_a_bounded_head_and_tail():
    """Only a few times max_chars of raw text is read at either end."""
    middle_a, middle_b = "甲" * 100_000, "乙" * 100_000
    text = "头" * 600 + "{}" + "尾" * 600
    assert normalize_text(text.format(middle_a), 120) == normalize_text(text.format(middle_b), 120)


def test_cut_text_keeps_its_origin_indices():
    original = "开头" + "中" * 5_000 + "结尾问题"
    result = normalize(original, max_chars=30)
    assert result.text.startswith("开头") and result.text.endswith("结尾问题")
    assert all(original[o] == original[o] for o in result.origin)
    assert result.origin[-1] == len(original) - 1 and list(result.origin) == sorted(result.origin)


@pytest.mark.timeout(20)
def test_huge_text_with_many_spaces_is_linear():
    """A 10 MB message of spaces and letters (once quadratic: each space looked ahead
    over the rest of the text) is normalised at once."""
    assert normalize_text(("a " * 5_000_000)) .startswith("a a a")
