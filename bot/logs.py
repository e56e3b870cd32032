"""Logging for a process, set up once at its entry, with citizens' numbers masked in
every line whichever library logs it.

    from bot.logs import configure_logging
    configure_logging("actions")          # first thing in a process's main()

Citizens' ID and mobile numbers reach log lines from everywhere: a Rasa debug line with
the parsed message, Sanic's access line with a URL, an aiohttp error with a body, an
exception's text. So the mask (`bot.privacy.MaskingFilter`) is not something each module
asks for: it sits on the *handlers*, which write every record of every logger that
reaches them, where a filter on a logger sees only the records logged on that very one.

`mask_every_handler` puts it on the root logger's handlers (every logger that
propagates: rasa.*, aiohttp.*, ours), on the handlers of loggers that do not propagate
(Sanic's sanic.root, sanic.error and sanic.access; Rasa and Rasa SDK turn their
propagation off) and on `logging.lastResort` (what writes a record that finds no
handler at all). Handlers made later need it again: Rasa replaces the root handler
when it starts (coloredlogs, which keeps the replaced handler's filters) and Sanic
makes its own when Rasa creates its app, so rasa_ext/patches/log_masking.py masks
every handler again once Rasa has configured its server.
"""
from __future__ import annotations

import logging
from typing import Iterator, Set

from bot.privacy import add_masking_filter

#: Several processes write to one terminal under `make run`: each line says whose it is.
FORMAT = "%(asctime)s [{process}] %(name)s %(message)s"


def configure_logging(process_name: str, level: int = logging.INFO) -> None:
    """The process's logging: lines of `FORMAT` on stderr at `level` (unless something
    configured the root logger before), every handler masking citizens' numbers.
    Calling it again changes nothing but masks handlers made since."""
    logging.basicConfig(level=level, format=FORMAT.format(process=process_name))
    mask_every_handler()


def mask_every_handler() -> None:
    """One `MaskingFilter` on every handler that exists now (see the module's doc)."""
    for handler in _every_handler():
        add_masking_filter(handler)


def _every_handler() -> Iterator[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)  # (not the placeholders of unused parents)
    ]
    seen: Set[int] = set()
    for handler in [h for logger in loggers for h in logger.handlers] + [logging.lastResort]:
        if handler is not None and id(handler) not in seen:
            seen.add(id(handler))
            yield handler
