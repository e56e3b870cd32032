"""Application numbers by their shape: two letters and fourteen digits.

A number has a fixed shape, so a pattern finds every one, whatever DIET learnt; DIET
still learns the entity from the training data (its spans help it read the words around
a number), and where both find a number the pattern's span wins (catalog_entities'
EXTRACTOR_RANK). The shape is bot.text's, the one the status check reads numbers with.

Rasa's RegexEntityExtractor did this before, and training warned that it competes with
DIET for the same entity (a warning for every training run).
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.text import application_number_spans
from rasa_ext.nlu.catalog_entities import merge_entities

ENTITY = "application_number"


def number_entities(text: str) -> List[Dict[str, Any]]:
    """The application numbers of a normalised text as Rasa entities."""
    return [
        {"entity": ENTITY, "start": start, "end": end, "value": text[start:end],
         "confidence_entity": 1.0}
        for start, end in application_number_spans(text)
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ApplicationNumberExtractor(GraphComponent, EntityExtractorMixin):
    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ApplicationNumberExtractor":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = self.add_extractor_name(number_entities(message.get(TEXT) or ""))
            if found:
                merged = merge_entities(message.get(ENTITIES) or [], found)
                message.set(ENTITIES, merged, add_to_output=True)
        return messages
