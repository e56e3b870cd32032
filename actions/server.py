"""The action server, answering only Rasa.

    python -m actions.server --port 5055

Rasa SDK's own server (`python -m rasa_sdk`) listens on every interface and runs any
action for anyone who POSTs a tracker: a forged tracker naming a verified person got
that person's applications, with a channel and sender of the forger's choosing. This
starts the same Sanic app (`rasa_sdk.endpoint.create_app`, so actions and responses
are Rasa SDK's) with:

- a shared secret checked before any action runs: `Authorization: Bearer
  <ACTION_SERVER_TOKEN>`, which Rasa sends (endpoints.yml, `headers`), else 401;
- `bot.settings.bind_host()` (loopback unless BIND_HOST), no CORS (no browser calls it);
- a body cap (ACTION_MAX_BODY, 2 MB: Rasa sends the windowed tracker, never more).

`/health` stays open for liveness probes: it says "ok" and nothing else; so do
`/health/live` and `/health/ready` (ready: the catalog is loaded). `/metrics`
(rasa_ext/health.py, bot/metrics.py) wants the scraper's METRICS_TOKEN, not Rasa's:
`govbot_action_runs_total{action}`, `govbot_action_seconds`,
`govbot_action_errors_total{action}` (actions that raised), counted around Rasa SDK's
`ActionExecutor.run`. Metrics are per process: run one Sanic worker per process
(ACTION_SERVER_SANIC_WORKERS unset), and more processes or pods to scale.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any, Optional

from bot import metrics, settings
from bot.logs import configure_logging
from rasa_ext import health
from rasa_ext.api_guard import bearer_matches

logger = logging.getLogger(__name__)

#: Answered without Rasa's token (`/metrics` checks the scraper's own).
OPEN_PATHS = ("/health", *metrics.HEALTH_PATHS, metrics.METRICS_PATH)

ACTION_RUNS = metrics.counter("govbot_action_runs_total", "Custom actions run, by action",
                              ["action"])
ACTION_SECONDS = metrics.histogram("govbot_action_seconds",
                                   "Seconds a custom action ran (Rasa SDK's executor)")
ACTION_ERRORS = metrics.action_errors()
#: An action name that is not registered (a request naming anything) counts as this.
UNKNOWN_ACTION = "unknown"


def _measuring(run: Any) -> Any:
    """Rasa SDK's `ActionExecutor.run(action_call)`, counted and timed. Labels are the
    registered actions' names only; a form's rejection is control flow, not an error."""

    async def run_measured(self: Any, action_call: Any) -> Any:
        from rasa_sdk.interfaces import ActionExecutionRejection

        name = action_call.get("next_action") if isinstance(action_call, dict) else None
        label = name if name in self.actions else UNKNOWN_ACTION
        started = time.perf_counter()
        try:
            return await run(self, action_call)
        except ActionExecutionRejection:
            raise
        except Exception:
            ACTION_ERRORS.labels(action=label).inc()
            raise
        finally:
            ACTION_SECONDS.observe(time.perf_counter() - started)
            ACTION_RUNS.labels(action=label).inc()

    run_measured._measured = True  # type: ignore[attr-defined]
    return run_measured


def measure_actions() -> None:
    """Wraps Rasa SDK's executor (once; its app keeps the executor to itself)."""
    from rasa_sdk.executor import ActionExecutor

    if not getattr(ActionExecutor.run, "_measured", False):
        ActionExecutor.run = _measuring(ActionExecutor.run)


async def catalog_ready(app: Any) -> Optional[str]:
    """Ready when the catalog's index is built and holds matters (read in a thread: its
    version check reads the database)."""
    from bot.catalog import default_catalog

    matters = await asyncio.to_thread(lambda: len(default_catalog().index().matters))
    return None if matters else "catalog empty"


def create_app(token: Optional[str] = None, package: str = "actions") -> Any:
    from rasa_sdk.endpoint import create_app as create_sdk_app
    from sanic import response
    from sanic.exceptions import SanicException

    token = token or settings.action_server_token()
    from bot.backend.client import BackendClient

    # The clients' credentials are checked now (production refuses development ones),
    # not at a citizen's first status check; actions/handoff.py checks the desk's.
    BackendClient.from_env()
    settings.public_base_url()  # the bot's links: refused in production when unset
    scrape_token = settings.metrics_token()  # the scraper's: likewise
    measure_actions()
    app = create_sdk_app(package, cors_origins=None)
    app.config.REQUEST_MAX_SIZE = settings.load().action_max_body
    health.add_routes(app, catalog_ready, scrape_token)

    async def only_rasa(request: Any) -> Optional[Any]:
        if request.path in OPEN_PATHS or bearer_matches(request.headers.get("authorization"),
                                                        token):
            return None
        return response.json({"error": "the action server answers only Rasa"}, status=401)

    app.register_middleware(only_rasa, "request")

    async def http_error(request: Any, exception: SanicException) -> Any:
        """Sanic's own refusals keep their status: Rasa SDK answers every exception
        with 500 (and the request's body), so a body over the cap was "500" instead of
        413 and a wrong method a server error."""
        return response.json({"error": str(exception)}, status=exception.status_code)

    app.error_handler.add(SanicException, http_error)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="action server (Rasa SDK), Rasa only")
    parser.add_argument("--port", type=int, default=settings.load().action_port)
    parser.add_argument("--host", default=settings.bind_host())
    args = parser.parse_args()
    configure_logging("actions")
    from rasa_sdk import utils

    utils.update_sanic_log_level()
    app = create_app()
    logger.info("action server on http://%s:%d (Rasa's token required)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
