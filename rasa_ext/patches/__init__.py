"""Patches of Rasa internals, one module each, every one checked against the Rasa
version it was written for (`require_rasa`)."""
from __future__ import annotations

#: The Rasa release every patch here was read against.
WRITTEN_FOR = "3.6."


class UnsupportedRasa(RuntimeError):
    """A patch met a Rasa it was not written for: read the new Rasa, then the patch."""


def require_rasa(patch: str, prefix: str = WRITTEN_FOR) -> None:
    import rasa

    if not rasa.__version__.startswith(prefix):
        raise UnsupportedRasa(f"{patch} was written for Rasa {prefix}x, this is "
                              f"{rasa.__version__}: check the patch before upgrading")
