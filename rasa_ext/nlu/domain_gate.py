"""The honest domain gate: requests no city service desk handles are out_of_scope, and
everyday chat is chat, whatever service intent DIET preferred.

DIET learns eighteen intents from a few thousand examples, all but two about government
matters; shown a recipe, a song request or a maths question it still picks the service
intent whose words look closest (油焖大虾怎么做 → ask_procedure). A linear model over
character n-grams (TF-IDF and logistic regression, scikit-learn) learns the three worlds
apart from far more text than DIET could train on in the time we have: the training
data's intents as "service", "social" (chitchat, greet, thank, goodbye, bot_challenge)
and "other" (out_of_scope), plus the corpora of data/gate/ (rasa_ext/nlu/gate_data.py):
thousands of film, music, travel and quiz requests ("other") and Weibo chat ("social").

It changes an intent only when all of these hold:
- DIET chose a service intent (or fell back) and the gate, at `min_confidence` or more,
  puts the message in another world;
- the message names nothing the NLU knows (no entity: a catalog matter, an application
  number, a district or an industry: "护照多少钱" stays a fee question);
- a message with a question-type cue of the dialogue (要带什么材料, 需要什么条件 …: a
  matter the catalog may not hold, "渔船登记要带什么材料") needs `min_confidence_cue`;
- the intent is not a bare value or yes/no (inform, affirm, deny: short answers the gate
  cannot read without the question asked);
- the message has some substance: at least MIN_DISTINCT_LETTERS different Chinese
  characters ("？？？？", "zzzzzz", "asdkjh qwe", "呃我想想" stay the fallback's: chat for
  them would be a guess).
Social messages get the social intent DIET ranked highest (chitchat by default).
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.nlu.fingerprint import files_fingerprint

MODEL_FILE = "gate.pkl"
SOCIAL = ("chitchat", "greet", "thank", "goodbye", "bot_challenge")
OTHER = ("out_of_scope",)
KEPT = ("inform", "affirm", "deny", "rate_service")
FALLBACK = "nlu_fallback"
MIN_DISTINCT_LETTERS = 4


def substantive(text: str) -> bool:
    """Whether a text holds enough different Chinese characters for the gate's verdict to
    mean something: its corpora are Chinese, and of Latin letters it knows only that
    they are rare ("asdkjh qwe" would be "chat" for no reason)."""
    return len({ch for ch in text[:200] if "\u4e00" <= ch <= "\u9fff"}) >= MIN_DISTINCT_LETTERS


def world_of(intent: Optional[str]) -> Optional[str]:
    if intent in SOCIAL:
        return "social"
    if intent in OTHER:
        return "other"
    if intent in KEPT or intent is None:
        return None
    return "service"


def _corpus(path: Path) -> List[str]:
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fit(texts: List[str], worlds: List[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True,
                        max_features=200_000),
        LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced"),
    )
    model.fit(texts, worlds)
    return model


def verdict(model: Any, text: str) -> tuple:
    """(world, probability) the gate gives a (normalised) text."""
    probabilities = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return str(model.classes_[best]), float(probabilities[best])


def changed_intent(intent: Optional[str], world: str, probability: float, entities: list,
                   ranking: list, min_confidence: float) -> Optional[str]:
    """The intent the gate puts in place of DIET's, or None to keep it."""
    if world == "service" or probability < min_confidence or entities:
        return None
    if intent != FALLBACK and world_of(intent) != "service":
        return None
    if world == "other":
        return "out_of_scope"
    return next((r["name"] for r in ranking if r.get("name") in SOCIAL), "chitchat")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class DomainGate(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"corpus_dir": "data/gate", "min_confidence": 0.8, "min_confidence_cue": 0.95}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        folder = Path(config.get("corpus_dir") or "data/gate")
        return files_fingerprint(sorted(folder.glob("*.txt")) + [Path(__file__)])

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource, model: Any = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "DomainGate":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        texts, worlds = [], []
        for message in training_data.intent_examples:
            world = world_of(message.get(INTENT))
            if world:
                texts.append(message.get(TEXT))
                worlds.append(world)
        folder = Path(self.config["corpus_dir"])
        for world in ("other", "social"):
            corpus = _corpus(folder / f"{world}.txt")
            texts.extend(corpus)
            worlds.extend([world] * len(corpus))
        self.model = fit(texts, worlds)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(self.model))
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "DomainGate":
        model = None
        try:
            with model_storage.read_from(resource) as directory:
                model = pickle.loads((directory / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            pass
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        from rasa_ext.nlu.unknown_words import asks_a_question

        for message in messages:
            text = message.get(TEXT) or ""
            if not substantive(text):
                continue
            intent = (message.get(INTENT) or {}).get("name")
            if intent != FALLBACK and world_of(intent) != "service":
                continue
            world, probability = verdict(self.model, text)
            needed = self.config["min_confidence_cue" if asks_a_question(text) else "min_confidence"]
            new = changed_intent(intent, world, probability, message.get(ENTITIES) or [],
                                 message.get(INTENT_RANKING_KEY) or [], float(needed))
            if new is None:
                continue
            chosen = {"name": new, "confidence": probability}
            message.data[INTENT] = chosen
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != new]
            message.data[INTENT_RANKING_KEY] = [chosen] + ranking
        return messages
