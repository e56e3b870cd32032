"""Industry files (docs/industry-format.md): typed views, loading and validation.

An industry is data: its questions, the order they are asked in, the conditions that
skip them, and the rules that turn answers into approvals (catalog matters), scenarios
and extra materials. Loading checks the whole file against the format and the catalog and
reports every problem at once as ``file: field: message``, so a government adding an
industry sees the full list of what to fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

import yaml

from bot.catalog.schema import MATERIAL_FORMS, Material, Matter
from bot.intake.conditions import ALWAYS, Condition, parse_condition, yes_no_value

KINDS = ("yes_no", "choice")
DEFAULT_PERMIT = "SH-E-012"
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
INDUSTRY_SUFFIXES = (".yml", ".yaml")

TOP_FIELDS = {
    "code", "name", "aliases", "description", "permit", "approvals", "questions",
    "rules", "deferrable", "commitments",
}
QUESTION_FIELDS = {
    "id", "text", "kind", "order", "options", "ask_if", "hint", "context_words", "number_over",
    "keywords",
}
OPTION_FIELDS = {"value", "label", "aliases"}
RULE_FIELDS = {"id", "when", "approvals", "scenarios", "materials", "note"}
EXTRA_MATERIAL_FIELDS = {"name", "form", "count", "held_by_government", "required", "note", "for"}

DEFAULT_COMMITMENTS = (
    "所填报的信息和提交的材料真实、准确、完整，如有虚假，愿承担相应法律责任。",
    "已知晓并符合所申请各项许可（备案）的条件和标准。",
    "标为“容缺”的材料在领取行业综合许可证之日起30日内补交。",
    "接受各审批部门的事后核查；经核查不符合承诺条件的，依法撤销相关许可并承担相应责任。",
)


class IndustryError(ValueError):
    """A malformed industry file; `problems` lists every 'file: field: message'."""

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
# YAML that refuses duplicate keys (PyYAML silently keeps the last one).


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep=False):
    seen: Dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hashable = key in seen
        except TypeError:
            continue
        if hashable:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key!r} (first on line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


# ---------------------------------------------------------------------------
# Validation.


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: List[str] = []

    def fail(self, where: str, message: str) -> None:
        self.items.append(f"{self.source}: {where}: {message}")


def _text(p: _Problems, data: Mapping, key: str, where: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        if required:
            p.fail(f"{where}{key}", "is missing")
        return ""
    if not isinstance(value, str) or not value.strip():
        p.fail(f"{where}{key}", "must be a non-empty string")
        return ""
    return value.strip()


def _texts(p: _Problems, data: Mapping, key: str, where: str, required: bool, min_items: int = 0
           ) -> Tuple[str, ...]:
    value = data.get(key)
    if value is None:
        if required:
            p.fail(f"{where}{key}", "is missing")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        p.fail(f"{where}{key}", "must be a list of non-empty strings")
        return ()
    if len(value) < min_items:
        p.fail(f"{where}{key}", f"needs at least {min_items} item(s)")
    seen: Set[str] = set()
    for v in value:
        if v.strip() in seen:
            p.fail(f"{where}{key}", f"duplicate entry {v.strip()!r}")
        seen.add(v.strip())
    return tuple(v.strip() for v in value)


def _unknown_fields(p: _Problems, data: Mapping, allowed: Set[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            p.fail(f"{where}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _label(index: int, item: Any, kind: str) -> str:
    ident = item.get("id") if isinstance(item, Mapping) else None
    return f"{kind}[{index}]" + (f" ({ident})" if isinstance(ident, str) else "")


def _parse_options(p: _Problems, raw: Mapping, where: str) -> Tuple[Option, ...]:
    items = raw.get("options")
    if not isinstance(items, list) or len(items) < 2:
        p.fail(f"{where}options", "a choice question needs a list of at least 2 options")
        return ()
    options: List[Option] = []
    seen: Set[str] = set()
    for i, item in enumerate(items):
        here = f"{where}options[{i}]"
        if not isinstance(item, Mapping):
            p.fail(here, "must be a mapping with value and label")
            continue
        _unknown_fields(p, item, OPTION_FIELDS, f"{here}.")
        value = item.get("value")
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            p.fail(f"{here}.value", "must be a lower-case identifier such as 'enterprise' "
                   "(quote it if it looks like yes/no)")
            continue
        if value in seen:
            p.fail(f"{here}.value", f"duplicate option value {value!r}")
        seen.add(value)
        label = _text(p, item, "label", f"{here}.")
        aliases = _texts(p, item, "aliases", f"{here}.", required=False)
        options.append(Option(value, label, aliases))
    return tuple(options)


def _material(p: _Problems, item: Any, where: str) -> Optional[Material]:
    if not isinstance(item, Mapping):
        p.fail(where, "must be a mapping")
        return None
    before = len(p.items)
    _unknown_fields(p, item, EXTRA_MATERIAL_FIELDS, f"{where}.")
    _text(p, item, "name", f"{where}.")
    if item.get("form") not in MATERIAL_FORMS:
        p.fail(f"{where}.form", f"must be one of {', '.join(MATERIAL_FORMS)}")
    count = item.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        p.fail(f"{where}.count", "must be a whole number ≥ 1")
    if not isinstance(item.get("held_by_government"), bool):
        p.fail(f"{where}.held_by_government", "must be true or false")
    if "required" in item and not isinstance(item["required"], bool):
        p.fail(f"{where}.required", "must be true or false")
    _text(p, item, "note", f"{where}.", required=False)
    if len(p.items) > before:
        return None
    return Material.from_dict(item)


def parse_industry(data: Any, catalog: CatalogLike, source: str = "<industry>") -> Industry:
    """Checks raw industry data against the format and the catalog; raises IndustryError
    listing every problem, else returns the Industry."""
    matters = matters_by_code(catalog)
    p = _Problems(source)
    if not isinstance(data, Mapping):
        raise IndustryError([f"{source}: (file): must be a mapping of code, name, questions, rules …"])
    _unknown_fields(p, data, TOP_FIELDS, "")

    code = data.get("code")
    if not isinstance(code, str) or not ID_PATTERN.match(code):
        p.fail("code", "must be a lower-case identifier such as convenience_store")
        code = ""
    name = _text(p, data, "name", "")
    aliases = _texts(p, data, "aliases", "", required=True, min_items=1)
    description = _text(p, data, "description", "", required=False)

    permit = data.get("permit", DEFAULT_PERMIT)
    if not isinstance(permit, str) or permit not in matters:
        p.fail("permit", f"unknown matter code {permit!r} (not in the catalog)")
        permit = DEFAULT_PERMIT

    declared = _texts(p, data, "approvals", "", required=True, min_items=1)
    for i, c in enumerate(declared):
        if c not in matters:
            p.fail(f"approvals[{i}]", f"unknown matter code {c!r} (not in the catalog)")
        elif c == permit:
            p.fail(f"approvals[{i}]", f"{c} is the single permit itself, not an approval it covers")

    # -- questions ---------------------------------------------------------------
    questions: List[Question] = []
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        p.fail("questions", "needs a non-empty list of questions")
        raw_questions = []
    kinds: Dict[str, Tuple[str, Tuple[Option, ...]]] = {}
    orders: Dict[int, str] = {}
    raw_conditions: List[Tuple[int, str, Any, str]] = []  # (index, id, raw ask_if, where)
    for i, raw in enumerate(raw_questions):
        where = _label(i, raw, "questions")
        if not isinstance(raw, Mapping):
            p.fail(where, "must be a mapping with id, text, kind and order")
            continue
        _unknown_fields(p, raw, QUESTION_FIELDS, f"{where}.")
        qid = raw.get("id")
        if not isinstance(qid, str) or not ID_PATTERN.match(qid):
            p.fail(f"{where}.id", "must be a lower-case identifier such as has_licence")
            continue
        if qid in kinds:
            p.fail(f"{where}.id", f"duplicate question id {qid!r}")
            continue
        text = _text(p, raw, "text", f"{where}.")
        kind = raw.get("kind")
        options: Tuple[Option, ...] = ()
        if kind not in KINDS:
            p.fail(f"{where}.kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
            kind = "yes_no"
        elif kind == "choice":
            options = _parse_options(p, raw, f"{where}.")
        elif "options" in raw:
            p.fail(f"{where}.options", "only choice questions have options")
        order = raw.get("order")
        if isinstance(order, bool) or not isinstance(order, int):
            p.fail(f"{where}.order", "must be a whole number")
            order = 10_000 + i
        elif order in orders:
            p.fail(f"{where}.order", f"duplicate order {order} (also {orders[order]})")
        orders.setdefault(order, qid)
        number_over = raw.get("number_over")
        if number_over is not None:
            if kind != "yes_no" or isinstance(number_over, bool) or not isinstance(number_over, (int, float)):
                p.fail(f"{where}.number_over", "must be a number, on a yes_no question")
                number_over = None
        kinds[qid] = (kind, options)
        if "ask_if" in raw:
            raw_conditions.append((len(questions), qid, raw["ask_if"], f"{where}.ask_if"))
        questions.append(
            Question(
                id=qid,
                text=text,
                kind=kind,
                order=order,
                options=options,
                hint=_text(p, raw, "hint", f"{where}.", required=False),
                context_words=_texts(p, raw, "context_words", f"{where}.", required=False),
                number_over=float(number_over) if number_over is not None else None,
                keywords=_texts(p, raw, "keywords", f"{where}.", required=False),
            )
        )
    keyword_owner: Dict[str, str] = {}
    for question in questions:
        for word in question.keywords:
            other = keyword_owner.setdefault(word, question.id)
            if other != question.id:
                p.fail(f"questions ({question.id}).keywords",
                       f"keyword {word!r} also names question {other!r}")

    def check_value(qid: str, raw_value: Any, where: str):
        if qid not in kinds:
            p.fail(where, f"unknown question id {qid!r}")
            return None
        kind, options = kinds[qid]
        if kind == "yes_no":
            value = yes_no_value(raw_value)
            if value is None:
                p.fail(where, f"{qid} is a yes/no question: the value must be yes or no, not {raw_value!r}")
                return None
            return (value,)
        values = raw_value if isinstance(raw_value, list) else [raw_value]
        known = {o.value for o in options}
        bad = [v for v in values if v not in known]
        if bad or not values:
            p.fail(where, f"{qid} has options {sorted(known)}; {bad or values!r} is not one of them")
            return None
        return tuple(values)

    order_of = {q.id: q.order for q in questions}
    conditions: Dict[str, Condition] = {}
    for index, qid, raw_cond, where in raw_conditions:
        cond = parse_condition(raw_cond, where, check_value, p.fail, allow_always=False)
        if cond is not None:
            conditions[qid] = cond
    # Cycles first (clearer than the forward references they also are), then the rest.
    in_cycle = _report_cycles(p, {q: c.questions() for q, c in conditions.items()})
    for qid, cond in conditions.items():
        where = next(w for _, q, _, w in raw_conditions if q == qid)
        for ref in sorted(cond.questions()):
            if ref not in order_of or (qid in in_cycle and ref in in_cycle):
                continue
            if ref == qid:
                p.fail(where, f"{qid} cannot depend on its own answer")
            elif order_of[ref] >= order_of[qid]:
                p.fail(where, f"forward reference: {qid} (order {order_of[qid]}) depends on "
                       f"{ref} (order {order_of[ref]}), which is asked later")
    questions = [
        Question(**{**q.__dict__, "ask_if": conditions.get(q.id)}) for q in questions
    ]
    questions.sort(key=lambda q: q.order)

    # -- rules -----------------------------------------------------------------
    rules: List[Rule] = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        p.fail("rules", "needs a non-empty list of rules")
        raw_rules = []
    rule_ids: Set[str] = set()
    added: Set[str] = set()
    scenario_matters: List[Tuple[str, str]] = []
    extra_names: Set[str] = set()
    for i, raw in enumerate(raw_rules):
        where = _label(i, raw, "rules")
        if not isinstance(raw, Mapping):
            p.fail(where, "must be a mapping with id, when and approvals/scenarios/materials")
            continue
        _unknown_fields(p, raw, RULE_FIELDS, f"{where}.")
        rid = raw.get("id")
        if not isinstance(rid, str) or not ID_PATTERN.match(rid):
            p.fail(f"{where}.id", "must be a lower-case identifier")
            rid = f"rule_{i}"
        elif rid in rule_ids:
            p.fail(f"{where}.id", f"duplicate rule id {rid!r}")
        rule_ids.add(rid)
        if "when" not in raw:
            p.fail(f"{where}.when", "is missing (write 'always' for a rule that always applies)")
            when = None
        else:
            when = parse_condition(raw["when"], f"{where}.when", check_value, p.fail)

        approvals = _texts(p, raw, "approvals", f"{where}.", required=False)
        for j, c in enumerate(approvals):
            if c not in matters:
                p.fail(f"{where}.approvals[{j}]", f"unknown matter code {c!r} (not in the catalog)")
            elif c not in declared:
                p.fail(f"{where}.approvals[{j}]", f"{c} is not listed in the industry's approvals")
        added.update(approvals)

        scenarios: List[Tuple[str, str]] = []
        raw_sc = raw.get("scenarios")
        if raw_sc is not None:
            if not isinstance(raw_sc, Mapping):
                p.fail(f"{where}.scenarios", "must map matter codes to lists of scenario names")
                raw_sc = {}
            for mc, names in raw_sc.items():
                here = f"{where}.scenarios.{mc}"
                if mc not in matters:
                    p.fail(here, f"unknown matter code {mc!r} (not in the catalog)")
                    continue
                if mc not in declared:
                    p.fail(here, f"{mc} is not listed in the industry's approvals")
                if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                    p.fail(here, "must be a non-empty list of scenario names")
                    continue
                known = [s.name for s in matters[mc].scenarios]
                for n in names:
                    if n not in known:
                        p.fail(here, f"unknown scenario {n!r} of {mc} (known: {'、'.join(known) or 'none'})")
                    else:
                        scenarios.append((mc, n))
                        scenario_matters.append((mc, here))

        extras: List[ExtraMaterial] = []
        raw_mats = raw.get("materials")
        if raw_mats is not None:
            if not isinstance(raw_mats, list) or not raw_mats:
                p.fail(f"{where}.materials", "must be a non-empty list of materials")
                raw_mats = []
            for j, item in enumerate(raw_mats):
                here = f"{where}.materials[{j}]"
                material = _material(p, item, here)
                target = item.get("for") if isinstance(item, Mapping) else None
                if target is None:
                    target = approvals[0] if approvals else None
                    if target is None:
                        p.fail(f"{here}.for", "is needed when the rule adds no approval")
                elif target not in declared:
                    p.fail(f"{here}.for", f"{target!r} is not one of the industry's approvals")
                    target = None
                if material is not None and target is not None:
                    extras.append(ExtraMaterial(target, material))
                    extra_names.add(material.name)
        if not (approvals or scenarios or extras or raw_sc or raw_mats):
            p.fail(where, "adds nothing: give approvals, scenarios or materials")
        if when is not None:
            rules.append(Rule(rid, when, approvals, tuple(scenarios), tuple(extras),
                              note=raw.get("note") if isinstance(raw.get("note"), str) else ""))

    for i, c in enumerate(declared):
        if c in matters and c != permit and c not in added:
            p.fail(f"approvals[{i}]", f"{c} is never added by any rule")
    for mc, here in scenario_matters:
        if mc in declared and mc not in added:
            p.fail(here, f"scenario of {mc}, which no rule adds")

    deferrable = _texts(p, data, "deferrable", "", required=False)
    reachable = set(extra_names)
    for c in declared:
        if c in matters:
            reachable |= {m.name for m in matters[c].materials}
            reachable |= {m.name for s in matters[c].scenarios for m in s.materials}
    for i, n in enumerate(deferrable):
        if n not in reachable:
            p.fail(f"deferrable[{i}]", f"unknown material {n!r} (no covered approval needs it)")
    commitments: List[Commitment] = []
    raw_commitments = data.get("commitments")
    if raw_commitments is not None:
        if not isinstance(raw_commitments, list) or not raw_commitments:
            p.fail("commitments", "must be a non-empty list of texts or {text, when} mappings")
            raw_commitments = []
        for i, item in enumerate(raw_commitments):
            here = f"commitments[{i}]"
            if isinstance(item, str) and item.strip():
                commitments.append(Commitment(item.strip()))
            elif isinstance(item, Mapping):
                _unknown_fields(p, item, {"text", "when"}, f"{here}.")
                text = _text(p, item, "text", f"{here}.")
                when = parse_condition(item.get("when", "always"), f"{here}.when", check_value, p.fail)
                if text and when is not None:
                    commitments.append(Commitment(text, when))
            else:
                p.fail(here, "must be a text or a {text, when} mapping")

    if p.items:
        raise IndustryError(p.items)
    return Industry(
        code=code,
        name=name,
        aliases=aliases,
        permit=permit,
        approvals=declared,
        questions=tuple(questions),
        rules=tuple(rules),
        deferrable=deferrable,
        commitments=tuple(commitments) or tuple(Commitment(t) for t in DEFAULT_COMMITMENTS),
        description=description,
        source=source,
    )


def _report_cycles(p: _Problems, deps: Mapping[str, Set[str]]) -> Set[str]:
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
                    p.fail(f"questions ({ref}).ask_if", f"cycle in skip conditions: {path}")
                found.update(cycle)
            elif state.get(ref) is None and ref in deps:
                visit(ref)
        stack.pop()
        state[q] = 2

    for q in sorted(deps):
        if state.get(q) is None:
            visit(q)
    return found


def load_industry(path: Union[str, Path], catalog: CatalogLike) -> Industry:
    """Reads and checks one industry file; raises IndustryError naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise IndustryError([f"{path}: (file): cannot be read: {err.strerror or err}"]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise IndustryError([f"{path}: {where}: not valid YAML: {problem}"]) from None
    return parse_industry(data, catalog, source=str(path))


def load_industries(directory: Union[str, Path], catalog: CatalogLike) -> Dict[str, Industry]:
    """Every industry file in a directory, by code; problems of all files at once."""
    directory = Path(directory)
    matters = matters_by_code(catalog)
    industries: Dict[str, Industry] = {}
    problems: List[str] = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in INDUSTRY_SUFFIXES or not path.is_file():
            continue
        try:
            industry = load_industry(path, matters)
        except IndustryError as err:
            problems.extend(err.problems)
            continue
        if industry.code in industries:
            problems.append(f"{path}: code: duplicate industry code {industry.code!r} "
                            f"(also {industries[industry.code].source})")
            continue
        industries[industry.code] = industry
    if problems:
        raise IndustryError(problems)
    return industries


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
