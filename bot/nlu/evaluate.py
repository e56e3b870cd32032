"""NLU quality on the held-out set: intent macro-F1, per-intent F1, confusions, entities,
and a sweep of the fallback threshold.

    python -m bot.nlu.evaluate --model models/govbot.tar.gz --data tests/nlu/heldout.yml

The held-out set is written apart from the training data (tests/nlu/README.md); the
numbers here are what `make test` holds to a floor.
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
    from bot.matter_dialogue import understand_matter

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
    """For each threshold: macro-F1 on the held-out set with fallback applied, and the
    share of noise (gibberish, fragments) that falls back instead of being guessed
    (by the threshold, or by the unknown-words rule that does not depend on it)."""
    by_rule = [conf >= configured and fell_back for conf, fell_back in noise]
    rows = []
    for step in range(10, 90, 5):
        t = step / 100
        predicted = [p.raw if p.confidence >= t else FALLBACK for p in predictions]
        report = f1_report([p.gold for p in predictions], predicted, labels)
        caught = sum(1 for (c, _), rule in zip(noise, by_rule) if c < t or rule) / max(1, len(noise))
        rows.append({"threshold": t, "macro_f1": report["macro_f1"], "noise_caught": round(caught, 3)})
    return rows


def configured_threshold(config_file: str = "config.yml") -> float:
    import yaml

    config = yaml.safe_load(Path(config_file).read_text(encoding="utf-8"))
    return float(next(c["threshold"] for c in config["pipeline"] if c["name"] == "FallbackClassifier"))


async def _predict(model: str, examples, noise: List[str]):
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    predictions: List[Prediction] = []
    for example in examples:
        text = example.get("text")
        result = await agent.parse_message(text)
        ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != FALLBACK]
        raw = ranking[0] if ranking else {"name": FALLBACK, "confidence": 0.0}
        predictions.append(
            Prediction(
                text=text,
                gold=example.get("intent"),
                predicted=result["intent"]["name"],
                raw=raw["name"],
                confidence=float(raw.get("confidence") or 0.0),
                gold_entities=tuple((e["entity"], e["value"]) for e in example.get("entities") or []),
                entities=tuple(
                    (e["entity"], e["value"]) for e in result.get("entities") or []
                ),
                raw_entities=tuple(result.get("entities") or []),
            )
        )
    noise_results = []
    for text in noise:
        result = await agent.parse_message(text)
        ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != FALLBACK]
        confidence = float(ranking[0]["confidence"]) if ranking else 0.0
        noise_results.append((confidence, result["intent"]["name"] == FALLBACK))
    return predictions, noise_results


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


def evaluate(model: str, data: str, noise_file: str | None = None) -> Dict:
    from rasa.shared.nlu.training_data.loading import load_data

    training_data = load_data(data)
    examples = [m for m in training_data.training_examples if m.get("intent")]
    for example in examples:
        _normalised_gold(example)
    noise = []
    if noise_file and Path(noise_file).exists():
        noise = [l.strip() for l in Path(noise_file).read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]
    predictions, noise_results = asyncio.run(_predict(model, examples, noise))
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
        "fallback_threshold": configured_threshold(),
        "fallback_sweep": threshold_sweep(predictions, noise_results, labels, configured_threshold()),
        "errors": errors,
    }


def print_report(report: Dict) -> None:
    intent = report["intent"]
    print(f"held-out examples: {report['examples']}")
    print(
        f"intent macro-F1 {intent['macro_f1']:.3f}  accuracy {intent['accuracy']:.3f}  "
        f"(without fallback: macro-F1 {report['intent_without_fallback']['macro_f1']:.3f})"
    )
    print("\nper intent:              P      R      F1    n")
    for name, row in sorted(intent["per_intent"].items(), key=lambda kv: kv[1]["f1"]):
        print(f"  {name:<24}{row['precision']:.3f}  {row['recall']:.3f}  {row['f1']:.3f}  {row['support']}")
    print("\nmost frequent confusions (gold → predicted):")
    for c in report["confusions"]:
        print(f"  {c['gold']} → {c['predicted']}: {c['count']}")
    print("\nentities (exact value):  P      R      F1    n")
    for name, row in report["entities"].items():
        print(f"  {name:<24}{row['precision']:.3f}  {row['recall']:.3f}  {row['f1']:.3f}  {row['support']}")
    m = report["matter_resolution"]
    print(
        f"\nmatter resolution: {m['resolved']:.3f} settled on the annotated matter, "
        f"{m['resolved_or_offered']:.3f} settled or offered it ({m['messages']} messages)"
    )
    print("\nfallback threshold sweep: threshold  macro-F1  noise caught")
    for row in report["fallback_sweep"]:
        print(f"  {row['threshold']:.2f}  {row['macro_f1']:.3f}  {row['noise_caught']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/govbot.tar.gz")
    parser.add_argument("--data", default="tests/nlu/heldout.yml")
    parser.add_argument("--noise", default="tests/nlu/noise.txt")
    parser.add_argument("--out", default="results/nlu")
    args = parser.parse_args()
    report = evaluate(args.model, args.data, args.noise)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print_report(report)
    print(f"\nfull report with every error: {out / 'report.json'}")


if __name__ == "__main__":
    main()
