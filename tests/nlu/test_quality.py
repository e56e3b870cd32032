"""NLU quality gates on the held-out set (tests/nlu/heldout.yml, written apart from
training) and on the outside set (tests/nlu/outside/messages.jsonl, public messages
nobody here wrote). One model load evaluates both (and the dev split, whose fallback sweep
the noise test reads); `make eval` prints the whole report.

Fails when held-out intent macro-F1 drops below its floor, when any single intent
collapses, or when any outside measure falls below the value the model reached when the
floor was set (minus a small margin). The outside floors are NOT the issue-12 targets:
they only stop regressions. Raise them as the model improves (measured value − 0.02),
until they reach the targets.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from rasa_ext.nlu.evaluate import OUTSIDE_TARGETS, evaluate, outside_measures

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "govbot.tar.gz"
NLU = ROOT / "tests" / "nlu"
# Held-out macro-F1 measured 0.954 on 2026-12-05 (the five new voices); issue 12 asks that
# it stay >= 0.95.
MACRO_F1_FLOOR = 0.94
PER_INTENT_FLOOR = 0.75
MATTER_RESOLUTION_FLOOR = 0.90

# Outside measures, after the fallback (nlu_fallback counts as wrong). Each floor is the value
# the model of this tree reached on 2026-12-05 minus 0.02; the issue-12 target is in the
# comment. Training is repeatable on one machine since that day (rasa_ext/train.py), so
# the margin is for honest small changes, not for run-to-run noise (0.03-0.07 between two
# trainings of one tree before). It is not repeatable across CPUs: on 2026-12-06 the
# landed tree (68e6c80), trained on another CI machine (AVX-512), gave the identical
# model twice there but a different one than where the floors were set (complaints 0.918
# instead of 0.951, exact questions 0.856 instead of 0.863, the others equal or higher). A floor is the lowest value
# measured on a CI machine minus 0.02. Raise the floors as the model improves; never
# lower them to let a change through.
OUTSIDE_FLOORS = {
    # questions read as a question (any ask_*): measured 0.928; target >= 0.85
    "question.read_as_question": 0.908,
    # questions read as the right ask_*: measured 0.863; no target in the issue
    "question.exact": 0.843,
    # complaints read as complain: measured 0.951, 0.918 on another CPU (above); target >= 0.85
    "complaint.complain": 0.898,
    # other-domain requests read as out_of_scope: measured 0.907; target >= 0.85
    "out_of_scope.out_of_scope": 0.887,
    # chat read as a social intent: measured 0.872; target >= 0.85. Lowered once, from
    # 0.895 (0.915 measured on a training that the next training of the same tree did not
    # repeat: 0.894), by the commit that added the five voices: Weibo chat about
    # freestyle and idols now reads as out_of_scope.
    "chat.social": 0.852,
}
OUTSIDE_CEILINGS = {
    # other-domain requests taken as a service intent: measured 0.046 (4 of 86); target
    # <= 0.05, and one message more would pass it: the ceiling is the target.
    "out_of_scope.service": 0.05,
}

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def report():
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does it)")
    return evaluate(
        str(MODEL),
        str(NLU / "heldout.yml"),
        str(NLU / "noise.txt"),
        dev_file=str(NLU / "dev.yml"),
        outside_file=str(NLU / "outside" / "messages.jsonl"),
    )


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
    threshold = report["fallback_threshold"]
    row = min(report["fallback_sweep"], key=lambda r: abs(r["threshold"] - threshold))
    assert row["noise_caught"] >= 0.5, report["fallback_sweep"]


def test_every_outside_measure_has_a_gate():
    assert set(OUTSIDE_FLOORS) | set(OUTSIDE_CEILINGS) == set(OUTSIDE_TARGETS)


@pytest.mark.parametrize("measure", sorted(OUTSIDE_FLOORS))
def test_outside_measure_above_floor(report, measure):
    value = outside_measures(report)[measure]
    kind = measure.split(".")[0]
    errors = report["outside"]["kinds"][kind]["errors"][:20]
    assert value >= OUTSIDE_FLOORS[measure], (measure, value, errors)


@pytest.mark.parametrize("measure", sorted(OUTSIDE_CEILINGS))
def test_outside_measure_below_ceiling(report, measure):
    value = outside_measures(report)[measure]
    kind = measure.split(".")[0]
    predicted = report["outside"]["kinds"][kind]["predicted"]
    assert value <= OUTSIDE_CEILINGS[measure], (measure, value, predicted)
