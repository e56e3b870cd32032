"""Falls back on non-Chinese text made mostly of words the model has never seen.

DIET's softmax is confident on keyboard mashing ("asdfghjkl", "qwertyuiop zxcv") because
some intent always wins; a confidence threshold cannot catch it without also rejecting
real questions. For text without Chinese characters, whether its words were ever seen in
training is a better signal: when most are unknown and no entity was found, the intent is
replaced by nlu_fallback, exactly as the FallbackClassifier does, so the same rules apply.
Chinese messages are not judged this way: training covers too few of the words a real
complaint uses ("违章搭建阳光房") for unknown words to mean nonsense.

The gate must never swallow a clear question: a message that holds a question-type cue
(data/reference/question_cues.yml: "how much", "online", 多少钱 …) or names a catalog matter
(an entity, which the CatalogEntityRuler marks for every catalog name) is left to DIET and
the dialogue, however many of its words are new ("SH-P-001 fee?", "passport how much").
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.nlu.storage import read_json, write_json

VOCABULARY_FILE = "vocabulary.json"
FALLBACK_INTENT = "nlu_fallback"


def known_share(tokens: List[str], vocabulary: Set[str]) -> float:
    """The share of tokens (ignoring punctuation) that occur in the vocabulary; numbers
    count as known (codes and numbers are real answers, never seen before)."""
    words = [t.lower() for t in tokens if any(ch.isalnum() for ch in t)]
    if not words:
        return 0.0
    return sum(1 for w in words if w in vocabulary or w.isdigit()) / len(words)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def asks_a_question(text: str) -> bool:
    """Whether the wording asks one of the question types (the dialogue's cue list, so
    the gate and the dialogue agree on what a clear question is)."""
    from bot.catalog.dialogue import words  # the cue data, loaded once per process

    return words().question_topic(text) is not None


def forced_to_fallback(
    text: str, tokens: List[str], entities: List[Dict[str, Any]], intent: Optional[str],
    vocabulary: Set[str], min_known_share: float,
) -> bool:
    """Whether the gate replaces the intent by nlu_fallback: non-Chinese text made mostly
    of words never seen in training, naming nothing and asking nothing."""
    if not vocabulary or intent == FALLBACK_INTENT:
        return False
    if has_chinese(text):
        return False  # Chinese wording is left to DIET and the confidence threshold
    if entities:
        return False  # a catalog name (the CatalogEntityRuler marks each), a number …
    if asks_a_question(text):
        return False  # a clear question, however new its other words
    return known_share(tokens, vocabulary) < min_known_share


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class UnknownWordsFallback(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_known_share": 0.34}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Optional[Set[str]] = None,
    ) -> None:
        self.min_known_share = float({**self.get_default_config(), **config}["min_known_share"])
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary or set()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnknownWordsFallback":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self.vocabulary = {
            token.text.lower()
            for message in training_data.training_examples
            for token in message.get(TOKENS_NAMES[TEXT]) or []
        }
        write_json(self._model_storage, self._resource, VOCABULARY_FILE, sorted(self.vocabulary))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "UnknownWordsFallback":
        words = read_json(model_storage, resource, VOCABULARY_FILE, [])
        return cls(config, model_storage, resource, set(words))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            tokens = [t.text for t in message.get(TOKENS_NAMES[TEXT]) or []]
            if not forced_to_fallback(
                message.get(TEXT) or "", tokens, message.get(ENTITIES) or [],
                intent.get("name"), self.vocabulary, self.min_known_share,
            ):
                continue
            fallback = {"name": FALLBACK_INTENT, "confidence": 1.0}
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
