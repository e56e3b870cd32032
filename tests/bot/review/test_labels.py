"""Supervisors' labels written as Rasa training data (bot/review/labels.py): what Rasa's
own reader gets from the file, and what is refused, skipped or dropped on the way."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.review.labels import Example, LabelRefused, write_examples
from bot.review.training_data import EVALUATION_FILES, evaluation_texts

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def reviewed(tmp_path) -> Path:
    """data/nlu/reviewed of a test: its parent stands for data/nlu."""
    return tmp_path / "nlu" / "reviewed"


def rasa_examples(path: Path) -> list:
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(path)).training_examples


def matter(start: int, end: int, value: str = "") -> dict:
    return {"entity": "matter", "start": start, "end": end, "value": value}


def test_rasa_reads_intents_texts_entities_and_provenance(reviewed):
    result = write_examples("ask_materials", [
        Example("医保卡没了要带啥", [matter(0, 3, "医保卡")], miss_id=7, labelled_by="sup1",
                labelled_at=1767225600.0, channel="wechat_oa"),
        Example("浦东新区办营业执照在哪", [{"entity": "district", "start": 0, "end": 4}], miss_id=8,
                labelled_by="sup1", labelled_at="2026-01-02T03:04:05+00:00"),
    ], reviewed)
    assert result.path == reviewed / "ask_materials.yml"
    assert result.written == ["医保卡没了要带啥", "浦东新区办营业执照在哪"]
    assert not (result.skipped_duplicates or result.refused_evaluation or result.conflicts
                or result.dropped_annotations)
    first, second = rasa_examples(result.path)
    assert first.get("intent") == second.get("intent") == "ask_materials"
    assert first.get("text") == "医保卡没了要带啥"
    assert first.get("entities") == [{"start": 0, "end": 3, "value": "医保卡", "entity": "matter"}]
    assert first.get("metadata")["example"] == {
        "source": "review", "miss_id": 7, "labelled_by": "sup1",
        "labelled_at": "2026-01-01T00:00:00+00:00", "channel": "wechat_oa"}
    assert second.get("entities") == [{"start": 0, "end": 4, "value": "浦东新区", "entity": "district"}]
    assert second.get("metadata")["example"]["labelled_at"] == "2026-01-02T03:04:05+00:00"


def test_rasa_finds_the_reviewed_folder_when_training_on_data_nlu(reviewed):
    from rasa.shared.data import get_data_files, is_nlu_file

    write_examples("ask_fee", [Example("医保卡没了补一张收钱不", miss_id=1)], reviewed)
    assert get_data_files([str(reviewed.parent)], is_nlu_file) == [str(reviewed / "ask_fee.yml")]
    assert [p.name for p in reviewed.iterdir()] == ["ask_fee.yml"]  # no lock or temporary file left


def test_appending_keeps_earlier_examples(reviewed):
    write_examples("ask_fee", [Example("医保卡没了补一张收钱不", miss_id=1)], reviewed)
    write_examples("ask_fee", [Example("补办医保卡掉了要付费吗", miss_id=2)], reviewed)
    examples = rasa_examples(reviewed / "ask_fee.yml")
    assert [e.get("text") for e in examples] == ["医保卡没了补一张收钱不", "补办医保卡掉了要付费吗"]
    assert [e.get("metadata")["example"]["miss_id"] for e in examples] == [1, 2]


def test_duplicates_are_skipped_in_the_file_in_the_batch_and_in_training_data(reviewed):
    write_examples("ask_fee", [Example("医保卡没了补一张收钱不")], reviewed)
    result = write_examples("ask_fee", [
        Example("医保卡没了，补一张收钱不？"),  # the same once normalised
        Example("醫保卡沒了補一張收錢不"),  # Traditional: the same
        Example("这个补办收钱吗老师"),
        Example("这个补办收钱吗老师！"),  # twice in one batch
    ], reviewed)
    assert result.written == ["这个补办收钱吗老师"]
    assert len(result.skipped_duplicates) == 3
    # an example already trained under data/nlu (here: the test's stand-in) with this intent
    (reviewed.parent / "fees.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: ask_fee\n  examples: |\n    - 办[护照](matter)要钱不\n',
        encoding="utf-8")
    assert write_examples("ask_fee", [Example("办护照要钱不")], reviewed).skipped_duplicates == ["办护照要钱不"]


def test_a_text_trained_with_another_intent_is_a_conflict_not_written(reviewed):
    result = write_examples("ask_fee", [Example("办居住证要带什么")], reviewed,
                            training_dir=ROOT / "data" / "nlu")
    assert result.conflicts == [("办居住证要带什么", ["ask_materials"])]
    assert result.written == [] and not (reviewed / "ask_fee.yml").exists()


@pytest.mark.parametrize("path", EVALUATION_FILES, ids=lambda p: p.name)
def test_evaluation_messages_are_refused(reviewed, path):
    text = evaluation_texts([path])[0]
    result = write_examples("greet", [Example(text)], reviewed)
    assert result.refused_evaluation == [text] and result.written == []


def test_a_message_one_character_off_an_evaluation_message_is_refused(reviewed):
    """The leakage test's rule (tests/nlu/test_leakage.py): labelling cannot make it fail."""
    text = next(t for t in evaluation_texts(EVALUATION_FILES[:1]) if len(t) >= 8)
    near = text[:-1] + ("吗" if text[-1] != "吗" else "呢")
    result = write_examples("greet", [Example(near)], reviewed)
    assert result.refused_evaluation == [near]


