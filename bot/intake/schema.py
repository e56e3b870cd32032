"""Industry files (docs/industry-format.md): typed views, loading and checks.

An industry is data: its questions, the order they are asked in, the conditions that
skip them, and the rules that turn answers into approvals (catalog matters), scenarios
and extra materials. The format is the schema industry.schema.yml beside this file;
here is what a schema cannot say (what refers to what, within the file and to the
catalog). Loading checks the whole file and reports every problem at once as
``file:line: field: message``, so a government adding an industry sees the full list of
what to fix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from bot.catalog.schema import Material, Matter
from bot.dialogue import texts
from bot.intake.conditions import ALWAYS, Condition, parse_condition, yes_no_value
from bot.validation import (
    Fail, LineMap, NotValidFile, Problem, Problems, Schema, child_name, read_yaml_file,
    repeated, whole_number,
)

KINDS = ("yes_no", "choice")
DEFAULT_PERMIT = "SH-E-012"
INDUSTRY_SUFFIXES = (".yml", ".yaml")
SCHEMA = Schema(Path(__file__).with_name("industry.schema.yml"))
FILE = "(file)"  # how problems name the file as a whole

#: The commitments every applicant signs when the industry file lists none of its own
#: (data/texts/documents.yml), in the file's order.
DEFAULT_COMMITMENTS = tuple(texts.load("documents", {
    "default_commitments": texts.Table(("truthful", "conditions", "deferred", "inspection")),
}).table("default_commitments").values())


class IndustryError(ValueError):
    """A malformed industry file; `problems` lists every 'file:line: field: message'."""

    def __init__(self, problems: List[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    aliases: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str
    order: int
    options: Tuple[Option, ...] = ()
    ask_if: Optional[Condition] = None
    hint: str = ""
    context_words: Tuple[str, ...] = ()
    number_over: Optional[float] = None
    #: A yes makes `ask_if` true (the file's yes_means_ask_if): the earlier answer that made
    #: this question moot was wrong and changes with it.
    yes_means_ask_if: bool = False
    #: Words naming the question's subject (酒 → 是否经营酒类零售？), so a correction such as
    #: "刚才说错了，我们卖酒" finds the question it changes. Unique within the industry.
    keywords: Tuple[str, ...] = ()

    def option(self, value: Any) -> Optional[Option]:
        return next((o for o in self.options if o.value == value), None)

    def valid_value(self, value: Any) -> bool:
        if self.kind == "yes_no":
            return isinstance(value, bool)
        return isinstance(value, str) and self.option(value) is not None


@dataclass(frozen=True)
class ExtraMaterial:
    """A material an industry rule adds to one of its approvals (not in the catalog)."""

    matter: str
    material: Material


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition
    approvals: Tuple[str, ...] = ()
    scenarios: Tuple[Tuple[str, str], ...] = ()  # (matter code, scenario name)
    materials: Tuple[ExtraMaterial, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Commitment:
    """One line of the 告知承诺 the applicant signs, shown when `when` holds."""

    text: str
    when: Condition = ALWAYS


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    aliases: Tuple[str, ...]
    permit: str
    approvals: Tuple[str, ...]  # every approval the permit may cover, in document order
    questions: Tuple[Question, ...]  # sorted by order
    rules: Tuple[Rule, ...]
    deferrable: Tuple[str, ...] = ()
    commitments: Tuple[Commitment, ...] = tuple(Commitment(t) for t in DEFAULT_COMMITMENTS)
    description: str = ""
    source: str = ""
    _by_id: Dict[str, Question] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(f"{self.code}: no question {question_id!r}") from None

    def has_question(self, question_id: str) -> bool:
        return question_id in self._by_id


# ---------------------------------------------------------------------------
# The catalog as the validator and the documents see it.

CatalogLike = Union[Mapping[str, Matter], Iterable[Union[Matter, Mapping[str, Any]]], Any]


def matters_by_code(catalog: CatalogLike) -> Dict[str, Matter]:
    """{code: Matter} from a MatterIndex, a {code: Matter} mapping, or Matters/entries."""
    by_code = getattr(catalog, "by_code", None)
    if isinstance(by_code, Mapping):
        return {m.code: m for m in by_code.values()}
    if isinstance(catalog, Mapping):
        return {
            (v.code if isinstance(v, Matter) else k): v if isinstance(v, Matter) else Matter.from_dict(v)
            for k, v in catalog.items()
        }
    out: Dict[str, Matter] = {}
    for item in catalog:
        matter = item if isinstance(item, Matter) else Matter.from_dict(item)
        out[matter.code] = matter
    return out


def load_catalog_matters(path: Path) -> Dict[str, Matter]:
    """The catalog files under path as {code: Matter}; raises ValueError when invalid."""
    from bot.catalog.loader import read_catalog

    entries, problems = read_catalog(Path(path))
    if problems:
        raise ValueError("\n".join(map(str, problems)))
    return {e.data["code"]: Matter.from_dict(e.data) for e in entries}


# ---------------------------------------------------------------------------
# Checks beyond the schema: what refers to what.


def _listed(data: Mapping, key: str) -> List[Tuple[str, Mapping]]:
    """(field name, item) for each mapping in the list under key."""
    items = data.get(key)
    if not isinstance(items, list):
        return []
    return [(child_name(key, i, item), item) for i, item in enumerate(items)
            if isinstance(item, Mapping)]


def _texts_at(value: Any) -> List[Tuple[int, str]]:
    """(index, text stripped) for the texts of a list (the schema reports anything else)."""
    if not isinstance(value, list):
        return []
    return [(i, v.strip()) for i, v in enumerate(value) if isinstance(v, str) and v.strip()]


def _strings(value: Any) -> List[str]:
    """The texts of a list, stripped."""
    return [text for _, text in _texts_at(value)]


def _text_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value.strip() else None


class _References:
    """Checks an industry's references: between its questions, conditions and rules, and
    to the catalog's matters, scenarios and materials. Works on data the schema may have
    rejected (every problem is reported at once), reading only what is well formed; keeps
    each parsed condition by its field for building the Industry."""

    def __init__(self, data: Mapping, matters: Mapping[str, Matter], fail: Fail) -> None:
        self.data = data
        self.matters = matters
        self.fail = fail
        self.kinds: Dict[str, Tuple[str, Tuple[str, ...]]] = {}  # id → (kind, option values)
        self.orders: Dict[str, int] = {}
        self.question_at: Dict[str, Tuple[str, Mapping]] = {}  # id → (field name, question)
        self.conditions: Dict[str, Condition] = {}  # field name → parsed condition
        self.permit = data.get("permit", DEFAULT_PERMIT)
        self.declared = _strings(data.get("approvals"))
        self.added: Set[str] = set()
        self.extra_names: Set[str] = set()

    def check(self) -> None:
        self.check_permit_and_approvals()
        self.read_questions()
        self.check_keywords()
        self.check_skip_conditions()
        scenario_uses = self.check_rules()
        self.check_coverage(scenario_uses)
        self.check_deferrable()
        self.check_commitments()

    def check_permit_and_approvals(self) -> None:
        if not isinstance(self.permit, str) or self.permit not in self.matters:
            self.fail("permit", f"unknown matter code {self.permit!r} (not in the catalog)")
        for i, code in _texts_at(self.data.get("approvals")):
            if code not in self.matters:
                self.fail(f"approvals[{i}]", f"unknown matter code {code!r} (not in the catalog)")
            elif code == self.permit:
                self.fail(f"approvals[{i}]",
                          f"{code} is the single permit itself, not an approval it covers")

    def read_questions(self) -> None:
        """The questions as conditions see them; repeated ids, orders and option values."""
        order_of: Dict[int, str] = {}
        for where, raw in _listed(self.data, "questions"):
            qid = raw.get("id")
            if not isinstance(qid, str):
                continue
            if qid in self.kinds:
                self.fail(f"{where}.id", f"duplicate question id {qid!r}")
                continue
            kind = raw.get("kind") if raw.get("kind") in KINDS else "yes_no"
            options = _listed(raw, "options") if kind == "choice" else []
            valued = [(w, o["value"]) for w, o in options if _text_or_none(o.get("value"))]
            for (w, value), _ in repeated(valued, lambda item: item[1]):
                self.fail(f"{where}.{w}.value", f"duplicate option value {value!r}")
            order = raw.get("order")
            if whole_number(order):
                if order in order_of:
                    self.fail(f"{where}.order", f"duplicate order {order} (also {order_of[order]})")
                order_of.setdefault(order, qid)
                self.orders[qid] = order
            self.kinds[qid] = (kind, tuple(v for _, v in valued))
            self.question_at[qid] = (where, raw)

    def check_keywords(self) -> None:
        """A keyword names one question: a correction naming it must find one."""
        uses = [(where, qid, word) for qid, (where, raw) in self.question_at.items()
                for word in dict.fromkeys(_strings(raw.get("keywords")))]
        for (where, _, word), (_, other, _) in repeated(uses, lambda use: use[2]):
            self.fail(f"{where}.keywords", f"keyword {word!r} also names question {other!r}")

    def check_value(self, qid: str, raw_value: Any, where: str) -> Optional[Tuple[Any, ...]]:
        """The values a condition tests question qid for (see parse_condition)."""
        if qid not in self.kinds:
            self.fail(where, f"unknown question id {qid!r}")
            return None
        kind, known = self.kinds[qid]
        if kind == "yes_no":
            value = yes_no_value(raw_value)
            if value is None:
                self.fail(where, f"{qid} is a yes/no question: the value must be yes or no, "
                          f"not {raw_value!r}")
                return None
            return (value,)
        values = raw_value if isinstance(raw_value, list) else [raw_value]
        bad = [v for v in values if v not in known]
        if bad or not values:
            self.fail(where,
                      f"{qid} has options {sorted(known)}; {bad or values!r} is not one of them")
            return None
        return tuple(values)

    def condition(self, raw: Any, where: str, allow_always: bool = True) -> Optional[Condition]:
        condition = parse_condition(raw, where, self.check_value, self.fail, allow_always)
        if condition is not None:
            self.conditions[where] = condition
        return condition

    def check_skip_conditions(self) -> None:
        """Skip conditions read only earlier questions, and never in a circle."""
        reads: Dict[str, Set[str]] = {}
        for qid, (where, raw) in self.question_at.items():
            if "ask_if" in raw:
                condition = self.condition(raw["ask_if"], f"{where}.ask_if", allow_always=False)
                if condition is not None:
                    reads[qid] = condition.questions()
                    if raw.get("yes_means_ask_if") is True and not (
                            condition.op == "is" and len(condition.values) == 1
                            and isinstance(next(iter(condition.values)), bool)):
                        self.fail(f"{where}.yes_means_ask_if",
                                  "needs an ask_if of one yes_no question and one value")
            elif raw.get("yes_means_ask_if") is True:
                self.fail(f"{where}.yes_means_ask_if", "needs an ask_if")
        # Cycles first (clearer than the forward references they also are), then the rest.
        where_of = {qid: where for qid, (where, _) in self.question_at.items()}
        in_cycle = _report_cycles(self.fail, reads, where_of)
        for qid, refs in reads.items():
            where = f"{where_of[qid]}.ask_if"
            for ref in sorted(refs):
                if ref not in self.orders or qid not in self.orders or (
                        qid in in_cycle and ref in in_cycle):
                    continue
                if ref == qid:
                    self.fail(where, f"{qid} cannot depend on its own answer")
                elif self.orders[ref] >= self.orders[qid]:
                    self.fail(where, f"forward reference: {qid} (order {self.orders[qid]}) "
                              f"depends on {ref} (order {self.orders[ref]}), which is asked later")

    def check_rules(self) -> List[Tuple[str, str]]:
        """Each rule's condition, approvals, scenarios and extra materials; returns the
        (matter code, field) of every scenario a rule names."""
        scenario_uses: List[Tuple[str, str]] = []
        rules = _listed(self.data, "rules")
        for (where, raw), _ in repeated(rules, lambda rule: _text_or_none(rule[1].get("id"))):
            self.fail(f"{where}.id", f"duplicate rule id {raw['id']!r}")
        for where, raw in rules:
            if "when" in raw:
                self.condition(raw["when"], f"{where}.when")
            approvals = _strings(raw.get("approvals"))
            for j, code in _texts_at(raw.get("approvals")):
                self.check_covered(code, f"{where}.approvals[{j}]")
            self.added.update(approvals)
            scenarios = raw.get("scenarios")
            for code, names in (scenarios.items() if isinstance(scenarios, Mapping) else ()):
                here = f"{where}.scenarios.{code}"
                if self.check_covered(code, here):
                    scenario_uses.append((code, here))
                    self.check_scenarios(code, _strings(names), here)
            for here, item in _listed(raw, "materials"):
                self.check_material_target(item, approvals, f"{where}.{here}")
        return scenario_uses

    def check_covered(self, code: Any, where: str) -> bool:
        """Whether a rule's matter code is a catalog matter; it must be declared too."""
        if code not in self.matters:
            self.fail(where, f"unknown matter code {code!r} (not in the catalog)")
            return False
        if code not in self.declared:
            self.fail(where, f"{code} is not listed in the industry's approvals")
        return True

    def check_scenarios(self, code: str, names: List[str], where: str) -> None:
        known = [s.name for s in self.matters[code].scenarios]
        for name in names:
            if name not in known:
                self.fail(where, f"unknown scenario {name!r} of {code} "
                          f"(known: {'、'.join(known) or 'none'})")

    def check_material_target(self, item: Mapping, approvals: List[str], where: str) -> None:
        target = item.get("for")
        if target is None and not approvals:
            self.fail(f"{where}.for", "is needed when the rule adds no approval")
        elif target is not None and target not in self.declared:
            self.fail(f"{where}.for", f"{target!r} is not one of the industry's approvals")
        if isinstance(item.get("name"), str):
            self.extra_names.add(item["name"])

    def check_coverage(self, scenario_uses: List[Tuple[str, str]]) -> None:
        """Every declared approval is added by some rule, and so is every scenario's."""
        for i, code in _texts_at(self.data.get("approvals")):
            if code in self.matters and code != self.permit and code not in self.added:
                self.fail(f"approvals[{i}]", f"{code} is never added by any rule")
        for code, where in scenario_uses:
            if code in self.declared and code not in self.added:
                self.fail(where, f"scenario of {code}, which no rule adds")

    def check_deferrable(self) -> None:
        reachable = set(self.extra_names)
        for code in self.declared:
            if code in self.matters:
                matter = self.matters[code]
                reachable |= {m.name for m in matter.materials}
                reachable |= {m.name for s in matter.scenarios for m in s.materials}
        for i, name in _texts_at(self.data.get("deferrable")):
            if name not in reachable:
                self.fail(f"deferrable[{i}]",
                          f"unknown material {name!r} (no covered approval needs it)")

    def check_commitments(self) -> None:
        for where, item in _listed(self.data, "commitments"):
            self.condition(item.get("when", "always"), f"{where}.when")


