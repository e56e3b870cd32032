"""bot/dialogue/texts.py: words as data, checked against what the code fills in."""
from __future__ import annotations

import importlib

import pytest

from bot.dialogue import texts
from bot.dialogue.texts import Table, TextsError

#: Every module that speaks from data/texts/ (importing one loads and checks its texts).
SPEAKERS = ("bot.catalog.dialogue", "bot.catalog.answers", "bot.status.render", "bot.intake.dialogue",
            "bot.intake.engine", "bot.intake.schema", "bot.intake.documents", "bot.intake.render",
            "bot.handoff.service", "bot.handoff.history", "bot.handoff.rasa_api", "bot.handoff.summary",
            "actions.intake", "actions.handoff", "rasa_ext.patches.action_failure",
            "web.desk.views", "web.desk.auth", "web.middlewares", "web.search", "web.documents",
            "web.widget", "connectors.common.options", "connectors.common.turn",
            "connectors.alipay.channel", "connectors.wechat.channel",
            "bot.review.grouping", "bot.review.service")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "words.yml").write_text(
        "hello: 您好，{name}。\n"
        "plain: 好的。\n"
        "labels:\n  fee: 收不收费\n  online: 能否网上办\n",
        encoding="utf-8",
    )
    return tmp_path


def test_texts_are_filled_with_exactly_their_fields(folder):
    words = texts.load("words", {"hello": ("name",), "plain": (), "labels": Table(("fee", "online"))},
                       folder)
    assert words("hello", name="王芳") == "您好，王芳。" and words["hello"] == "您好，{name}。"
    assert words("plain") == "好的。" and set(words) == {"hello", "plain"}
    assert words.table("labels") == {"fee": "收不收费", "online": "能否网上办"}
    with pytest.raises(TextsError):
        words("hello")  # a field missing
    with pytest.raises(TextsError):
        words("plain", name="多余")  # a field the text does not take


def test_a_missing_key_fails_at_load(folder):
    with pytest.raises(TextsError, match="no text 'goodbye'"):
        texts.load("words", {"goodbye": ()}, folder)


def test_a_missing_or_unexpected_placeholder_fails_at_load(folder):
    with pytest.raises(TextsError, match="placeholders"):
        texts.load("words", {"hello": ()}, folder)  # the file has {name}, the code fills none
    with pytest.raises(TextsError, match="placeholders"):
        texts.load("words", {"plain": ("count",)}, folder)  # the code fills {count}


def test_a_table_must_hold_the_names_the_code_needs(folder):
    with pytest.raises(TextsError, match="table 'labels'"):
        texts.load("words", {"labels": Table(("fee", "online", "procedure"))}, folder)
    with pytest.raises(TextsError, match="must be a text"):
        texts.load("words", {"labels": ()}, folder)


def test_malformed_and_positional_placeholders_fail(tmp_path):
    (tmp_path / "bad.yml").write_text("a: 好{\nb: 第{}项\nc: '{0}'\n", encoding="utf-8")
    for key in "abc":
        with pytest.raises(TextsError):
            texts.load("bad", {key: ()}, tmp_path)


def test_a_missing_file_fails(tmp_path):
    with pytest.raises(TextsError, match="no text file"):
        texts.load("nowhere", {}, tmp_path)


def test_every_speaker_finds_its_texts_and_every_text_is_used():
    for module in SPEAKERS:
        importlib.import_module(module)  # raises TextsError when a text is missing or wrong
    assert texts.files()
    assert {name: texts.unused(name) for name in texts.files()} == {
        name: set() for name in texts.files()
    }
