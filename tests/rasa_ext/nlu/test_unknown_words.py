"""The unknown-words gate (rasa_ext/nlu/unknown_words.py) without a model: what it forces to
nlu_fallback, and that it never swallows a clear question or a catalog name."""
from __future__ import annotations

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.nlu.unknown_words import UnknownWordsFallback, forced_to_fallback

#: Words of the training data, as the component learns them.
VOCABULARY = {"居住证", "要", "什么", "材料", "护照", "多少钱", "sh", "hello", "hi"}


def message(text: str, intent: str = "ask_fee", entities=()) -> Message:
    msg = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.93},
                        ENTITIES: list(entities)})
    tokens, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        tokens.append(Token(word, start))
        start += len(word)
    msg.set(TOKENS_NAMES[TEXT], tokens)
    return msg


def gate(*messages: Message):
    component = UnknownWordsFallback({}, None, None, vocabulary=set(VOCABULARY))
    return [m.get(INTENT)["name"] for m in component.process(list(messages))]


def test_keyboard_mashing_falls_back():
    assert gate(message("asdfghjkl"), message("qwertyuiop zxcv")) == ["nlu_fallback"] * 2
    assert gate(message("passport xyzzy")) == ["nlu_fallback"]  # unknown words, no question


@pytest.mark.parametrize("text", [
    "passport how much", "residence permit fee", "how long does it take",
    "where is the office", "can i apply online", "what documents", "procedure please",
])
def test_a_question_cue_is_never_swallowed(text):
    assert gate(message(text)) == ["ask_fee"]


def test_a_catalog_name_is_never_swallowed():
    entity = {"entity": "matter", "value": "OTC", "extractor": "CatalogEntityRuler",
              "start": 0, "end": 3}
    assert gate(message("OTC xyzzy plugh", entities=[entity])) == ["ask_fee"]


def test_chinese_questions_are_left_to_diet():
    for text in ("渔业捕捞许可证需要什么条件", "如何办理渔船登记", "护照"):
        assert gate(message(text)) == ["ask_fee"]


def test_known_words_pass_and_fallback_stays():
    assert gate(message("hello hi")) == ["ask_fee"]
    assert gate(message("zzzz", intent="nlu_fallback")) == ["nlu_fallback"]


def test_without_a_vocabulary_nothing_is_forced():
    assert not forced_to_fallback("asdfghjkl", ["asdfghjkl"], [], "greet", set(), 0.34)
