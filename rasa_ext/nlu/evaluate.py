"""NLU quality on three sets, from one model load:

- the held-out set (tests/nlu/heldout.yml): intent macro-F1, per-intent F1, confusions,
  entities, matter resolution. Written by us apart from training; what `make test` holds
  to a floor. Never tuned on.
- the development split (tests/nlu/dev.yml): written the same way, used for tuning only:
  the sweep of the fallback threshold runs here, and suggests a threshold.
- the outside set (tests/nlu/outside/messages.jsonl): public messages nobody here wrote,
  measured by kind (questions, complaints, out_of_scope, chat) after the fallback.

    python -m rasa_ext.nlu.evaluate --model models/govbot.tar.gz --data tests/nlu/heldout.yml \
        --dev tests/nlu/dev.yml --outside tests/nlu/outside/messages.jsonl

None of the sets is ever trained on (tests/test_nlu_leakage.py); docs/nlu-guide.md
("Evaluation") says what each is for.
"""
from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

FALLBACK = "nlu_fallback"
ENTITY_TYPES = ("matter", "application_number", "industry", "district")

ASK_INTENTS = frozenset(
    {
        "ask_materials",
        "ask_processing_time",
        "ask_fee",
        "ask_where_to_apply",
        "ask_online",
        "ask_eligibility",
        "ask_procedure",
    }
)
#: Intents that start or continue a service: an out_of_scope request must get none of them.
SERVICE_INTENTS = ASK_INTENTS | {
    "check_application_status",
    "start_permit_intake",
    "complain",
    "request_human",
    "inform",
}
SOCIAL_INTENTS = frozenset({"chitchat", "greet", "thank", "goodbye", "bot_challenge"})

#: The issue-12 targets for the outside measures (`make eval` prints them beside the
#: values; tests/test_nlu_quality.py holds floors below them). "max" targets are ceilings.
OUTSIDE_TARGETS = {
    "question.read_as_question": (">=", 0.85),
    "question.exact": None,
    "complaint.complain": (">=", 0.85),
    "out_of_scope.out_of_scope": (">=", 0.85),
    "out_of_scope.service": ("<=", 0.05),
    "chat.social": (">=", 0.85),
}

#: The dev sweep suggests the highest threshold whose dev macro-F1 stays within this of
#: the best: the most noise caught for (almost) no loss on real requests.
SWEEP_TOLERANCE = 0.01


@dataclass(frozen=True)
class Prediction:
    text: str
    gold: str
    predicted: str  # after the fallback classifier (may be nlu_fallback)
    raw: str  # best real intent, ignoring the fallback
    confidence: float
    gold_entities: Tuple[Tuple[str, str], ...]
    entities: Tuple[Tuple[str, str], ...]
    raw_entities: Tuple[Dict, ...] = ()
    # Fell back although confident enough for the configured threshold (the ambiguity
    # margin or the unknown-words rule): falls back at every threshold.
    rule_fallback: bool = False


