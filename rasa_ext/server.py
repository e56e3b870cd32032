"""`rasa` with our guards and patches, then Rasa's own CLI.

    python -m rasa_ext.server run --enable-api ...   (same arguments as `rasa`)

Guards: the API token, CORS origins and body cap (rasa_ext/api_guard.py), a failed or
slow action server said to the citizen (rasa_ext/patches/action_failure.py), and
citizens' numbers masked in every log line, Rasa's and Sanic's included (bot/logs.py,
kept over the handlers Rasa makes as it starts by rasa_ext/patches/log_masking.py).

Patches for per-turn costs found by profiling a loaded server (py-spy, 50 concurrent
conversations), one module each in rasa_ext/patches/ with the measurement that made
it worth it: action_response (the action server's reply validated with validators built
once), event_types (event classes looked up in a table), endpoint_sessions (one kept
HTTP session per endpoint), past_states (RulePolicy's states remembered on the
tracker), model_memory (freed memory handed back, the model frozen out of the GC),
model_reload (a model published with PUT /model loads in a worker thread: no turn waits),
and turn_metrics (Prometheus counts of turns, their latency, fallbacks and failed action
calls, served at /metrics with /health/live and /health/ready by rasa_ext/health.py).
Each checks the Rasa version it was written for and refuses another.
"""
from __future__ import annotations

import os
import sys

PATCHES = ("action_response", "event_types", "endpoint_sessions", "past_states", "turn_metrics")


def apply_patches() -> None:
    """The per-turn patches (not the model-memory one, which starts a thread)."""
    import importlib

    for name in PATCHES:
        importlib.import_module(f"rasa_ext.patches.{name}").apply()


def prepare_process() -> None:
    """Everything this process sets up before Rasa's CLI takes over: masked logging,
    the patches and the guards."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")  # (for Rasa, which reads it)
    from bot.logs import configure_logging

    configure_logging("rasa")
    from rasa_ext import api_guard
    from rasa_ext.patches import action_failure, log_masking, model_memory, model_reload

    apply_patches()
    model_memory.apply()
    model_reload.apply()  # PUT /model loads beside the serving model, not in the event loop
    api_guard.install()  # the API token, CORS origins, body cap, health and metrics routes
    action_failure.apply()  # a failed or slow action server is said, not swallowed
    log_masking.apply()  # the handlers Rasa and Sanic make as Rasa starts mask too


def main() -> None:
    prepare_process()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
