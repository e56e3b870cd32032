"""A model loaded through `PUT /model` is built in a worker thread: turns go on meanwhile.

Rasa 3.6 answers `PUT /model` (rasa/server.py `load_model` → `_load_agent` →
`rasa.core.agent.load_agent`) by unpacking and building the new model inside the event
loop. Measured with tests/e2e/test_model_publish.py before this patch: a load took 20-30 s
on this machine, no turn moved meanwhile, and a custom action call in flight timed out
(ACTION_TIMEOUT is counted on the loop's clock, though the action server had answered):
the citizen got the busy message, once per reload. So a published model cost a turn.

Here `_load_agent` for a model file on disk builds the agent without a model, on the loop
as Rasa does (tracker store, lock store, endpoints), then runs `Agent.load_model` in a
worker thread and awaits it; the old agent keeps answering until the route swaps the new
one in, as before. TensorFlow, jieba and the model's files are loaded from that thread
only; the new agent serves nothing until it is ready. Model servers and remote storage
(not used here) keep Rasa's own path.
"""
from __future__ import annotations

import asyncio
import logging
import os
import traceback
import warnings
from typing import Any, Optional

from rasa_ext.patches import require_rasa

logger = logging.getLogger(__name__)

#: Rasa's warning when an agent is built without a model, which is what happens here first.
NO_MODEL_WARNING = "No valid configuration given to load agent"


def _loading_in_a_thread(original: Any) -> Any:
    async def load_agent_in_a_thread(model_path: Optional[str] = None, model_server: Any = None,
                                     remote_storage: Optional[str] = None,
                                     endpoints: Any = None) -> Any:
        if (model_server or remote_storage or (endpoints is not None and endpoints.model)
                or not model_path or not os.path.isfile(model_path)):
            return await original(model_path=model_path, model_server=model_server,
                                  remote_storage=remote_storage, endpoints=endpoints)
        from http import HTTPStatus

        import rasa.core.agent
        from rasa.server import ErrorResponse

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=NO_MODEL_WARNING)
            agent = await rasa.core.agent.load_agent(model_path=None, endpoints=endpoints)
        try:
            await asyncio.get_running_loop().run_in_executor(None, agent.load_model, model_path)
        except Exception as error:  # noqa: BLE001 - Rasa's answer for any loading error
            logger.debug(traceback.format_exc())
            raise ErrorResponse(HTTPStatus.INTERNAL_SERVER_ERROR, "LoadingError",
                                f"An unexpected error occurred. Error: {error}")
        if not agent.is_ready():
            raise ErrorResponse(HTTPStatus.BAD_REQUEST, "BadRequest",
                                f"Agent with name '{model_path}' could not be loaded.",
                                {"parameter": "model", "in": "query"})
        return agent

    load_agent_in_a_thread._in_a_thread = True  # type: ignore[attr-defined]
    return load_agent_in_a_thread


def apply() -> None:
    require_rasa(__name__)
    import rasa.server

    # The routes look `_load_agent` up in the module when called.
    if not getattr(rasa.server._load_agent, "_in_a_thread", False):
        rasa.server._load_agent = _loading_in_a_thread(rasa.server._load_agent)