@pytest.mark.parametrize("intent", ["nlu_fallback", "ask_weather", ""])
def test_intents_the_domain_does_not_declare_are_refused(reviewed, intent):
    with pytest.raises(LabelRefused):
        write_examples(intent, [Example("医保卡没了补一张收钱不")], reviewed)
    assert not (reviewed / f"{intent}.yml").exists()


def test_annotations_that_cannot_be_learnt_are_dropped_and_reported(reviewed):
    # jieba makes 社保卡 | 丢了: a span on 社保 ends inside a word
    misaligned = Example("社保卡丢了咋补办啊", [matter(0, 2, "社保")])
    other_type = Example("我叫张三要办居住证啊", [{"entity": "person", "start": 2, "end": 4}])
    masked = Example("办件SH**********23到哪了", [
        {"entity": "application_number", "start": 2, "end": 16}])
    result = write_examples("ask_materials", [misaligned, other_type, masked], reviewed)
    assert len(result.written) == 3
    reasons = {(d["text"], d["reason"]) for d in result.dropped_annotations}
    assert reasons == {
        ("社保卡丢了咋补办啊", "misaligned with the tokenizer's words"),
        ("我叫张三要办居住证啊", "not an entity type of the NLU contract"),
        ("办件SH**********23到哪了", "masked"),
    }
    assert all(not e.get("entities") for e in rasa_examples(result.path))


def test_a_personal_number_left_in_a_text_is_masked_before_writing(reviewed):
    result = write_examples("inform", [Example("我手机13812345678身份证310101199001011234")], reviewed)
    (example,) = rasa_examples(result.path)
    assert "13812345678" not in example.get("text") and "19900101" not in example.get("text")


def test_brackets_a_citizen_typed_are_not_read_as_annotations(reviewed):
    result = write_examples("chitchat", [Example("[你好](greet) 哈哈我是黑客")], reviewed)
    (example,) = rasa_examples(result.path)
    assert not example.get("entities") and "你好" in example.get("text")
    assert example.get("intent") == "chitchat"


def test_two_writers_at_once_lose_nothing(reviewed):
    texts = {name: [f"{name}第{i}条新的说法补办社保卡要啥" for i in range(12)] for name in ("甲", "乙")}
    start = threading.Barrier(2)
    errors = []

    def writer(name):
        try:
            start.wait()
            for i, text in enumerate(texts[name]):
                write_examples("ask_materials", [Example(text, miss_id=i, labelled_by=name)], reviewed)
        except Exception as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(name,)) for name in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    written = {e.get("text") for e in rasa_examples(reviewed / "ask_materials.yml")}
    assert written == set(texts["甲"]) | set(texts["乙"])
