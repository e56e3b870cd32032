"""Citizens' numbers stay masked in the log handlers Rasa and Sanic make as Rasa starts.

bot/logs.py masks every handler when a process starts, but `rasa run` makes handlers of
its own afterwards: Sanic's (sanic.root, sanic.error, sanic.access: access lines carry
URLs, error lines exception texts) when Rasa creates its app, a file handler with
`--log-file`. `rasa.utils.common.update_sanic_log_level` is the last thing Rasa does to
logging before it serves (`rasa.core.run.serve_application`), so after it every handler
is masked again.
"""
from __future__ import annotations

from typing import Any, Callable

from bot.logs import mask_every_handler
from rasa_ext.patches import require_rasa


def _masking_afterwards(update_sanic_log_level: Callable[..., None]) -> Callable[..., None]:
    def update_sanic_log_level_then_mask(*args: Any, **kwargs: Any) -> None:
        update_sanic_log_level(*args, **kwargs)
        mask_every_handler()

    update_sanic_log_level_then_mask._masks = True  # type: ignore[attr-defined]
    return update_sanic_log_level_then_mask


def apply() -> None:
    require_rasa(__name__)
    import rasa.utils.common

    if not getattr(rasa.utils.common.update_sanic_log_level, "_masks", False):
        rasa.utils.common.update_sanic_log_level = _masking_afterwards(
            rasa.utils.common.update_sanic_log_level)
