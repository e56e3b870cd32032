"""bot/dialogue/cues.py: the cue words are data (data/cues.yml), checked at import."""
from __future__ import annotations

import pytest

from bot.dialogue import cues
from bot.dialogue.cues import CuesError


def test_every_cue_of_the_file_is_read():
    assert cues.unused() == set()


def test_a_cue_of_the_wrong_shape_fails(monkeypatch):
    monkeypatch.setattr(cues, "_CUES", {
        "yes": [True, "对"],  # an unquoted yes is read as a boolean, not a word
        "empty": [],
        "table": {"差评": "1"},
        "flag": {"差评": True},
    })
    monkeypatch.setattr(cues, "_READ", set())
    for read in (lambda: cues._words("yes"), lambda: cues._words("empty"),
                 lambda: cues._string("table"), lambda: cues._mapping("table", int),
                 lambda: cues._mapping("flag", int), lambda: cues._words("missing")):
        with pytest.raises(CuesError):
            read()


def test_a_file_that_is_not_a_mapping_fails(tmp_path):
    (tmp_path / "cues.yml").write_text("- 取消\n", encoding="utf-8")
    with pytest.raises(CuesError, match="mapping"):
        cues._load(tmp_path / "cues.yml")
    with pytest.raises(CuesError, match="no cue file"):
        cues._load(tmp_path / "nowhere.yml")
