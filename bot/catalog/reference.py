"""The forms of the reference files the catalog dialogue reads (data/reference/): each a
schema beside this file, and here what a schema cannot say.

bot/catalog/dialogue.py reads these files as they are; checking them here (and in the
tests) catches a misspelt field or a value of the wrong kind, which would otherwise do
nothing or fail only when a citizen's message reaches it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

from bot.validation import Problem, Schema, check_file, repeated

HERE = Path(__file__).parent
SCHEMAS: Dict[str, Schema] = {
    "situations.yml": Schema(HERE / "situations.schema.yml"),
    "question_cues.yml": Schema(HERE / "question_cues.schema.yml"),
}


def check_situations(path: Path) -> List[Problem]:
    """The problems of a situations file: its form, and ids used once."""
    data, problems = check_file(path, SCHEMAS["situations.yml"])
    situations = data.get("situations") if isinstance(data, dict) else None
    if isinstance(situations, list):
        named = [(i, s["id"]) for i, s in enumerate(situations)
                 if isinstance(s, dict) and isinstance(s.get("id"), str)]
        for (index, ident), _ in repeated(named, lambda item: item[1]):
            problems.fail(f"situations[{index}] ({ident}).id", f"duplicate situation id {ident!r}")
    return problems.by_line()


def check_question_cues(path: Path) -> List[Problem]:
    """The problems of a question cues file (its form says it all)."""
    return check_file(path, SCHEMAS["question_cues.yml"])[1].by_line()


def check_reference(reference_dir: Path) -> List[Problem]:
    """Every problem of the reference files the catalog dialogue reads."""
    return (check_situations(reference_dir / "situations.yml")
            + check_question_cues(reference_dir / "question_cues.yml"))
