#!/usr/bin/env bash
# Starts the whole assistant in the foreground; Ctrl-C stops every part.
#   stand-in government backend :BACKEND_PORT (8700)
#   action server               :ACTION_PORT  (5055)
#   web app (API, widget, desk) :WEB_PORT     (8800)
#   Rasa server                 :RASA_PORT    (5005) with --enable-api
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export RASA_PORT=${RASA_PORT:-5005} ACTION_PORT=${ACTION_PORT:-5055}
export WEB_PORT=${WEB_PORT:-8800} BACKEND_PORT=${BACKEND_PORT:-8700}
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=3
export RASA_TELEMETRY_ENABLED=false  # no telemetry or error reports leave the machine
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-1} TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}
MODEL=${MODEL:-models/govbot.tar.gz}
mkdir -p var

$PY -m bot.catalog import "${CATALOG_DIR:-data/catalog}"
$PY -m bot.runtime var/endpoints.yml

pids=()
stop() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

$PY -m bot.backend.app --port "$BACKEND_PORT" & pids+=($!)
$PY -m rasa_sdk --actions actions --port "$ACTION_PORT" & pids+=($!)
$PY -m bot.webapp.app --port "$WEB_PORT" & pids+=($!)
$PY -m bot.rasa_server run --enable-api --cors "*" --port "$RASA_PORT" --model "$MODEL" \
  --endpoints var/endpoints.yml --credentials credentials.yml & pids+=($!)

echo "assistant starting: Rasa http://127.0.0.1:$RASA_PORT  web http://127.0.0.1:$WEB_PORT  actions :$ACTION_PORT  backend :$BACKEND_PORT"
# Whichever part exits first ends the run, so a crash is never hidden.
wait -n
