"""How we train: `rasa train` made repeatable and quiet about other people's code.

    python -m rasa_ext.train --fixed-model-name govbot --out models/.training \
        --data data/nlu data/rules data/stories --config config.yml --domain domain.yml

Takes exactly the arguments of `rasa train` (the Makefile's `train` target calls it).

Why not plain `rasa train`:
- **Repeatable.** DIET's seed fixes its initial weights and batch order, but TensorFlow's
  multi-threaded CPU kernels add floating-point numbers in whatever order the threads
  finish, and that order depends on how busy the machine is. On this 2-core machine two
  trainings of the same data, one of them beside other work, disagreed on 168 of 200
  confidences and 10 of 200 intents after three epochs, and the outside-set scores of
  two 30-epoch models of one tree differed by 0.03. TensorFlow's op determinism makes
  every kernel reduce in a fixed order: the same data gives the same model, so the
  scores `make eval` reports are the scores CI measures on that machine (checked: a
  training beside three busy loops gave the identical model). Across CPUs the kernels
  themselves differ (oneDNN picks them by instruction set): the same tree trained on an
  AVX-512 machine gave another model, whose outside scores differed by up to 0.033
  (tests/nlu/test_quality.py sets its floors for that). Parse speed is unchanged.
- **Quiet.** Sanic, imported by Rasa, turns on every library's DeprecationWarning
  (`filterwarnings("once", DeprecationWarning)` at import), so training printed pages of
  pkg_resources, pyparsing and click deprecations that nobody here can act on. Those are
  silenced before Sanic is imported, again right after (its filter goes in front of
  ours), and after Rasa's CLI sets its own (rasa_ext/patches/training_warnings.py);
  Rasa's own warnings (UserWarning: misaligned entities,
  unused responses, unknown intents) are left on, and the training data keeps them at
  zero (tests/test_training_warnings.py).
"""
from __future__ import annotations

import sys
from typing import List, Optional

from rasa_ext.patches import training_warnings
from rasa_ext.patches.training_warnings import silence_library_deprecations


def make_repeatable() -> None:
    """Every TensorFlow op reduces in a fixed order from now on (see the module doc)."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def main(argv: Optional[List[str]] = None) -> None:
    silence_library_deprecations()
    import sanic.app  # noqa: F401  (turns deprecation warnings on for everyone)

    silence_library_deprecations()
    make_repeatable()
    from rasa.__main__ import main as rasa_main

    training_warnings.apply()
    sys.argv = ["rasa", "train", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