def f1_report(gold: Sequence[str], predicted: Sequence[str], labels: Iterable[str]) -> Dict:
    """Per-label precision, recall, F1 and support, and the macro average of F1."""
    per: Dict[str, Dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    supported = [v["f1"] for v in per.values() if v["support"]]
    macro = sum(supported) / len(supported) if supported else 0.0
    accuracy = sum(1 for g, p in zip(gold, predicted) if g == p) / max(1, len(gold))
    return {"macro_f1": round(macro, 4), "accuracy": round(accuracy, 4), "per_intent": per}


def confusions(gold: Sequence[str], predicted: Sequence[str], top: int = 15) -> List[Dict]:
    pairs = Counter((g, p) for g, p in zip(gold, predicted) if g != p)
    return [{"gold": g, "predicted": p, "count": n} for (g, p), n in pairs.most_common(top)]


def entity_report(predictions: Sequence[Prediction]) -> Dict[str, Dict[str, float]]:
    """Exact (type, value) matches per entity type."""
    out = {}
    for kind in ENTITY_TYPES:
        tp = fp = fn = 0
        for p in predictions:
            gold = Counter(v for t, v in p.gold_entities if t == kind)
            found = Counter(v for t, v in p.entities if t == kind)
            hit = sum((gold & found).values())
            tp += hit
            fp += sum(found.values()) - hit
            fn += sum(gold.values()) - hit
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[kind] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": tp + fn}
    return out


def matter_resolution(predictions: Sequence[Prediction]) -> Dict[str, float]:
    """What the citizen gets: for messages whose annotated matter names one catalog
    matter, how often the bot settles on that matter (from entities or the whole text),
    and how often it offers it among candidates. Exact spans matter less than this."""
    from bot.catalog import default_catalog
    from bot.catalog.dialogue import understand_matter

    index = default_catalog().index()
    total = unique = offered = 0
    for p in predictions:
        gold_values = [v for t, v in p.gold_entities if t == "matter"]
        gold = [index.resolve(v) for v in gold_values]
        codes = {r.matter.code for r in gold if r.kind == "unique"}
        if len(codes) != 1:
            continue
        code = codes.pop()
        total += 1
        result = understand_matter(index, list(p.raw_entities), p.text)
        if result.kind == "unique" and result.hits[0].matter.code == code:
            unique += 1
        elif result.kind == "ambiguous" and code in {h.matter.code for h in result.hits}:
            offered += 1
    return {
        "messages": total,
        "resolved": round(unique / max(1, total), 4),
        "resolved_or_offered": round((unique + offered) / max(1, total), 4),
    }


def threshold_sweep(
    predictions: Sequence[Prediction],
    noise: Sequence[Tuple[float, bool]],
    labels: Sequence[str],
    configured: float,
) -> List[Dict[str, float]]:
    """For each threshold: macro-F1 with fallback applied (on the development split), and
    the share of noise (gibberish, fragments) that falls back instead of being guessed.
    A message that fell back at the configured threshold by a rule that does not depend
    on it (ambiguity margin, unknown words) falls back at every threshold, so the row of
    the configured threshold is exactly what the pipeline does."""
    by_rule = [conf >= configured and fell_back for conf, fell_back in noise]
    rows = []
    for step in range(10, 95, 5):
        t = step / 100
        predicted = [FALLBACK if p.confidence < t or p.rule_fallback else p.raw for p in predictions]
        report = f1_report([p.gold for p in predictions], predicted, labels)
        caught = sum(1 for (c, _), rule in zip(noise, by_rule) if c < t or rule) / max(1, len(noise))
        rows.append(
            {
                "threshold": t,
                "macro_f1": report["macro_f1"],
                "accuracy": report["accuracy"],
                "fallback_share": round(predicted.count(FALLBACK) / max(1, len(predicted)), 4),
                "noise_caught": round(caught, 3),
            }
        )
    return rows


def suggest_threshold(sweep: Sequence[Dict[str, float]], tolerance: float = SWEEP_TOLERANCE) -> float | None:
    """The highest threshold whose macro-F1 is within `tolerance` of the sweep's best."""
    if not sweep:
        return None
    best = max(row["macro_f1"] for row in sweep)
    return max(row["threshold"] for row in sweep if row["macro_f1"] >= best - tolerance)


def configured_threshold(config_file: str = "config.yml") -> float:
    import yaml

    config = yaml.safe_load(Path(config_file).read_text(encoding="utf-8"))
    return float(next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier"))


async def _parse_all(agent, texts: Sequence[str]) -> List[Dict]:
    return [await agent.parse_message(text) for text in texts]


def _raw_best(result: Dict) -> Dict:
    ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != FALLBACK]
    return ranking[0] if ranking else {"name": FALLBACK, "confidence": 0.0}


def _prediction(example, result: Dict, configured: float) -> Prediction:
    raw = _raw_best(result)
    confidence = float(raw.get("confidence") or 0.0)
    predicted = result["intent"]["name"]
    return Prediction(
        text=example.get("text"),
        gold=example.get("intent"),
        predicted=predicted,
        raw=raw["name"],
        confidence=confidence,
        gold_entities=tuple((e["entity"], e["value"]) for e in example.get("entities") or []),
        entities=tuple((e["entity"], e["value"]) for e in result.get("entities") or []),
        raw_entities=tuple(result.get("entities") or []),
        rule_fallback=predicted == FALLBACK and confidence >= configured,
    )


def _normalised_gold(example) -> None:
    """Gold entity values in the form the pipeline outputs (normalised text)."""
    from bot.text import normalize

    text = example.get("text")
    result = normalize(text)
    fixed = []
    for e in example.get("entities") or []:
        span = result.span(e["start"], e["end"])
        if span:
            fixed.append({**e, "value": result.text[span[0] : span[1]]})
    example.set("entities", fixed)


def load_examples(data: str) -> List:
    """Rasa NLU YAML examples with an intent, gold entities in normalised form."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples = [m for m in load_data(data).training_examples if m.get("intent")]
    for example in examples:
        _normalised_gold(example)
    return examples


def load_outside(path: str) -> List[Dict]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_noise(path: str | None) -> List[str]:
    if not path or not Path(path).exists():
        return []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("#")]


def intent_section(predictions: Sequence[Prediction]) -> Dict:
    """Scores of one labelled set (held-out or dev)."""
    labels = sorted({p.gold for p in predictions})
    gold = [p.gold for p in predictions]
    with_fallback = f1_report(gold, [p.predicted for p in predictions], labels)
    raw = f1_report(gold, [p.raw for p in predictions], labels)
    errors = defaultdict(list)
    for p in predictions:
        if p.predicted != p.gold:
            errors[p.gold].append({"text": p.text, "predicted": p.predicted, "confidence": round(p.confidence, 3)})
    return {
        "examples": len(predictions),
        "intent": with_fallback,
        "intent_without_fallback": {"macro_f1": raw["macro_f1"], "accuracy": raw["accuracy"]},
        "confusions": confusions(gold, [p.predicted for p in predictions]),
        "entities": entity_report(predictions),
        "matter_resolution": matter_resolution(predictions),
        "errors": errors,
    }


def _share(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


def outside_report(records: Sequence[Dict], results: Sequence[Dict]) -> Dict:
    """The outside set by kind, on the intent after the fallback (nlu_fallback is wrong):

    - question: read as a question (any ask_* intent) and as the right ask_* (exact);
    - complaint: read as complain;
    - out_of_scope: read as out_of_scope, and the share taken as a service intent;
    - chat: read as a social intent (chitchat, greet, thank, goodbye, bot_challenge).
    """
    by_kind: Dict[str, List[Tuple[Dict, str, float]]] = defaultdict(list)
    for record, result in zip(records, results):
        raw = _raw_best(result)
        by_kind[record["kind"]].append((record, result["intent"]["name"], float(raw.get("confidence") or 0.0)))

    def measures(kind: str, rows) -> Dict[str, float]:
        n = len(rows)
        predicted = [p for _, p, _ in rows]
        if kind == "question":
            return {
                "read_as_question": _share(sum(p in ASK_INTENTS for p in predicted), n),
                "exact": _share(sum(p == r["intent"] for (r, p, _) in rows), n),
            }
        if kind == "complaint":
            return {"complain": _share(predicted.count("complain"), n)}
        if kind == "out_of_scope":
            return {
                "out_of_scope": _share(predicted.count("out_of_scope"), n),
                "service": _share(sum(p in SERVICE_INTENTS for p in predicted), n),
            }
        if kind == "chat":
            return {"social": _share(sum(p in SOCIAL_INTENTS for p in predicted), n)}
        return {}

    def wrong(kind: str, record: Dict, predicted: str) -> bool:
        return {
            "question": predicted != record["intent"],
            "complaint": predicted != "complain",
            "out_of_scope": predicted != "out_of_scope",
            "chat": predicted not in SOCIAL_INTENTS,
        }.get(kind, predicted != record["intent"])

    kinds = {}
    for kind, rows in by_kind.items():
        kinds[kind] = {
            "messages": len(rows),
            **measures(kind, rows),
            "fallback": _share(sum(p == FALLBACK for _, p, _ in rows), len(rows)),
            "predicted": dict(Counter(p for _, p, _ in rows).most_common()),
            "errors": [
                {
                    "text": r["text"][:200],
                    "gold": r["intent"],
                    "predicted": p,
                    "confidence": round(c, 3),
                    "source": r.get("source"),
                }
                for r, p, c in rows
                if wrong(kind, r, p)
            ],
        }
    def share_by(rows, group, right) -> Dict[str, float]:
        groups = sorted({group(r) for r, _, _ in rows})
        return {
            g: _share(
                sum(right(r, p) for r, p, _ in rows if group(r) == g),
                sum(group(r) == g for r, _, _ in rows),
            )
            for g in groups
        }

    if "question" in by_kind:
        kinds["question"]["per_intent_exact"] = share_by(
            by_kind["question"], lambda r: r["intent"], lambda r, p: p == r["intent"]
        )
    if "complaint" in by_kind:
        kinds["complaint"]["per_category"] = share_by(
            by_kind["complaint"], lambda r: r.get("category") or "?", lambda r, p: p == "complain"
        )
    return {"messages": len(records), "kinds": kinds}


def outside_measures(report: Dict) -> Dict[str, float]:
    """The flat outside measures ("question.read_as_question": 0.31, ...)."""
    out = {}
    for key in OUTSIDE_TARGETS:
        kind, measure = key.split(".")
        value = report.get("outside", {}).get("kinds", {}).get(kind, {}).get(measure)
        if value is not None:
            out[key] = value
    return out


async def _run(model: str, sets: Dict[str, Sequence[str]]) -> Dict[str, List[Dict]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    return {name: await _parse_all(agent, texts) for name, texts in sets.items()}


def evaluate(
    model: str,
    data: str,
    noise_file: str | None = None,
    dev_file: str | None = None,
    outside_file: str | None = None,
) -> Dict:
    """Loads the model once and scores every set given. The held-out scores are at the top
    level of the report; the dev split under "dev" (with the fallback sweep), the outside
    set under "outside"."""
    configured = configured_threshold()
    heldout = load_examples(data)
    dev = load_examples(dev_file) if dev_file and Path(dev_file).exists() else []
    outside = load_outside(outside_file) if outside_file and Path(outside_file).exists() else []
    noise = load_noise(noise_file)
    results = asyncio.run(
        _run(
            model,
            {
                "heldout": [e.get("text") for e in heldout],
                "dev": [e.get("text") for e in dev],
                "outside": [r["text"] for r in outside],
                "noise": noise,
            },
        )
    )
    noise_results = [
        (float(_raw_best(r).get("confidence") or 0.0), r["intent"]["name"] == FALLBACK) for r in results["noise"]
    ]
    report = {
        "model": str(model),
        "set": str(data),
        **intent_section([_prediction(e, r, configured) for e, r in zip(heldout, results["heldout"])]),
        "fallback_threshold": configured,
        "fallback_sweep": [],
        "fallback_sweep_set": None,
        "suggested_threshold": None,
    }
    if dev:
        dev_predictions = [_prediction(e, r, configured) for e, r in zip(dev, results["dev"])]
        dev_section = intent_section(dev_predictions)
        labels = sorted({p.gold for p in dev_predictions})
        sweep = threshold_sweep(dev_predictions, noise_results, labels, configured)
        report["dev"] = {"set": str(dev_file), **dev_section}
        report["fallback_sweep"] = sweep
        report["fallback_sweep_set"] = "dev"
        report["suggested_threshold"] = suggest_threshold(sweep)
    if outside:
        report["outside"] = {"set": str(outside_file), **outside_report(outside, results["outside"])}
    return report


def _print_intent_section(section: Dict, title: str, detail: bool = True) -> None:
    intent = section["intent"]
    print(f"{title}: {section['examples']} examples")
    print(
        f"intent macro-F1 {intent['macro_f1']:.3f}  accuracy {intent['accuracy']:.3f}  "
        f"(without fallback: macro-F1 {section['intent_without_fallback']['macro_f1']:.3f})"
    )
    if not detail:
        return
    print("\nper intent:              P      R      F1    n")
    for name, row in sorted(intent["per_intent"].items(), key=lambda kv: kv[1]["f1"]):
        print(f"  {name:<24}{row['precision']:.3f}  {row['recall']:.3f}  {row['f1']:.3f}  {row['support']}")
    print("\nmost frequent confusions (gold → predicted):")
    for c in section["confusions"]:
        print(f"  {c['gold']} → {c['predicted']}: {c['count']}")
    print("\nentities (exact value):  P      R      F1    n")
    for name, row in section["entities"].items():
        print(f"  {name:<24}{row['precision']:.3f}  {row['recall']:.3f}  {row['f1']:.3f}  {row['support']}")
    m = section["matter_resolution"]
    print(
        f"\nmatter resolution: {m['resolved']:.3f} settled on the annotated matter, "
        f"{m['resolved_or_offered']:.3f} settled or offered it ({m['messages']} messages)"
    )


def print_report(report: Dict) -> None:
    _print_intent_section(report, "== held-out set")
    if report.get("dev"):
        print()
        _print_intent_section(report["dev"], "== development split", detail=False)
        print(f"\nfallback threshold sweep on the dev split (configured {report['fallback_threshold']:.2f}):")
        print("  threshold  macro-F1  fallback  noise caught")
        for row in report["fallback_sweep"]:
            mark = "  ← configured" if abs(row["threshold"] - report["fallback_threshold"]) < 1e-9 else ""
            print(f"  {row['threshold']:.2f}       {row['macro_f1']:.3f}     {row['fallback_share']:.3f}     {row['noise_caught']:.2f}{mark}")
        print(
            f"suggested threshold: {report['suggested_threshold']:.2f} (highest with dev macro-F1 within "
            f"{SWEEP_TOLERANCE} of the best)"
        )
    if report.get("outside"):
        kinds = report["outside"]["kinds"]
        print(f"\n== outside set: {report['outside']['messages']} public messages (after the fallback)")
        labels = {
            "question.read_as_question": "questions read as a question (any ask_*)",
            "question.exact": "questions read as the right ask_*",
            "complaint.complain": "complaints read as complain",
            "out_of_scope.out_of_scope": "other domains read as out_of_scope",
            "out_of_scope.service": "other domains taken as a service intent",
            "chat.social": "chat read as a social intent",
        }
        for key, value in outside_measures(report).items():
            kind = key.split(".")[0]
            target = OUTSIDE_TARGETS.get(key)
            goal = f"target {'≥' if target[0] == '>=' else '≤'}{target[1]:.2f}" if target else "no target"
            print(f"  {labels[key]:<44} {value:.3f}  (n={kinds[kind]['messages']}, {goal})")
        for kind, row in kinds.items():
            top = ", ".join(f"{k} {v}" for k, v in list(row["predicted"].items())[:5])
            print(f"  {kind}: fallback {row['fallback']:.3f}; predicted {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/govbot.tar.gz")
    parser.add_argument("--data", default="tests/nlu/heldout.yml", help="the held-out set")
    parser.add_argument("--dev", default="tests/nlu/dev.yml", help="the development split (threshold sweep)")
    parser.add_argument("--outside", default="tests/nlu/outside/messages.jsonl", help="the outside set")
    parser.add_argument("--noise", default="tests/nlu/noise.txt")
    parser.add_argument("--out", default="results/nlu")
    args = parser.parse_args()
    import logging

    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no debug line for each of ~1,400 parses
    report = evaluate(args.model, args.data, args.noise, args.dev, args.outside)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print_report(report)
    print(f"\nfull report with every error: {out / 'report.json'}")


if __name__ == "__main__":
    main()