def _report_cycles(fail: Fail, deps: Mapping[str, Set[str]], where: Mapping[str, str]) -> Set[str]:
    """Reports each cycle among skip conditions once; returns the questions in cycles."""
    state: Dict[str, int] = {}
    stack: List[str] = []
    found: Set[str] = set()
    reported: Set[frozenset] = set()

    def visit(q: str) -> None:
        state[q] = 1
        stack.append(q)
        for ref in sorted(deps.get(q, ())):
            if state.get(ref) == 1:
                cycle = stack[stack.index(ref):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    path = " → ".join(cycle + [ref])
                    fail(f"{where[ref]}.ask_if", f"cycle in skip conditions: {path}")
                found.update(cycle)
            elif state.get(ref) is None and ref in deps:
                visit(ref)
        stack.pop()
        state[q] = 2

    for q in sorted(deps):
        if state.get(q) is None:
            visit(q)
    return found


# ---------------------------------------------------------------------------
# Building an Industry from a checked file.


def _texts(value: Any) -> Tuple[str, ...]:
    return tuple(v.strip() for v in value or ())


def _question(raw: Mapping, where: str, conditions: Mapping[str, Condition]) -> Question:
    number_over = raw.get("number_over")
    return Question(
        id=raw["id"],
        text=raw["text"].strip(),
        kind=raw["kind"],
        order=raw["order"],
        options=tuple(Option(o["value"], o["label"].strip(), _texts(o.get("aliases")))
                      for o in raw.get("options") or ()),
        ask_if=conditions.get(f"{where}.ask_if"),
        hint=(raw.get("hint") or "").strip(),
        context_words=_texts(raw.get("context_words")),
        number_over=float(number_over) if number_over is not None else None,
        keywords=_texts(raw.get("keywords")),
        yes_means_ask_if=bool(raw.get("yes_means_ask_if")),
    )


def _rule(raw: Mapping, where: str, conditions: Mapping[str, Condition]) -> Rule:
    approvals = _texts(raw.get("approvals"))
    return Rule(
        id=raw["id"],
        when=conditions[f"{where}.when"],
        approvals=approvals,
        scenarios=tuple((code, name) for code, names in (raw.get("scenarios") or {}).items()
                        for name in names),
        materials=tuple(ExtraMaterial(m.get("for") or approvals[0], Material.from_dict(m))
                        for m in raw.get("materials") or ()),
        note=raw.get("note") if isinstance(raw.get("note"), str) else "",
    )


def _commitment(item: Any, where: str, conditions: Mapping[str, Condition]) -> Commitment:
    if isinstance(item, str):
        return Commitment(item.strip())
    return Commitment(item["text"].strip(), conditions[f"{where}.when"])


def _industry(data: Mapping, conditions: Mapping[str, Condition], source: str) -> Industry:
    questions = [_question(raw, where, conditions) for where, raw in _listed(data, "questions")]
    commitments = tuple(_commitment(item, child_name("commitments", i, item), conditions)
                        for i, item in enumerate(data.get("commitments") or ()))
    return Industry(
        code=data["code"],
        name=data["name"].strip(),
        aliases=_texts(data["aliases"]),
        permit=data.get("permit", DEFAULT_PERMIT),
        approvals=_texts(data["approvals"]),
        questions=tuple(sorted(questions, key=lambda q: q.order)),
        rules=tuple(_rule(raw, where, conditions) for where, raw in _listed(data, "rules")),
        deferrable=_texts(data.get("deferrable")),
        commitments=commitments or tuple(Commitment(t) for t in DEFAULT_COMMITMENTS),
        description=(data.get("description") or "").strip(),
        source=source,
    )


# ---------------------------------------------------------------------------
# Loading.


def parse_industry(data: Any, catalog: CatalogLike, source: str = "<industry>",
                   lines: Optional[LineMap] = None) -> Industry:
    """Checks raw industry data against the schema and the catalog; raises IndustryError
    listing every problem (at its line when `lines` of the file are given), else
    returns the Industry."""
    problems = Problems(source, lines, root=FILE)
    SCHEMA.check(data, problems.fail)
    references = None
    if isinstance(data, Mapping):
        references = _References(data, matters_by_code(catalog), problems.fail)
        references.check()
    if problems or references is None:
        raise IndustryError([str(p) for p in problems.by_line()])
    return _industry(data, references.conditions, source)


def _read(path: Path) -> Tuple[Any, LineMap]:
    try:
        return read_yaml_file(path, root=FILE)
    except NotValidFile as err:
        raise IndustryError([str(err.problem)]) from None


def load_industry(path: Union[str, Path], catalog: CatalogLike) -> Industry:
    """Reads and checks one industry file; raises IndustryError naming file, line and field."""
    path = Path(path)
    data, lines = _read(path)
    return parse_industry(data, catalog, source=str(path), lines=lines)


def load_industries(directory: Union[str, Path], catalog: CatalogLike) -> Dict[str, Industry]:
    """Every industry file in a directory, by code; problems of all files at once."""
    directory = Path(directory)
    matters = matters_by_code(catalog)
    loaded: List[Tuple[Industry, LineMap]] = []
    problems: List[str] = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in INDUSTRY_SUFFIXES or not path.is_file():
            continue
        try:
            data, lines = _read(path)
            loaded.append((parse_industry(data, matters, str(path), lines), lines))
        except IndustryError as err:
            problems.extend(err.problems)
    for (industry, lines), (first, _) in repeated(loaded, lambda item: item[0].code):
        message = f"duplicate industry code {industry.code!r} (also {first.source})"
        problems.append(str(Problem(industry.source, lines.line_of("code"), "code", message)))
    if problems:
        raise IndustryError(problems)
    return {industry.code: industry for industry, _ in reversed(loaded)}


def find_industry(industries: Iterable[Industry], text: str) -> Optional[Industry]:
    """The industry whose name or alias occurs in text (longest match wins)."""
    from bot.text import normalize_text

    text = normalize_text(text)
    best: Optional[Tuple[int, Industry]] = None
    for industry in industries:
        for alias in (industry.name, *industry.aliases):
            if alias and alias in text and (best is None or len(alias) > best[0]):
                best = (len(alias), industry)
    return best[1] if best else None
