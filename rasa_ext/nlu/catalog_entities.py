"""Rule-based entities from the catalog: matters, districts, industries.

DIET learns entities from examples and generalises to unseen wording, but it only knows
the matter names it was shown. A spaCy entity ruler built from the catalog at training
time knows every name and alias of every matter, so a government's newly imported matter
is recognised without new examples. Where both find the same words, the ruler's span wins
(it is grounded in the catalog) and DIET's overlapping guess is dropped.
"""
from __future__ import annotations

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

from rasa_ext.nlu import vocabulary as vocabulary_module
from rasa_ext.nlu.fingerprint import files_fingerprint
from rasa_ext.nlu.storage import read_json, write_json
from rasa_ext.nlu.vocabulary import entity_phrases

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
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        merged = {**cls.get_default_config(), **config}
        return files_fingerprint(
            [merged["catalog_dir"], merged["reference_dir"], __file__, vocabulary_module.__file__]
        )

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
        write_json(self._model_storage, self._resource, PATTERNS_FILE, self.patterns)
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
        patterns = read_json(model_storage, resource, PATTERNS_FILE, [])
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
            message.set(ENTITIES, merge_entities(message.get(ENTITIES) or [], found), add_to_output=True)
        return messages


#: Where extractors disagree on overlapping spans of one type, the first here wins:
#: catalog names and regex shapes are exact, DIET's spans are learnt guesses.
EXTRACTOR_RANK = {"CatalogEntityRuler": 0, "ApplicationNumberExtractor": 1}


def merge_entities(existing: List[Dict[str, Any]], found: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One entity per span: overlapping entities are resolved by extractor rank, then
    by length (longer first); the result is in text order."""
    candidates = sorted(
        existing + found,
        key=lambda e: (EXTRACTOR_RANK.get(e.get("extractor", ""), 9), -(e["end"] - e["start"])),
    )
    kept: List[Dict[str, Any]] = []
    for entity in candidates:
        if not any(_overlaps(entity, k) for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e["start"])
