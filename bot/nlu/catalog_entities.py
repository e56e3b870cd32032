"""Rule-based entities from the catalog: matters, districts, industries.

DIET learns entities from examples and generalises to unseen wording, but it only knows
the matter names it was shown. A spaCy entity ruler built from the catalog at training
time knows every name and alias of every matter, so a government's newly imported matter
is recognised without new examples. Where both find the same words, the ruler's span wins
(it is grounded in the catalog) and DIET's overlapping guess is dropped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.vocabulary import entity_phrases

PATTERNS_FILE = "patterns.json"
ENTITY_TYPES = ("matter", "district", "industry")


def _build_ruler(patterns: List[Dict[str, str]]):
    """A blank Chinese spaCy pipeline (character segmentation) with an entity ruler."""
    import spacy

    nlp = spacy.blank("zh")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
    ruler.add_patterns(patterns)
    return nlp


def _overlaps(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True
)
class CatalogEntityRuler(GraphComponent, EntityExtractorMixin):
    """Finds catalog names in the (normalised) text with a spaCy entity ruler."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"catalog_dir": "data/catalog", "reference_dir": "data/reference"}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        patterns: Optional[List[Dict[str, str]]] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.patterns = patterns or []
        self._nlp = _build_ruler(self.patterns) if self.patterns else None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CatalogEntityRuler":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        phrases = entity_phrases(
            Path(self._config["catalog_dir"]), Path(self._config["reference_dir"])
        )
        self.patterns = [
            {"label": kind, "pattern": phrase}
            for kind in ENTITY_TYPES
            for phrase in phrases[kind]
        ]
        with self._model_storage.write_to(self._resource) as directory:
            (directory / PATTERNS_FILE).write_text(
                json.dumps(self.patterns, ensure_ascii=False), encoding="utf-8"
            )
        self._nlp = _build_ruler(self.patterns)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "CatalogEntityRuler":
        try:
            with model_storage.read_from(resource) as directory:
                patterns = json.loads((directory / PATTERNS_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            patterns = []
        return cls(config, model_storage, resource, patterns)

    def extract(self, text: str) -> List[Dict[str, Any]]:
        if self._nlp is None or not text:
            return []
        doc = self._nlp(text)
        return [
            {
                "entity": ent.label_,
                "start": ent.start_char,
                "end": ent.end_char,
                "value": ent.text,
                "confidence_entity": 1.0,
            }
            for ent in doc.ents
        ]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = self.add_extractor_name(self.extract(message.get(TEXT) or ""))
            if not found and not message.get(ENTITIES):
                continue
            kept = [
                e
                for e in message.get(ENTITIES) or []
                if not any(_overlaps(e, f) for f in found)
            ]
            message.set(ENTITIES, kept + found, add_to_output=True)
        return messages
