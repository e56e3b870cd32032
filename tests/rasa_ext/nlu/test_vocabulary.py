"""The jieba words generated from the catalog (rasa_ext/nlu/vocabulary.py), and the training
data's entity spans on them: DIET learns nothing from a span that does not start and
end on token boundaries (Rasa's "Misaligned entity annotation" warning)."""
from __future__ import annotations

from pathlib import Path

from rasa_ext.nlu.alignment import misaligned
from rasa_ext.nlu.vocabulary import word_list

ROOT = Path(__file__).resolve().parents[3]


def test_names_inside_situation_and_action_phrases_become_words():
    words = word_list({"matter": ["驾照丢了", "驾驶证期满换证", "办个体户", "开工许可"]})
    assert {"驾照", "驾驶证", "个体户"} <= set(words)
    assert "驾照丢了" not in words and "办个体户" not in words  # split at the name
    assert "开工许可" in words and "工许可" not in words  # 开 is not taken off


def test_a_compound_one_character_longer_stays_a_word():
    words = word_list({"matter": ["食品经营许可", "食品经营许可证", "年检", "年检贴", "办居住证",
                                  "居住证"]})
    assert {"食品经营许可证", "年检贴", "居住证"} <= set(words)
    assert "办居住证" not in words


def test_districts_and_industries_are_kept_whole():
    words = word_list({"district": ["浦东新区", "浦东"], "industry": ["便利店"]})
    assert words == {"浦东新区": "district", "浦东": "district", "便利店": "industry"}


def test_every_training_entity_lines_up_with_tokens():
    """Run `python -m rasa_ext.nlu.alignment data/nlu` for the list with tokens."""
    found = [(intent, text, bad) for intent, text, bad, _ in misaligned([str(ROOT / "data" / "nlu")])]
    assert found == [], found[:10]


def _reference_with_reviewed_alias(tmp_path):
    """A copy of data/reference with one alias added in review (bot/review/labels.py)."""
    import shutil

    from bot.catalog.reviewed import add_to_file

    reference = tmp_path / "reference"
    shutil.copytree(ROOT / "data" / "reference", reference)
    add_to_file(reference / "reviewed_aliases.yml", "SH-P-004", "医保卡没了", "sup1", "2026-01-01T00:00:00+00:00")
    return reference


def test_aliases_added_in_review_are_matter_names_for_the_next_training(tmp_path):
    from rasa_ext.nlu.vocabulary import entity_phrases

    phrases = entity_phrases(ROOT / "data" / "catalog", _reference_with_reviewed_alias(tmp_path))
    assert "医保卡没了" in phrases["matter"]
    words = word_list(phrases)
    assert words.get("医保卡") == "matter" and "医保卡没了" not in words  # the name inside is the word


def test_the_entity_ruler_recognises_an_alias_added_in_review(tmp_path):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from rasa_ext.nlu.catalog_entities import CatalogEntityRuler

    config = {"catalog_dir": str(ROOT / "data" / "catalog"),
              "reference_dir": str(_reference_with_reviewed_alias(tmp_path))}
    (tmp_path / "model").mkdir()
    ruler = CatalogEntityRuler(config, LocalModelStorage(tmp_path / "model"), Resource("ruler"))
    ruler.train(TrainingData())
    found = ruler.extract("我的医保卡没了怎么办")
    assert {"entity": "matter", "value": "医保卡没了"} in [
        {"entity": e["entity"], "value": e["value"]} for e in found]
