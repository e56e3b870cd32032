"""NLU quality on the held-out set (tests/nlu/heldout.yml), written apart from training.

Fails when intent macro-F1 drops below the floor the foundation issue sets, or when any
single intent collapses; `make eval` prints the whole report.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.evaluate import evaluate

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "govbot.tar.gz"
MACRO_F1_FLOOR = 0.90
PER_INTENT_FLOOR = 0.75
MATTER_RESOLUTION_FLOOR = 0.90

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def report():
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    return evaluate(str(MODEL), str(ROOT / "tests" / "nlu" / "heldout.yml"), str(ROOT / "tests" / "nlu" / "noise.txt"))


def test_intent_macro_f1_above_floor(report):
    assert report["intent"]["macro_f1"] >= MACRO_F1_FLOOR, report["confusions"]


def test_no_intent_collapses(report):
    weak = {k: v["f1"] for k, v in report["intent"]["per_intent"].items() if v["f1"] < PER_INTENT_FLOOR}
    assert weak == {}, weak


def test_the_named_matter_is_the_one_answered(report):
    """Exact entity spans differ harmlessly ("办居住证" vs "居住证"); what counts is that
    the bot settles on the matter the citizen named."""
    assert report["matter_resolution"]["resolved"] >= MATTER_RESOLUTION_FLOOR, report["matter_resolution"]


def test_noise_mostly_falls_back_at_configured_threshold(report):
    import yaml

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    threshold = next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    row = min(report["fallback_sweep"], key=lambda r: abs(r["threshold"] - threshold))
    assert row["noise_caught"] >= 0.5, report["fallback_sweep"]
