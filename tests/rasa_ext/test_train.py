"""Rasa's validation of the training data (`rasa data validate`; `make train` prints the
same) has nothing to warn about.

Each of its warnings names a cause in our files: an intent the domain lists but no NLU
example has (an external intent no citizen says), a response no rule or story says (words
an action says belong in data/texts/), an example under two intents. Such warnings are
fixed where they come from, never filtered: once a few are accepted, a new one goes
unread. The checks are the ones `rasa data validate` runs (rasa/cli/utils.py
validate_files), in-process.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[2]
DATA = ("data/nlu", "data/rules", "data/stories")


def validation_warnings(root: Path) -> Tuple[List[str], Dict[str, bool]]:
    """The UserWarnings Rasa's validation raises on a tree, and each check's verdict
    (failing on warnings, as `rasa data validate --fail-on-warnings` would)."""
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.utils.common import EXPECTED_WARNINGS
    from rasa.validator import Validator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # What Rasa's command line hides too: warnings Rasa raises whatever the data
        # ("Slot auto-fill has been removed in 3.0", on every domain with slots).
        for category, message in EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", message=f".*{message}", category=category)
        importer = TrainingDataImporter.load_from_config(
            str(root / "config.yml"), str(root / "domain.yml"), [str(root / d) for d in DATA])
        validator = Validator.from_importer(importer)
        verdicts = {
            "domain": validator.verify_domain_validity(),
            "actions in stories and rules": validator.verify_actions_in_stories_rules(),
            "forms in stories and rules": validator.verify_forms_in_stories_rules(),
            "form slots": validator.verify_form_slots(),
            "slot mappings": validator.verify_slot_mappings(),
            # intents (verify_intents_in_stories, which runs verify_intents), examples
            # repeated across intents, responses said in stories and rules
            "nlu": validator.verify_nlu(ignore_warnings=False),
            "story structure": validator.verify_story_structure(ignore_warnings=False),
        }
        validator.warn_if_config_mandatory_keys_are_not_set()
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return said, verdicts


def test_rasa_validation_of_the_training_data_warns_about_nothing():
    said, verdicts = validation_warnings(ROOT)
    assert said == []
    assert all(verdicts.values()), verdicts
