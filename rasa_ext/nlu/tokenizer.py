"""jieba with the user dictionary generated from the catalog.

Rasa's JiebaTokenizer already copies the dictionary into the model; this subclass adds
the dictionary's content to the training fingerprint, so a changed catalog retrains the
tokenizer (and everything after it) instead of reusing a cached one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer

from rasa_ext.nlu.fingerprint import files_fingerprint


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class CatalogJiebaTokenizer(JiebaTokenizer):
    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        path = config.get("dictionary_path")
        return files_fingerprint([Path(path)]) if path else None
