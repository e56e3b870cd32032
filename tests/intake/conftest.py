"""Fixtures for the intake engine: the real catalog and the industry files."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import pytest

from bot.intake import engine
from bot.intake.schema import Industry, load_catalog_matters, load_industries

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "data" / "catalog"
INDUSTRIES_DIR = ROOT / "data" / "industries"


@pytest.fixture(scope="session")
def matters():
    return load_catalog_matters(CATALOG_DIR)


@pytest.fixture(scope="session")
def industries(matters):
    return load_industries(INDUSTRIES_DIR, matters)


@pytest.fixture(scope="session")
def store(industries) -> Industry:
    return industries["convenience_store"]


def complete(industry: Industry, given: Optional[Mapping[str, Any]] = None, default: bool = False
             ) -> Dict[str, Any]:
    """Answers the interview to the end: `given` where it says, else `default` for yes/no
    and the first option for choices — the way a citizen would, one question at a time."""
    given = dict(given or {})
    answers: Dict[str, Any] = {}
    while (question := engine.next_question(industry, answers)) is not None:
        if question.id in given:
            value = given[question.id]
        elif question.kind == "yes_no":
            value = default
        else:
            value = question.options[0].value
        answers = engine.apply_answer(industry, answers, question.id, value)
    return answers
