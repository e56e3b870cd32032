"""First step of the NLU pipeline: make what citizens type uniform.

Traditional characters, full-width forms and emoji would otherwise each need their own
training examples; jieba and the featurizers see one simplified, half-width form. Entity
offsets of training examples are moved with the text, so annotations stay on their words.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import text as text_module
from rasa_ext.nlu.fingerprint import files_fingerprint
from bot.text import MAX_NLU_CHARS, normalize


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class TextNormalizer(GraphComponent):
    """Rewrites the message text in place (the tracker keeps the original)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_chars": MAX_NLU_CHARS}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.max_chars = int(config.get("max_chars", MAX_NLU_CHARS))

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[str]:
        return files_fingerprint([__file__, text_module.__file__])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TextNormalizer":
        return cls(config)

    def _normalize(self, message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text:
            return
        result = normalize(text, self.max_chars)
        if result.text == text:
            return
        entities = []
        for entity in message.get(ENTITIES) or []:
            span = result.span(entity["start"], entity["end"])
            if span is None:
                continue
            start, end = span
            entities.append({**entity, "start": start, "end": end})
        message.set(TEXT, result.text)
        if message.get(ENTITIES):
            message.set(ENTITIES, entities)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalize(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages
