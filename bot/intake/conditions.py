"""The tiny condition language of industry files (skip conditions and rules).

A condition is data, never code, and is evaluated without `eval`:

- ``always``                      – always true (only useful as a rule's ``when``);
- ``{q1: no}``                    – question ``q1`` was answered no (yes/no questions take
                                    ``yes``/``no``; choice questions an option value);
- ``{q1a: [enterprise, other]}``  – the answer is one of these option values;
- ``{q1: no, q1a: enterprise}``   – several entries in one mapping: all must hold;
- ``{all: [c, …]}``, ``{any: [c, …]}``, ``{not: c}`` – combinations;
- a list ``[c, …]``               – the same as ``{all: [c, …]}``.

A question that has no answer (not yet asked, or skipped) matches no value, so
``{q1: no}`` is false and ``{not: {q1: yes}}`` is true while ``q1`` is unanswered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, FrozenSet, List, Mapping, Optional, Set, Tuple

COMBINATORS = ("all", "any", "not")
#: How an industry file may write the value of a yes/no question in a condition. Part of the
#: file format (docs/industry-format.md), like the combinators above, not words said to or
#: by citizens: it stays in the code that defines the format.
YES_WORDS = {"yes": True, "no": False, "是": True, "否": False, "true": True, "false": False}


@dataclass(frozen=True)
class Condition:
    """A parsed condition; `op` is always, all, any, not or is."""

    op: str
    items: Tuple["Condition", ...] = ()
    question: str = ""
    values: FrozenSet[Any] = frozenset()

    def holds(self, answers: Mapping[str, Any]) -> bool:
        if self.op == "always":
            return True
        if self.op == "is":
            return self.question in answers and answers[self.question] in self.values
        if self.op == "all":
            return all(c.holds(answers) for c in self.items)
        if self.op == "any":
            return any(c.holds(answers) for c in self.items)
        if self.op == "not":
            return not self.items[0].holds(answers)
        raise ValueError(f"unknown condition op {self.op!r}")

    def questions(self) -> Set[str]:
        """Every question id the condition reads."""
        if self.op == "is":
            return {self.question}
        out: Set[str] = set()
        for c in self.items:
            out |= c.questions()
        return out


ALWAYS = Condition("always")


def yes_no_value(raw: Any) -> Optional[bool]:
    """A yes/no value as written in a file (YAML reads unquoted yes/no as booleans)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return YES_WORDS.get(raw.strip().lower())
    return None


def parse_condition(
    raw: Any,
    where: str,
    check_value: Callable[[str, Any, str], Optional[Tuple[Any, ...]]],
    fail: Callable[[str, str], None],
    allow_always: bool = True,
) -> Optional[Condition]:
    """Parses raw data into a Condition, reporting problems through `fail(where, msg)`.

    `check_value(question_id, raw_value, where)` returns the accepted values for a test
    of that question, or None after reporting the problem itself (unknown question,
    value that does not fit its kind).
    """
    if isinstance(raw, str) and raw.strip() == "always":
        if allow_always:
            return ALWAYS
        fail(where, "'always' is not allowed here (leave the field out instead)")
        return None
    if isinstance(raw, list):
        return _combine("all", raw, where, check_value, fail)
    if not isinstance(raw, Mapping) or not raw:
        fail(where, "must be a mapping such as {q1: no}, {all: [...]}, {any: [...]} or {not: ...}")
        return None
    parts: List[Condition] = []
    ok = True
    for key, value in raw.items():
        if not isinstance(key, str):
            fail(where, f"key {key!r} must be a question id or all/any/not")
            ok = False
            continue
        here = f"{where}.{key}"
        if key in ("all", "any"):
            part = _combine(key, value, here, check_value, fail)
        elif key == "not":
            inner = parse_condition(value, here, check_value, fail, allow_always=False)
            part = Condition("not", (inner,)) if inner is not None else None
        else:
            values = check_value(key, value, here)
            part = Condition("is", question=key, values=frozenset(values)) if values else None
        if part is None:
            ok = False
        else:
            parts.append(part)
    if not ok:
        return None
    return parts[0] if len(parts) == 1 else Condition("all", tuple(parts))


def _combine(op, raw, where, check_value, fail) -> Optional[Condition]:
    if not isinstance(raw, list) or not raw:
        fail(where, f"'{op}' needs a non-empty list of conditions")
        return None
    items = [
        parse_condition(c, f"{where}[{i}]", check_value, fail, allow_always=False)
        for i, c in enumerate(raw)
    ]
    if any(c is None for c in items):
        return None
    return Condition(op, tuple(items))  # type: ignore[arg-type]
