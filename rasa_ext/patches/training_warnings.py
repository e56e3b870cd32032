"""Training shows Rasa's warnings about our data, not other packages' deprecations.

Rasa's CLI puts a "once" filter for every UserWarning in front of all others when it
starts (`rasa.utils.common._filter_warnings`). pyparsing's deprecations are UserWarnings
too, and matplotlib and packaging call pyparsing's old names while a model trains, so
each training printed seven of them. After Rasa has set its filters, other packages'
deprecations are hidden again; Rasa's own warnings (unused responses, misaligned
entities…) still show.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

from rasa_ext.patches import require_rasa


def silence_library_deprecations() -> None:
    """Other packages' deprecations are not shown; Rasa's user warnings are."""
    from pyparsing.warnings import PyparsingDeprecationWarning

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    warnings.filterwarnings("ignore", category=PyparsingDeprecationWarning)


def _silencing_afterwards(filter_warnings: Callable[..., None]) -> Callable[..., None]:
    def filter_warnings_then_silence(*args: Any, **kwargs: Any) -> None:
        filter_warnings(*args, **kwargs)
        silence_library_deprecations()

    filter_warnings_then_silence._silences = True  # type: ignore[attr-defined]
    return filter_warnings_then_silence


def apply() -> None:
    require_rasa(__name__)
    import rasa.utils.common

    if not getattr(rasa.utils.common._filter_warnings, "_silences", False):
        rasa.utils.common._filter_warnings = _silencing_afterwards(
            rasa.utils.common._filter_warnings)
